package main

import (
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

// benchPython measures the BPF time of a sample of a 30-frame Python stack
// (testdata/targets/python/deep.py) beside a native sample, alternating
// the recordings in one run and keeping each one's best of three: the
// box's other load only ever adds time. Each figure is taken between 4 s
// and 11 s into its recording, once the per-CPU caches have filled, as
// in a profiler that keeps running. The same Python process unwound with
// --no-interpreters gives the share of its cost that is the
// interpreter's own C frames. Rows are {figure, value, workload}.
func benchPython(t *testing.T, pftop string) [][3]string {
	bin := testutil.BuildTargets(t)
	deep := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", "deep.py")
	start := func(path string, args ...string) int {
		cmd := exec.Command(path, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", path, err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	type config struct {
		name, workload string
		pids           []int
		extra          []string
		best           runFigures
	}
	var configs []*config
	var native []int
	for _, n := range []string{"chain", "cpp", "rust"} {
		native = append(native, start(filepath.Join(bin, n)))
	}
	configs = append(configs, &config{name: "native", workload: "chain, cpp and rust targets (6 frames)", pids: native})
	for _, v := range []string{"3.12", "3.10"} {
		if py, ok := pyInterpreter(v); ok {
			pid := start(py, deep)
			configs = append(configs, &config{name: "python " + v, workload: "deep.py on CPython " + v + " (30 Python frames)", pids: []int{pid}})
			if v == "3.12" {
				configs = append(configs, &config{name: "interpreter " + v, workload: "the same deep.py on CPython " + v + " with --no-interpreters (its C frames only)", pids: []int{pid}, extra: []string{"--no-interpreters"}})
			}
		} else {
			t.Logf("CPython %s missing: no Python figure for it", v)
		}
	}
	time.Sleep(time.Second)
	for round := 0; round < 3; round++ {
		for _, c := range configs {
			args := append([]string{"record", "-d", "12s", "--format", "folded", "-o", filepath.Join(t.TempDir(), "out.folded"), "--stats"}, c.extra...)
			for _, pid := range c.pids {
				args = append(args, "-p", strconv.Itoa(pid))
			}
			f := measureRun(t, pftop, args, 4*time.Second, 11*time.Second)
			if perTrace(f) > 0 && (perTrace(c.best) == 0 || perTrace(f) < perTrace(c.best)) {
				c.best = f
			}
		}
	}
	var rows [][3]string
	var base float64
	for _, c := range configs {
		f := c.best
		if perTrace(f) == 0 {
			t.Logf("%s: no trace between the probes", c.name)
			continue
		}
		// Per trace, on the programs' own clock, which leaves out the
		// samples of other processes the PID filter dropped (under
		// load, most runs).
		frames, own := windowPerTrace(f)
		if c.name == "native" {
			base = own
		}
		wl := fmt.Sprintf("%s, 99 Hz, -p, 4-11 s into each recording, best of 3 alternating (%d traces, %.1f frames per trace)", c.workload, f.window["traces_sent"], frames)
		rows = append(rows, [3]string{"BPF time per trace", fmt.Sprintf("%.2f µs", own), wl + "; the programs' own clock, filtered samples left out"})
		switch {
		case base == 0 || c.name == "native":
		case strings.HasPrefix(c.name, "interpreter"):
			rows = append(rows, [3]string{"Interpreter C / native", fmt.Sprintf("%.2f×", own/base), c.workload + " against the native targets, same run: the floor under the Python figure"})
		default:
			rows = append(rows, [3]string{"Python / native BPF", fmt.Sprintf("%.2f×", own/base), c.workload + " against the native targets, programs' own clock, same run (goal: at most 1.5×)"})
		}
	}
	return rows
}

// perTrace is the programs' own time per trace sent, between the probes.
func perTrace(f runFigures) float64 {
	_, us := windowPerTrace(f)
	return us
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
