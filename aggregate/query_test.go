package aggregate

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingSymbolizer is a comparable Symbolizer that counts its calls.
type countingSymbolizer struct {
	m     mapSymbolizer
	mu    sync.Mutex
	calls map[Frame]int
}

func newCountingSymbolizer(m mapSymbolizer) *countingSymbolizer {
	return &countingSymbolizer{m: m, calls: map[Frame]int{}}
}

func (c *countingSymbolizer) Symbolize(f Frame) []Location {
	c.mu.Lock()
	c.calls[f]++
	c.mu.Unlock()
	return c.m[f]
}

func (c *countingSymbolizer) reset() map[Frame]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = map[Frame]int{}
	return calls
}

var (
	fRecA = Frame{Kind: KindNative, FileID: appID, Addr: 0x4000}
	fRecB = Frame{Kind: KindNative, FileID: appID, Addr: 0x4010}
	// fRecInl is rec inlined into itself.
	fRecInl = Frame{Kind: KindNative, FileID: appID, Addr: 0x4020}
)

func querySymbolizer() mapSymbolizer {
	m := testSymbolizer()
	m[fRecA] = []Location{{Function: "rec", Module: "app", File: "/src/rec.c", Line: 5}}
	m[fRecB] = []Location{{Function: "rec", Module: "app", File: "/src/rec.c", Line: 7}}
	m[fRecInl] = []Location{
		{Function: "rec", Module: "app", File: "/src/rec.c", Line: 7, Inlined: true},
		{Function: "rec", Module: "app", File: "/src/rec.c", Line: 9},
	}
	return m
}

// queryStore returns a Store on a fake clock holding:
//
//	3  pid 10/10 "app"  host  compute(square,sum inlined) <- main <- start
//	2  pid 10/11 "app"  host  rec <- rec <- rec <- main <- start
//	1  pid 20/20 "db"   c1    do_syscall_64 <- entry <- compute <- main <- start
//	4  pid 20/21 "db-w" c1    rec(rec inlined) <- main <- start
//	1  pid 30/30 "idle" c2    (no frames)
func queryStore(t *testing.T) (*Store, *fakeClock) {
	t.Helper()
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now})
	add := func(n int, pid, tid uint32, comm, ctr string, frames ...Frame) {
		for range n {
			s.Add(&Trace{PID: pid, TID: tid, Comm: comm, Container: ctr, Frames: frames})
		}
	}
	add(3, 10, 10, "app", "", fCompute, fMain, fStart)
	add(2, 10, 11, "app", "", fRecA, fRecB, fRecA, fMain, fStart)
	add(1, 20, 20, "db", "c1", fSyscall, fEntry, fCompute, fMain, fStart)
	add(4, 20, 21, "db-w", "c1", fRecInl, fMain, fStart)
	add(1, 30, 30, "idle", "c2")
	return s, clock
}

// topLines renders rows as "name self total" lines.
func topLines(rows []FunctionRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %d %d\n", r.Name, r.Self, r.Total)
	}
	return b.String()
}

func TestTopSelfTotal(t *testing.T) {
	s, _ := queryStore(t)
	res := s.Top(Query{}, querySymbolizer())
	if res.Samples != 11 {
		t.Errorf("Samples = %d, want 11", res.Samples)
	}
	// rec: 2 samples recursing through three frames and 4 through an
	// inlined self-call count 6, not 10; square is the innermost
	// Location of compute's frame, so it has compute's self samples.
	want := `rec 6 6
square 3 4
do_syscall_64 1 1
__libc_start_main 0 10
main 0 10
compute 0 4
sum 0 4
entry_SYSCALL_64 0 1
`
	if got := topLines(res.Rows); got != want {
		t.Errorf("Top rows:\n%s\nwant:\n%s", got, want)
	}
	for _, r := range res.Rows {
		switch r.Name {
		case "square":
			if r.Module != "app" || r.File != "/src/app.c" || r.Line != 10 || r.Kind != KindNative {
				t.Errorf("square row = %+v", r)
			}
		case "do_syscall_64":
			if r.Kind != KindKernel || r.Module != "[kernel]" {
				t.Errorf("do_syscall_64 row = %+v", r)
			}
		}
	}
}

