package ui

import (
	"fmt"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// fakeSource answers with fixed data and records the questions.
type fakeSource struct {
	mu         sync.Mutex
	top        aggregate.TopResult
	callers    []aggregate.FunctionRow
	callees    []aggregate.FunctionRow
	procs      []aggregate.ProcessRow
	containers []aggregate.ContainerRow
	health     Health
	stacks     []fakeStack // what Tree answers from

	last    aggregate.Query // the last query of any kind
	lastInv bool            // the last Tree's inverted
	lastFn  funcRef         // the last CallersCallees function
	counts  map[string]int  // calls per method
	queries int             // queries of any kind but Health
}

func (f *fakeSource) record(method string, q aggregate.Query) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[method]++
	f.queries++
	f.last = q
}

func (f *fakeSource) Top(q aggregate.Query) aggregate.TopResult {
	f.record("Top", q)
	return f.top
}

func (f *fakeSource) CallersCallees(q aggregate.Query, name, module string) ([]aggregate.FunctionRow, []aggregate.FunctionRow) {
	f.record("CallersCallees", q)
	f.mu.Lock()
	f.lastFn = funcRef{name, module}
	f.mu.Unlock()
	return f.callers, f.callees
}

func (f *fakeSource) Tree(q aggregate.Query, inverted bool) *aggregate.TreeNode {
	f.record("Tree", q)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastInv = inverted
	return treeOf(f.stacks, inverted)
}

func (f *fakeSource) Processes(q aggregate.Query) []aggregate.ProcessRow {
	f.record("Processes", q)
	return f.procs
}

func (f *fakeSource) Containers(q aggregate.Query) []aggregate.ContainerRow {
	f.record("Containers", q)
	return f.containers
}

func (f *fakeSource) Health() Health { return f.health }

func (f *fakeSource) lastQuery() aggregate.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeSource) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method]
}

func (f *fakeSource) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

// fixedNow is the clock of every test.
var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func testClock() time.Time { return fixedNow }

const (
	cid1 = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
	cid2 = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
)

