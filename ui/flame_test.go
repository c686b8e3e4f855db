package ui

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// flameHarness is a harness showing the flamegraph.
func flameHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := newHarness(t, opts)
	h.keys("tab")
	if h.m.views[h.m.active] != viewFlame {
		t.Fatal("tab did not show the flamegraph")
	}
	return h
}

// selected is the name of the selected frame on screen.
func (h *harness) selected() string {
	h.t.Helper()
	f := h.m.flame
	if f.cur < 0 {
		h.t.Fatal("no frame selected")
	}
	return f.lay.frames[f.cur].node.Name
}

// selPath is the selection as the flamegraph keeps it, names only.
func (h *harness) selPath() string {
	var names []string
	for _, id := range h.m.flame.state().sel.path {
		names = append(names, id.name)
	}
	return strings.Join(names, ";")
}

func zoomNames(st *flameState) []string {
	var out []string
	for _, p := range st.zoom {
		if len(p) == 0 {
			out = append(out, "all")
			continue
		}
		out = append(out, p[len(p)-1].name)
	}
	return out
}

func TestGoldenFlame(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		keys []string
	}{
		{"nocolor", Options{NoColor: true}, nil},
		{"color", Options{}, []string{"j", "j", "j", "j"}},
		{"zoomed", Options{NoColor: true}, []string{"j", "j", "j", "enter", "j"}},
		{"collapsed-search", Options{NoColor: true}, []string{"j", "j", "j", "-", "/", "m", "a", "l", "l", "enter"}},
		{"inverted-flipped", Options{NoColor: true}, []string{"i", "r", "k"}},
		{"sandwich", Options{NoColor: true}, []string{"tab", "down", "down", "f", "k"}},
		{"sandwich-color", Options{}, []string{"tab", "down", "down", "f"}},
		{"typing", Options{}, []string{"/", "s", "p", "i"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := flameHarness(t, c.opts)
			h.keys(c.keys...)
			checkScreen(t, h)
		})
	}
	t.Run("narrow", func(t *testing.T) {
		h := flameHarness(t, Options{NoColor: true})
		h.send(tea.WindowSizeMsg{Width: 40, Height: 40})
		checkScreen(t, h)
	})
	t.Run("deep-scrolled", func(t *testing.T) {
		h := flameHarness(t, Options{NoColor: true})
		var frames []string
		for i := range 60 {
			frames = append(frames, fmt.Sprintf("depth%02d", i))
		}
		h.src.stacks = append(h.src.stacks, fakeStack{strings.Join(frames, ";"), 9000})
		h.tick()
		for range 61 {
			h.keys("j")
		}
		if h.selected() != "depth59" {
			t.Fatalf("selected %q, want the deepest frame", h.selected())
		}
		checkScreen(t, h)
	})
}

func TestFlameSelectionPersists(t *testing.T) {
	h := flameHarness(t, Options{})
	h.keys("j", "j", "j", "j")
	if h.selected() != "main.spin" {
		t.Fatalf("selected %q", h.selected())
	}
	x := h.m.flame.lay.frames[h.m.flame.cur].x
	// New data moves main.spin: the selection follows it.
	stacks := h.src.stacks
	h.src.stacks = append(slices.Clone(stacks), fakeStack{"runtime.main@spinner;main.main@spinner;main.work@spinner;main.zzz@spinner", 9000})
	h.tick()
	if h.selected() != "main.spin" || h.m.flame.lay.frames[h.m.flame.cur].x == x {
		t.Errorf("after the refresh: selected %q at %d (was at %d)", h.selected(), h.m.flame.lay.frames[h.m.flame.cur].x, x)
	}
	// Data without main.spin shows the selection on its caller, and
	// brings it back when main.spin comes back.
	h.src.stacks = slices.DeleteFunc(slices.Clone(stacks), func(s fakeStack) bool { return strings.Contains(s.frames, "main.spin") })
	h.tick()
	if h.selected() != "main.work" {
		t.Errorf("without main.spin: selected %q, want main.work", h.selected())
	}
	h.src.stacks = stacks
	h.tick()
	if h.selected() != "main.spin" {
		t.Errorf("main.spin back: selected %q", h.selected())
	}
	// Each graph keeps its own selection.
	h.keys("i")
	if h.selected() != "all" {
		t.Errorf("inverted graph: selected %q", h.selected())
	}
	h.keys("j", "i")
	if h.selected() != "main.spin" {
		t.Errorf("back to the call graph: selected %q", h.selected())
	}
}

