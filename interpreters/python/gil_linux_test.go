package python

import (
	"debug/elf"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
)

// gilHolder returns a function that reads which PyThreadState holds the
// GIL (0: none), using the version's DWARF: test-only knowledge.
func gilHolder(t *testing.T, p *Process, py installedPython) func() uint64 {
	t.Helper()
	f, err := elf.Open(py.Lib)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms := readSyms(f, true)
	s, _ := syms.evalSymbol()
	bias := p.EvalStart - s.Value
	m := p.obj.m
	read := func(addr uint64) uint64 {
		v, err := m.u64(addr)
		if err != nil {
			t.Fatalf("read GIL state: %v", err)
		}
		return v
	}
	if !py.Version.atLeast(3, 7) {
		all, _ := f.Symbols()
		dyn, _ := f.DynamicSymbols()
		for _, s := range append(all, dyn...) {
			if s.Name == "_PyThreadState_Current" && s.Section != elf.SHN_UNDEF {
				return func() uint64 { return read(bias + s.Value) }
			}
		}
		t.Skip("no _PyThreadState_Current symbol")
	}
	types, err := loadDWARFTypes(py.Lib, []string{"_PyRuntimeState", "PyInterpreterState", "struct _gil_runtime_state", "_gil_runtime_state"})
	if err != nil {
		t.Skipf("no DWARF: %v", err)
	}
	runtime := bias + syms["_PyRuntime"].Value
	if !py.Version.atLeast(3, 12) {
		off, err := types.offset("_PyRuntimeState", "gilstate.tstate_current")
		if err != nil {
			t.Fatal(err)
		}
		return func() uint64 { return read(runtime + uint64(off)) }
	}
	gilOff, err1 := types.offset("PyInterpreterState", "ceval.gil")
	holderOff, err2 := types.offset("_gil_runtime_state", "last_holder")
	lockedOff, err3 := types.offset("_gil_runtime_state", "locked")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("GIL layout: %v %v %v", err1, err2, err3)
	}
	return func() uint64 {
		gil := read(read(p.InterpHead) + uint64(gilOff))
		if uint32(read(gil+uint64(lockedOff))) == 0 {
			return 0
		}
		return read(gil + uint64(holderOff))
	}
}

// TestThreadWithoutGIL shows that a thread running C code that released
// the GIL (threads.py's py_thread_b, in zlib.compress) keeps its Python
// frames for the walker.
func TestThreadWithoutGIL(t *testing.T) {
	testutil.RequirePrivileges(t)
	forEachPython(t, func(t *testing.T, py installedPython) {
		path := targetPath(t, "threads.py")
		cmd, _, _ := startPython(t, nil, py.Exe, path)
		p := detectWhenReady(t, cmd.Process.Pid)
		tg := target{readMarkers(t, path), path, py.Version}
		waitForChain(t, p, checkThreads, tg)
		holder := gilHolder(t, p, py)
		const walks = 30
		without, heldByA := 0, 0
		for i := 0; i < walks; i++ {
			var h uint64
			snap := snapshotWith(t, p, func() { h = holder() })
			if !checkThreads(t, snap, tg) {
				t.FailNow()
			}
			for _, th := range snap {
				switch th.frames[0].Function {
				case "py_thread_b_work":
					if th.state != h {
						without++
					}
				case "py_thread_a_work":
					if th.state == h {
						heldByA++
					}
				}
			}
		}
		t.Logf("py_thread_b walked without the GIL in %d of %d snapshots; py_thread_a held it in %d", without, walks, heldByA)
		if heldByA == 0 {
			t.Errorf("py_thread_a, spinning in Python, never held the GIL: the GIL reader is wrong")
		}
		// How often depends on the scheduler (a loaded box keeps a thread
		// that holds the GIL off the CPU); that it happens, with every
		// thread's frames intact, is the point.
		if without == 0 {
			t.Errorf("py_thread_b never walked while not holding the GIL")
		}
	})
}