// newFake returns a source with a small, deterministic profile.
func newFake() *fakeSource {
	n, k, e := aggregate.KindNative, aggregate.KindKernel, aggregate.KindError
	rows := []aggregate.FunctionRow{
		{Name: "main.spin", Module: "spinner", File: "/src/spinner/main.go", Line: 42, Kind: n, Self: 2450, Total: 2600},
		{Name: "__memmove_avx_unaligned_erms", Module: "libc.so.6", Kind: n, Self: 1210, Total: 1210},
		{Name: "runtime.mallocgc", Module: "spinner", File: "/usr/lib/go/src/runtime/malloc.go", Line: 1012, Kind: n, Self: 830, Total: 1400},
		{Name: "do_syscall_64", Module: "[kernel]", Kind: k, Self: 610, Total: 1900},
		{Name: "std::vector<std::pair<std::string, std::unique_ptr<Widget>>>::_M_realloc_insert", Module: "widgetd", File: "/usr/include/c++/12/bits/vector.tcc", Line: 449, Kind: n, Self: 500, Total: 640},
		{Name: "PyEval_EvalFrameDefault", Module: "libpython3.11.so.1.0", File: "Python/ceval.c", Line: 5600, Kind: n, Self: 410, Total: 3100},
		{Name: "copy_user_enhanced_fast_string", Module: "[kernel]", Kind: k, Self: 330, Total: 330},
		{Name: "[unwind error: no unwind info]", Module: "", Kind: e, Self: 220, Total: 220},
		{Name: "main.work", Module: "spinner", File: "/src/spinner/main.go", Line: 30, Kind: n, Self: 180, Total: 5200},
		{Name: "日本語の関数", Module: "widgetd", Kind: n, Self: 150, Total: 150},
		{Name: "json.(*decodeState).object", Module: "api", File: "/usr/lib/go/src/encoding/json/decode.go", Line: 637, Kind: n, Self: 120, Total: 900},
		{Name: "main.main", Module: "spinner", File: "/src/spinner/main.go", Line: 12, Kind: n, Self: 0, Total: 5300},
		{Name: "runtime.main", Module: "spinner", File: "/usr/lib/go/src/runtime/proc.go", Line: 283, Kind: n, Self: 0, Total: 5300},
		{Name: "entry_SYSCALL_64_after_hwframe", Module: "[kernel]", Kind: k, Self: 0, Total: 1900},
		{Name: "tcp_sendmsg_locked", Module: "[kernel]", Kind: k, Self: 95, Total: 400},
		{Name: "Widget::render", Module: "widgetd", File: "src/widget.cc", Line: 88, Kind: n, Self: 90, Total: 700},
	}
	for i := range 30 {
		rows = append(rows, aggregate.FunctionRow{
			Name: fmt.Sprintf("pkg.helper%02d", i), Module: "api",
			File: "/srv/api/helpers.go", Line: 100 + i, Kind: n, Self: int64(60 - i), Total: int64(200 - i),
		})
	}
	return &fakeSource{
		stacks: fakeStacks(),
		top:    aggregate.TopResult{Rows: rows, Samples: 10000, Window: 5 * time.Second},
		callers: []aggregate.FunctionRow{
			{Name: "main.work", Module: "spinner", File: "/src/spinner/main.go", Line: 30, Kind: n, Total: 2000},
			{Name: "main.other", Module: "spinner", File: "/src/spinner/main.go", Line: 55, Kind: n, Total: 600},
		},
		callees: []aggregate.FunctionRow{
			{Name: "runtime.mallocgc", Module: "spinner", File: "/usr/lib/go/src/runtime/malloc.go", Line: 1012, Kind: n, Total: 150},
		},
		procs: []aggregate.ProcessRow{
			{PID: 4242, Comm: "spinner", Samples: 5300, Threads: 4},
			{PID: 77, Comm: "widgetd", Container: cid1, Samples: 1500, Threads: 12},
			{PID: 1001, Comm: "python3", Container: cid2, Samples: 3100, Threads: 1},
			{PID: 9, Comm: "kworker/0:1", Samples: 100, Threads: 1},
		},
		containers: []aggregate.ContainerRow{
			{ID: "", Processes: 2, Samples: 5400},
			{ID: cid1, Processes: 1, Samples: 1500},
			{ID: cid2, Processes: 1, Samples: 3100},
		},
		health: Health{
			Host: "build-07", Kernel: "6.1.0-18-amd64", CPUs: 8, Frequency: 99,
			SamplesPerSec: 792, Drops: 3, UnwindErrors: 220, CompleteShare: 0.978, OwnCPU: 0.004,
		},
	}
}

// harness drives a Model by hand: ticks are sent explicitly and every
// command runs synchronously.
type harness struct {
	t    *testing.T
	m    Model
	src  *fakeSource
	quit bool
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	src := newFake()
	if opts.Now == nil {
		opts.Now = testClock
	}
	m := New(src, opts)
	m.tick = func(time.Duration) tea.Cmd { return nil }
	h := &harness{t: t, m: m, src: src}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.run(m.Init())
	return h
}

// send delivers msg and then runs the commands it returns, feeding their
// messages back, until nothing is left.
func (h *harness) send(msgs ...tea.Msg) *harness {
	h.t.Helper()
	for _, msg := range msgs {
		h.deliver(msg)
	}
	return h
}

func (h *harness) deliver(msg tea.Msg) {
	h.t.Helper()
	switch msg := msg.(type) {
	case nil:
		return
	case tea.QuitMsg:
		h.quit = true
		return
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
		return
	}
	next, cmd := h.m.Update(msg)
	h.m = next.(Model)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	if cmd != nil {
		h.deliver(cmd())
	}
}

// keys sends key presses: single characters, or names such as "enter".
func (h *harness) keys(keys ...string) *harness {
	h.t.Helper()
	for _, k := range keys {
		h.send(keyMsg(k))
	}
	return h
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("unknown key " + k)
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// tick simulates the refresh timer.
func (h *harness) tick() *harness {
	h.t.Helper()
	return h.send(tickMsg(fixedNow))
}

func (h *harness) screen() string { return h.m.render() }
