package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// tmuxSession drives a program in a real terminal, as a person would.
type tmuxSession struct {
	t    *testing.T
	name string
}

func newTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (make test installs it)")
	}
	s := &tmuxSession{t: t, name: fmt.Sprintf("pftop-test-%d", time.Now().UnixNano())}
	out, err := exec.Command("tmux", "new-session", "-d", "-s", s.name,
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	args := append([]string{"send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v\n%s", keys, err, out)
	}
}

// waitFor polls the screen until ok accepts it.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, scr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *tmuxSession) altScreen() bool {
	out, _ := exec.Command("tmux", "display-message", "-p", "-t", s.name, "#{alternate_on}").Output()
	return strings.TrimSpace(string(out)) == "1"
}

// startSpinner runs a conformance target until the test ends.
func startSpinner(t *testing.T, name string) int {
	t.Helper()
	bin := filepath.Join(testutil.BuildTargets(t), name)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("target %s was not built: %v", name, err)
	}
	return startProcess(t, bin)
}

// startProcess starts path with args, killed when the test ends (however
// long it runs), and returns its PID.
func startProcess(t *testing.T, path string, args ...string) int {
	t.Helper()
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

// TestTUIInTmux uses the real binary in a real terminal: the busy target's
// leaf shows, `p` and choosing it filters to it alone, `?` shows help,
// `q` exits 0 and leaves the alternate screen.
func TestTUIInTmux(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	pid := startSpinner(t, "chain")
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := newTmux(t, 180, 45, fmt.Sprintf("%s --window 30s; echo EXIT=$? > %s; sleep 60", pftop, exitFile))

	s.waitFor("chain_c in the table", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "chain_c") })
	if !s.altScreen() {
		t.Error("the live view is not on the alternate screen")
	}

	// The process picker: move to the target's row and choose it.
	s.keys("p")
	pidText := strconv.Itoa(pid)
	scr := s.waitFor("the process picker listing the target", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Processes by CPU share") && pickerRow(scr, pidText) >= 0
	})
	for range pickerRow(scr, pidText) {
		s.keys("Down")
	}
	s.keys("Enter")
	scr = s.waitFor("the pid filter in the header", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, "filter pid "+pidText)
	})
	// Filtered to the target: its leaf leads, and after a refresh no
	// other process's functions remain (pftop's own would otherwise show).
	scr = s.waitFor("only the target's functions", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, "chain_c") && !strings.Contains(scr, "pftop/")
	})

	s.keys("?")
	s.waitFor("help", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "pick processes") && strings.Contains(scr, "quit")
	})
	s.keys("q")
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(exitFile)
		if err == nil && len(b) > 0 {
			if got := strings.TrimSpace(string(b)); got != "EXIT=0" {
				t.Fatalf("pftop ended with %s; screen:\n%s", got, s.screen())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pftop did not exit after q; screen:\n%s", s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s.altScreen() {
		t.Error("the terminal was left on the alternate screen")
	}
}

// pickerRow returns the index, counted from the first row of the process
// list, of the row holding pid; -1 if absent.
func pickerRow(screen, pid string) int {
	lines := strings.Split(screen, "\n")
	first := -1
	for i, l := range lines {
		if strings.Contains(l, "SHARE%") && strings.Contains(l, "PID") {
			first = i + 1
			continue
		}
		if first < 0 || i < first {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(l, "[ ]"), "[x]"))
		// SHARE% SAMPLES PID THREADS COMM [CONTAINER]
		if len(f) >= 3 && f[2] == pid {
			return i - first
		}
	}
	return -1
}

// TestBatchWithoutTTY runs batch mode with no terminal at all: plain text,
// the asked number of tables, the busy target's leaf in them.
func TestBatchWithoutTTY(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	startSpinner(t, "chain")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pftop, "--batch", "-n", "3", "-d", "1s")
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pftop --batch: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if bytes.IndexByte(stdout.Bytes(), 0x1b) >= 0 {
		t.Errorf("batch output holds escape bytes:\n%q", out)
	}
	if n := strings.Count(out, "FUNCTION"); n != 3 {
		t.Errorf("%d tables, want 3:\n%s", n, out)
	}
	if !strings.Contains(out, "chain_c") {
		t.Errorf("the busy target's leaf is missing:\n%s", out)
	}
}

// TestFlameInTmux: tab shows the busy target's whole chain as a
// flamegraph, enter zooms, s writes a snapshot go tool pprof reads with
// the leaf on top.
func TestFlameInTmux(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	pid := startSpinner(t, "chain")
	dir := t.TempDir()
	s := newTmux(t, 160, 40, fmt.Sprintf("cd %s && %s -p %d --window 30s; sleep 60", dir, pftop, pid))
	s.waitFor("chain_c in the table", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "chain_c") })
	s.keys("Tab")
	chain := []string{"_start", "main", "chain_a", "chain_b", "chain_c"}
	s.waitFor("the whole chain in the flamegraph", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Flame graph") && inOrder(scr, chain)
	})
	for range 5 { // from the root down to main
		s.keys("j")
	}
	s.keys("Enter")
	s.waitFor("a zoomed flamegraph", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "zoomed") && inOrder(scr, chain)
	})
	s.keys("s")
	scr := s.waitFor("the snapshot's path", 15*time.Second, func(scr string) bool { return strings.Contains(scr, "snapshot saved to") })
	matches, _ := filepath.Glob(filepath.Join(dir, "pftop-*.pb.gz"))
	if len(matches) != 1 {
		t.Fatalf("snapshots in %s: %v; screen:\n%s", dir, matches, scr)
	}
	fi, err := os.Stat(matches[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v, %v", fi.Mode(), err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot read the snapshot with go tool pprof")
	}
	out, err := exec.Command(goCmd, "tool", "pprof", "-top", matches[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	// The first row after the header is the function with most flat samples.
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			if !strings.Contains(lines[i+1], "chain_c") {
				t.Errorf("the leaf is not on top:\n%s", out)
			}
			return
		}
	}
	t.Errorf("no table in go tool pprof -top:\n%s", out)
}

// inOrder reports whether each of names appears on a later line of screen
// than the one before it.
func inOrder(screen string, names []string) bool {
	lines := strings.Split(screen, "\n")
	at := 0
	for _, n := range names {
		found := false
		for ; at < len(lines); at++ {
			if strings.HasPrefix(strings.TrimSpace(lines[at]), n+" ") {
				found = true
				at++
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