func TestFlameZoomStack(t *testing.T) {
	h := flameHarness(t, Options{Filter: Filter{Comm: "spinner"}})
	st := func() *flameState { return h.m.flame.state() }
	h.keys("j", "j", "j", "enter")
	if got := zoomNames(st()); !slices.Equal(got, []string{"main.work"}) {
		t.Fatalf("zoom %v", got)
	}
	lay := h.m.flame.lay
	if f := lay.frames[lay.focus]; f.node.Name != "main.work" || f.w != 120 || f.row != 3 {
		t.Errorf("zoomed frame %s %d+%d on row %d", f.node.Name, f.x, f.w, f.row)
	}
	h.keys("j", "enter")
	if got := zoomNames(st()); !slices.Equal(got, []string{"main.work", "main.spin"}) {
		t.Fatalf("zoom %v", got)
	}
	// The zoom survives new data.
	h.src.stacks = append(slices.Clone(h.src.stacks), fakeStack{"runtime.main@spinner;main.main@spinner;main.work@spinner;main.spin@spinner;extra@spinner", 500})
	h.tick()
	lay = h.m.flame.lay
	if f := lay.frames[lay.focus]; f.node.Name != "main.spin" || f.w != 120 || f.total != 3100 {
		t.Errorf("zoomed frame after refresh: %s %d+%d, %d samples", f.node.Name, f.x, f.w, f.total)
	}
	// Enter on an ancestor zooms out to it; backspace and esc undo.
	h.keys("k", "k", "enter")
	if got := zoomNames(st()); !slices.Equal(got, []string{"main.work", "main.spin", "main.main"}) {
		t.Fatalf("zoom to an ancestor: %v", got)
	}
	h.keys("backspace")
	if got := zoomNames(st()); !slices.Equal(got, []string{"main.work", "main.spin"}) {
		t.Errorf("after backspace: %v", got)
	}
	h.keys("esc", "esc")
	if len(st().zoom) != 0 {
		t.Errorf("after esc esc: %v", zoomNames(st()))
	}
	if h.m.filter.Empty() {
		t.Fatal("esc cleared the filters while zoomed")
	}
	h.keys("esc")
	if !h.m.filter.Empty() {
		t.Error("esc at the top did not clear the filters")
	}
}

func TestFlameNavigation(t *testing.T) {
	h := flameHarness(t, Options{})
	h.keys("k")
	if h.selected() != "all" {
		t.Errorf("up from the root: %q", h.selected())
	}
	h.keys("j", "j", "j")
	if h.selected() != "main.work" {
		t.Fatalf("down ×3: %q", h.selected())
	}
	h.keys("l")
	if h.selected() != "main.other" {
		t.Errorf("right: %q", h.selected())
	}
	h.keys("l", "l")
	if h.selected() != "PyEval_EvalFrameDefault" {
		t.Errorf("right into a cousin: %q", h.selected())
	}
	h.keys("h", "h", "k", "j")
	if h.selected() != "main.other" {
		t.Errorf("up then down comes back to the child: %q", h.selected())
	}
	h.keys("g")
	if h.selected() != "all" {
		t.Errorf("home: %q", h.selected())
	}
	// Flipped, up goes away from the root.
	h.keys("r", "k", "k")
	if h.selected() != "main.main" {
		t.Errorf("flipped, up twice: %q", h.selected())
	}
	h.keys("j")
	if h.selected() != "runtime.main" {
		t.Errorf("flipped, down: %q", h.selected())
	}
	// The wheel moves like the arrows, down the screen.
	h.send(tea.MouseWheelMsg{X: 10, Y: 10, Button: tea.MouseWheelDown})
	if h.selected() != "all" {
		t.Errorf("flipped, wheel down: %q", h.selected())
	}
}

