package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/internal/testutil"
)

// TestBench measures pftop as `make bench` reports it. It runs only with
// PFTOP_BENCH=1: figures are printed, never asserted, because absolute
// times swing several-fold on shared VMs. Each figure names its workload.
func TestBench(t *testing.T) {
	if os.Getenv("PFTOP_BENCH") == "" {
		t.Skip("set PFTOP_BENCH=1 (make bench) to measure")
	}
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)

	var rows [][3]string
	add := func(figure, value, workload string) {
		rows = append(rows, [3]string{figure, value, workload})
	}

	// Native targets, each pinned in a known chain; the 200-deep
	// recursion is measured on its own, since its stacks are 20 times
	// deeper than the others'.
	names := []string{"chain", "cpp", "rust", "bigframe", "signal", "threads", "qsort", "recurse"}
	pids := map[string]int{}
	var stopTargets []func()
	for _, n := range names {
		p := filepath.Join(bin, n)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		cmd := exec.Command(p)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", n, err)
		}
		stop := func() { cmd.Process.Kill(); cmd.Wait() }
		stopTargets = append(stopTargets, stop)
		t.Cleanup(stop)
		pids[n] = cmd.Process.Pid
	}
	time.Sleep(300 * time.Millisecond)
	record := func(d string, only ...string) []string {
		args := []string{"record", "-d", d, "--format", "folded", "-o", filepath.Join(t.TempDir(), "out.folded"), "--stats"}
		for _, n := range only {
			if pid, ok := pids[n]; ok {
				args = append(args, "-p", strconv.Itoa(pid))
			}
		}
		return args
	}
	shallow := names[:len(names)-1]
	workload := fmt.Sprintf("%d native targets (%s) on 2 CPUs, 99 Hz, -p each", len(shallow), strings.Join(shallow, ","))

	restore := enableBPFStats(t)
	defer restore()

	run := measureRun(t, pftop, record("20s", shallow...), 5*time.Second, 18*time.Second)
	add("BPF time per sample", fmt.Sprintf("%.2f µs", run.bpfPerSample.Seconds()*1e6), fmt.Sprintf("%s (%d samples unwound, tail calls included)", workload, run.bpfUnwound))
	add("BPF time per frame", fmt.Sprintf("%.0f ns", float64(run.bpfPerFrame.Nanoseconds())), fmt.Sprintf("%s (%d user frames, %.1f per sample)", workload, run.bpfFrames, float64(run.bpfFrames)/float64(max(run.bpfUnwound, 1))))
	add("pftop CPU, steady", fmt.Sprintf("%.2f %% of a core", run.steadyCPU), workload+", from 5 s to 18 s")
	add("pftop CPU, whole run", fmt.Sprintf("%.2f %% of a core", run.wholeCPU), workload+", 20 s incl. start-up")
	add("pftop RSS", fmt.Sprintf("%.1f MB sampling, %.1f MB max", float64(run.sampleRSS)/1e6, float64(run.maxRSS)/1e6), workload+"; max includes symbolizing at exit")
	add("BPF map memory", fmt.Sprintf("%.1f MB allocated, %.2f MB in use", float64(run.mapMemlock)/1e6, float64(run.stat("bpf_mem_in_use"))/1e6), workload)
	add("first complete stack", run.statText("first_complete_after"), "from process start, "+workload)
	kept, complete := run.stat("kept"), run.stat("complete")
	if kept > 0 {
		add("complete stacks", fmt.Sprintf("%.2f %% (%d of %d)", 100*float64(complete)/float64(kept), complete, kept), workload)
	}

	deep := measureRun(t, pftop, record("10s", "recurse"), 2*time.Second, 9*time.Second)
	dwl := "recurse target (205 frames per stack), 99 Hz, -p"
	add("BPF time per sample", fmt.Sprintf("%.2f µs", deep.bpfPerSample.Seconds()*1e6), fmt.Sprintf("%s (%d samples unwound)", dwl, deep.bpfUnwound))
	add("BPF time per frame", fmt.Sprintf("%.0f ns", float64(deep.bpfPerFrame.Nanoseconds())), fmt.Sprintf("%s (%.1f frames per sample)", dwl, float64(deep.bpfFrames)/float64(max(deep.bpfUnwound, 1))))
	if kept, complete := deep.stat("kept"), deep.stat("complete"); kept > 0 {
		add("complete stacks", fmt.Sprintf("%.2f %% (%d of %d)", 100*float64(complete)/float64(kept), complete, kept), dwl)
	}

	// The whole box, no filter: every process synced and unwound; perf
	// top samples the same box at the same rate over the same window.
	perfPID, stopPerf := startPerfTop(t)
	sys := measureRun(t, pftop, []string{"record", "-d", "20s", "--format", "folded", "-o", filepath.Join(t.TempDir(), "sys.folded"), "--stats"}, 5*time.Second, 18*time.Second, perfPID)
	stopPerf() // it would weigh on the rows below
	wl := "whole system, 99 Hz, same targets running"
	if perfPID != 0 {
		perfCPU := sys.othersCPU[0]
		add("perf top CPU, steady", fmt.Sprintf("%.2f %% of a core", perfCPU), "perf top -g -F 99 in tmux, whole system, same targets, the same 5 s to 18 s as pftop's")
		if perfCPU > 0 {
			add("pftop / perf top CPU", fmt.Sprintf("%.2f", sys.steadyCPU/perfCPU), "both whole system at 99 Hz, measured side by side")
		}
	}
	add("BPF time per sample", fmt.Sprintf("%.2f µs", sys.bpfPerSample.Seconds()*1e6), fmt.Sprintf("%s (%d samples unwound)", wl, sys.bpfUnwound))
	add("pftop CPU, steady", fmt.Sprintf("%.2f %% of a core", sys.steadyCPU), wl+", from 5 s to 18 s")
	add("pftop RSS", fmt.Sprintf("%.1f MB sampling, %.1f MB max", float64(sys.sampleRSS)/1e6, float64(sys.maxRSS)/1e6), wl+"; max includes symbolizing at exit")
	add("BPF map memory", fmt.Sprintf("%.1f MB allocated, %.2f MB in use", float64(sys.mapMemlock)/1e6, float64(sys.stat("bpf_mem_in_use"))/1e6), wl)
	add("start-up sync", sys.statText("extraction")+" of delta extraction", fmt.Sprintf("%s (%d executables)", wl, sys.stat("executables")))

	// The live view itself, in a real terminal, at the default refresh.
	tuiCPU := measureTUI(t, pftop)
	add("pftop CPU, live view", fmt.Sprintf("%.2f %% of a core", tuiCPU), "TUI open in tmux 200x60, 99 Hz, 1 s refresh, whole system, same targets, 15 s to 35 s")

	for _, r := range benchOTLP(t, pftop) {
		add(r[0], r[1], r[2])
	}
	for _, r := range benchPython(t, pftop) {
		add(r[0], r[1], r[2])
	}
	// The package benchmarks measure code, not the box: stop the targets.
	for _, k := range stopTargets {
		k()
	}

	// Churn: 200 short-lived processes a second (TestChurn's workload),
	// on a box the targets no longer load.
	if bins := buildChurn(t); bins.spawn != "" {
		f := runChurn(t, pftop, bins, 200, 15)
		cwl := fmt.Sprintf("churn 200 processes/s for %.0f s (%d), record -F 499 whole system", f.seconds, f.spawned)
		add("churn: pftop RSS", fmt.Sprintf("%.1f MB before, %.1f MB peak, %.1f MB after", float64(f.baseRSS)/1e6, float64(f.peakRSS)/1e6, float64(f.endRSS)/1e6), cwl)
		add("churn: pid_mappings", fmt.Sprintf("%d before, %d peak, %d after", f.base.mappings, f.peak.mappings, f.end.mappings), cwl+"; LPM entries")
		add("churn: delta_pages", fmt.Sprintf("%d before, %d peak, %d after", f.base.pages, f.peak.pages, f.end.pages), cwl)
		add("churn: tracked at exit", fmt.Sprintf("%d processes (%d live)", f.trackedAtExit, f.liveAtExit), cwl+"; exits counted "+strconv.FormatInt(f.exits, 10))
	}

	// The in-process figures come from Go benchmarks of the packages.
	for _, gb := range []struct{ pkg, re, figure, workload string }{
		{"./aggregate/", "^BenchmarkIngest$", "aggregator ingest", "Store.Add, 20k distinct depth-20 stacks over 200 threads, one core"},
		{"./aggregate/", "^BenchmarkTop5Min100kStacks$", "top query", "5-minute window, 100k distinct stacks, warm symbols"},
		{"./aggregate/", "^BenchmarkTree5Min100kStacks$", "call tree query", "5-minute window, 100k distinct stacks"},
		{"./ui/", "^BenchmarkRenderTop200x60$", "render one frame", "top table 200x60, 5k rows"},
		{"./ui/", "^BenchmarkFlameLayoutRender200x60$", "flamegraph layout+render", "about 50k nodes at 200x60"},
		{"./symtab/", "^BenchmarkSymbolizeLibc$", "symbolize libc", "100k distinct addresses, libc with libc6-dbg's DWARF, cold and warm"},
		{"./symtab/", "^BenchmarkSymbolizeBig$", "symbolize big binary", "100k distinct addresses of a large binary with DWARF (node here), cold and warm"},
		{"./symtab/", "^BenchmarkGoLookup(Cold|Warm)$", "symbolize Go", "addresses of /usr/local/go/bin/go from .gopclntab"},
	} {
		for _, r := range goBench(t, gb.pkg, gb.re) {
			add(gb.figure, r.value, gb.workload+" ("+r.name+")")
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n%-24s %-32s %s\n", "figure", "value", "workload")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-24s %-32s %s\n", r[0], r[1], r[2])
	}
	t.Log(b.String())
}

