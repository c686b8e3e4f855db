package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/internal/testutil"
)

// TestFaultKilledWhileSynced starts processes and kills them right after
// exec while the process manager reads their maps, over and over, in a
// real profiler (BPF loaded, sampling the box). Every such sync must end
// as "gone" or "denied", never as a failure, and nothing of the killed
// processes may stay published.
func TestFaultKilledWhileSynced(t *testing.T) {
	testutil.RequirePrivileges(t)
	bins := buildChurn(t)
	n := 400
	if soak() {
		n = 4000
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := startProfiler(ctx, Common{Frequency: 99}, time.Minute, profilerOptions{})
	if err != nil {
		t.Fatalf("start the profiler: %v", err)
	}
	defer p.close()
	defer p.stop()
	time.Sleep(2 * time.Second) // the start-up sync of the box
	before := p.mgr.Stats()

	modes := [][]string{
		{bins.kid, "dlopen", bins.plugin, "20"},
		{bins.kid, "threads", "4", "20"},
		{bins.kid, "spin", "20"},
	}
	if bins.kidStatic != "" {
		modes = append(modes, []string{bins.kidStatic, "spin", "20"})
	}
	var mu sync.Mutex
	var killed []uint32
	var wg sync.WaitGroup
	const workers = 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				m := modes[i%len(modes)]
				cmd := exec.Command(m[0], m[1:]...)
				if err := cmd.Start(); err != nil {
					t.Errorf("start kid: %v", err)
					return
				}
				pid := uint32(cmd.Process.Pid)
				syncing := make(chan struct{})
				go func() {
					defer close(syncing)
					// Sync until the process is gone: the kill lands
					// inside one of these reads sooner or later.
					for range 200 {
						if err := p.mgr.Sync(pid); err != nil && !procAlive(pid) {
							return
						}
					}
				}()
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				cmd.Process.Kill()
				cmd.Wait()
				<-syncing
				mu.Lock()
				killed = append(killed, pid)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // the exit events
	after := p.mgr.Stats()
	t.Logf("%d processes killed while synced: syncs %d, gone %d, denied %d, failed %d; processes tracked %d before, %d after",
		len(killed), after.Syncs-before.Syncs, after.SyncGone-before.SyncGone, after.SyncDenied-before.SyncDenied,
		after.SyncFailed-before.SyncFailed, before.Processes, after.Processes)
	if after.SyncGone == before.SyncGone {
		t.Errorf("no sync saw a process go: the kills never raced the syncs")
	}
	if d := after.SyncFailed - before.SyncFailed; d > 0 {
		t.Errorf("%d syncs of killed processes failed instead of finding them gone; last error: %s", d, after.LastSyncError)
	}
	published := map[uint32]bool{}
	var k bpf.MappingKey
	var v bpf.Mapping
	for it := p.objs.PidMappings.Iterate(); it.Next(&k, &v); {
		published[swap32(k.Pid)] = true
	}
	var left []uint32
	for _, pid := range killed {
		if published[pid] && !procAlive(pid) {
			left = append(left, pid)
		}
	}
	if len(left) > 0 {
		t.Errorf("%d killed processes are still in pid_mappings: %v", len(left), left)
	}
	if slack := 20; after.Processes > before.Processes+slack {
		t.Errorf("the manager tracks %d processes, %d before the kills", after.Processes, before.Processes)
	}
}

// copyFile copies src to dst with mode 0755.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// chainSamples counts the samples of folded output holding chain's whole
// call chain, and those with a frame named after one of notNames.
func chainSamples(t *testing.T, folded string, notNames ...string) (chain, wrong int) {
	t.Helper()
	stacks, err := confParseFolded(folded)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		if i := slices.Index(s.frames, "chain_a"); i >= 0 && len(s.frames) >= i+3 &&
			slices.Equal(s.frames[i:i+3], []string{"chain_a", "chain_b", "chain_c"}) {
			chain += s.count
		}
		if slices.ContainsFunc(s.frames, func(f string) bool { return slices.Contains(notNames, f) }) {
			wrong += s.count
		}
	}
	return chain, wrong
}

