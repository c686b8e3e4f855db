package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/internal/testutil"
	"github.com/pftop/pftop/unwinder"
)

// soak says whether the long versions run (make soak sets PFTOP_SOAK=1).
func soak() bool { return os.Getenv("PFTOP_SOAK") != "" }

// churnBins are the helper programs of testdata/churn, built by the test.
type churnBins struct {
	kid, kidStatic, plugin, spawn string
}

// buildChurn compiles testdata/churn into a temporary directory. kid-static
// is left empty when the static libc is missing.
func buildChurn(t *testing.T) churnBins {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("gcc missing, cannot build testdata/churn: %v", err)
	}
	src := filepath.Join(testutil.RepoRoot(t), "testdata", "churn")
	dir := t.TempDir()
	// Others may have to exec the kid (the unprivileged tests): the
	// temporary directory is root's and 0700.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := churnBins{
		kid:       filepath.Join(dir, "kid"),
		kidStatic: filepath.Join(dir, "kid-static"),
		plugin:    filepath.Join(dir, "libchurnplugin.so"),
		spawn:     filepath.Join(dir, "spawn"),
	}
	gcc := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, cc, append([]string{"-O2", "-Wall"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{
		{"-pthread", "-o", b.kid, filepath.Join(src, "kid.c"), "-ldl"},
		{"-fPIC", "-shared", "-o", b.plugin, filepath.Join(src, "plugin.c")},
		{"-o", b.spawn, filepath.Join(src, "spawn.c")},
	} {
		if err := gcc(args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := gcc("-static", "-DKID_STATIC", "-pthread", "-o", b.kidStatic, filepath.Join(src, "kid.c")); err != nil {
		t.Logf("no static kid (libc6-dev's libc.a missing?): %v", err)
		b.kidStatic = ""
	}
	return b
}

// pftopRun is a pftop process started by a test; it is killed at the end
// of the test at the latest.
type pftopRun struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	stdout *lockedBuffer
	done   chan struct{}
	err    error // set when done is closed
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPftop starts pftop with args and waits until it samples.
func startPftop(t *testing.T, pftop string, args ...string) *pftopRun {
	t.Helper()
	r := &pftopRun{stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = confCommand(context.Background(), pftop, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start pftop: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	if err := confWaitSampling(r.cmd.Process.Pid, 60*time.Second); err != nil {
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("pftop %s: %v\nstderr:\n%s", strings.Join(args, " "), err, r.stderr.String())
	}
	return r
}

func (r *pftopRun) pid() int { return r.cmd.Process.Pid }

// stop sends sig and waits up to timeout for pftop to exit; it returns
// the exit code, or fails the test when pftop does not end.
func (r *pftopRun) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal pftop: %v", err)
	}
	return r.wait(t, timeout)
}

// wait waits for pftop to exit by itself.
func (r *pftopRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("pftop still running %s later\nstderr:\n%s", timeout, r.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		t.Fatalf("pftop: %v", r.err)
		return -1
	}
}

// checkNoPanic fails the test when a Go panic or fatal error shows in out.
func checkNoPanic(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"panic:", "fatal error:", "goroutine "} {
		if strings.Contains(out, bad) {
			t.Errorf("%s: %q in its output:\n%s", what, bad, confHead(out, 60))
			return
		}
	}
}

// bpfSnapshot is what pftop has published into its BPF maps.
type bpfSnapshot struct {
	mappings int            // pid_mappings entries
	pids     map[uint32]int // pid_mappings entries per PID
	pages    int            // delta_pages entries
	files    map[uint64]int // delta_pages entries per file (short ID)
}

// readPftopMaps reads pid_mappings and delta_pages of the pftop process
// pid, found among the maps it holds open.
func readPftopMaps(t *testing.T, pid int) bpfSnapshot {
	t.Helper()
	s := bpfSnapshot{pids: map[uint32]int{}, files: map[uint64]int{}}
	_, ids := bpfObjectIDs(pid)
	found := 0
	for _, id := range ids {
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue
		}
		info, err := m.Info()
		if err != nil {
			m.Close()
			continue
		}
		switch info.Name {
		case "pid_mappings":
			found++
			iterateMap(t, m, func(k bpf.MappingKey, _ bpf.Mapping) {
				s.mappings++
				s.pids[swap32(k.Pid)]++
			})
		case "delta_pages":
			found++
			iterateMap(t, m, func(k bpf.PageKey, _ bpf.PageVal) {
				s.pages++
				s.files[k.FileId]++
			})
		}
		m.Close()
	}
	if found != 2 {
		t.Fatalf("pftop (pid %d) holds %d of pid_mappings and delta_pages", pid, found)
	}
	return s
}

// iterateMap calls each for every entry of m.
func iterateMap[K, V any](t *testing.T, m *ebpf.Map, each func(K, V)) {
	t.Helper()
	var k K
	var v V
	it := m.Iterate()
	for it.Next(&k, &v) {
		each(k, v)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate %s: %v", m, err)
	}
}

// swap32 undoes the big-endian storage of the PID in an LPM key.
func swap32(v uint32) uint32 { return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24 }

// procAlive says whether pid runs and is no zombie.
func procAlive(pid uint32) bool { return (&confProc{pid: int(pid)}).alive() }

// deadPIDs returns the PIDs that have entries in s but no live process.
func (s bpfSnapshot) deadPIDs() []uint32 {
	var dead []uint32
	for pid := range s.pids {
		if !procAlive(pid) {
			dead = append(dead, pid)
		}
	}
	slices.Sort(dead)
	return dead
}

// leakedPIDs returns the PIDs whose entries outlive their process: dead in
// a first snapshot and still published in a second one taken after the
// exit events had time to arrive.
func leakedPIDs(t *testing.T, pftopPID int, settle time.Duration) (leaked []uint32, last bpfSnapshot) {
	t.Helper()
	dead := readPftopMaps(t, pftopPID).deadPIDs()
	time.Sleep(settle)
	last = readPftopMaps(t, pftopPID)
	for _, pid := range dead {
		if last.pids[pid] > 0 && !procAlive(pid) {
			leaked = append(leaked, pid)
		}
	}
	return leaked, last
}

// fileShort is the short file ID pftop gives the executable at path.
func fileShort(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	id, err := unwinder.ComputeFileID(f, fi.Size())
	if err != nil {
		t.Fatalf("file ID of %s: %v", path, err)
	}
	return id.Short()
}

// userProcesses counts the live processes that map anything (kernel
// threads and zombies have empty maps), as the process manager tracks them.
func userProcesses() int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if _, err := strconv.ParseUint(e.Name(), 10, 32); err != nil {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "maps"))
		if err != nil {
			continue
		}
		var b [1]byte
		if k, _ := f.Read(b[:]); k > 0 {
			n++
		}
		f.Close()
	}
	return n
}