// enableBPFStats turns on kernel.bpf_stats_enabled for the run time
// figures and returns a function restoring the old value.
func enableBPFStats(t *testing.T) func() {
	const path = "/proc/sys/kernel/bpf_stats_enabled"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		t.Fatalf("enable bpf stats: %v", err)
	}
	return func() { os.WriteFile(path, old, 0o644) }
}

type runFigures struct {
	bpfTotal     time.Duration // run time of the sample program, tail calls included
	bpfRuns      uint64
	bpfPerSample time.Duration // bpfTotal over the samples that were unwound
	bpfUnwound   int64
	bpfPerFrame  time.Duration // bpfTotal over the user frames walked
	bpfFrames    int64
	steadyCPU    float64 // % of one core between the two probes
	wholeCPU     float64
	maxRSS       int64 // bytes, at any time, symbolization at exit included
	sampleRSS    int64 // bytes, while sampling
	mapMemlock   int64 // bytes, summed over pftop's maps
	stats        string
	othersCPU    []float64        // % of one core of each other process, same window
	window       map[string]int64 // the BPF counters' growth between the two probes
}

var statRE = regexp.MustCompile(`([a-z_]+)=([^ \n]+)`)

func (r runFigures) statText(name string) string {
	for _, m := range statRE.FindAllStringSubmatch(r.stats, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return "?"
}

func (r runFigures) stat(name string) int64 {
	v, _ := strconv.ParseInt(r.statText(name), 10, 64)
	return v
}

// measureRun runs pftop with args and samples its CPU time at from and to
// (after start), its BPF program statistics at to, and its rusage at exit.
// The CPU use of others is measured over the same window.
func measureRun(t *testing.T, pftop string, args []string, from, to time.Duration, others ...int) runFigures {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pftop, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pftop: %v", err)
	}
	pid := cmd.Process.Pid
	var f runFigures
	time.Sleep(from)
	c0 := readCounters(t, pid)
	cpu0 := procCPU(pid)
	others0 := make([]time.Duration, len(others))
	for i, o := range others {
		others0[i] = procCPU(o)
	}
	t0 := time.Now()
	time.Sleep(to - from)
	cpu1 := procCPU(pid)
	window := time.Since(t0).Seconds()
	f.steadyCPU = 100 * (cpu1 - cpu0).Seconds() / window
	for i, o := range others {
		f.othersCPU = append(f.othersCPU, 100*(procCPU(o)-others0[i]).Seconds()/window)
	}
	f.sampleRSS = procRSS(pid)
	f.bpfTotal, f.bpfRuns = programRunTime(t, pid, "sample")
	c := readCounters(t, pid)
	f.window = map[string]int64{}
	for k, v := range c {
		f.window[k] = v - c0[k]
	}
	if unwound := c["samples"] - c["idle"] - c["filtered"]; unwound > 0 {
		f.bpfPerSample = f.bpfTotal / time.Duration(unwound)
		f.bpfUnwound = unwound
	}
	if frames := c["delta_frames"] + c["fp_frames"] + c["signal_frames"]; frames > 0 {
		f.bpfPerFrame = f.bpfTotal / time.Duration(frames)
		f.bpfFrames = frames
	}
	f.mapMemlock = mapMemlock(pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pftop %v: %v\n%s", args, err, stderr.String())
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	f.wholeCPU = 100 * used.Seconds() / wall.Seconds()
	f.maxRSS = ru.Maxrss * 1024
	f.stats = stderr.String()
	return f
}

// procCPU reads utime+stime of pid from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised comm; utime and stime are 14 and 15.
	s := string(b)
	s = s[strings.LastIndexByte(s, ')')+2:]
	fs := strings.Fields(s)
	if len(fs) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fs[11], 10, 64)
	st, _ := strconv.ParseInt(fs[12], 10, 64)
	const hz = 100 // USER_HZ
	return time.Duration(ut+st) * time.Second / hz
}

