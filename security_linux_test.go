package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// TestSecuritySnapshotSymlink plants symlinks at every name the live
// view's `s` key could write in the next minute: the snapshot replaces the
// link, the file it pointed to is untouched, and the snapshot is 0600.
func TestSecuritySnapshotSymlink(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	startSpinner(t, "chain")
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	now := time.Now()
	for i := range 120 {
		name := "pftop-" + now.Add(time.Duration(i)*time.Second).Format("20060102-150405") + ".pb.gz"
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	s := newTmux(t, 160, 40, pftop+" --snapshot-dir "+dir)
	s.waitFor("the live view", time.Minute, func(scr string) bool { return strings.Contains(scr, "drops") })
	time.Sleep(2 * time.Second) // some samples to save
	s.keys("s")
	scr := s.waitFor("the snapshot", time.Minute, func(scr string) bool { return strings.Contains(scr, "snapshot saved to") })
	m := regexp.MustCompile(`snapshot saved to (\S+\.pb\.gz)`).FindStringSubmatch(scr)
	s.keys("q")
	if m == nil {
		t.Fatalf("no snapshot path on the screen:\n%s", scr)
	}
	path := m[1]
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("%s is %v after the snapshot, want a regular file", path, fi.Mode())
	}
	checkPprofFile(t, path, true)
}

// straceCall is one system call strace logged.
type straceCall struct {
	pid  int
	name string
	args string
	line string
}

var straceRE = regexp.MustCompile(`^(\d+)\s+([a-z0-9_]+)\((.*)$`)

// TestSecuritySyscalls runs a whole-system recording under strace -f: no
// write to another process's memory (process_vm_writev, ptrace pokes,
// /proc/PID/mem opened for writing), reads of it only from processes
// running a runtime pftop unwinds (Python), and no socket bound or
// listening.
func TestSecuritySyscalls(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skipf("strace missing (make test installs it): %v", err)
	}
	// Native processes pftop surely samples and must never read.
	native := []int{startSpinner(t, "chain"), startSpinner(t, "threads")}
	// A Python process, whose memory pftop does read (to name its frames).
	pyPID := 0
	if py, ok := pyInterpreter("3.12"); ok {
		p := confStart(t, py, filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", "chain.py"))
		pyPID = p.pid
	} else {
		t.Log("CPython 3.12 missing: the reads of a Python process are not checked")
	}
	log := filepath.Join(t.TempDir(), "strace.log")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seconds := "5s"
	if soak() {
		seconds = "60s"
	}
	cmd := exec.CommandContext(ctx, strace, "-f", "-qq", "--seccomp-bpf", "-o", log,
		"-e", "trace=process_vm_readv,process_vm_writev,ptrace,open,openat,openat2,bind,listen,accept,accept4,socket",
		pftop, "record", "-d", seconds, "-o", os.DevNull)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("strace pftop record: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls []straceCall
	for _, line := range strings.Split(string(data), "\n") {
		if m := straceRE.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			calls = append(calls, straceCall{pid: pid, name: m[2], args: m[3], line: line})
		}
	}
	if len(calls) == 0 {
		t.Fatalf("strace logged no calls:\n%s", confHead(string(data), 20))
	}
	memPath := regexp.MustCompile(`"/proc/(\d+)/(?:task/\d+/)?mem"`)
	counts := map[string]int{}
	var memReads []int
	for _, c := range calls {
		counts[c.name]++
		switch c.name {
		case "process_vm_writev":
			t.Errorf("pftop wrote another process's memory: %s", c.line)
		case "ptrace":
			if strings.Contains(c.args, "POKE") || strings.Contains(c.args, "SETREGS") {
				t.Errorf("pftop changed a traced process: %s", c.line)
			}
		case "bind", "listen", "accept", "accept4":
			t.Errorf("pftop bound or listened on a socket: %s", c.line)
		case "open", "openat", "openat2":
			m := memPath.FindStringSubmatch(c.args)
			if m == nil {
				continue
			}
			if strings.Contains(c.args, "O_WRONLY") || strings.Contains(c.args, "O_RDWR") {
				t.Errorf("pftop opened another process's memory for writing: %s", c.line)
			}
			pid, _ := strconv.Atoi(m[1])
			memReads = append(memReads, pid)
		case "process_vm_readv":
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(c.args, ",", 2)[0]))
			memReads = append(memReads, pid)
		}
	}
	seen := map[int]bool{}
	gone := 0
	for _, pid := range memReads {
		if seen[pid] {
			continue
		}
		seen[pid] = true
		switch rt, ok := unwoundRuntime(pid); {
		case ok:
		case rt == "":
			gone++ // exited since: what it ran cannot be told
		default:
			t.Errorf("pftop read the memory of pid %d, which runs no runtime pftop unwinds (%s)", pid, rt)
		}
	}
	for _, pid := range native {
		if seen[pid] {
			t.Errorf("pftop read the memory of the native target %d", pid)
		}
	}
	if pyPID != 0 && !seen[pyPID] {
		t.Errorf("pftop never read the memory of the Python process %d: its frames cannot have been named", pyPID)
	}
	t.Logf("%d calls traced: %v; memory read from %d processes (%d exited since)", len(calls), counts, len(seen), gone)
}

// unwoundRuntime says whether pid runs a runtime whose frames pftop reads
// from the process's memory (today: CPython), and what it runs ("" when
// it has exited).
func unwoundRuntime(pid int) (string, bool) {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return "", false
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	python := regexp.MustCompile(`/(lib)?python[0-9.]*[^/\s]*$`)
	for _, line := range strings.Split(string(maps), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && python.MatchString(f[5]) {
			return exe, true
		}
	}
	return exe, false
}
