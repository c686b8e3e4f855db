package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pftop/pftop/aggregate"
)

// plain strips escape sequences.
func plain(s string) string { return ansi.Strip(s) }

func names(rows []aggregate.FunctionRow, n int) []string {
	var out []string
	for i := range min(n, len(rows)) {
		out = append(out, rows[i].Name)
	}
	return out
}

func selectedName(t *testing.T, h *harness) string {
	t.Helper()
	r, ok := h.m.top.selected()
	if !ok {
		t.Fatal("no selected row")
	}
	return r.Name
}

func TestFirstQueryAndHealth(t *testing.T) {
	h := newHarness(t, Options{Window: 5 * time.Second})
	if got := h.src.count("Top"); got != 1 {
		t.Fatalf("Top queries after Init = %d, want 1", got)
	}
	if !h.m.top.loaded || len(h.m.top.rows) != len(h.src.top.Rows) {
		t.Fatalf("table not loaded: %d rows", len(h.m.top.rows))
	}
	if h.m.health.Host != "build-07" {
		t.Errorf("health not applied: %+v", h.m.health)
	}
	q := h.src.lastQuery()
	if want := fixedNow.Add(-5 * time.Second); !q.From.Equal(want) || !q.To.IsZero() {
		t.Errorf("query window = [%v, %v), want [%v, now)", q.From, q.To, want)
	}
}

func TestSortCycling(t *testing.T) {
	h := newHarness(t, Options{})
	if got := names(h.m.top.rows, 2); !slices.Equal(got, []string{"main.spin", "__memmove_avx_unaligned_erms"}) {
		t.Fatalf("default sort (self): %v", got)
	}
	h.keys(">") // total%
	if h.m.top.sort.col != colTotalPct {
		t.Fatalf("after >: sort column %v", h.m.top.sort.col)
	}
	// main.main and runtime.main tie on total; the name breaks the tie.
	if got := names(h.m.top.rows, 3); !slices.Equal(got, []string{"main.main", "runtime.main", "main.work"}) {
		t.Errorf("sort by total: %v", got)
	}
	h.keys("<", "<") // back to self%, then kind (wraps)
	if h.m.top.sort.col != colKind {
		t.Fatalf("after < <: sort column %v", h.m.top.sort.col)
	}
	if got := h.m.top.rows[0].Kind; got != aggregate.KindError {
		t.Errorf("sort by kind ascending: first kind %v", got)
	}
	h.keys("5") // function, ascending
	if got := names(h.m.top.rows, 2); !slices.Equal(got, []string{"PyEval_EvalFrameDefault", "Widget::render"}) {
		t.Errorf("sort by function: %v", got)
	}
	h.keys("5") // again: reversed
	if !h.m.top.sort.reverse || h.m.top.rows[0].Name != "日本語の関数" {
		t.Errorf("5 again should reverse: reverse=%v first=%q", h.m.top.sort.reverse, h.m.top.rows[0].Name)
	}
	h.keys("r") // reverse back
	if h.m.top.sort.reverse || h.m.top.rows[0].Name != "PyEval_EvalFrameDefault" {
		t.Errorf("r should reverse back: first=%q", h.m.top.rows[0].Name)
	}
	h.keys("1", "r") // self% ascending
	if got := h.m.top.rows[0].Self; got != 0 {
		t.Errorf("self ascending: first self %d", got)
	}
	// The answer's own slice is never reordered.
	if h.src.top.Rows[0].Name != "main.spin" {
		t.Error("sorting modified the Source's rows")
	}
}