// bpfObjectIDs lists the programs and maps pid holds open, from fdinfo,
// so other profilers running at the same time are never measured.
func bpfObjectIDs(pid int) (progs, maps []uint32) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				continue
			}
			switch k {
			case "prog_id":
				progs = append(progs, uint32(id))
			case "map_id":
				maps = append(maps, uint32(id))
			}
		}
	}
	return progs, maps
}

// programRunTime sums run time and count of pid's programs called name.
// Tail-called programs are accounted to the program that was entered.
func programRunTime(t *testing.T, pid int, name string) (time.Duration, uint64) {
	progs, _ := bpfObjectIDs(pid)
	var total time.Duration
	var runs uint64
	for _, id := range progs {
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			continue
		}
		info, err := p.Info()
		if err != nil || info.Name != name {
			p.Close()
			continue
		}
		st, err := p.Stats()
		p.Close()
		if err != nil {
			t.Logf("stats of %s: %v", name, err)
			continue
		}
		total += st.Runtime
		runs += st.RunCount
	}
	return total, runs
}

// readCounters reads pid's per-CPU counters map by name.
func readCounters(t *testing.T, pid int) map[string]int64 {
	out := map[string]int64{}
	_, maps := bpfObjectIDs(pid)
	for _, id := range maps {
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue
		}
		info, err := m.Info()
		if err != nil || info.Name != "counters" {
			m.Close()
			continue
		}
		for i := 0; i < bpf.NumCounters; i++ {
			var perCPU []uint64
			if err := m.Lookup(uint32(i), &perCPU); err != nil {
				t.Logf("read counter %d: %v", i, err)
				continue
			}
			for _, v := range perCPU {
				out[bpf.Counter(i).String()] += int64(v)
			}
		}
		m.Close()
		break
	}
	return out
}