func TestFlameCollapseExpand(t *testing.T) {
	h := flameHarness(t, Options{})
	hidden := func(name string) bool {
		for _, f := range h.m.flame.lay.frames {
			if f.node != nil && f.node.Name == name {
				return false
			}
		}
		return true
	}
	h.keys("j", "j", "j", "-")
	if !hidden("main.spin") || hidden("main.work") || !h.m.flame.lay.frames[h.m.flame.cur].is(frameCollapsed) {
		t.Fatal("- did not collapse main.work")
	}
	if !strings.Contains(plain(h.screen()), "+main.work 41.80% (4180)") {
		t.Errorf("collapsed frame label:\n%s", plain(h.screen()))
	}
	h.tick()
	if !hidden("main.spin") {
		t.Error("collapse lost on refresh")
	}
	h.keys("+")
	if hidden("main.spin") {
		t.Error("+ did not expand main.work")
	}
	// + on an ancestor expands the collapsed frames under it.
	h.keys("-", "k", "k", "+")
	if hidden("main.spin") || len(h.m.flame.state().collapsed) != 0 {
		t.Error("+ on runtime.main did not expand main.work")
	}
}

func TestFlameSearch(t *testing.T) {
	h := flameHarness(t, Options{})
	h.keys("/", "m", "a", "l", "l", "o", "c")
	if !h.m.flame.typing() || h.m.flame.matched != 3155 {
		t.Fatalf("typing %v, %d samples under matches", h.m.flame.typing(), h.m.flame.matched)
	}
	if s := plain(h.m.flame.status()); !strings.Contains(s, "31.55% of all samples under matches") {
		t.Errorf("status %q", s)
	}
	h.keys("enter", "n")
	if h.selected() != "runtime.mallocgc" {
		t.Fatalf("n: %q", h.selected())
	}
	first := h.m.flame.cur
	h.keys("n", "n", "n")
	if h.m.flame.cur != first {
		t.Errorf("n ×3 more did not wrap around the three matches")
	}
	h.keys("N")
	if h.m.flame.cur == first || h.selected() != "runtime.mallocgc" {
		t.Errorf("N: %q", h.selected())
	}
	h.keys("esc")
	if h.m.flame.search.query != "" || h.m.flame.matched != 0 {
		t.Error("esc did not clear the search")
	}
	for _, f := range h.m.flame.lay.frames {
		if f.is(frameMatch) {
			t.Fatal("matches left after esc")
		}
	}
}

func TestFlameKeysPerView(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("r")
	if !h.m.top.sort.reverse || h.m.flame.flipped {
		t.Fatal("r in the table should reverse the sort")
	}
	h.keys("tab", "r")
	if !h.m.flame.flipped || !h.m.top.sort.reverse {
		t.Error("r in the flamegraph should flip it and leave the sort")
	}
	// enter zooms in the flamegraph, where the table opens the callers.
	h.keys("k", "enter") // flipped: up is away from the root
	if h.m.state != stateView || len(h.m.flame.state().zoom) != 1 {
		t.Errorf("enter in the flamegraph: state %v, zoom %v", h.m.state, zoomNames(h.m.flame.state()))
	}
}

func TestFlameQueries(t *testing.T) {
	h := newHarness(t, Options{Window: 5 * time.Second})
	if h.src.count("Tree") != 0 {
		t.Fatal("the table asked for a tree")
	}
	h.keys("tab")
	q := h.src.lastQuery()
	if h.src.count("Tree") != 1 || h.src.lastInv || q.MinShare != 1.0/480 || !q.From.Equal(fixedNow.Add(-5*time.Second)) {
		t.Fatalf("Tree queries %d, inverted %v, query %+v", h.src.count("Tree"), h.src.lastInv, q)
	}
	// Zooming asks for finer data: a quarter cell of the zoomed frame.
	h.keys("j", "j", "j", "enter")
	if q := h.src.lastQuery(); math.Abs(q.MinShare-0.418/480) > 1e-12 {
		t.Errorf("zoomed on 41.8%%: MinShare %v", q.MinShare)
	}
	h.keys("i")
	if !h.src.lastInv || h.m.flame.graph() != graphInverted || !h.m.flame.current() {
		t.Errorf("i: inverted query %v, graph %v", h.src.lastInv, h.m.flame.graph())
	}
	// Paused, ticks ask nothing and zooming asks about the frozen window.
	h.keys("space")
	n := h.src.total()
	h.tick().tick()
	if h.src.total() != n {
		t.Errorf("%d queries while paused", h.src.total()-n)
	}
	h.keys("j", "enter")
	if q := h.src.lastQuery(); h.src.total() != n+2 || !q.To.Equal(fixedNow) {
		t.Errorf("zoom while paused: %d queries, To %v", h.src.total()-n, q.To)
	}
	// A sandwich asks for both trees at the finest pruning.
	h.keys("f")
	if q := h.src.lastQuery(); q.MinShare != minShareFloor || h.m.flame.graph() != graphSandwich {
		t.Errorf("sandwich: MinShare %v, graph %v", q.MinShare, h.m.flame.graph())
	}
}

