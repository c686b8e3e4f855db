package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// badUse runs cmd and checks its exit code and that stderr (or stdout for
// check's report) says want.
func badUse(t *testing.T, cmd *exec.Cmd, wantCode int, want ...string) {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = nil
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
		}
		code = ee.ExitCode()
	}
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d\n%s", strings.Join(cmd.Args, " "), code, wantCode, out.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("%s: output does not say %q:\n%s", strings.Join(cmd.Args, " "), w, out.String())
		}
	}
	checkNoPanic(t, cmd.Args[0], out.String())
}

func timed(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// reachableCopy copies the pftop binary where an unprivileged user can run
// it: the build directory is root's.
func reachableCopy(t *testing.T, pftop string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "pftop")
	copyFile(t, pftop, exe)
	return exe
}

// asNobody runs exe as nobody with only the capabilities caps (setpriv
// syntax, "" for none).
func asNobody(t *testing.T, ctx context.Context, caps string, exe string, args ...string) *exec.Cmd {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("setpriv missing (util-linux): %v", err)
	}
	pa := []string{"--reuid=65534", "--regid=65534", "--clear-groups"}
	if caps == "" {
		pa = append(pa, "--inh-caps=-all")
	} else {
		pa = append(pa, "--inh-caps="+caps, "--ambient-caps="+caps)
	}
	cmd := exec.CommandContext(ctx, setpriv, append(append(pa, exe), args...)...)
	cmd.Dir = filepath.Dir(exe)
	return cmd
}

// TestBadUseUnprivileged: every command run by a plain user says what to do
// and exits 77 (record is covered by TestRecordUsageErrors).
func TestBadUseUnprivileged(t *testing.T) {
	testutil.RequirePrivileges(t) // to drop them
	exe := reachableCopy(t, testutil.BuildPftop(t))
	badUse(t, asNobody(t, timed(t), "", exe, "top", "--batch", "-n", "1"), exitNoPriv, "sudo", "CAP_PERFMON")
	badUse(t, asNobody(t, timed(t), "", exe, "top"), exitNoPriv, "sudo")
	badUse(t, asNobody(t, timed(t), "", exe, "check"), exitNoPriv, "FAIL privileges", "FAIL bpf programs")
	// CAP_BPF alone cannot open the perf events.
	badUse(t, asNobody(t, timed(t), "+bpf", exe, "record", "-d", "1s", "-o", "-"), exitNoPriv, "CAP_PERFMON")
}

// TestBadUseParanoid raises kernel.perf_event_paranoid to its maximum:
// root and CAP_PERFMON are not limited by it, a plain user is told, and
// check names it.
func TestBadUseParanoid(t *testing.T) {
	testutil.RequirePrivileges(t)
	exe := reachableCopy(t, testutil.BuildPftop(t))
	const path = "/proc/sys/kernel/perf_event_paranoid"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	if err := os.WriteFile(path, []byte("3"), 0o644); err != nil {
		t.Skipf("cannot raise %s: %v", path, err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })

	badUse(t, asNobody(t, timed(t), "", exe, "check"), exitNoPriv, "FAIL perf_event_paranoid", "sudo")
	badUse(t, asNobody(t, timed(t), "", exe, "record", "-d", "1s", "-o", "-"), exitNoPriv, "sudo")
	badUse(t, asNobody(t, timed(t), "+bpf,+perfmon", exe, "record", "-d", "1s", "-o", os.DevNull), exitOK)
	badUse(t, exec.CommandContext(timed(t), exe, "record", "-d", "1s", "-o", os.DevNull), exitOK)
}

// TestBadUseNoBTF hides the kernel's BTF in a private mount namespace:
// pftop's BPF programs are relocated with it (CO-RE) and cannot load
// without it, so pftop exits 77 and says which kernel option it needs.
func TestBadUseNoBTF(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("unshare missing (util-linux): %v", err)
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("this kernel has no BTF to hide: %v", err)
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	os.Mkdir(filepath.Join(dir, "emptydir"), 0o755)
	for _, c := range []struct{ name, mount string }{
		{"empty", "mount --bind " + empty + " /sys/kernel/btf/vmlinux"},
		{"absent", "mount --bind " + filepath.Join(dir, "emptydir") + " /sys/kernel/btf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(args string) *exec.Cmd {
				return exec.CommandContext(timed(t), unshare, "-m", "sh", "-c", c.mount+" && exec "+pftop+" "+args)
			}
			badUse(t, run("record -d 1s -o /dev/null"), exitNoPriv, "BTF", "CONFIG_DEBUG_INFO_BTF")
			badUse(t, run("top --batch -n 1"), exitNoPriv, "CONFIG_DEBUG_INFO_BTF")
			badUse(t, run("check"), exitNoPriv, "FAIL BTF", "CONFIG_DEBUG_INFO_BTF")
		})
	}
}

// TestBadUseFlags: bad values, unknown targets: a message naming the
// problem and exit 2, before anything is loaded or sampled.
func TestBadUseFlags(t *testing.T) {
	pftop := testutil.BuildPftop(t)
	for _, c := range []struct {
		args []string
		want string
		root bool // checked after the privilege check
	}{
		{[]string{"record", "-F", "200000"}, "frequency must be between", true},
		{[]string{"record", "-F", "-5"}, "--frequency", false},
		{[]string{"record", "-d", "0"}, "duration must be positive", false},
		{[]string{"record", "--format", "bogus"}, "must be one of", false},
		{[]string{"record", "-p", "abc"}, "--pid", false},
		{[]string{"record", "--bogus"}, "unknown flag --bogus", false},
		// An hour: refused before sampling, or killed by the timeout.
		{[]string{"record", "-d", "1h", "-o", "/nonexistent/dir/out"}, "-o /nonexistent/dir/out", false},
		{[]string{"top", "-d", "-1s"}, "--delay", false},
		{[]string{"top", "--batch", "-n", "-1"}, "--iterations", false},
		{[]string{"top", "--snapshot-dir", "/nonexistent"}, "--snapshot-dir /nonexistent", false},
		{[]string{"top", "--batch", "-n", "1", "-p", "999999999"}, "-p 999999999: no such process", true},
		{[]string{"record", "-p", "0"}, "not a process id", true},
		{[]string{"record", "--container", "deadbeefdeadbeef"}, "no running process is in such a container", true},
		{[]string{"top", "--batch", "--container", "abc"}, "at least 12 hex digits", true},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			if c.root {
				testutil.RequirePrivileges(t)
			}
			cmd := exec.CommandContext(timed(t), pftop, c.args...)
			cmd.Dir = t.TempDir()
			badUse(t, cmd, exitUsage, c.want)
		})
	}
}