// mapMemlock sums the memlock of every BPF map pid holds open.
func mapMemlock(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var sum int64
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		isMap := false
		var memlock int64
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			v = strings.TrimSpace(v)
			switch k {
			case "map_type":
				isMap = true
			case "memlock":
				memlock, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		f.Close()
		if isMap {
			sum += memlock
		}
	}
	return sum
}

// measureTUI runs the live view in tmux and returns its CPU use, in % of
// one core, from 5 s to 20 s after start.
func measureTUI(t *testing.T, pftop string) float64 {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Log("tmux missing: live view CPU not measured")
		return 0
	}
	name := fmt.Sprintf("pftop-bench-%d", time.Now().UnixNano())
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "60", pftop).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	defer exec.Command("tmux", "kill-session", "-t", name).Run()
	out, err := exec.Command("tmux", "display-message", "-p", "-t", name, "#{pane_pid}").Output()
	if err != nil {
		t.Fatalf("tmux pane pid: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	// After the start-up sync of the whole box, which the other rows show.
	time.Sleep(15 * time.Second)
	c0, t0 := procCPU(pid), time.Now()
	time.Sleep(20 * time.Second)
	c1 := procCPU(pid)
	exec.Command("tmux", "send-keys", "-t", name, "q").Run()
	return 100 * (c1 - c0).Seconds() / time.Since(t0).Seconds()
}

// startPerfTop runs `perf top -g -F 99` (whole system) in tmux until the
// returned function stops it, and returns its PID, or 0 when perf or tmux
// is missing. Its --stdio mode spins on a closed stdin, so it gets a
// terminal.
func startPerfTop(t *testing.T) (int, func()) {
	none := func() {}
	perf, err := exec.LookPath("perf")
	if err != nil {
		t.Logf("perf missing (make bench installs linux-perf): no perf top figures")
		return 0, none
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Log("tmux missing: no perf top figures")
		return 0, none
	}
	name := fmt.Sprintf("pftop-bench-perf-%d", time.Now().UnixNano())
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "60", perf, "top", "-g", "-F", "99").CombinedOutput(); err != nil {
		t.Fatalf("tmux perf top: %v\n%s", err, out)
	}
	stop := func() { exec.Command("tmux", "kill-session", "-t", name).Run() }
	t.Cleanup(stop)
	out, err := exec.Command("tmux", "display-message", "-p", "-t", name, "#{pane_pid}").Output()
	if err != nil {
		t.Fatalf("tmux pane pid: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	// Past its start-up (reading symbols), like pftop's window.
	time.Sleep(5 * time.Second)
	if procCPU(pid) == 0 && !(&confProc{pid: pid}).alive() {
		t.Log("perf top exited at once: no perf top figures")
		return 0, stop
	}
	return pid, stop
}

type benchRow struct{ name, value string }

// goBench runs one Go benchmark and returns its figures: the time per
// operation, and the custom metrics it reports.
func goBench(t *testing.T, pkg, re string) []benchRow {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", re, "-benchtime", "2s", pkg)
	cmd.Dir = testutil.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("go test -bench %s %s: %v\n%s", re, pkg, err, out)
		return nil
	}
	var rows []benchRow
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		// Name, iterations, then value-unit pairs.
		var parts []string
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				d := time.Duration(v)
				if d >= time.Microsecond {
					d = d.Round(time.Microsecond)
				}
				parts = append([]string{d.String() + "/op"}, parts...)
			case "B/op", "allocs/op":
			default:
				parts = append(parts, strconv.FormatFloat(v, 'g', 4, 64)+" "+unit)
			}
		}
		rows = append(rows, benchRow{name: f[0], value: strings.Join(parts, ", ")})
	}
	return rows
}

// procRSS reads VmRSS of pid.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