// TestFaultDeletedBinary profiles a process whose executable was deleted
// after it started: its frames are still named, read through
// /proc/PID/map_files.
func TestFaultDeletedBinary(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	exe := filepath.Join(t.TempDir(), "chain")
	copyFile(t, filepath.Join(bin, "chain"), exe)
	p := confStart(t, exe)
	confWarmUp(t, p, nil)
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	out, stderr := confRecord(t, pftop, "-d", "3s", "-p", strconv.Itoa(p.pid), "--format", "folded", "-o", "-")
	checkNoPanic(t, "pftop record", stderr)
	chain, _ := chainSamples(t, out)
	t.Logf("deleted binary: %d samples, %d with chain_a;chain_b;chain_c", confTotal(mustFolded(t, out)), chain)
	if chain == 0 {
		t.Errorf("the deleted binary's frames are not named:\n%s", confHead(out, 20))
	}
}

func mustFolded(t *testing.T, out string) []confStack {
	t.Helper()
	s, err := confParseFolded(out)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFaultReplacedBinary replaces a running process's executable with
// another program (renamed over it, as package managers do) while pftop
// samples it: the frames are still the running code's, never names read
// from the new file at the same path.
func TestFaultReplacedBinary(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "chain")
	copyFile(t, filepath.Join(bin, "chain"), exe)
	copyFile(t, filepath.Join(bin, "qsort"), filepath.Join(dir, "new"))
	p := confStart(t, exe)
	confWarmUp(t, p, nil)
	r := startPftop(t, pftop, "record", "-d", "4s", "-p", strconv.Itoa(p.pid), "--format", "folded", "-o", filepath.Join(dir, "out.folded"))
	time.Sleep(time.Second)
	if err := os.Rename(filepath.Join(dir, "new"), exe); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, time.Minute); code != 0 {
		t.Fatalf("pftop record: exit %d\n%s", code, r.stderr.String())
	}
	checkNoPanic(t, "pftop record", r.stderr.String())
	data, err := os.ReadFile(filepath.Join(dir, "out.folded"))
	if err != nil {
		t.Fatal(err)
	}
	// qsort's own functions: what chain's addresses would be called if
	// the new file at the path were read.
	chain, wrong := chainSamples(t, string(data), "sort_forever", "compare_slow")
	t.Logf("replaced binary: %d samples, %d with the chain, %d named from the new file", confTotal(mustFolded(t, string(data))), chain, wrong)
	if chain == 0 {
		t.Errorf("the running code's chain is not named after the replacement:\n%s", confHead(string(data), 20))
	}
	if wrong > 0 {
		t.Errorf("%d samples named from the file that replaced the executable:\n%s", wrong, confHead(string(data), 20))
	}
}

// TestFaultRingFull stalls pftop's reader while sampling at 10 kHz with
// deep stacks, so the trace ring overflows: the drops must be counted in
// --stats and shown in the live view's header, never silent.
func TestFaultRingFull(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	// Two spinning 200-frame recursions: every sample is a big record.
	startSpinner(t, "recurse")
	startSpinner(t, "recurse")

	t.Run("stats", func(t *testing.T) {
		_, stderr := confRecord(t, pftop, "-F", "10000", "--test-stall-reader", "3s", "-d", "5s", "--stats", "-o", os.DevNull)
		st := parseStats(stderr)
		t.Logf("10 kHz, reader stalled 3 s: samples %d, traces_sent %d, ring_full %d, kept %d",
			st["samples"], st["traces_sent"], st["ring_full"], st["kept"])
		if st["ring_full"] == 0 {
			t.Errorf("no ring_full drops counted with the reader stalled:\n%s", stderr)
		}
		if st["kept"] == 0 {
			t.Errorf("nothing kept after the stall:\n%s", stderr)
		}
	})
	t.Run("header", func(t *testing.T) {
		s := newTmux(t, 160, 40, pftop+" -F 10000 --test-stall-reader 3s")
		scr := s.waitFor("drops in the header", time.Minute, func(scr string) bool {
			n, ok := headerCount(scr, "drops")
			return ok && n > 0
		})
		n, _ := headerCount(scr, "drops")
		t.Logf("live view header shows drops %d", n)
		s.keys("q")
	})
}

// headerCount finds "label N" on the screen.
func headerCount(screen, label string) (int64, bool) {
	i := strings.Index(screen, label+" ")
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(screen[i+len(label):])
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	return n, err == nil
}

// signalCase is one command a signal must end cleanly.
type signalCase struct {
	name string
	args []string
	tty  bool // run in tmux: the terminal must be restored
	code int  // the exit code wanted after the signal
}

