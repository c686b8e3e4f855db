package python

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// interpreter is one python to run the targets with.
type interpreter struct {
	Name    string // subtest name
	Exe     string
	Version Version // major.minor; Patch may be 0
}

// testInterpreters returns the pyenv versions (one per supported minor,
// the missing ones as skip reasons) plus a static python3.X from the
// distribution when there is one (Debian builds /usr/bin/python3.X without
// libpython).
func testInterpreters(t *testing.T) (have []interpreter, missing []string) {
	byMinor := map[[2]int]installedPython{}
	for _, py := range installedPythons(t) {
		byMinor[[2]int{py.Version.Major, py.Version.Minor}] = py
	}
	for _, w := range wantedVersions {
		py, ok := byMinor[[2]int{w.Major, w.Minor}]
		if !ok {
			missing = append(missing, fmt.Sprintf("%d.%d", w.Major, w.Minor))
			continue
		}
		have = append(have, interpreter{fmt.Sprintf("%d.%d", w.Major, w.Minor), py.Exe, py.Version})
	}
	exes, _ := filepath.Glob("/usr/bin/python3.*")
	for _, exe := range exes {
		m := regexp.MustCompile(`python3\.(\d+)$`).FindStringSubmatch(exe)
		if m == nil || !isStaticPython(exe) {
			continue
		}
		minor, _ := strconv.Atoi(m[1])
		have = append(have, interpreter{"static-" + filepath.Base(exe), exe, Version{3, minor, 0}})
	}
	return have, missing
}

// isStaticPython reports whether exe holds the interpreter itself rather
// than linking libpython.
func isStaticPython(exe string) bool {
	f, err := elf.Open(exe)
	if err != nil {
		return false
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		if strings.HasPrefix(l, "libpython") {
			return false
		}
	}
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		if s.Name == "_PyEval_EvalFrameDefault" && s.Section != elf.SHN_UNDEF {
			return true
		}
	}
	return false
}

// forEachInterpreter runs fn per interpreter, and a skipped subtest per
// supported version that is not installed.
func forEachInterpreter(t *testing.T, fn func(t *testing.T, py interpreter)) {
	have, missing := testInterpreters(t)
	for _, m := range missing {
		t.Run(m, func(t *testing.T) {
			t.Skipf("CPython %s is not installed under /root/.pyenv/versions (set PFTOP_PYENV_ROOT)", m)
		})
	}
	for _, py := range have {
		t.Run(py.Name, func(t *testing.T) { fn(t, py) })
	}
}

func targetPath(t testing.TB, name string) string {
	return filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", name)
}

// startPython runs python on args (with env added to the environment) and kills it when the test ends. Its
// stdin is a pipe the test may use to release it.
func startPython(t *testing.T, env []string, exe string, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, stdin, bufio.NewReader(stdout)
}

// detectWhenReady calls Detect until the interpreter is up (its first
// thread state exists), for at most 20 s.
func detectWhenReady(t *testing.T, pid int) *Process {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := Detect(pid)
		if err == nil && p != nil {
			th, err := p.Threads()
			if err == nil && len(th) > 0 {
				t.Cleanup(func() { p.Close() })
				return p
			}
			p.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Detect(%d) never found a running interpreter: %v, %v", pid, p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// markers reads a target's "# @call NAME" and "# @spin" comments.
type markers struct {
	call map[string]int // callee -> line of the call
	spin map[int]bool
}

func readMarkers(t testing.TB, path string) markers {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mk := markers{call: map[string]int{}, spin: map[int]bool{}}
	for i, line := range strings.Split(string(data), "\n") {
		_, c, ok := strings.Cut(line, "# @")
		if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		switch f := strings.Fields(c); {
		case f[0] == "spin":
			mk.spin[i+1] = true
		case f[0] == "call" && len(f) == 2:
			mk.call[f[1]] = i + 1
		}
	}
	return mk
}

// fsBases returns, for every thread of pid, its x86-64 fs base (what
// pthread_self() returns), read with ptrace.
func fsBases(t *testing.T, pid int) map[uint64]int {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("fs base is x86-64 only (GOARCH %s)", runtime.GOARCH)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out := map[uint64]int{}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if err := syscall.PtraceAttach(tid); err != nil {
			t.Fatalf("ptrace attach %d: %v", tid, err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(tid, &ws, syscall.WALL, nil); err != nil {
			t.Fatalf("wait %d: %v", tid, err)
		}
		var regs syscall.PtraceRegs
		err := syscall.PtraceGetRegs(tid, &regs)
		syscall.PtraceDetach(tid)
		if err != nil {
			t.Fatalf("get regs of %d: %v", tid, err)
		}
		out[regs.Fs_base] = tid
	}
	return out
}

// allStopped reports whether every task of pid is in the stopped state.
func allStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 || i+2 >= len(st) || st[i+2] != 'T' {
			return false
		}
	}
	return true
}
