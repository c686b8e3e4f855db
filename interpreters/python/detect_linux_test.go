package python

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
	"github.com/pftop/pftop/unwinder"
)

func TestDetectNotPython(t *testing.T) {
	testutil.RequirePrivileges(t)
	// This test binary (Go), and a C program.
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	for _, pid := range []int{os.Getpid(), sleep.Process.Pid} {
		p, err := Detect(pid)
		if p != nil || err != nil {
			t.Errorf("Detect(%d) = %v, %v; want nil, nil", pid, p, err)
		}
	}
	// Kernel threads have no maps at all.
	if p, err := Detect(2); p != nil || err != nil {
		t.Errorf("Detect(kthreadd) = %v, %v; want nil, nil", p, err)
	}
}

func TestDetectGone(t *testing.T) {
	testutil.RequirePrivileges(t)
	have, _ := testInterpreters(t)
	if len(have) == 0 {
		t.Skip("no CPython installed")
	}
	py := have[len(have)-1]
	path := targetPath(t, "chain.py")
	cmd, _, _ := startPython(t, nil, py.Exe, path)
	pid := cmd.Process.Pid
	p := detectWhenReady(t, pid)
	waitForChain(t, p, checkChain, target{readMarkers(t, path), path, py.Version})
	// A second Process, whose cache is empty.
	p, err := Detect(pid)
	if err != nil || p == nil {
		t.Fatalf("Detect: %v, %v", p, err)
	}
	th, err := p.Threads()
	if err != nil || len(th) == 0 || len(th[0].Frames) == 0 {
		t.Fatalf("walk: %v, %v", th, err)
	}
	f := th[0].Frames[0]

	// The process's maps as Detect saw them, then it exits mid-way.
	mf, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	maps, err := unwinder.ParseMaps(mf)
	mf.Close()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	cmd.Process.Kill()
	cmd.Wait()
	if p2, err := detect(pid, maps, exe); err == nil {
		t.Errorf("detect on an exited process = %v, nil; want an error", p2)
	}
	if _, err := Detect(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Detect on an exited process: %v, want ErrNotExist", err)
	}
	// Symbolize of a code object not in the cache now fails: its memory is gone.
	if _, err := p.Symbolize(f.Code, f.Lasti, f.Check); err == nil {
		t.Error("Symbolize after exit succeeded")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestDetectStripped runs each version with its libpython stripped of
// .symtab (as distributions ship it): interp_head (2.7, 3.6) then comes
// from decoding PyInterpreterState_Head, and everything else from .dynsym.
func TestDetectStripped(t *testing.T) {
	testutil.RequirePrivileges(t)
	strip, err := exec.LookPath("strip")
	if err != nil {
		t.Skip("strip (binutils) is not installed")
	}
	forEachPython(t, func(t *testing.T, py installedPython) {
		dir := t.TempDir()
		lib := filepath.Join(dir, filepath.Base(py.Lib))
		if out, err := exec.Command(strip, "--strip-all", "-o", lib, py.Lib).CombinedOutput(); err != nil {
			t.Fatalf("strip: %v\n%s", err, out)
		}
		f, err := elf.Open(lib)
		if err != nil {
			t.Fatal(err)
		}
		_, symErr := f.Symbols()
		f.Close()
		if !errors.Is(symErr, elf.ErrNoSymbols) {
			t.Fatalf("stripped library still has .symtab: %v", symErr)
		}
		path := targetPath(t, "chain.py")
		cmd, _, _ := startPython(t, []string{"LD_LIBRARY_PATH=" + dir}, py.Exe, path)
		p := detectWhenReady(t, cmd.Process.Pid)
		if p.Path != lib {
			t.Fatalf("detected %s, want the stripped %s", p.Path, lib)
		}
		if p.Version != py.Version {
			t.Errorf("version %v, want %v", p.Version, py.Version)
		}
		// The same addresses as the unstripped file's symbols give.
		full, err := elf.Open(py.Lib)
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		syms := readSyms(full, true)
		bias := p.EvalStart - func() uint64 { s, _ := syms.evalSymbol(); return s.Value }()
		want := bias + syms["interp_head"].Value
		if rt, ok := syms["_PyRuntime"]; ok {
			l, _ := layoutFor(py.Version)
			want = bias + rt.Value + uint64(l.RuntimeInterpHead)
		}
		if p.InterpHead != want {
			t.Errorf("InterpHead %#x, want %#x", p.InterpHead, want)
		}
		waitForChain(t, p, checkChain, target{readMarkers(t, path), path, py.Version})
	})
}
