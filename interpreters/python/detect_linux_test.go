package python

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
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
	cmd, _, _ := startPython(t, py.Exe, targetPath(t, "chain.py"))
	pid := cmd.Process.Pid
	p := detectWhenReady(t, pid)
	th, err := p.Threads()
	if err != nil || len(th) == 0 || len(th[0].Frames) == 0 {
		t.Fatalf("walk: %v, %v", th, err)
	}
	f := th[0].Frames[0]

	// The process's maps as Detect saw them, then it exits mid-way.
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	cmd.Process.Kill()
	cmd.Wait()
	if p2, err := detect(pid, parseMaps(maps), exe); err == nil {
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