func TestTopNilSymbolizerAndUnknownFrames(t *testing.T) {
	s := NewStore()
	s.Add(&Trace{PID: 1, TID: 1, Frames: []Frame{fAnon, fStart}})
	s.Add(&Trace{PID: 1, TID: 1, Frames: []Frame{fErr}})
	for _, sym := range []Symbolizer{nil, querySymbolizer()} {
		res := s.Top(Query{}, sym)
		if res.Samples != 2 || len(res.Rows) != 3 {
			t.Fatalf("Top = %+v", res)
		}
		names := topLines(res.Rows)
		if !strings.Contains(names, "[unknown]+0x7f0000001234 1 1") {
			t.Errorf("unsymbolized frame not named by address:\n%s", names)
		}
	}
}

func TestTopWindow(t *testing.T) {
	clock := &fakeClock{}
	start := clock.now()
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: time.Minute})
	add := func(n int, f Frame) {
		for range n {
			s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Frames: []Frame{f}})
		}
	}
	add(1, fMain) // second 0
	clock.advance(1500 * time.Millisecond)
	add(2, fStart) // second 1
	clock.advance(3 * time.Second)
	add(4, fCompute) // second 4 (4.5 s)
	sym := querySymbolizer()

	for _, tc := range []struct {
		name     string
		q        Query
		samples  int64
		window   time.Duration
		topNames string
	}{
		{"all", Query{}, 7, 4500 * time.Millisecond, "square"},
		{"last 3s", Query{From: clock.now().Add(-3 * time.Second)}, 6, 3500 * time.Millisecond, "square"},
		{"first second", Query{From: start, To: start.Add(time.Second)}, 1, time.Second, "main"},
		{"overlapping bucket", Query{From: start.Add(500 * time.Millisecond), To: start.Add(1100 * time.Millisecond)}, 3, 2 * time.Second, "__libc_start_main"},
		{"empty middle", Query{From: start.Add(2 * time.Second), To: start.Add(4 * time.Second)}, 0, 2 * time.Second, ""},
		{"before start", Query{From: start.Add(-time.Hour), To: start.Add(-time.Minute)}, 0, 0, ""},
		{"reversed", Query{From: start.Add(3 * time.Second), To: start.Add(time.Second)}, 0, 0, ""},
		{"future", Query{From: start.Add(time.Hour)}, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.Top(tc.q, sym)
			if res.Samples != tc.samples || res.Window != tc.window {
				t.Errorf("Samples, Window = %d, %v; want %d, %v", res.Samples, res.Window, tc.samples, tc.window)
			}
			top := ""
			if len(res.Rows) > 0 {
				top = res.Rows[0].Name
			}
			if top != tc.topNames {
				t.Errorf("top function %q, want %q", top, tc.topNames)
			}
		})
	}

	// The first sample leaves a one-minute history 60 s after it came.
	clock.advance(55 * time.Second) // 59.5 s: second 59 still holds second 0
	if res := s.Top(Query{}, sym); res.Samples != 7 {
		t.Errorf("at 59.5 s: Samples = %d, want 7", res.Samples)
	}
	clock.advance(time.Second) // 60.5 s: second 0 has left
	if res := s.Top(Query{}, sym); res.Samples != 6 || res.Window != 59500*time.Millisecond {
		t.Errorf("at 60.5 s: Samples, Window = %d, %v; want 6, 59.5s", res.Samples, res.Window)
	}
	clock.advance(time.Hour)
	if res := s.Top(Query{}, sym); res.Samples != 0 || len(res.Rows) != 0 {
		t.Errorf("an hour later: %+v", res)
	}
	if n := s.Stacks(); n != 0 {
		t.Errorf("an hour later: Stacks() = %d", n)
	}
}