func TestFlameSandwich(t *testing.T) {
	h := newHarness(t, Options{NoColor: true})
	h.keys("down", "down")
	if selectedName(t, h) != "runtime.mallocgc" {
		t.Fatalf("table row %q", selectedName(t, h))
	}
	h.keys("f")
	f := &h.m.flame
	if h.m.views[h.m.active] != viewFlame || f.graph() != graphSandwich || f.fn().name != "runtime.mallocgc" {
		t.Fatalf("f from the table: view %v graph %v fn %v", h.m.views[h.m.active], f.graph(), f.fn())
	}
	if h.selected() != "runtime.mallocgc" || f.data.callees.Total != 3155 || f.data.callers.Total != 3155 {
		t.Fatalf("sandwich of %q: %d callee samples, %d caller samples", h.selected(), f.data.callees.Total, f.data.callers.Total)
	}
	h.keys("j")
	if h.selected() != "__memmove_avx_unaligned_erms" || h.m.flame.state().sel.pane != paneCallees {
		t.Errorf("down to a callee: %q", h.selected())
	}
	h.keys("k", "k")
	if h.selected() != "PyEval_EvalFrameDefault" || h.m.flame.state().sel.pane != paneCallers {
		t.Errorf("up to a caller: %q", h.selected())
	}
	h.keys("l", "enter")
	if h.m.flame.fn().name != "main.work" || len(h.m.flame.sandwich) != 2 || h.selected() != "main.work" {
		t.Fatalf("enter on a caller: sandwich %v", h.m.flame.sandwich)
	}
	h.keys("esc")
	if h.m.flame.fn().name != "runtime.mallocgc" {
		t.Errorf("esc: sandwich %v", h.m.flame.sandwich)
	}
	h.keys("esc")
	if h.m.flame.graph() != graphCall || h.selected() != "all" {
		t.Errorf("esc from the first sandwich: graph %v", h.m.flame.graph())
	}
	// From the graph, f on a frame.
	h.keys("j", "f")
	if h.m.flame.fn().name != "runtime.main" {
		t.Errorf("f on runtime.main: sandwich %v", h.m.flame.sandwich)
	}
	// A function that is not in the data says so.
	h.src.stacks = stacks("other 10")
	h.tick()
	if s := plain(h.screen()); !strings.Contains(s, "runtime.main was not sampled in this window") {
		t.Errorf("sandwich without data:\n%s", s)
	}
}

func TestFlameMouse(t *testing.T) {
	h := flameHarness(t, Options{})
	// Body line 0 is the title; main.work is on graph row 3.
	h.send(tea.MouseClickMsg{X: 5, Y: headerLines + 1 + 3, Button: tea.MouseLeft})
	if got := zoomNames(h.m.flame.state()); !slices.Equal(got, []string{"main.work"}) || h.selected() != "main.work" {
		t.Errorf("click on main.work: zoom %v, selected %q", got, h.selected())
	}
	// A click on an ancestor row zooms out to it.
	h.send(tea.MouseClickMsg{X: 100, Y: headerLines + 1 + 1, Button: tea.MouseLeft})
	if got := zoomNames(h.m.flame.state()); !slices.Equal(got, []string{"main.work", "runtime.main"}) {
		t.Errorf("click on runtime.main: zoom %v", got)
	}
	// Nothing there: nothing happens.
	h.send(tea.MouseClickMsg{X: 100, Y: headerLines + 30, Button: tea.MouseLeft})
	if got := zoomNames(h.m.flame.state()); len(got) != 2 {
		t.Errorf("click on nothing: zoom %v", got)
	}
}

func TestFlameLoadingAndEmpty(t *testing.T) {
	h := flameHarness(t, Options{})
	h.keys("i") // the answer for the call graph is not the inverted one
	h.m.flame.loaded = false
	if s := plain(h.m.flame.View()); !strings.Contains(s, "waiting for the first samples") {
		t.Errorf("before data:\n%s", s)
	}
	h.src.stacks = nil
	h.tick()
	if s := plain(h.m.flame.View()); !strings.Contains(s, "no samples in this window") {
		t.Errorf("no samples:\n%s", s)
	}
	h.keys("j", "k", "h", "l", "enter", "-", "+", "f", "backspace", "n")
}