func TestSortKeepsSelection(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("down", "down", "down")
	if got := selectedName(t, h); got != "do_syscall_64" {
		t.Fatalf("selected %q", got)
	}
	h.keys("5")
	if got := selectedName(t, h); got != "do_syscall_64" {
		t.Errorf("after sorting, selected %q, want do_syscall_64", got)
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("/", "h", "e", "l", "p", "e", "r", "1")
	if !h.m.top.search.typing {
		t.Fatal("not typing after /")
	}
	if got := len(h.m.top.search.matches); got != 10 {
		t.Fatalf("helper1 matches %d rows, want 10", got)
	}
	if got := selectedName(t, h); got != "pkg.helper10" {
		t.Errorf("incremental search selected %q", got)
	}
	if !strings.Contains(h.m.top.status(), "1/10 matches") {
		t.Errorf("status %q", h.m.top.status())
	}
	h.keys("backspace")
	if got := len(h.m.top.search.matches); got != 30 {
		t.Errorf("helper matches %d rows, want 30", got)
	}
	h.keys("1", "enter")
	if h.m.top.search.typing || h.m.top.search.query != "helper1" {
		t.Fatalf("enter should keep the search: %+v", h.m.top.search)
	}
	h.keys("n", "n")
	if got := selectedName(t, h); got != "pkg.helper12" {
		t.Errorf("n n selected %q", got)
	}
	h.keys("N", "N", "N") // wraps to the last match
	if got := selectedName(t, h); got != "pkg.helper19" {
		t.Errorf("N wrap selected %q", got)
	}
	// Case is ignored.
	h.keys("/", "M", "A", "L", "L", "O", "C")
	if got := selectedName(t, h); got != "runtime.mallocgc" {
		t.Errorf("case-insensitive search selected %q", got)
	}
	// q is text while typing; esc cancels and returns where it started.
	h.keys("q")
	if h.quit || h.m.top.search.query != "MALLOCq" {
		t.Fatalf("q while typing: quit=%v query=%q", h.quit, h.m.top.search.query)
	}
	h.keys("esc")
	if h.m.top.search.query != "" || selectedName(t, h) != "pkg.helper19" {
		t.Errorf("esc: query %q selected %q", h.m.top.search.query, selectedName(t, h))
	}
	// esc with a kept search clears the search, not the filters.
	h2 := newHarness(t, Options{Filter: Filter{Comm: "spinner"}})
	h2.keys("/", "w", "o", "r", "k", "enter", "esc")
	if h2.m.top.search.query != "" || h2.m.filter.Comm != "spinner" {
		t.Errorf("esc after a search: query %q, filter %+v", h2.m.top.search.query, h2.m.filter)
	}
}

func TestOpenCallers(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("enter")
	if h.m.state != stateCallers || h.src.lastFn != (funcRef{"main.spin", "spinner"}) {
		t.Fatalf("enter: state %v fn %+v", h.m.state, h.src.lastFn)
	}
	if !h.m.callers.fnKnown || h.m.callers.fn.Total != 2600 {
		t.Errorf("panel's own counts: %+v", h.m.callers.fn)
	}
	h.keys("down", "enter") // main.other
	if got := h.src.lastFn; got != (funcRef{"main.other", "spinner"}) {
		t.Fatalf("follow: fn %+v", got)
	}
	n := h.src.count("CallersCallees")
	h.tick()
	if h.src.count("CallersCallees") != n+1 {
		t.Error("the panel is not refreshed by ticks")
	}
	h.keys("esc")
	if h.m.state != stateCallers || h.src.lastFn != (funcRef{"main.spin", "spinner"}) {
		t.Fatalf("esc: state %v fn %+v", h.m.state, h.src.lastFn)
	}
	h.keys("esc")
	if h.m.state != stateView {
		t.Fatalf("second esc: state %v", h.m.state)
	}
}

func TestProcessPicker(t *testing.T) {
	h := newHarness(t, Options{Filter: Filter{Containers: []string{cid1}}})
	h.keys("p")
	if h.m.state != stateProcs {
		t.Fatalf("p: state %v", h.m.state)
	}
	q := h.src.lastQuery()
	if len(q.PIDs) != 0 || !slices.Equal(q.Containers, []string{cid1}) {
		t.Errorf("process list query %+v: want no PIDs, the container kept", q)
	}
	// Rows by samples: 4242, 1001, 77, 9. Mark the first two.
	h.keys("space", "space", "enter")
	if h.m.state != stateView {
		t.Fatalf("enter: state %v", h.m.state)
	}
	q = h.src.lastQuery()
	if !slices.Equal(q.PIDs, []uint32{1001, 4242}) {
		t.Errorf("query PIDs %v, want [1001 4242]", q.PIDs)
	}
	if h.src.count("Top") < 2 {
		t.Error("no Top query after choosing")
	}
	// Reopened, nothing is marked and enter picks the row under the
	// cursor; marking and unmarking leaves nothing marked.
	h.keys("p")
	if got := h.m.procs.marked; len(got) != 0 {
		t.Fatalf("reopened marks %v", got)
	}
	h.keys("space", "up", "space", "down", "enter")
	if got := h.src.lastQuery().PIDs; !slices.Equal(got, []uint32{77}) {
		t.Errorf("single pick PIDs %v, want [77]", got)
	}
	// esc in the picker cancels.
	h.keys("p", "end", "enter")
	if got := h.src.lastQuery().PIDs; !slices.Equal(got, []uint32{9}) {
		t.Errorf("end+enter PIDs %v", got)
	}
	h.keys("p", "home", "esc")
	if h.m.state != stateView || !slices.Equal(h.m.filter.PIDs, []uint32{9}) {
		t.Errorf("esc in picker: state %v filter %+v", h.m.state, h.m.filter)
	}
}

func TestContainerPicker(t *testing.T) {
	h := newHarness(t, Options{Filter: Filter{PIDs: []uint32{4242}}})
	h.keys("c")
	q := h.src.lastQuery()
	if len(q.PIDs) != 0 || len(q.Containers) != 0 {
		t.Errorf("container list query %+v: want unfiltered", q)
	}
	// Rows by samples: host, cid2, cid1.
	h.keys("down", "enter")
	q = h.src.lastQuery()
	if !slices.Equal(q.Containers, []string{cid2}) || len(q.PIDs) != 0 {
		t.Errorf("query %+v: want container %s and no PIDs", q, cid2)
	}
	h.keys("c", "home", "space", "end", "space", "enter")
	if got := h.src.lastQuery().Containers; !slices.Equal(got, []string{"", cid1}) {
		t.Errorf("marked containers %q", got)
	}
	if !strings.Contains(plain(h.m.headerView()), "container (host),3f4e5d6c7b8a") {
		t.Errorf("header does not show the filter:\n%s", h.m.headerView())
	}
}

func TestEscClearsFilters(t *testing.T) {
	h := newHarness(t, Options{Filter: Filter{PIDs: []uint32{1, 2}, Comm: "x", Containers: []string{cid1}}})
	q := h.src.lastQuery()
	if !slices.Equal(q.PIDs, []uint32{1, 2}) || q.Comm != "x" || !slices.Equal(q.Containers, []string{cid1}) {
		t.Fatalf("preset filters not in the query: %+v", q)
	}
	n := h.src.total()
	h.keys("esc")
	q = h.src.lastQuery()
	if h.src.total() != n+1 || len(q.PIDs) != 0 || q.Comm != "" || len(q.Containers) != 0 {
		t.Errorf("after esc: %+v (%d new queries)", q, h.src.total()-n)
	}
	if !strings.Contains(plain(h.m.headerView()), "filter none") {
		t.Error("header still shows filters")
	}
	h.keys("esc") // nothing to clear: no query
	if h.src.total() != n+1 {
		t.Error("esc without filters queried")
	}
}

func TestPause(t *testing.T) {
	h := newHarness(t, Options{Window: 5 * time.Second})
	h.tick()
	n := h.src.total()
	if n != 2 {
		t.Fatalf("%d queries after Init and one tick, want 2", n)
	}
	h.keys("space")
	if !h.m.paused || !strings.Contains(h.m.headerView(), "PAUSED") {
		t.Fatal("space did not pause")
	}
	h.src.top.Rows = h.src.top.Rows[:3] // new data the paused view must not show
	h.tick().tick().tick()
	if h.src.total() != n {
		t.Errorf("%d queries while paused", h.src.total()-n)
	}
	if len(h.m.top.rows) == 3 {
		t.Error("the paused view changed")
	}
	// Changing the question while paused asks about the frozen window.
	h.keys("w")
	q := h.src.lastQuery()
	if h.src.total() != n+1 || !q.To.Equal(fixedNow) || !q.From.Equal(fixedNow.Add(-30*time.Second)) {
		t.Errorf("paused window change: query [%v, %v)", q.From, q.To)
	}
	h.keys("space")
	if h.m.paused || !h.src.lastQuery().To.IsZero() || len(h.m.top.rows) != 3 {
		t.Errorf("resume: paused=%v To=%v rows=%d", h.m.paused, h.src.lastQuery().To, len(h.m.top.rows))
	}
	h.tick()
	if h.src.total() != n+3 {
		t.Errorf("ticks after resume: %d queries", h.src.total()-n)
	}
}

func TestTickDroppedWhileQueryRuns(t *testing.T) {
	h := newHarness(t, Options{})
	m, cmd := h.m.Update(tickMsg(fixedNow))
	if cmd == nil {
		t.Fatal("tick issued no query")
	}
	m, cmd2 := m.Update(tickMsg(fixedNow))
	if cmd2 != nil {
		t.Error("second tick issued a query while the first runs")
	}
	// A filter change meanwhile: the running answer is stale, dropped
	// and asked again with the new filter.
	h.m = m.(Model)
	next, cmd3 := h.m.Update(clearFiltersMsg{}) // no filters: nothing happens
	if cmd3 != nil {
		t.Fatal("clearing no filters did something")
	}
	next, _ = next.Update(pickProcsMsg{pids: []uint32{77}})
	h.m = next.(Model)
	h.src.top.Rows = nil
	h.run(cmd) // the stale answer arrives
	if got := h.src.lastQuery().PIDs; !slices.Equal(got, []uint32{77}) {
		t.Errorf("stale answer not asked again: last PIDs %v", got)
	}
	if h.m.inflight {
		t.Error("still in flight")
	}
}

func TestWindowCycling(t *testing.T) {
	h := newHarness(t, Options{Window: 5 * time.Second})
	want := []time.Duration{30 * time.Second, 5 * time.Minute, 0, 5 * time.Second}
	for _, w := range want {
		h.keys("w")
		q := h.src.lastQuery()
		if h.m.window != w {
			t.Fatalf("window %v, want %v", h.m.window, w)
		}
		if w == 0 && !q.From.IsZero() || w > 0 && !q.From.Equal(fixedNow.Add(-w)) {
			t.Errorf("window %v: query from %v", w, q.From)
		}
	}
	if got := nextWindow(time.Minute); got != 5*time.Minute {
		t.Errorf("after a custom 1m window: %v", got)
	}
	if got := nextWindow(time.Hour); got != 0 {
		t.Errorf("after a custom 1h window: %v", got)
	}
	if !strings.Contains(plain(newHarness(t, Options{}).m.headerView()), "window all") {
		t.Error("zero window is not shown as all")
	}
}

func TestResize(t *testing.T) {
	h := newHarness(t, Options{})
	for _, sz := range [][2]int{{200, 60}, {80, 24}, {40, 10}, {120, 40}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		for _, keys := range [][]string{nil, {"p"}, {"esc", "c"}, {"esc", "?"}, {"esc", "enter"}, {"esc", "esc"}} {
			h.keys(keys...)
			lines := strings.Split(h.screen(), "\n")
			if len(lines) != sz[1] {
				t.Errorf("%dx%d %v: %d lines", sz[0], sz[1], keys, len(lines))
			}
			for i, l := range lines {
				if w := lipgloss.Width(l); w > sz[0] {
					t.Errorf("%dx%d %v: line %d is %d wide: %q", sz[0], sz[1], keys, i, w, l)
				}
			}
		}
	}
	// The cursor stays visible when the screen shrinks.
	h.keys("end")
	h.send(tea.WindowSizeMsg{Width: 100, Height: 12})
	if !strings.Contains(h.screen(), "pkg.helper29") {
		t.Error("selected last row not visible after shrinking")
	}
}

func TestMouse(t *testing.T) {
	h := newHarness(t, Options{})
	// Row 3 of the table is on screen line header+1+2.
	h.send(tea.MouseClickMsg{X: 40, Y: headerLines + 1 + 2, Button: tea.MouseLeft})
	if got := selectedName(t, h); got != "runtime.mallocgc" {
		t.Errorf("click selected %q", got)
	}
	h.send(tea.MouseWheelMsg{X: 40, Y: 10, Button: tea.MouseWheelDown})
	if h.m.top.nav.pos != 5 {
		t.Errorf("wheel: cursor at %d, want 5", h.m.top.nav.pos)
	}
	// A click on the FUNCTION title sorts by it.
	h.send(tea.MouseClickMsg{X: 40, Y: headerLines, Button: tea.MouseLeft})
	if h.m.top.sort.col != colFunction {
		t.Errorf("title click: sort column %v", h.m.top.sort.col)
	}
	if v := h.m.View(); !v.AltScreen || v.MouseMode != tea.MouseModeCellMotion {
		t.Errorf("view: alt screen %v, mouse mode %v", v.AltScreen, v.MouseMode)
	}

	h = newHarness(t, Options{NoMouse: true})
	h.send(tea.MouseClickMsg{X: 40, Y: headerLines + 3, Button: tea.MouseLeft})
	if h.m.top.nav.pos != 0 {
		t.Error("click with NoMouse moved the cursor")
	}
	if v := h.m.View(); !v.AltScreen || v.MouseMode != tea.MouseModeNone {
		t.Errorf("NoMouse view: alt screen %v, mouse mode %v", v.AltScreen, v.MouseMode)
	}
}

func TestMovementKeys(t *testing.T) {
	h := newHarness(t, Options{})
	page := h.m.top.pageHeight()
	for _, c := range []struct {
		key  string
		want int
	}{
		{"j", 1}, {"down", 2}, {"k", 1}, {"up", 0}, {"up", 0},
		{"pgdown", page - 1}, {"pgup", 0}, {"G", 45}, {"end", 45}, {"g", 0}, {"end", 45}, {"home", 0},
	} {
		h.keys(c.key)
		if h.m.top.nav.pos != c.want {
			t.Errorf("after %s: cursor %d, want %d", c.key, h.m.top.nav.pos, c.want)
		}
	}
}

func TestQuitHelpAndViews(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("?")
	if h.m.state != stateHelp {
		t.Fatal("? did not open help")
	}
	h.keys("?")
	if h.m.state != stateView {
		t.Fatal("? did not close help")
	}
	h.keys("p", "?", "esc")
	if h.m.state != stateProcs {
		t.Errorf("help from the picker returned to %v", h.m.state)
	}
	h.keys("esc", "tab")
	if h.m.views[h.m.active] != viewFlame {
		t.Errorf("tab from the table: active %d", h.m.active)
	}
	h.keys("tab")
	if h.m.views[h.m.active] != viewTop {
		t.Errorf("tab from the flamegraph: active %d", h.m.active)
	}
	h.keys("q")
	if !h.quit {
		t.Error("q did not quit")
	}
	h = newHarness(t, Options{})
	h.keys("/", "ctrl+c")
	if !h.quit {
		t.Error("ctrl+c while typing did not quit")
	}
}

func TestKeepsSelectionOnRefresh(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("down", "down", "down") // do_syscall_64
	h.src.top.Rows = slices.Clone(h.src.top.Rows)
	h.src.top.Rows[3].Self = 9000
	h.tick()
	if got := selectedName(t, h); got != "do_syscall_64" || h.m.top.nav.pos != 0 {
		t.Errorf("after refresh: selected %q at %d", got, h.m.top.nav.pos)
	}
	// At the top, the cursor stays at the top.
	h.src.top.Rows[3].Self = 1
	h.tick()
	if got := selectedName(t, h); got != "main.spin" {
		t.Errorf("cursor at top follows the function: selected %q", got)
	}
}

func TestEveryBindingInHelp(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("?")
	s := h.screen()
	km := DefaultKeyMap()
	for _, g := range km.FullHelp() {
		for _, b := range g {
			if !strings.Contains(s, b.Help().Desc) {
				t.Errorf("help lacks %q", b.Help().Desc)
			}
		}
	}
	for _, b := range km.ShortHelp() {
		found := false
		for _, g := range km.FullHelp() {
			for _, f := range g {
				found = found || f.Help() == b.Help()
			}
		}
		if !found {
			t.Errorf("short help %q is not in the full help", b.Help().Desc)
		}
	}
}

func TestEmptyAndLoading(t *testing.T) {
	src := newFake()
	m := New(src, Options{NoColor: true, Now: testClock})
	if !strings.Contains(m.render(), "waiting for the first samples") {
		t.Error("no loading message before the first answer")
	}
	h := newHarness(t, Options{Filter: Filter{Comm: "nope"}})
	h.src.top = aggregate.TopResult{}
	h.tick()
	if !strings.Contains(h.screen(), "no samples in this window for these filters") {
		t.Error("no empty message")
	}
}

func TestTextHelpers(t *testing.T) {
	for _, c := range []struct {
		in   string
		w    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdef", 4, "abc…"},
		{"日本語の関数", 7, "日本語…"},
		{"日本語の関数", 6, "日本…"},
		{"héllo wörld", 6, "héllo…"},
		{"x", 0, ""},
	} {
		if got := truncate(c.in, c.w); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
	if got := truncateLeft("/usr/lib/go/src/runtime/malloc.go:1012", 12); got != "…alloc.go:1012"[0:len("…alloc.go:1012")] && textWidth(got) != 12 {
		t.Errorf("truncateLeft = %q", got)
	}
	if got := truncateLeft("日本語の関数", 5); got != "…の関数"[:0]+"…関数" {
		t.Errorf("truncateLeft wide = %q", got)
	}
	if got := cleanText("a\x1b[31mb\tc\u009bd\xff"); strings.ContainsAny(got, "\x1b\t\u009b") || got != "a\uFFFD[31mb\uFFFDc\uFFFDd\uFFFD" {
		t.Errorf("cleanText = %q", got)
	}
	if got := fit("ab", 4, true); got != "  ab" {
		t.Errorf("fit right = %q", got)
	}
	if got := shortContainer(cid1); got != "3f4e5d6c7b8a" {
		t.Errorf("shortContainer = %q", got)
	}
	if got := formatDuration(5 * time.Minute); got != "5m" {
		t.Errorf("formatDuration = %q", got)
	}
}

// The header shows what an OTLP forwarder sent and dropped, and nothing
// about OTLP when nothing is forwarded.
func TestHeaderShowsExport(t *testing.T) {
	h := newHarness(t, Options{})
	if head := plain(h.m.headerView()); strings.Contains(head, "otlp") {
		t.Errorf("header mentions otlp with nothing forwarded:\n%s", head)
	}
	h.src.health.Exported, h.src.health.ExportDropped = 1234, 5
	h.tick()
	head := plain(h.m.headerView())
	if !strings.Contains(head, "otlp sent 1234") || !strings.Contains(head, "dropped 5") {
		t.Errorf("header does not show the export counts:\n%s", head)
	}
}