func TestQueryFilters(t *testing.T) {
	s, _ := queryStore(t)
	sym := querySymbolizer()
	for _, tc := range []struct {
		name    string
		q       Query
		samples int64
		leaves  string // Self>0 functions
	}{
		{"pid", Query{PIDs: []uint32{20}}, 5, "rec do_syscall_64"},
		{"pids", Query{PIDs: []uint32{30, 10}}, 6, "square rec"},
		{"tid", Query{TIDs: []uint32{11}}, 2, "rec"},
		{"pid and tid", Query{PIDs: []uint32{10}, TIDs: []uint32{21}}, 0, ""},
		{"container", Query{Containers: []string{"c1"}}, 5, "rec do_syscall_64"},
		{"host", Query{Containers: []string{""}}, 5, "square rec"},
		{"comm", Query{Comm: "db-w"}, 4, "rec"},
		{"kernel stacks", Query{Kind: KindKernel}, 1, "do_syscall_64"},
		{"native stacks", Query{Kind: KindNative}, 10, "rec square do_syscall_64"},
		{"error stacks", Query{Kind: KindError}, 0, ""},
		{"unknown kind", Query{Kind: 200}, 0, ""},
		{"all filters", Query{PIDs: []uint32{20}, TIDs: []uint32{20}, Containers: []string{"c1"}, Comm: "db", Kind: KindKernel}, 1, "do_syscall_64"},
		{"no match", Query{PIDs: []uint32{99}}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.Top(tc.q, sym)
			var leaves []string
			for _, r := range res.Rows {
				if r.Self > 0 {
					leaves = append(leaves, r.Name)
				}
			}
			if res.Samples != tc.samples || strings.Join(leaves, " ") != tc.leaves {
				t.Errorf("Samples %d, leaves %q; want %d, %q", res.Samples, leaves, tc.samples, tc.leaves)
			}
		})
	}
}

func TestQueryFilterManyPIDs(t *testing.T) {
	s, _ := queryStore(t)
	var pids []uint32
	for pid := range uint32(100) {
		if pid != 10 {
			pids = append(pids, pid+1000)
		}
	}
	pids = append(pids, 20)
	if res := s.Top(Query{PIDs: pids}, nil); res.Samples != 5 {
		t.Errorf("Samples = %d, want 5", res.Samples)
	}
}

func TestQueryExoticKind(t *testing.T) {
	s := NewStore()
	k70 := Frame{Kind: 70, Addr: 1}
	k80 := Frame{Kind: 80, Addr: 1}
	s.Add(&Trace{PID: 1, Frames: []Frame{k70, fMain}})
	s.Add(&Trace{PID: 1, Frames: []Frame{k80, fMain}})
	s.Add(&Trace{PID: 1, Frames: []Frame{k80, fMain}})
	for kind, want := range map[FrameKind]int64{70: 1, 80: 2, 90: 0, KindNative: 3} {
		if got := s.Top(Query{Kind: kind}, nil).Samples; got != want {
			t.Errorf("Kind %d: %d samples, want %d", kind, got, want)
		}
	}
}