// TestSignals ends every long-running command with SIGINT, SIGTERM and
// SIGHUP: it exits promptly with its documented code, writes what it
// promised, restores the terminal, and leaves no BPF program behind.
func TestSignals(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		t.Skipf("bpftool missing (make test installs it): %v", err)
	}
	dir := t.TempDir()
	cases := []signalCase{
		{name: "record", args: []string{"record", "-d", "5m", "-o", filepath.Join(dir, "out.pb.gz")}},
		{name: "top-batch", args: []string{"top", "--batch", "-d", "1s"}},
		{name: "top", args: []string{"top"}, tty: true},
		// Nothing listens on the discard port: the agent must run on
		// and end cleanly all the same.
		{name: "agent", args: []string{"agent", "--otlp-endpoint", "127.0.0.1:9", "--otlp-insecure", "--otlp-interval", "1s"}},
	}
	for _, c := range cases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			t.Run(c.name+"/"+sig.String(), func(t *testing.T) {
				if c.tty {
					signalTTY(t, pftop, bpftool, c, sig)
					return
				}
				os.Remove(filepath.Join(dir, "out.pb.gz"))
				r := startPftop(t, pftop, c.args...)
				time.Sleep(time.Second)
				// top --batch: signalled after its first table.
				for deadline := time.Now().Add(20 * time.Second); c.name == "top-batch" &&
					!strings.Contains(r.stdout.String(), "samples ") && time.Now().Before(deadline); {
					time.Sleep(100 * time.Millisecond)
				}
				held := confHeldPrograms(t, bpftool, r.pid())
				start := time.Now()
				code := r.stop(t, sig, 30*time.Second)
				t.Logf("exit %d, %s after the signal, %d programs held", code, time.Since(start).Round(time.Millisecond), len(held))
				if code != c.code {
					t.Errorf("exit %d after %s, want %d\nstderr:\n%s", code, sig, c.code, r.stderr.String())
				}
				checkNoPanic(t, "pftop", r.stderr.String())
				if c.name == "record" {
					checkPprofFile(t, filepath.Join(dir, "out.pb.gz"), true)
				}
				if c.name == "top-batch" && !strings.Contains(r.stdout.String(), "samples ") {
					t.Errorf("top --batch printed no table before the signal:\n%s", r.stdout.String())
				}
				checkProgramsGone(t, bpftool, held)
			})
		}
	}
	t.Run("check", func(t *testing.T) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			signalCheck(t, pftop, bpftool, sig)
		}
	})
}

// checkPprofFile fails unless path holds a whole pprof profile with
// samples, mode 0600; a missing file is an error only when must is set.
func checkPprofFile(t *testing.T, path string, must bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) && !must {
		return
	}
	if err != nil {
		t.Errorf("output: %v", err)
		return
	}
	prof, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s is not a whole pprof profile (%d bytes): %v", path, len(data), err)
		return
	}
	if len(prof.Sample) == 0 {
		t.Errorf("%s holds no samples", path)
	}
	fi, err := os.Stat(path)
	if err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}

// checkProgramsGone waits for the programs held to be unloaded.
func checkProgramsGone(t *testing.T, bpftool string, held []uint32) {
	t.Helper()
	if len(held) == 0 {
		t.Error("pftop held no BPF programs while sampling")
		return
	}
	// A prog array's programs are freed from a workqueue after the last
	// reference goes.
	var left []uint32
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		progs := confPrograms(t, bpftool)
		left = slices.DeleteFunc(slices.Clone(held), func(id uint32) bool { _, ok := progs[id]; return !ok })
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("BPF programs %v still loaded 10 s after pftop exited", left)
	}
}

// paneChild returns the PID of the pane shell's child named comm.
func paneChild(t *testing.T, s *tmuxSession, comm string) int {
	t.Helper()
	out, err := exec.Command("tmux", "display-message", "-p", "-t", s.name, "#{pane_pid}").Output()
	if err != nil {
		t.Fatalf("tmux pane pid: %v", err)
	}
	sh := strings.TrimSpace(string(out))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", sh, sh))
		for _, f := range strings.Fields(string(b)) {
			if c, _ := os.ReadFile("/proc/" + f + "/comm"); strings.TrimSpace(string(c)) == comm {
				pid, _ := strconv.Atoi(f)
				return pid
			}
		}
	}
	t.Fatalf("%s did not start in the pane", comm)
	return 0
}

// tmuxFlag reads one of tmux's pane flags (1 or 0).
func (s *tmuxSession) flag(name string) string {
	out, _ := exec.Command("tmux", "display-message", "-p", "-t", s.name, "#{"+name+"}").Output()
	return strings.TrimSpace(string(out))
}

