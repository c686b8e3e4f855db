package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// benchPython measures the BPF time of a sample of a 30-frame Python stack
// (testdata/targets/python/deep.py) beside a native sample. Recordings
// alternate, round after round, and each Python figure is divided by the
// native one of its own round: the box's load swings both alike within a
// round but 2-3 times between rounds, so the ratios are steadier than
// the times, and the median of the rounds is reported. Each figure is
// taken between 4 s and 9 s into its recording, once the per-CPU caches
// have filled, as in a profiler that keeps running. The same Python
// process unwound with --no-interpreters gives the part of its cost that
// is the interpreter's own C frames. Rows are {figure, value, workload}.
func benchPython(t *testing.T, pftop string) [][3]string {
	const rounds = 5
	bin := testutil.BuildTargets(t)
	deep := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", "deep.py")
	type config struct {
		name, workload string
		pids           []int
		extra          []string
		us, frames     []float64 // per round
		traces         int64
	}
	var configs []*config
	var native []int
	for _, n := range []string{"chain", "cpp", "rust"} {
		native = append(native, startProcess(t, filepath.Join(bin, n)))
	}
	configs = append(configs, &config{name: "native", workload: "chain, cpp and rust targets (6 frames)", pids: native})
	for _, v := range []string{"3.12", "3.10"} {
		if py, ok := pyInterpreter(v); ok {
			pid := startProcess(t, py, deep)
			configs = append(configs, &config{name: "python " + v, workload: "deep.py on CPython " + v + " (30 Python frames)", pids: []int{pid}})
			if v == "3.12" {
				configs = append(configs, &config{name: "interpreter " + v, workload: "the same deep.py on CPython " + v + " with --no-interpreters (its C frames only)", pids: []int{pid}, extra: []string{"--no-interpreters"}})
			}
		} else {
			t.Logf("CPython %s missing: no Python figure for it", v)
		}
	}
	// record measures c between 4 s and 9 s into a 10 s recording.
	record := func(c *config, extra ...string) runFigures {
		args := append([]string{"record", "-d", "10s", "--format", "folded", "-o", filepath.Join(t.TempDir(), "out.folded"), "--stats"}, c.extra...)
		args = append(args, extra...)
		for _, pid := range c.pids {
			args = append(args, "-p", strconv.Itoa(pid))
		}
		return measureRun(t, pftop, args, 4*time.Second, 9*time.Second)
	}
	time.Sleep(time.Second)
	for round := 0; round < rounds; round++ {
		for _, c := range configs {
			f := record(c)
			// On the programs' own clock, which leaves out the samples
			// of other processes the PID filter dropped.
			frames, us := windowPerTrace(f)
			c.us = append(c.us, us)
			c.frames = append(c.frames, frames)
			c.traces += f.window["traces_sent"]
		}
	}
	// One more recording of each, timing the programs' phases: where a
	// sample's time goes (the timers' own clock reads included).
	phases := map[*config]map[string]int64{}
	for _, c := range configs {
		if strings.HasSuffix(c.name, "3.10") {
			continue
		}
		phases[c] = record(c, "--bpf-timing").window
	}
	base := configs[0]
	// ratios divides a's figure by b's, round by round.
	ratios := func(a, b *config) (r []float64) {
		for i := range a.us {
			if b.us[i] > 0 && a.us[i] > 0 {
				r = append(r, a.us[i]/b.us[i])
			}
		}
		return r
	}
	var rows [][3]string
	for i, c := range configs {
		wl := fmt.Sprintf("%s, 99 Hz, -p, 4-9 s into each recording, median of %d alternating rounds (%d traces, %.1f frames per trace); the programs' own clock", c.workload, rounds, c.traces, median(c.frames))
		rows = append(rows, [3]string{"BPF time per trace", fmt.Sprintf("%.2f µs", median(c.us)), wl})
		if w := phases[c]; w["traces_sent"] > 0 {
			rows = append(rows, [3]string{"  timed phases", fmt.Sprintf("%.2f µs", float64(w["unwind_ns"])/float64(w["traces_sent"])/1e3), "µs per trace: " + phaseText(w) + "; one more recording with --bpf-timing (each timer adds a clock read)"})
		}
		if c == base {
			continue
		}
		r := ratios(c, base)
		if len(r) == 0 {
			t.Logf("%s: no round with traces of both", c.name)
			continue
		}
		span := fmt.Sprintf("rounds %.2f-%.2f×", slices.Min(r), slices.Max(r))
		if !strings.HasPrefix(c.name, "interpreter") {
			rows = append(rows, [3]string{"Python / native BPF", fmt.Sprintf("%.2f×", median(r)), c.workload + " against the native targets of the same round, median (" + span + "; goal: at most 1.5×)"})
			continue
		}
		rows = append(rows, [3]string{"Interpreter C / native", fmt.Sprintf("%.2f×", median(r)), c.workload + " against the native targets of the same round, median (" + span + "): the floor under the Python figure"})
		// The Python walker's own share: the same process with and
		// without it (the configuration just before this one).
		if py := configs[i-1]; strings.HasPrefix(py.name, "python") {
			if r := ratios(py, c); len(r) > 0 {
				rows = append(rows, [3]string{"Python / its C frames", fmt.Sprintf("%.2f×", median(r)), py.workload + " against the same process with --no-interpreters, same round, median (" + fmt.Sprintf("rounds %.2f-%.2f×", slices.Min(r), slices.Max(r)) + ")"})
			}
		}
	}
	return rows
}