// treeText renders a tree, one node per line, indented by depth.
func treeText(n *TreeNode) string {
	var b strings.Builder
	var walk func(n *TreeNode, depth int)
	walk = func(n *TreeNode, depth int) {
		fmt.Fprintf(&b, "%s%s %d/%d\n", strings.Repeat("  ", depth), n.Name, n.Self, n.Total)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func TestTree(t *testing.T) {
	s, _ := queryStore(t)
	got := treeText(s.Tree(Query{}, querySymbolizer(), false))
	want := `all 1/11
  __libc_start_main 0/10
    main 0/10
      rec 0/6
        rec 4/6
          rec 2/2
      compute 0/4
        sum 0/4
          square 3/4
            entry_SYSCALL_64 0/1
              do_syscall_64 1/1
`
	if got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestTreeInverted(t *testing.T) {
	s, _ := queryStore(t)
	got := treeText(s.Tree(Query{}, querySymbolizer(), true))
	want := `all 1/11
  rec 0/6
    rec 0/6
      main 0/4
        __libc_start_main 4/4
      rec 0/2
        main 0/2
          __libc_start_main 2/2
  square 0/3
    sum 0/3
      compute 0/3
        main 0/3
          __libc_start_main 3/3
  do_syscall_64 0/1
    entry_SYSCALL_64 0/1
      square 0/1
        sum 0/1
          compute 0/1
            main 0/1
              __libc_start_main 1/1
`
	if got != want {
		t.Errorf("inverted Tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestTreeModulesApart(t *testing.T) {
	// One name in two modules gives two nodes; the tree is sorted by
	// Total, then Name, then Module.
	fA := Frame{Kind: KindNative, FileID: 1, Addr: 1}
	fB := Frame{Kind: KindNative, FileID: 2, Addr: 1}
	sym := mapSymbolizer{
		fA: {{Function: "init", Module: "liba"}},
		fB: {{Function: "init", Module: "libb"}},
	}
	s := NewStore()
	s.Add(&Trace{Frames: []Frame{fB}})
	s.Add(&Trace{Frames: []Frame{fA}})
	root := s.Tree(Query{}, sym, false)
	if len(root.Children) != 2 || root.Children[0].Module != "liba" || root.Children[1].Module != "libb" {
		t.Errorf("children = %+v, %+v", root.Children[0], root.Children[1])
	}
	if root.Name != "all" || root.Total != 2 || root.Self != 0 {
		t.Errorf("root = %+v", root)
	}
}

func TestTreeWideNode(t *testing.T) {
	// Many leaf functions under one caller, and many roots.
	s := NewStore()
	sym := mapSymbolizer{}
	const n = 50
	for i := range n {
		f := Frame{Kind: KindNative, FileID: 9, Addr: uint64(i)}
		sym[f] = []Location{{Function: fmt.Sprintf("leaf%02d", i), Module: "m"}}
		for range i + 1 {
			s.Add(&Trace{Frames: []Frame{f, fMain}})
			s.Add(&Trace{Frames: []Frame{fMain, f}})
		}
	}
	sym[fMain] = []Location{{Function: "main", Module: "app"}}
	root := s.Tree(Query{}, sym, false)
	var main *TreeNode
	for _, c := range root.Children {
		if c.Name == "main" {
			main = c
		}
	}
	if main == nil || len(main.Children) != n || len(root.Children) != n+1 {
		t.Fatalf("tree:\n%s", treeText(root))
	}
	for i, c := range main.Children {
		if want := fmt.Sprintf("leaf%02d", n-1-i); c.Name != want || c.Total != int64(n-i) || c.Self != c.Total {
			t.Errorf("child %d = %s %d/%d, want %s", i, c.Name, c.Self, c.Total, want)
		}
	}
	inv := s.Tree(Query{}, sym, true)
	if len(inv.Children) != n+1 || inv.Total != int64(n*(n+1)) {
		t.Errorf("inverted root: %d children, total %d", len(inv.Children), inv.Total)
	}
}

func TestCallersCallees(t *testing.T) {
	s, _ := queryStore(t)
	sym := querySymbolizer()
	callers, callees := s.CallersCallees(Query{}, sym, "rec", "app")
	if got, want := topLines(callers), "main 0 6\nrec 6 6\n"; got != want {
		t.Errorf("rec callers:\n%s\nwant:\n%s", got, want)
	}
	if got, want := topLines(callees), "rec 6 6\n"; got != want {
		t.Errorf("rec callees:\n%s\nwant:\n%s", got, want)
	}
	callers, callees = s.CallersCallees(Query{}, sym, "compute", "app")
	if got, want := topLines(callers), "main 0 4\n"; got != want {
		t.Errorf("compute callers:\n%s\nwant:\n%s", got, want)
	}
	if got, want := topLines(callees), "sum 0 4\n"; got != want {
		t.Errorf("compute callees:\n%s\nwant:\n%s", got, want)
	}
	callers, callees = s.CallersCallees(Query{}, sym, "square", "app")
	if got, want := topLines(callers), "sum 3 4\n"; got != want {
		t.Errorf("square callers:\n%s\nwant:\n%s", got, want)
	}
	if got, want := topLines(callees), "entry_SYSCALL_64 0 1\n"; got != want {
		t.Errorf("square callees:\n%s\nwant:\n%s", got, want)
	}
	callers, callees = s.CallersCallees(Query{PIDs: []uint32{10}}, sym, "do_syscall_64", "[kernel]")
	if callers != nil || callees != nil {
		t.Errorf("function outside the filter: %v, %v", callers, callees)
	}
	callers, callees = s.CallersCallees(Query{}, sym, "rec", "other")
	if callers != nil || callees != nil {
		t.Errorf("unknown module: %v, %v", callers, callees)
	}
}

func TestProcesses(t *testing.T) {
	s, _ := queryStore(t)
	// A thread that renamed itself and one of another process's threads
	// named apart from its main thread.
	s.Add(&Trace{PID: 10, TID: 12, Comm: "app-worker", Frames: []Frame{fMain}})
	s.Add(&Trace{PID: 40, TID: 41, Comm: "w1", Frames: []Frame{fMain}})
	s.Add(&Trace{PID: 40, TID: 42, Comm: "w2", Frames: []Frame{fMain}})
	s.Add(&Trace{PID: 40, TID: 42, Comm: "w2", Frames: []Frame{fMain}})
	got := s.Processes(Query{})
	want := []ProcessRow{
		{PID: 10, Comm: "app", Container: "", Samples: 6, Threads: 3},
		{PID: 20, Comm: "db", Container: "c1", Samples: 5, Threads: 2},
		{PID: 40, Comm: "w2", Container: "", Samples: 3, Threads: 2},
		{PID: 30, Comm: "idle", Container: "c2", Samples: 1, Threads: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Processes =\n%+v\nwant\n%+v", got, want)
	}
	got = s.Processes(Query{Kind: KindKernel})
	want = []ProcessRow{{PID: 20, Comm: "db", Container: "c1", Samples: 1, Threads: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Processes(kernel) =\n%+v\nwant\n%+v", got, want)
	}
	if got := s.Processes(Query{PIDs: []uint32{77}}); len(got) != 0 {
		t.Errorf("Processes(pid 77) = %+v", got)
	}
}

func TestContainers(t *testing.T) {
	s, _ := queryStore(t)
	s.Add(&Trace{PID: 50, TID: 50, Comm: "x", Container: "c2", Frames: []Frame{fMain}})
	got := s.Containers(Query{})
	want := []ContainerRow{
		{ID: "", Processes: 1, Samples: 5},
		{ID: "c1", Processes: 1, Samples: 5},
		{ID: "c2", Processes: 2, Samples: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Containers =\n%+v\nwant\n%+v", got, want)
	}
	got = s.Containers(Query{Comm: "db-w"})
	want = []ContainerRow{{ID: "c1", Processes: 1, Samples: 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Containers(comm) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestQuerySymbolizesOncePerFrame(t *testing.T) {
	s, _ := queryStore(t)
	sym := newCountingSymbolizer(querySymbolizer())
	s.Top(Query{}, sym)
	calls := sym.reset()
	if len(calls) != 8 {
		t.Errorf("symbolized %d distinct frames, want 8", len(calls))
	}
	for f, n := range calls {
		if n != 1 {
			t.Errorf("frame %v symbolized %d times", f, n)
		}
	}
	// Cached across queries of every kind.
	s.Top(Query{}, sym)
	s.Tree(Query{}, sym, true)
	s.CallersCallees(Query{}, sym, "main", "app")
	if calls := sym.reset(); len(calls) != 0 {
		t.Errorf("second query symbolized %v", calls)
	}
	// A new stack symbolizes only its frames.
	s.Add(&Trace{PID: 1, TID: 1, Frames: []Frame{fMain2, fStart}})
	s.Top(Query{}, sym)
	if calls := sym.reset(); !reflect.DeepEqual(calls, map[Frame]int{fMain2: 1, fStart: 1}) {
		t.Errorf("after a new stack: symbolized %v", calls)
	}
	// Another Symbolizer starts over.
	other := newCountingSymbolizer(querySymbolizer())
	s.Top(Query{}, other)
	if calls := other.reset(); len(calls) != 9 {
		t.Errorf("new Symbolizer: symbolized %d frames, want 9", len(calls))
	}
}

func TestQueryCacheFollowsStackReuse(t *testing.T) {
	// A freed stack's ID is reused for another stack: the cached names
	// of the old one must not stick to the new one.
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 2 * time.Second})
	sym := newCountingSymbolizer(querySymbolizer())
	s.Add(&Trace{Frames: []Frame{fMain}})
	if got := topLines(s.Top(Query{}, sym).Rows); got != "main 1 1\n" {
		t.Fatalf("Top = %q", got)
	}
	clock.advance(5 * time.Second)
	s.Add(&Trace{Frames: []Frame{fStart}})
	if got := topLines(s.Top(Query{}, sym).Rows); got != "__libc_start_main 1 1\n" {
		t.Errorf("after reuse: Top = %q", got)
	}
	s.mu.Lock()
	if n := len(s.stacks.meta); n != 1 {
		t.Errorf("%d stack slots, want the one reused", n)
	}
	s.mu.Unlock()
}

func TestUncomparableSymbolizer(t *testing.T) {
	if sameSymbolizer(mapSymbolizer{}, mapSymbolizer{}) {
		t.Error("two maps are the same Symbolizer")
	}
	a := newCountingSymbolizer(nil)
	if !sameSymbolizer(a, a) || sameSymbolizer(a, newCountingSymbolizer(nil)) || sameSymbolizer(a, nil) || !sameSymbolizer(nil, nil) {
		t.Error("sameSymbolizer wrong on pointers")
	}
	// A comparable type holding an uncomparable value: == would panic.
	wrapped := wrapSymbolizer{querySymbolizer()}
	if sameSymbolizer(wrapped, wrapped) {
		t.Error("a wrapped map is the same Symbolizer")
	}
	s, _ := queryStore(t)
	m := querySymbolizer()
	first := topLines(s.Top(Query{}, m).Rows)
	if again := topLines(s.Top(Query{}, m).Rows); again != first {
		t.Errorf("uncached query differs:\n%s\nvs\n%s", again, first)
	}
}

type wrapSymbolizer struct{ inner Symbolizer }

func (w wrapSymbolizer) Symbolize(f Frame) []Location { return w.inner.Symbolize(f) }

// naiveTree builds the tree of sc's stacks by looking every child up.
func naiveTree(t *testing.T, s *Store, q Query, sym Symbolizer, inverted bool) string {
	t.Helper()
	type node struct {
		name, module string
		self, total  int64
		kids         map[string]*node
	}
	sc := s.gatherSymbolized(q, sym)
	root := &node{name: "all", kids: map[string]*node{}}
	for _, st := range sc.stacks {
		root.total += st.count
		n := root
		for i := range st.fns {
			fn := st.fns[i]
			if !inverted {
				fn = st.fns[len(st.fns)-1-i]
			}
			fi := sc.infos[fn]
			key := fi.name + "\x00" + fi.module
			c := n.kids[key]
			if c == nil {
				c = &node{name: fi.name, module: fi.module, kids: map[string]*node{}}
				n.kids[key] = c
			}
			c.total += st.count
			n = c
		}
		n.self += st.count
	}
	var conv func(n *node) *TreeNode
	conv = func(n *node) *TreeNode {
		tn := &TreeNode{Name: n.name, Module: n.module, Self: n.self, Total: n.total}
		for _, c := range n.kids {
			tn.Children = append(tn.Children, conv(c))
		}
		slices.SortFunc(tn.Children, compareTreeNodes)
		return tn
	}
	return treeText(conv(root))
}

func TestTreeMatchesNaive(t *testing.T) {
	// Random stacks over a few functions share prefixes of every length,
	// with stacks that are prefixes of others and recursion.
	rng := rand.New(rand.NewPCG(9, 9))
	sym := mapSymbolizer{}
	var frames []Frame
	for i := range 12 {
		f := Frame{Kind: KindNative, FileID: 3, Addr: uint64(i)}
		frames = append(frames, f)
		// Frames 0 and 1 are one function; frame 2 has an inlined call.
		sym[f] = []Location{{Function: fmt.Sprintf("f%d", max(i, 1)), Module: "m"}}
	}
	sym[frames[2]] = append([]Location{{Function: "f5", Module: "m", Inlined: true}}, sym[frames[2]]...)
	s := NewStore()
	for range 3000 {
		st := make([]Frame, rng.IntN(8))
		for j := range st {
			st[j] = frames[rng.IntN(1+rng.IntN(len(frames)))]
		}
		s.Add(&Trace{PID: uint32(rng.IntN(3)), Frames: st})
	}
	for _, inverted := range []bool{false, true} {
		for _, q := range []Query{{}, {PIDs: []uint32{1}}} {
			got := treeText(s.Tree(q, sym, inverted))
			if want := naiveTree(t, s, q, sym, inverted); got != want {
				t.Errorf("inverted=%v %+v: tree differs from the naive one:\n%s\nwant:\n%s", inverted, q, got, want)
			}
		}
	}
}
