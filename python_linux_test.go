package main

// Conformance of the CPython walker (issue 7), end to end: the real binary
// and BPF programs profile the scripts of testdata/targets/python under
// every CPython installed, and each stack must read native -> Python ->
// native in order, from the process's or thread's root to the leaf, with
// the lines the scripts mark.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/pftop/pftop/internal/testutil"
)

// pyVersions are the CPython versions the walker supports; each one
// missing here is skipped with the reason.
var pyVersions = []string{"2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"}

// pyInterpreter finds a python of version v: pyenv's (shared libpython),
// else the distribution's.
func pyInterpreter(v string) (string, bool) {
	matches, _ := filepath.Glob("/root/.pyenv/versions/" + v + ".*/bin/python" + v)
	for _, m := range matches {
		if _, err := os.Stat(m); err == nil {
			return m, true
		}
	}
	if p := "/usr/bin/python" + v; fileExists(p) {
		return p, true
	}
	return "", false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// pyThreadMinSamples is the fewest samples a thread of threads.py must
// get: its two busy threads share the CPUs with the other scripts.
const pyThreadMinSamples = 15

// pyThreadRoots are where a thread's stack starts, by glibc version.
var pyThreadRoots = []string{"clone3", "__clone3", "clone", "__clone"}

// pyChain is what a group of samples must hold: a root-most frame, then
// the chain in order (native frames may sit between).
type pyChain struct {
	name  string
	roots []string
	chain []string
}

// pyStack is one pprof sample as root-first function names.
type pyStack struct {
	pid, tid int64
	frames   []string
	lines    map[string]int // a function of the scripts -> its line in this sample
	count    int64
}

func pyParse(t *testing.T, path string) []pyStack {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []pyStack
	for _, s := range prof.Sample {
		st := pyStack{lines: map[string]int{}, count: s.Value[0]}
		if v := s.NumLabel["pid"]; len(v) > 0 {
			st.pid = v[0]
		}
		if v := s.NumLabel["tid"]; len(v) > 0 {
			st.tid = v[0]
		}
		for i := len(s.Location) - 1; i >= 0; i-- {
			ls := s.Location[i].Line
			for j := len(ls) - 1; j >= 0; j-- {
				if ls[j].Function == nil {
					continue
				}
				st.frames = append(st.frames, ls[j].Function.Name)
				if strings.HasSuffix(ls[j].Function.Filename, ".py") {
					st.lines[ls[j].Function.Name] = int(ls[j].Line)
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// check says whether s holds c, and if not why.
func (c pyChain) check(s pyStack) (bool, string) {
	for _, f := range s.frames {
		if strings.HasPrefix(f, "[unwind error") || strings.HasPrefix(f, "[unknown python") {
			return false, f
		}
	}
	if len(s.frames) == 0 || !slices.Contains(c.roots, s.frames[0]) {
		return false, fmt.Sprintf("root %q", strings.Join(s.frames[:min(1, len(s.frames))], ""))
	}
	i := 0
	for _, f := range s.frames[1:] {
		if i < len(c.chain) && f == c.chain[i] {
			i++
		}
	}
	if i < len(c.chain) {
		return false, fmt.Sprintf("%q missing", c.chain[i])
	}
	return true, ""
}

// pyMarks reads the "@call NAME" and "@spin" markers of a script: the
// lines a sample's frames must name.
func pyMarks(t *testing.T, path string) (calls map[string]int, spins []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calls = map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if _, name, ok := strings.Cut(line, "# @call "); ok {
			calls[strings.TrimSpace(name)] = n
		}
		if strings.Contains(line, "# @spin") {
			spins = append(spins, n)
		}
	}
	return calls, spins
}

func TestPythonConformance(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	dir := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python")
	for _, v := range pyVersions {
		t.Run(v, func(t *testing.T) {
			py, ok := pyInterpreter(v)
			if !ok {
				t.Skipf("CPython %s is not installed (looked in /root/.pyenv/versions and /usr/bin)", v)
			}
			pyConform(t, pftop, py, dir)
		})
	}
}

func pyConform(t *testing.T, pftop, py, dir string) {
	script := func(name string) string { return filepath.Join(dir, name) }
	chainP := confStart(t, py, script("chain.py"))
	roundP := confStart(t, py, script("roundtrip.py"))
	threadP := confStart(t, py, script("threads.py"))
	// Past start-up (imports, compiling, threads.py building its buffer).
	time.Sleep(time.Second)
	out := filepath.Join(t.TempDir(), "py.pprof")
	_, stderr := confRecord(t, pftop, "-d", "5s", "--no-kernel", "--format", "pprof", "-o", out, "--stats",
		"-p", strconv.Itoa(chainP.pid), "-p", strconv.Itoa(roundP.pid), "-p", strconv.Itoa(threadP.pid))
	stacks := pyParse(t, out)
	mainRoot := []string{"_start"}
	failed := false
	share := func(name string, least int64, group []pyStack, c ...pyChain) {
		var total, ok int64
		var bad []string
		for _, s := range group {
			total += s.count
			matched, why := false, ""
			for _, cc := range c {
				var m bool
				if m, why = cc.check(s); m {
					matched = true
					break
				}
			}
			if matched {
				ok += s.count
			} else if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("%d× %s (%s)", s.count, strings.Join(s.frames, ";"), why))
			}
		}
		if total < least {
			t.Errorf("%s: %d samples, want at least %d", name, total, least)
			failed = true
			return
		}
		got := float64(ok) / float64(total)
		t.Logf("%s: %d of %d samples complete (%.1f%%)", name, ok, total, 100*got)
		if got < confCompleteShare {
			t.Errorf("%s: %.1f%% complete, want at least %.0f%%; some others:\n%s", name, 100*got, 100*confCompleteShare, strings.Join(bad, "\n"))
			failed = true
		}
	}
	byPID := func(pid int) (g []pyStack) {
		for _, s := range stacks {
			if s.pid == int64(pid) {
				g = append(g, s)
			}
		}
		return g
	}

	// chain.py: the chain, and each frame's line.
	chain := byPID(chainP.pid)
	share("chain.py", confMinSamples, chain, pyChain{roots: mainRoot, chain: []string{"<module>", "py_chain_a", "py_chain_b", "py_chain_c"}})
	calls, spins := pyMarks(t, script("chain.py"))
	var lined, linesOK int64
	for _, s := range chain {
		if len(s.lines) < 4 {
			continue
		}
		lined += s.count
		if s.lines["<module>"] == calls["py_chain_a"] && s.lines["py_chain_a"] == calls["py_chain_b"] &&
			s.lines["py_chain_b"] == calls["py_chain_c"] && slices.Contains(spins, s.lines["py_chain_c"]) {
			linesOK += s.count
		} else if linesOK == 0 {
			t.Logf("chain.py lines %v, want calls %v and the leaf on %v", s.lines, calls, spins)
		}
	}
	if lined == 0 || float64(linesOK) < confCompleteShare*float64(lined) {
		t.Errorf("chain.py: %d of %d samples name the marked lines", linesOK, lined)
		failed = true
	}

	// roundtrip.py: Python -> C (the builtin sorted) -> Python.
	share("roundtrip.py", confMinSamples, byPID(roundP.pid), pyChain{roots: mainRoot, chain: []string{"<module>", "py_sort_outer", "builtin_sorted", "py_sort_key", "py_key_leaf"}})

	// threads.py: each thread's own chain from its thread root; thread b
	// is mostly in zlib without the GIL, and must still show its frames.
	threads := map[int64][]pyStack{}
	for _, s := range byPID(threadP.pid) {
		threads[s.tid] = append(threads[s.tid], s)
	}
	a := pyChain{name: "a", roots: pyThreadRoots, chain: []string{"py_thread_a", "py_thread_a_work"}}
	b := pyChain{name: "b", roots: pyThreadRoots, chain: []string{"py_thread_b", "py_thread_b_work"}}
	seen := map[string]bool{}
	var all []pyStack
	for tid, g := range threads {
		all = append(all, g...)
		for _, c := range []pyChain{a, b} {
			var n int64
			for _, s := range g {
				if ok, _ := c.check(s); ok {
					n += s.count
				}
			}
			if n > 0 {
				seen[c.name] = true
				share(fmt.Sprintf("threads.py thread %d (%s)", tid, c.name), pyThreadMinSamples, g, c)
			}
		}
	}
	share("threads.py", confMinSamples, all, a, b, pyChain{roots: mainRoot, chain: []string{"<module>"}})
	if !seen["a"] || !seen["b"] {
		t.Errorf("threads.py: thread chains seen %v, want both a and b", seen)
		failed = true
	}
	var unlocked int64
	zlib := regexp.MustCompile(`^(deflate|zlib_compress|PyZlib_compress|libz)`)
	for _, s := range all {
		if ok, _ := b.check(s); ok && slices.ContainsFunc(s.frames, zlib.MatchString) {
			unlocked += s.count
		}
	}
	t.Logf("threads.py: %d samples of thread b inside zlib, GIL released", unlocked)
	if unlocked == 0 {
		t.Errorf("threads.py: no sample of thread b in zlib (its GIL-free work)")
		failed = true
	}
	if failed {
		t.Logf("pftop stderr:\n%s", stderr)
	}
}

// startChainPy builds pftop and starts chain.py on CPython 3.12, skipping
// the test where that is not installed.
func startChainPy(t *testing.T) (pftop string, p *confProc) {
	t.Helper()
	testutil.RequirePrivileges(t)
	py, ok := pyInterpreter("3.12")
	if !ok {
		t.Skip("CPython 3.12 is not installed (looked in /root/.pyenv/versions and /usr/bin)")
	}
	pftop = testutil.BuildPftop(t)
	return pftop, confStart(t, py, filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", "chain.py"))
}

// TestPythonNoInterpreters checks --no-interpreters: a Python process is
// still unwound, through its interpreter's C functions, with no Python
// frame and without being detected (so its memory is never read).
func TestPythonNoInterpreters(t *testing.T) {
	pftop, p := startChainPy(t)
	time.Sleep(time.Second)
	out, stderr := confRecord(t, pftop, "-d", "3s", "--no-kernel", "--no-interpreters", "--format", "folded", "-o", "-", "--stats", "-p", strconv.Itoa(p.pid))
	var total, eval, python int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(line[i+1:])
		if err != nil {
			t.Fatalf("bad folded line %q", line)
		}
		total += n
		if strings.Contains(line, "_PyEval_EvalFrameDefault") {
			eval += n
		}
		if strings.Contains(line, "py_chain_") || strings.Contains(line, "<module>") {
			python += n
		}
	}
	if st := parseStats(stderr); st["py_frames"] != 0 {
		t.Errorf("%d Python frames recorded with --no-interpreters", st["py_frames"])
	}
	if !strings.Contains(stderr, "python: processes=0 detected=0") {
		t.Errorf("the Python process was detected with --no-interpreters:\n%s", stderr)
	}
	t.Logf("%d samples, %d in the eval loop, %d with Python frames", total, eval, python)
	if total < confMinSamples || eval*10 < total*9 || python != 0 {
		t.Errorf("want at least %d samples, 90%% of them through _PyEval_EvalFrameDefault and none with Python frames:\n%s", confMinSamples, out)
	}
}

// TestCheckPython checks that `pftop check` names the CPython processes
// it would unwind, by version.
func TestCheckPython(t *testing.T) {
	pftop, _ := startChainPy(t)
	time.Sleep(500 * time.Millisecond)
	out, err := exec.Command(pftop, "check").CombinedOutput()
	if err != nil {
		t.Fatalf("pftop check: %v\n%s", err, out)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " python ") {
			line = l
		}
	}
	t.Logf("%s", line)
	if !strings.HasPrefix(line, "ok") || !regexp.MustCompile(`\b3\.12\.\d+ ×\d`).MatchString(line) {
		t.Errorf("want an ok python line naming 3.12, got:\n%s", out)
	}
}