// phaseText spells out where a trace's BPF time went, from the window's
// counters of a --bpf-timing recording.
func phaseText(w map[string]int64) string {
	n := float64(w["traces_sent"])
	us := func(k string) float64 { return float64(w[k]) / n / 1e3 }
	total := us("unwind_ns")
	parts := []string{
		fmt.Sprintf("start %.2f", us("t_prologue_ns")),
		fmt.Sprintf("rule searches %.2f (%.2f per trace)", us("t_rule_search_ns"), float64(w["rule_searches"])/n),
		fmt.Sprintf("stack reads %.2f (%.1f per trace)", us("t_stack_read_ns"), float64(w["stack_reads"])/n),
	}
	if w["t_py_walk_ns"] > 0 {
		parts = append(parts, fmt.Sprintf("Python %.2f (thread state %.2f)", us("t_py_walk_ns"), us("t_py_thread_ns")))
	}
	rest := total - us("t_prologue_ns") - us("t_rule_search_ns") - us("t_stack_read_ns") - us("t_py_walk_ns") - us("t_send_ns")
	parts = append(parts, fmt.Sprintf("send %.2f", us("t_send_ns")), fmt.Sprintf("the rest of the walk %.2f", rest))
	return strings.Join(parts, ", ")
}

// median of xs, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// windowPerTrace gives the user frames and the programs' own time in µs
// per trace sent between the probes.
func windowPerTrace(f runFigures) (frames, us float64) {
	w := f.window
	n := w["traces_sent"]
	if n <= 0 {
		return 0, 0
	}
	frames = float64(w["delta_frames"]+w["fp_frames"]+w["signal_frames"]+w["py_frames"]) / float64(n)
	return frames, float64(w["unwind_ns"]) / float64(n) / 1e3
}

// TestBenchPython prints benchPython's rows alone (TestBench prints them
// with every other figure): PFTOP_BENCH=1 go test -run TestBenchPython .
func TestBenchPython(t *testing.T) {
	if os.Getenv("PFTOP_BENCH") == "" {
		t.Skip("set PFTOP_BENCH=1 to measure")
	}
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	defer enableBPFStats(t)()
	for _, r := range benchPython(t, pftop) {
		t.Logf("%-24s %-12s %s", r[0], r[1], r[2])
	}
}