func TestSnapshot(t *testing.T) {
	h := newHarness(t, Options{Window: 30 * time.Second})
	h.keys("s")
	if s := plain(h.screen()); !strings.Contains(s, "snapshots are unavailable") {
		t.Errorf("no hook:\n%s", s)
	}
	h.keys("down")
	if s := plain(h.screen()); strings.Contains(s, "snapshots are unavailable") {
		t.Error("the note outlived the next key")
	}

	var got []aggregate.Query
	var fail error
	h = flameHarness(t, Options{Window: 30 * time.Second, Filter: Filter{PIDs: []uint32{4242}},
		Snapshot: func(q aggregate.Query) (string, error) {
			got = append(got, q)
			if fail != nil {
				return "", fail
			}
			return "/tmp/pftop-20260314-150926.pb.gz", nil
		}})
	h.keys("space", "s")
	if len(got) != 1 || !got[0].To.Equal(fixedNow) || !got[0].From.Equal(fixedNow.Add(-30*time.Second)) ||
		!slices.Equal(got[0].PIDs, []uint32{4242}) || got[0].MinShare != 0 {
		t.Fatalf("hook calls %+v", got)
	}
	if s := plain(h.screen()); !strings.Contains(s, "snapshot saved to /tmp/pftop-20260314-150926.pb.gz") {
		t.Errorf("path not shown:\n%s", s)
	}
	fail = errors.New("disk full")
	h.keys("s")
	if s := plain(h.screen()); !strings.Contains(s, "snapshot failed: disk full") {
		t.Errorf("error not shown:\n%s", s)
	}
	// While a snapshot runs, s does nothing.
	h.m.snapshotting = true
	h.keys("s")
	if len(got) != 2 {
		t.Errorf("%d hook calls, want 2", len(got))
	}
}

// storeSource answers from a real Store, so that the flamegraph meets the
// store's pruned trees.
type storeSource struct {
	s   *aggregate.Store
	sym aggregate.Symbolizer
}

func (s storeSource) Top(q aggregate.Query) aggregate.TopResult { return s.s.Top(q, s.sym) }
func (s storeSource) CallersCallees(q aggregate.Query, name, module string) ([]aggregate.FunctionRow, []aggregate.FunctionRow) {
	return s.s.CallersCallees(q, s.sym, name, module)
}
func (s storeSource) Tree(q aggregate.Query, inverted bool) *aggregate.TreeNode {
	return s.s.Tree(q, s.sym, inverted)
}
func (s storeSource) Processes(q aggregate.Query) []aggregate.ProcessRow    { return s.s.Processes(q) }
func (s storeSource) Containers(q aggregate.Query) []aggregate.ContainerRow { return s.s.Containers(q) }
func (s storeSource) Health() Health                                        { return Health{} }

type nameSymbolizer map[aggregate.Frame]string

func (m nameSymbolizer) Symbolize(f aggregate.Frame) []aggregate.Location {
	return []aggregate.Location{{Function: m[f], Module: "app"}}
}

