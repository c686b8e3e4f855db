package python

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// walkedFrame is a RawFrame with its symbolization.
type walkedFrame struct {
	RawFrame
	Frame
}

type walkedThread struct {
	id     uint64
	state  uint64
	frames []walkedFrame
}

func (w walkedThread) names() []string {
	var out []string
	for _, f := range w.frames {
		out = append(out, f.Function)
	}
	return out
}

func (w walkedThread) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "thread %#x:", w.id)
	for _, f := range w.frames {
		fmt.Fprintf(&b, " %s (%s:%d entry=%v)", f.Function, filepath.Base(f.File), f.Line, f.Entry)
	}
	return b.String()
}

// snapshot stops the process, walks every thread with the reference walker
// and symbolizes every frame, then lets it run again: a consistent view,
// like a sample's.
func snapshot(t *testing.T, p *Process) []walkedThread {
	t.Helper()
	return snapshotWith(t, p, nil)
}

// snapshotWith is snapshot that also calls stopped (when not nil) while
// the process is stopped.
func snapshotWith(t *testing.T, p *Process, stopped func()) []walkedThread {
	t.Helper()
	if err := syscall.Kill(p.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(p.PID, syscall.SIGCONT)
	// SIGSTOP is asynchronous: wait until every thread is stopped.
	for i := 0; i < 200 && !allStopped(p.PID); i++ {
		time.Sleep(time.Millisecond)
	}
	threads, err := p.Threads()
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if stopped != nil {
		stopped()
	}
	var out []walkedThread
	for _, th := range threads {
		w := walkedThread{id: th.ThreadID, state: th.State}
		for _, rf := range th.Frames {
			f, err := p.Symbolize(rf.Code, rf.Lasti, rf.Check)
			if err != nil {
				t.Fatalf("symbolize %+v: %v", rf, err)
			}
			w.frames = append(w.frames, walkedFrame{rf, f})
		}
		out = append(out, w)
	}
	return out
}

func TestConformance(t *testing.T) {
	testutil.RequirePrivileges(t)
	forEachInterpreter(t, func(t *testing.T, py interpreter) {
		for _, script := range []string{"chain.py", "roundtrip.py", "threads.py"} {
			t.Run(strings.TrimSuffix(script, ".py"), func(t *testing.T) {
				path := targetPath(t, script)
				tg := target{readMarkers(t, path), path, py.Version}
				cmd, _, _ := startPython(t, nil, py.Exe, tg.path)
				p := detectWhenReady(t, cmd.Process.Pid)
				if p.Version.Major != py.Version.Major || p.Version.Minor != py.Version.Minor {
					t.Fatalf("Detect says %v, want %d.%d", p.Version, py.Version.Major, py.Version.Minor)
				}
				if py.Version.Patch != 0 && p.Version != py.Version {
					t.Errorf("Detect says %v, want %v", p.Version, py.Version)
				}
				check := map[string]func(*testing.T, []walkedThread, target) bool{
					"chain.py": checkChain, "roundtrip.py": checkRoundtrip, "threads.py": checkThreads,
				}[script]
				waitForChain(t, p, check, tg)
				const walks = 30
				full := 0
				for i := 0; i < walks; i++ {
					snap := snapshot(t, p)
					if !check(t, snap, tg) {
						for _, th := range snap {
							t.Log(th)
						}
						t.FailNow()
					}
					if len(snap[0].frames) == 4 || script != "roundtrip.py" {
						full++
					}
					time.Sleep(10 * time.Millisecond)
				}
				if full < walks*2/3 {
					t.Errorf("the whole chain showed in %d of %d walks", full, walks)
				}
				// thread_id is pthread_self(), the fs base of the task.
				snap := snapshot(t, p)
				bases := fsBases(t, p.PID)
				for _, th := range snap {
					if _, ok := bases[th.id]; !ok {
						t.Errorf("thread_id %#x is no task's fs base (%v)", th.id, bases)
					}
				}
				if len(snap) != len(bases) {
					t.Errorf("%d Python threads, %d tasks", len(snap), len(bases))
				}
			})
		}
	})
}

// waitForChain waits (at most 20 s) until the target has reached its steady
// state, where check passes.
func waitForChain(t *testing.T, p *Process, check func(*testing.T, []walkedThread, target) bool, tg target) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !check(nil, snapshot(t, p), tg) {
		if time.Now().After(deadline) {
			check(t, snapshot(t, p), tg) // reports why
			t.Fatal("the expected chain never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectFrames checks a thread's frames, innermost first, against names,
// and each line against want (a function of the frame's index).
func expectFrames(t *testing.T, th walkedThread, names []string, lines []func(int) bool) bool {
	got := th.names()
	if len(got) < len(names) || !slices.Equal(got[:len(names)], names) {
		if t != nil {
			t.Errorf("frames %v, want %v first", got, names)
		}
		return false
	}
	for i, ok := range lines {
		if ok != nil && !ok(th.frames[i].Line) {
			if t != nil {
				t.Errorf("%s at line %d", names[i], th.frames[i].Line)
			}
			return false
		}
	}
	return true
}

func lineIs(n int) func(int) bool            { return func(l int) bool { return l == n } }
func lineIn(set map[int]bool) func(int) bool { return func(l int) bool { return set[l] } }

func sameFile(t *testing.T, th walkedThread, n int, path string) bool {
	for _, f := range th.frames[:n] {
		if f.File != path {
			if t != nil {
				t.Errorf("%s is in %q, want %q", f.Function, f.File, path)
			}
			return false
		}
	}
	return true
}

// target is what the checks know about the running script.
type target struct {
	markers
	path string
	v    Version
}

func checkChain(t *testing.T, snap []walkedThread, tg target) bool {
	if len(snap) != 1 {
		if t != nil {
			t.Errorf("%d threads, want 1", len(snap))
		}
		return false
	}
	th := snap[0]
	want := []string{"py_chain_c", "py_chain_b", "py_chain_a", "<module>"}
	if len(th.frames) != len(want) {
		if t != nil {
			t.Errorf("%v, want exactly %v", th, want)
		}
		return false
	}
	return expectFrames(t, th, want, []func(int) bool{
		lineIn(tg.spin), lineIs(tg.call["py_chain_c"]), lineIs(tg.call["py_chain_b"]), lineIs(tg.call["py_chain_a"]),
	}) && sameFile(t, th, 4, tg.path)
}

func checkRoundtrip(t *testing.T, snap []walkedThread, tg target) bool {
	if len(snap) != 1 {
		return false
	}
	th := snap[0]
	want := []string{"py_key_leaf", "py_sort_key", "py_sort_outer", "<module>"}
	lines := []func(int) bool{lineIn(tg.spin), lineIs(tg.call["py_key_leaf"]), lineIs(tg.call["sorted"]), lineIs(tg.call["py_sort_outer"])}
	// Between two sorts only the outer two frames exist; between two calls
	// of py_key_leaf, py_sort_key runs on its call line or the return after
	// it. Any other shape is wrong.
	n := len(th.frames)
	if n < 2 || n > 4 {
		if t != nil {
			t.Errorf("%v, want %v or its last three or two", th, want)
		}
		return false
	}
	if n == 3 {
		call := tg.call["py_key_leaf"]
		lines[1] = lineIn(map[int]bool{call: true, call + 1: true})
	}
	if !expectFrames(t, th, want[4-n:], lines[4-n:]) || !sameFile(t, th, n, tg.path) {
		return false
	}
	if n >= 3 {
		// The frames of one eval call: <module> and py_sort_outer, then,
		// from C (sorted), py_sort_key and py_key_leaf.
		entries := []bool{false, true, false, true}[4-n:]
		for i, f := range th.frames {
			if f.Entry != entries[i] && tg.v.atLeast(3, 11) {
				if t != nil {
					t.Errorf("%s: entry %v, want %v", f.Function, f.Entry, entries[i])
				}
				return false
			}
		}
	}
	return true
}

func checkThreads(t *testing.T, snap []walkedThread, tg target) bool {
	if len(snap) != 3 {
		if t != nil {
			t.Errorf("%d threads, want 3", len(snap))
		}
		return false
	}
	var a, b, main *walkedThread
	for i := range snap {
		switch names := snap[i].names(); {
		case len(names) > 0 && names[0] == "py_thread_a_work":
			a = &snap[i]
		case len(names) > 0 && names[0] == "py_thread_b_work":
			b = &snap[i]
		case len(names) > 0 && names[len(names)-1] == "<module>":
			main = &snap[i]
		}
	}
	if a == nil || b == nil || main == nil {
		if t != nil {
			t.Errorf("want a thread in py_thread_a_work, one in py_thread_b_work and the main one, got %v", snap)
		}
		return false
	}
	call := tg.call["zlib.compress"]
	ok := expectFrames(t, *a, []string{"py_thread_a_work", "py_thread_a"}, []func(int) bool{lineIn(tg.spin), lineIs(tg.call["py_thread_a_work"])}) &&
		expectFrames(t, *b, []string{"py_thread_b_work", "py_thread_b"}, []func(int) bool{func(l int) bool { return l == call || l == call-1 }, lineIs(tg.call["py_thread_b_work"])}) &&
		sameFile(t, *a, 2, tg.path) && sameFile(t, *b, 2, tg.path)
	if !ok {
		return false
	}
	for _, th := range []*walkedThread{a, b} {
		root := th.frames[len(th.frames)-1]
		if !strings.HasSuffix(root.Function, "_bootstrap") || filepath.Base(root.File) != "threading.py" {
			if t != nil {
				t.Errorf("thread root is %s in %s, want threading's _bootstrap", root.Function, root.File)
			}
			return false
		}
	}
	root := main.frames[len(main.frames)-1]
	if root.File != tg.path || root.Line != tg.call["join"] || filepath.Base(main.frames[0].File) != "threading.py" {
		if t != nil {
			t.Errorf("main thread %v: want <module> at line %d calling into threading.py", main, tg.call["join"])
		}
		return false
	}
	return true
}