// signalTTY runs the live view in tmux under a shell that records the
// terminal modes before and after, signals pftop and checks the terminal
// is as it was: modes, main screen, cursor shown, mouse off.
func signalTTY(t *testing.T, pftop, bpftool string, c signalCase, sig syscall.Signal) {
	dir := t.TempDir()
	script := fmt.Sprintf("stty -g > %[1]s/before; %[2]s %[3]s; echo \"EXIT $?\"; stty -g > %[1]s/after; sleep 600",
		dir, pftop, strings.Join(c.args, " "))
	s := newTmux(t, 160, 40, "sh -c '"+script+"'")
	pid := paneChild(t, s, filepath.Base(pftop))
	if err := confWaitSampling(pid, time.Minute); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the live view", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "drops") })
	if !s.altScreen() {
		t.Fatal("the live view is not on the alternate screen")
	}
	held := confHeldPrograms(t, bpftool, pid)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	scr := s.waitFor("pftop to exit", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "EXIT ") })
	t.Logf("exited %s after %s", time.Since(start).Round(time.Millisecond), sig)
	if !strings.Contains(scr, fmt.Sprintf("EXIT %d", c.code)) {
		t.Errorf("after %s: want EXIT %d; the screen:\n%s", sig, c.code, scr)
	}
	checkNoPanic(t, "pftop", scr)
	if s.altScreen() {
		t.Error("still on the alternate screen after exit")
	}
	if s.flag("cursor_flag") != "1" {
		t.Error("the cursor is still hidden after exit")
	}
	if s.flag("mouse_any_flag") != "0" {
		t.Error("mouse reporting is still on after exit")
	}
	var before, after []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		before, _ = os.ReadFile(filepath.Join(dir, "before"))
		if after, _ = os.ReadFile(filepath.Join(dir, "after")); len(after) > 0 {
			break
		}
	}
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Errorf("terminal modes differ after exit: before %q, after %q", before, after)
	}
	checkProgramsGone(t, bpftool, held)
}

// signalCheck signals `pftop check` while it holds its BPF programs: it
// ends at once (it has nothing to save), and the programs go with it.
func signalCheck(t *testing.T, pftop, bpftool string, sig syscall.Signal) {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.Command(pftop, "check")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Catch it while it holds a program; it loads for well under a
		// second, so poll its descriptors.
		var held []uint32
		for deadline := time.Now().Add(10 * time.Second); len(held) == 0 && time.Now().Before(deadline); {
			held = progFDs(cmd.Process.Pid)
		}
		cmd.Process.Signal(sig)
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("pftop check still running 10 s after %s", sig)
		}
		if len(held) == 0 {
			continue // it finished before holding anything: try again
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		t.Logf("check after %s: %s in %s, held %v", sig, cmd.ProcessState, time.Since(start).Round(time.Millisecond), held)
		if !ws.Signaled() && ws.ExitStatus() != 0 {
			t.Errorf("check after %s: %s", sig, cmd.ProcessState)
		}
		checkProgramsGone(t, bpftool, held)
		return
	}
	t.Errorf("never caught pftop check holding a BPF program")
}

// progFDs lists the BPF programs pid holds by descriptor.
func progFDs(pid int) []uint32 {
	progs, _ := bpfObjectIDs(pid)
	return progs
}

// TestSnapshotWholeOrAbsent kills pftop record while it writes its
// profile: the output path then holds a whole profile or nothing. A
// second signal while writing does not cut the write short.
func TestSnapshotWholeOrAbsent(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	startSpinner(t, "cpp")
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGKILL", syscall.SIGKILL}, {"second-SIGTERM", syscall.SIGTERM}, {"second-SIGINT", syscall.SIGINT}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.pb.gz")
			r := startPftop(t, pftop, "record", "-d", "3s", "-o", out)
			// Wait for the temporary file of the write, then signal.
			caught := false
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				ents, _ := os.ReadDir(dir)
				if slices.ContainsFunc(ents, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), ".out.pb.gz.tmp") }) {
					caught = true
					r.cmd.Process.Signal(c.sig)
					break
				}
				select {
				case <-r.done:
					deadline = time.Time{}
				default:
				}
			}
			code := r.wait(t, time.Minute)
			t.Logf("signal while writing: caught the write %v, exit %d", caught, code)
			if c.sig == syscall.SIGKILL {
				checkPprofFile(t, out, false)
				return
			}
			if code != 0 {
				t.Errorf("exit %d\n%s", code, r.stderr.String())
			}
			checkPprofFile(t, out, true)
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("files left in the output directory: %v", ents)
			}
		})
	}
}