func TestFlameOverStore(t *testing.T) {
	st := aggregate.NewStore()
	sym := nameSymbolizer{}
	frame := func(i int, name string) aggregate.Frame {
		f := aggregate.Frame{Kind: aggregate.KindNative, FileID: 1, Addr: uint64(i)}
		sym[f] = name
		return f
	}
	main, hot, idle := frame(0, "main"), frame(1, "hot"), frame(2, "idle")
	add := func(n int, frames ...aggregate.Frame) {
		for range n {
			st.Add(&aggregate.Trace{PID: 1, TID: 1, Comm: "app", Frames: frames})
		}
	}
	add(100000, idle)
	add(5000, hot, main)
	// Ten callees of 200 samples: below a quarter cell of the whole graph
	// at 120 columns (223 samples), so the store prunes them into one
	// "…"; but three cells each once main is zoomed.
	for i := range 10 {
		add(200, frame(10+i, fmt.Sprintf("cold%d", i)), main)
	}
	m := New(storeSource{st, sym}, Options{NoColor: true, Now: time.Now})
	m.tick = func(time.Duration) tea.Cmd { return nil }
	h := &harness{t: t, m: m}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.run(m.Init())
	h.keys("tab")
	main1 := resolve(h.m.flame.data.tree, flamePath{{"main", "app"}})
	if len(main1) != 2 || len(main1[1].Children) != 2 || !isOther(main1[1].Children[1]) {
		t.Fatalf("store tree not pruned as asked: %+v", main1[len(main1)-1].Children)
	}
	checkLayout(t, h.m.flame.lay)
	if got := layoutText(h.m.flame.lay); got != " 0: 0+120 all\n 1: 0+112 idle 112+8 main\n 2: 112+6 hot 118+2 …(2000)\n" {
		t.Errorf("layout:\n%s", got)
	}
	// Zoomed on main, the next answer has the cold callees.
	h.keys("j", "l", "enter")
	if n := len(resolve(h.m.flame.data.tree, flamePath{{"main", "app"}})[1].Children); n != 11 {
		t.Errorf("zoomed on main: %d callees, want 11", n)
	}
	checkLayout(t, h.m.flame.lay)
	if got := layoutText(h.m.flame.lay); !strings.Contains(got, "cold9") {
		t.Errorf("zoomed layout:\n%s", got)
	}
}

func TestFlameLabel(t *testing.T) {
	f := flameModel{data: flameData{samples: 1000}}
	node := func(name string) *aggregate.TreeNode {
		return &aggregate.TreeNode{Name: name, Total: 250, Children: []*aggregate.TreeNode{{Name: "x"}}}
	}
	for _, c := range []struct {
		name  string
		w     int
		flags frameFlags
		want  string
	}{
		{"main.work", 20, 0, "main.work 25.00%"},
		{"main.work", 16, 0, "main.work 25.00%"},
		{"main.work", 15, 0, "main.work"},
		{"main.work", 5, 0, "main…"},
		{"main.work", 1, 0, "m"},
		{"日本語の関数", 20, 0, "日本語の関数 25.00%"},
		{"日本語の関数", 12, 0, "日本語の関数"},
		{"日本語の関数", 7, 0, "日本語…"},
		{"日本語の関数", 6, 0, "日本…"},
		{"日本語の関数", 1, 0, " "},
		{"a\x1b[31mb", 20, 0, "a\uFFFD[31mb 25.00%"},
		{"main.work", 30, frameCollapsed, "+main.work 25.00% (250)"},
		{"main.work", 17, frameCollapsed, "+main.work 25.00%"},
		{"main.work", 12, frameCollapsed, "+main.work"},
	} {
		fr := &flameFrame{node: node(c.name), total: 250, flags: c.flags}
		if got := f.label(fr, c.w); got != c.want || textWidth(got) > c.w {
			t.Errorf("label(%q, %d) = %q (%d cells), want %q", c.name, c.w, got, textWidth(got), c.want)
		}
	}
	if got := f.label(&flameFrame{total: 3, flags: frameRest}, 4); got != "…" {
		t.Errorf("rest label %q", got)
	}
}

func TestFlamePaint(t *testing.T) {
	fs := NewStyles(DefaultTheme()).Flame
	a := fs.frame(aggregate.KindNative, "main.work")
	if a != fs.frame(aggregate.KindNative, "main.work") {
		t.Error("one name, two colours")
	}
	if k := fs.frame(aggregate.KindKernel, "main.work"); k.normal == a.normal {
		t.Error("a kernel frame took a native colour")
	}
	colours := map[sgr]bool{}
	for i := range 50 {
		colours[fs.frame(aggregate.KindNative, fmt.Sprintf("f%d", i)).normal] = true
	}
	if len(colours) < 6 {
		t.Errorf("50 names share %d colours", len(colours))
	}
	if fs.frame(aggregate.FrameKind(200), "x") == nil || a.selected.on == a.normal.on || !strings.Contains(a.selected.on, "7") {
		t.Errorf("selected paint %q, normal %q", a.selected.on, a.normal.on)
	}
	// Without colour: plain frames, reverse video for the selection,
	// lines for the widths.
	nc := NewStyles(NoColorTheme()).Flame
	if p := nc.frame(aggregate.KindNative, "main.work"); p.normal.on != "" || p.selected.on != "\x1b[7m" || nc.fill != "─" {
		t.Errorf("no colour: normal %q, selected %q, fill %q", p.normal.on, p.selected.on, nc.fill)
	}
}