var statsLineRE = regexp.MustCompile(`(?m)^\s+([a-z_]+)\s+(\d+)$`)

// parseStats reads --stats output: the BPF counters and the unwinder's
// and traces' key=value figures.
func parseStats(stderr string) map[string]int64 {
	out := map[string]int64{}
	for _, m := range statsLineRE.FindAllStringSubmatch(stderr, -1) {
		out[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	// The first of equal names wins: the unwinder's line comes before
	// the interpreters' (which have their own processes=).
	for _, m := range statRE.FindAllStringSubmatch(stderr, -1) {
		if _, dup := out[m[1]]; dup {
			continue
		}
		if v, err := strconv.ParseInt(m[2], 10, 64); err == nil {
			out[m[1]] = v
		}
	}
	return out
}

// churnFigures are what TestChurn measured, for its log and make bench.
type churnFigures struct {
	seconds         float64
	spawned         int
	baseRSS, endRSS int64
	peakRSS         int64
	base, peak, end bpfSnapshot
	trackedAtExit   int64
	liveAtExit      int
	exits, evFull   int64
	kidSamples      int
	spawnerSummary  string
}

// TestChurn runs 200 short-lived processes a second (different
// executables, dlopen, threads) under a whole-system pftop and checks that
// nothing they leave behind outlives them: BPF map entries, tracked
// processes, memory.
func TestChurn(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bins := buildChurn(t)
	seconds := 15
	if soak() {
		seconds = 60
	}
	f := runChurn(t, pftop, bins, 200, seconds)
	t.Logf("churn %s for %.0f s: %s", "200/s", f.seconds, f.spawnerSummary)
	t.Logf("pftop RSS: %.1f MB before, %.1f MB peak, %.1f MB after", float64(f.baseRSS)/1e6, float64(f.peakRSS)/1e6, float64(f.endRSS)/1e6)
	t.Logf("pid_mappings: %d entries (%d processes) before, %d (%d) peak, %d (%d) after",
		f.base.mappings, len(f.base.pids), f.peak.mappings, len(f.peak.pids), f.end.mappings, len(f.end.pids))
	t.Logf("delta_pages: %d before, %d peak, %d after", f.base.pages, f.peak.pages, f.end.pages)
	t.Logf("at exit: manager tracks %d processes, %d live; exits counted %d, events_full %d; %d samples of the kids",
		f.trackedAtExit, f.liveAtExit, f.exits, f.evFull, f.kidSamples)
}

// runChurn runs the churn under `pftop record` and asserts its bounds.
func runChurn(t *testing.T, pftop string, bins churnBins, rate, seconds int) churnFigures {
	t.Helper()
	var f churnFigures
	out := filepath.Join(t.TempDir(), "churn.folded")
	// 499 Hz: most kids are sampled at least once, so most are synced
	// and published, which is what could leak.
	r := startPftop(t, pftop, "record", "-F", "499", "-d", "30m", "--format", "folded", "-o", out, "--stats")
	// The start-up sync of the box ends within seconds; the baseline is
	// taken after it.
	time.Sleep(5 * time.Second)
	f.base = readPftopMaps(t, r.pid())
	f.baseRSS = procRSS(r.pid())

	cmds := []string{bins.kid, "spin", "3", "--", bins.kid, "threads", "3", "3", "--",
		bins.kid, "dlopen", bins.plugin, "3", "--", "/bin/true", "--", bins.kid, "sleep", "20"}
	if bins.kidStatic != "" {
		cmds = append(cmds, "--", bins.kidStatic, "spin", "3")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second+2*time.Minute)
	defer cancel()
	spawner := exec.CommandContext(ctx, bins.spawn, append([]string{strconv.Itoa(rate), strconv.Itoa(seconds)}, cmds...)...)
	var spOut, spErr strings.Builder
	spawner.Stdout, spawner.Stderr = &spOut, &spErr
	start := time.Now()
	if err := spawner.Start(); err != nil {
		t.Fatal(err)
	}
	// Peaks while the churn runs, every 2 s.
	spawnDone := make(chan error, 1)
	go func() { spawnDone <- spawner.Wait() }()
	var spawnErr error
	for waiting := true; waiting; {
		select {
		case spawnErr = <-spawnDone:
			waiting = false
		case <-time.After(2 * time.Second):
			s := readPftopMaps(t, r.pid())
			if s.mappings > f.peak.mappings {
				f.peak = s
			}
			f.peakRSS = max(f.peakRSS, procRSS(r.pid()))
		}
	}
	f.seconds = time.Since(start).Seconds()
	f.spawnerSummary = strings.TrimSpace(spOut.String())
	if spawnErr != nil {
		t.Fatalf("spawner: %v\n%s\n%s", spawnErr, spOut.String(), spErr.String())
	}
	if _, err := fmt.Sscanf(f.spawnerSummary, "spawned %d", &f.spawned); err != nil {
		t.Fatalf("spawner: %q: %v", f.spawnerSummary, err)
	}
	// A box busy with other work may not keep the pace; far below it the
	// test would not test what it says.
	if want := rate * seconds; f.spawned < want/2 {
		t.Errorf("the spawner started %d processes, want about %d: %s", f.spawned, want, f.spawnerSummary)
	} else if f.spawned < want*9/10 {
		t.Logf("the box kept only %d of %d spawns", f.spawned, want)
	}

	// Every kid has exited and was reaped. An entry of a dead process
	// still there 3 s later is a missed exit.
	leaked, end := leakedPIDs(t, r.pid(), 3*time.Second)
	f.end = end
	f.endRSS = procRSS(r.pid())
	f.peakRSS = max(f.peakRSS, f.endRSS)
	if len(leaked) > 0 {
		t.Errorf("pid_mappings still holds %d processes that exited: %v", len(leaked), leaked)
	}
	// Other work on the box comes and goes too: the bound is generous,
	// the leak check above is the exact one.
	if limit := f.base.mappings*2 + 2000; f.end.mappings > limit {
		t.Errorf("pid_mappings: %d entries after the churn, %d before (limit %d)", f.end.mappings, f.base.mappings, limit)
	}
	// The kids' executables are mapped by no live process: their delta
	// pages must be gone.
	for _, exe := range []string{bins.kid, bins.kidStatic, bins.plugin} {
		if exe == "" {
			continue
		}
		if n := f.end.files[fileShort(t, exe)]; n > 0 {
			t.Errorf("%d delta pages of %s are still published after its processes exited", n, filepath.Base(exe))
		}
	}
	if limit := f.base.pages*2 + 256; f.end.pages > limit {
		t.Errorf("delta_pages: %d entries after the churn, %d before (limit %d)", f.end.pages, f.base.pages, limit)
	}
	// RSS: the recording keeps every sample (a few MB here); the rest
	// must not grow with the number of processes seen. Other work on the
	// box (go test runs packages side by side) can leave pftop holding
	// freed heap that Go returns to the system over the next seconds, so
	// the bound gets that long to hold; a leak never gets under it.
	if limit := f.baseRSS + 96<<20; f.endRSS > limit {
		settled := time.Now()
		for time.Since(settled) < 30*time.Second && procRSS(r.pid()) > limit {
			time.Sleep(time.Second)
		}
		if rss := procRSS(r.pid()); rss > limit {
			t.Errorf("pftop RSS grew from %.1f MB to %.1f MB during the churn, %.1f MB 30 s later (limit %.1f MB)", float64(f.baseRSS)/1e6, float64(f.endRSS)/1e6, float64(rss)/1e6, float64(limit)/1e6)
		} else {
			t.Logf("pftop RSS back to %.1f MB %.0f s after the churn (limit %.1f MB)", float64(rss)/1e6, time.Since(settled).Seconds(), float64(limit)/1e6)
		}
	}

	f.liveAtExit = userProcesses()
	code := r.stop(t, syscall.SIGINT, 60*time.Second)
	stderr := r.stderr.String()
	checkNoPanic(t, "pftop record", stderr)
	if code != 0 {
		t.Fatalf("pftop record: exit %d after SIGINT\nstderr:\n%s", code, stderr)
	}
	st := parseStats(stderr)
	f.trackedAtExit, f.exits, f.evFull = st["processes"], st["exits"], st["events_full"]
	if _, ok := st["processes"]; !ok {
		t.Fatalf("no unwinder stats in --stats output:\n%s", stderr)
	}
	// The manager tracks live processes only; a few may start between
	// the count and the exit.
	if slack := 20; int(f.trackedAtExit) > f.liveAtExit+slack {
		t.Errorf("the process manager tracks %d processes at exit, %d live (a missed exit leaks one each)", f.trackedAtExit, f.liveAtExit)
	}
	if f.exits < int64(f.spawned) {
		t.Errorf("exits counted %d, fewer than the %d processes spawned", f.exits, f.spawned)
	}
	if f.evFull > 0 {
		t.Errorf("%d events dropped (events ring full): exits may have been missed", f.evFull)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	stacks, err := confParseFolded(string(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		// Named frames of the kids' own code: seen and symbolized.
		if (s.comm == "kid" || s.comm == "kid-static") && slices.ContainsFunc(s.frames, func(fr string) bool {
			return fr == "kid_spin" || fr == "churn_plugin_spin"
		}) {
			f.kidSamples += s.count
		}
	}
	// The test is only worth something if pftop saw the kids.
	if f.kidSamples == 0 {
		t.Errorf("no samples of the kids in the recording (%d stacks)", len(stacks))
	}
	return f
}
