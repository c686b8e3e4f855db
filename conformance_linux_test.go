package main

// Integration tests of the real binary with the real BPF unwinder (DESIGN.md,
// Testing): conformance against testdata/targets, whole-system sampling, the
// pprof output, usage errors and SIGINT. They need root (CI has it) and skip
// otherwise, except the usage errors that do not.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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

	"github.com/pftop/pftop/internal/testutil"
)

const (
	confMinSamples    = 30   // fewer: the target did not run
	confCompleteShare = 0.95 // DESIGN.md: at least 95% of samples complete
	confRecordTimeout = 60 * time.Second
	confTargetTimeout = 3 * time.Minute // a target outliving its test is killed by then
	confRecurseDepth  = 200

	// A target that got less CPU than this (per thread checked) while
	// pftop ran was starved by other work on the box, not missed by
	// pftop: the recording is then repeated, up to confAttempts times.
	confStarved  = time.Second
	confAttempts = 3
)

// confTarget is one entry of testdata/targets/targets.json (see its README).
type confTarget struct {
	Name        string              `json:"name"`
	Binary      string              `json:"binary"`
	Toolchain   string              `json:"toolchain"`
	Chain       []string            `json:"chain"`
	Gaps        bool                `json:"gaps"`
	Root        string              `json:"root"`
	RootAliases []string            `json:"root_aliases"`
	Threads     map[string][]string `json:"threads"`
	Chains      map[string][]string `json:"chains"`
	Libraries   []string            `json:"libraries"`
	Leaf        string              `json:"leaf"`
	Frameless   []string            `json:"frameless"`
	DebugFile   string              `json:"debug_file"`
	Lines       map[string]string   `json:"lines"`
	// RuntimePrefix (with chains): stacks in no chain whose user frames
	// all start with it are the runtime's own work, not the program's.
	RuntimePrefix string `json:"runtime_prefix"`

	// libcNamed: libc's separate debug file is installed (libc6-dbg), so
	// libc's local functions must be named, never libc.so.6+0x....
	// Set per process by confConform; false keeps the old, lenient rule.
	libcNamed bool
}

// comm is the target's command name as the kernel keeps it (15 bytes).
func (tg confTarget) comm() string { return confComm(tg.Binary) }

func confComm(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}

func confLoadTargets(t *testing.T) []confTarget {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var targets []confTarget
	if err := json.Unmarshal(data, &targets); err != nil {
		t.Fatalf("targets.json: %v", err)
	}
	for _, tg := range targets {
		if tg.Name == "" || tg.Binary == "" || tg.Root == "" {
			t.Fatalf("targets.json: %q lacks name, binary or root", tg.Name)
		}
		if len(tg.Threads) > 0 && len(tg.Chains) > 0 {
			t.Fatalf("targets.json: %s: threads and chains exclude each other", tg.Name)
		}
		if len(tg.Threads) > 0 || len(tg.Chains) > 0 {
			if len(tg.Chain) > 0 || tg.Leaf != "" {
				t.Fatalf("targets.json: %s: with threads or chains, chain must be empty and leaf \"\"", tg.Name)
			}
		} else if len(tg.Chain) == 0 || tg.Chain[len(tg.Chain)-1] != tg.Leaf {
			t.Fatalf("targets.json: %s: the chain must end in the leaf %q", tg.Name, tg.Leaf)
		}
		leaves := map[string]string{}
		for name, chain := range tg.Chains {
			if len(chain) == 0 {
				t.Fatalf("targets.json: %s: chain %q is empty", tg.Name, name)
			}
			leaf := chain[len(chain)-1]
			if other, ok := leaves[leaf]; ok {
				t.Fatalf("targets.json: %s: chains %q and %q share the leaf %q: samples could not be told apart", tg.Name, name, other, leaf)
			}
			leaves[leaf] = name
		}
	}
	return targets
}

// confStack is one line of folded output: comm;root;...;leaf COUNT.
type confStack struct {
	comm   string
	frames []string // root first; kernel frames (annotated _[k]) at the leaf end
	count  int
}

func (s confStack) String() string {
	return confCompact(append([]string{s.comm}, s.frames...)) + " " + strconv.Itoa(s.count)
}

// confParseFolded parses folded output. Names may hold spaces (C++), so the
// count is after the last one.
func confParseFolded(out string) ([]confStack, error) {
	var stacks []confStack
	for i, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("line %d: no count: %q", i+1, line)
		}
		n, err := strconv.Atoi(line[sp+1:])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("line %d: bad count: %q", i+1, line)
		}
		elems := strings.Split(line[:sp], ";")
		stacks = append(stacks, confStack{comm: elems[0], frames: elems[1:], count: n})
	}
	return stacks, nil
}

func confTotal(stacks []confStack) int {
	n := 0
	for _, s := range stacks {
		n += s.count
	}
	return n
}

// confByCount sorts the heaviest stacks first.
func confByCount(stacks []confStack) []confStack {
	s := slices.Clone(stacks)
	slices.SortStableFunc(s, func(a, b confStack) int { return b.count - a.count })
	return s
}

// confCompact joins frames with ';', writing a run of one frame as
// "name ×N" so 200-deep recursion stays readable in logs.
func confCompact(frames []string) string {
	var b strings.Builder
	for i := 0; i < len(frames); {
		j := i
		for j < len(frames) && frames[j] == frames[i] {
			j++
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(frames[i])
		if j-i > 2 {
			fmt.Fprintf(&b, " ×%d", j-i)
		} else if j-i == 2 {
			b.WriteString(";" + frames[i])
		}
		i = j
	}
	return b.String()
}

// confMaxRun is the longest run of name in frames.
func confMaxRun(frames []string, name string) int {
	best, run := 0, 0
	for _, f := range frames {
		if f == name {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// confLibcOffset is a frame in libc that has no name in libc's dynamic
// symbols: local symbols such as clone3 need libc's debug file.
var confLibcOffset = regexp.MustCompile(`^libc\.so(\.[0-9]+)*\+0x[0-9a-f]+$`)

// confLocalLibcRoots are roots that are local symbols of glibc, printed as
// libc.so.6+0x... without libc's symbol table (targets README, threads).
var confLocalLibcRoots = map[string]bool{"clone3": true, "__clone3": true}

func (tg confTarget) rootOK(frame string) bool {
	if frame == tg.Root || slices.Contains(tg.RootAliases, frame) {
		return true
	}
	return !tg.libcNamed && confLocalLibcRoots[tg.Root] && confLibcOffset.MatchString(frame)
}

// confUserFrames splits off the kernel frames (annotated _[k]), which must
// all be at the leaf end.
func confUserFrames(frames []string) (user []string, ok bool) {
	k := len(frames)
	for i, f := range frames {
		if strings.HasSuffix(f, "_[k]") {
			k = i
			break
		}
	}
	for _, f := range frames[k:] {
		if !strings.HasSuffix(f, "_[k]") {
			return nil, false
		}
	}
	return frames[:k], true
}

// confCheck says whether s is a complete stack of tg with the given chain
// and, if not, why (a short reason for the logs).
func confCheck(tg confTarget, chain []string, s confStack) (bool, string) {
	for _, f := range s.frames {
		if strings.HasPrefix(f, "[unwind error") {
			return false, f
		}
	}
	user, ok := confUserFrames(s.frames)
	if !ok {
		return false, "user frame after a kernel frame"
	}
	if len(user) == 0 {
		return false, "no user frames"
	}
	if tg.libcNamed {
		// libc6-dbg names every libc function, local ones included
		// (__libc_start_call_main, start_thread, clone3, __restore_rt).
		for _, f := range user {
			if confLibcOffset.MatchString(f) {
				return false, fmt.Sprintf("libc frame %s not named, though libc's debug file is installed", f)
			}
		}
	}
	if !tg.rootOK(user[0]) {
		return false, fmt.Sprintf("root-most frame %q, want %q", user[0], tg.Root)
	}
	leaf := chain[len(chain)-1]
	if last := user[len(user)-1]; last != leaf {
		return false, fmt.Sprintf("leaf-most user frame %q, want %q", last, leaf)
	}
	below := user[1:] // the chain starts below the root
	if !tg.Gaps {
		if len(below) < len(chain) || !slices.Equal(below[len(below)-len(chain):], chain) {
			return false, "chain not whole and contiguous above the leaf"
		}
		return true, ""
	}
	i := 0
	for _, f := range below {
		if i < len(chain) && f == chain[i] {
			i++
		}
	}
	if i < len(chain) {
		return false, fmt.Sprintf("chain entry %q missing (in order)", chain[i])
	}
	return true, ""
}

// confGroup is the samples checked against one chain: the process's, one
// thread's (by comm), or one of the process's chains (by leaf).
type confGroup struct {
	name   string
	chain  []string
	stacks []confStack
}

func (tg confTarget) groups(stacks []confStack) []confGroup {
	if len(tg.Chains) > 0 {
		groups, _ := tg.chainGroups(stacks)
		return groups
	}
	if len(tg.Threads) == 0 {
		return []confGroup{{name: tg.comm(), chain: tg.Chain, stacks: stacks}}
	}
	var groups []confGroup
	for _, name := range slices.Sorted(maps.Keys(tg.Threads)) {
		g := confGroup{name: confComm(name), chain: tg.Threads[name]}
		for _, s := range stacks {
			if s.comm == g.name {
				g.stacks = append(g.stacks, s)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// chainGroups sorts the stacks of a target with several chains (goroutines,
// or the two sides of a cgo call) by chain: a stack belongs to the chain
// whose leaf is one of its frames. Stacks that hold no chain's leaf are
// returned apart; they count as incomplete samples of the process.
func (tg confTarget) chainGroups(stacks []confStack) (groups []confGroup, other []confStack) {
	names := slices.Sorted(maps.Keys(tg.Chains))
	for _, name := range names {
		groups = append(groups, confGroup{name: tg.comm() + "/" + name, chain: tg.Chains[name]})
	}
	for _, s := range stacks {
		i := slices.IndexFunc(names, func(name string) bool {
			chain := tg.Chains[name]
			return slices.Contains(s.frames, chain[len(chain)-1])
		})
		if i < 0 {
			other = append(other, s)
			continue
		}
		groups[i].stacks = append(groups[i].stacks, s)
	}
	return groups, other
}

// confNice is the nice value of the targets and of pftop: a spinning
// target must get its share of a busy box (CI machines run other jobs, and
// the tests are not alone on a 2-CPU box) to be sampled often enough, and
// pftop must keep up with syncing it. Raising priority needs root, as the
// tests do.
const confNice = "-10"

// confCommand runs path at nice confNice through coreutils nice, which
// execs it in place (same PID, same comm), or as is without nice or root.
func confCommand(ctx context.Context, path string, args ...string) *exec.Cmd {
	if nice, err := exec.LookPath("nice"); err == nil && os.Geteuid() == 0 {
		return exec.CommandContext(ctx, nice, append([]string{"-n", confNice, path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// confProc is a running target, killed at the end of its test at the
// latest.
type confProc struct {
	cmd  *exec.Cmd
	pid  int
	once sync.Once
}

func confStart(t *testing.T, path string, args ...string) *confProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), confTargetTimeout)
	cmd := confCommand(ctx, path, args...)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", path, err)
	}
	p := &confProc{cmd: cmd, pid: cmd.Process.Pid}
	t.Cleanup(func() { p.kill(); cancel() })
	return p
}

// cpuTime is the CPU time the process (all its threads) has used so far.
func (p *confProc) cpuTime() time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3, state
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100
}

func (p *confProc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
}

// alive says whether the process still runs (and is no zombie).
func (p *confProc) alive() bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// waitMapped waits until every library is in the process's maps.
func (p *confProc) waitMapped(libs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", p.pid))
		if err != nil {
			return err
		}
		missing := ""
		for _, lib := range libs {
			if !strings.Contains(string(maps), "/"+lib+"\n") {
				missing = lib
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not mapped after %s", missing, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// confWarmUp waits for a freshly started target to reach its chain.
func confWarmUp(t *testing.T, p *confProc, libs []string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if len(libs) > 0 {
		if err := p.waitMapped(libs, 3*time.Second); err != nil {
			t.Fatalf("pid %d: %v", p.pid, err)
		}
	}
	if !p.alive() {
		t.Fatalf("target pid %d exited right after starting", p.pid)
	}
}

// confRun runs pftop with a timeout and returns its stdout, stderr and
// exit code (-1: killed, e.g. by the timeout).
func confRun(t *testing.T, pftop string, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := confCommand(ctx, pftop, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("pftop %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("pftop %s: still running after %s\nstderr:\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

// confRecord runs pftop record and fails the test unless it exits 0.
func confRecord(t *testing.T, pftop string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := confRun(t, pftop, confRecordTimeout, append([]string{"record"}, args...)...)
	if code != 0 {
		t.Fatalf("pftop record %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout, stderr
}

func TestConformance(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	for _, tg := range confLoadTargets(t) {
		t.Run(tg.Name, func(t *testing.T) { confConform(t, pftop, bin, tg) })
	}
}

func confConform(t *testing.T, pftop, bin string, tg confTarget) {
	path := filepath.Join(bin, tg.Binary)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s was not built (is %s installed? see the make output logged above): %v", tg.Binary, tg.Toolchain, err)
	}
	if tg.Name == "recurse" {
		if n := confMaxRun(tg.Chain, "recurse"); n != confRecurseDepth {
			t.Fatalf("targets.json: recurse chain holds %d recurse frames in a row, want %d", n, confRecurseDepth)
		}
	}
	if len(tg.Frameless) > 0 {
		confCheckFrameless(t, path, tg.Frameless)
	}
	var args []string // where pftop finds the target's debug file
	if tg.DebugFile != "" {
		args = confInstallDebugFile(t, bin, tg)
	}
	p := confStart(t, path)
	confWarmUp(t, p, tg.Libraries)
	var why string
	tg.libcNamed, why = confLibcDebugInstalled(p.pid)
	t.Logf("%s: %s", tg.Name, why)
	stacks, stderr := confRecordFolded(t, pftop, tg, p, args...)
	for _, s := range stacks {
		if len(tg.Threads) == 0 && s.comm != tg.comm() {
			t.Errorf("sample of comm %q in a recording of pid %d (%s): %s", s.comm, p.pid, tg.comm(), s)
		}
	}
	failed := false
	for _, g := range tg.groups(stacks) {
		if !confCheckGroup(t, tg, g) {
			failed = true
		}
	}
	if len(tg.Chains) > 0 && !confCheckChains(t, tg, stacks) {
		failed = true
	}
	if tg.Name == "recurse" {
		n := 0
		for _, s := range stacks {
			if user, _ := confUserFrames(s.frames); confMaxRun(user, "recurse") == confRecurseDepth {
				n += s.count
			}
		}
		t.Logf("recurse: %d of %d samples hold %d recurse frames in a row", n, confTotal(stacks), confRecurseDepth)
	}
	if failed || t.Failed() {
		t.Logf("pftop stderr:\n%s", stderr)
	}
	if len(tg.Lines) > 0 {
		confCheckLines(t, pftop, tg, p, args...)
	}
	if tg.DebugFile != "" {
		// The same process without the debug file: the names above came
		// from it, not from anything else pftop could read.
		stacks, stderr := confRecordFolded(t, pftop, tg, p)
		if !confCheckUnnamed(t, tg, stacks) {
			t.Logf("pftop stderr (recording without --debug-dir):\n%s", stderr)
		}
	}
	p.kill()
}

// confRecordFolded records p for 3 s as folded stacks with annotations. A
// recording where a group got too few samples while the target was
// starved of CPU is repeated, up to confAttempts recordings in all.
func confRecordFolded(t *testing.T, pftop string, tg confTarget, p *confProc, args ...string) (stacks []confStack, stderr string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cpu0 := p.cpuTime()
		var out string
		out, stderr = confRecord(t, pftop, append([]string{"-d", "3s", "-p", strconv.Itoa(p.pid), "--format", "folded", "-o", "-", "--annotate", "--stats"}, args...)...)
		cpu := p.cpuTime() - cpu0
		// The target's CPU time while pftop ran (startup included) bounds
		// the samples there were to take: a starved target is told from
		// lost samples.
		t.Logf("%s used %.2f s of CPU while pftop ran: at most about %d samples at 99 Hz", tg.Name, cpu.Seconds(), int(cpu.Seconds()*99))
		var err error
		if stacks, err = confParseFolded(out); err != nil {
			t.Fatalf("folded output: %v\n%s", err, out)
		}
		groups := tg.groups(stacks)
		few := false
		for _, g := range groups {
			few = few || confTotal(g.stacks) < confMinSamples
		}
		if !few || cpu >= confStarved*time.Duration(len(groups)) || attempt == confAttempts {
			return stacks, stderr
		}
		t.Logf("attempt %d: too few samples, but the target was starved of CPU (the box is busy): recording again", attempt)
	}
}

// confCheckChains asserts, for a target with several chains, that the
// complete samples are at least confCompleteShare of all the process's
// samples: a sample that holds no chain's leaf is an incomplete one,
// unless it is the runtime's own work (its user frames all start with
// runtime_prefix: Go's scheduler, sysmon, preemption), which is left out.
func confCheckChains(t *testing.T, tg confTarget, stacks []confStack) bool {
	t.Helper()
	groups, other := tg.chainGroups(stacks)
	total, complete := 0, 0
	for _, g := range groups {
		total += confTotal(g.stacks)
		for _, s := range g.stacks {
			if ok, _ := confCheck(tg, g.chain, s); ok {
				complete += s.count
			}
		}
	}
	var runtime, rest []confStack
	for _, s := range other {
		if tg.runtimeOnly(s) {
			runtime = append(runtime, s)
		} else {
			rest = append(rest, s)
		}
	}
	total += confTotal(rest)
	if total == 0 {
		return false // confCheckGroup said so
	}
	share := float64(complete) / float64(total)
	t.Logf("%s: whole process: %d samples, %.1f%% complete (%d); in no chain: %d of the runtime's own (left out), %d others",
		tg.comm(), total+confTotal(runtime), 100*share, complete, confTotal(runtime), confTotal(rest))
	logStacks := func(what string, stacks []confStack, n int) {
		if len(stacks) == 0 {
			return
		}
		var b strings.Builder
		for i, s := range confByCount(stacks) {
			if i == n {
				fmt.Fprintf(&b, "... %d more stacks\n", len(stacks)-i)
				break
			}
			fmt.Fprintf(&b, "%s\n", s)
		}
		t.Logf("%s: %s, heaviest first:\n%s", tg.comm(), what, b.String())
	}
	logStacks("the runtime's own stacks", runtime, 10)
	if share >= confCompleteShare {
		logStacks("other stacks in no chain", rest, 10)
		return true
	}
	t.Errorf("%s: %.1f%% of the process's %d samples (the runtime's own left out) are complete, want at least %.0f%%",
		tg.comm(), 100*share, total, 100*confCompleteShare)
	logStacks("other stacks in no chain (holding none of the leaves)", rest, 60)
	return false
}

// runtimeOnly says whether all of the stack's user frames are the
// runtime's (start with RuntimePrefix), none an error frame.
func (tg confTarget) runtimeOnly(s confStack) bool {
	user, ok := confUserFrames(s.frames)
	if tg.RuntimePrefix == "" || !ok || len(user) == 0 {
		return false
	}
	for _, f := range user {
		if !strings.HasPrefix(f, tg.RuntimePrefix) {
			return false
		}
	}
	return true
}

// confCheckGroup asserts the sample count and the complete share of one
// group, logging the figures, and on failure every stack with its verdict.
func confCheckGroup(t *testing.T, tg confTarget, g confGroup) bool {
	t.Helper()
	total := confTotal(g.stacks)
	if total < confMinSamples {
		t.Errorf("%s: only %d samples (want at least %d): the target did not run or was not sampled", g.name, total, confMinSamples)
		confLogStacks(t, tg, g)
		return false
	}
	complete := 0
	for _, s := range g.stacks {
		if ok, _ := confCheck(tg, g.chain, s); ok {
			complete += s.count
		}
	}
	share := float64(complete) / float64(total)
	top := confByCount(g.stacks)[0]
	t.Logf("%s: %d samples, %.1f%% complete (%d); top stack (%.1f%%): %s",
		g.name, total, 100*share, complete, 100*float64(top.count)/float64(total), top)
	if share < confCompleteShare {
		t.Errorf("%s: %.1f%% of %d samples are complete, want at least %.0f%% (chain %s, root %s)",
			g.name, 100*share, total, 100*confCompleteShare, confCompact(g.chain), tg.Root)
		confLogStacks(t, tg, g)
		return false
	}
	return true
}

func confLogStacks(t *testing.T, tg confTarget, g confGroup) {
	t.Helper()
	var b strings.Builder
	for i, s := range confByCount(g.stacks) {
		if i == 60 {
			fmt.Fprintf(&b, "... %d more stacks\n", len(g.stacks)-i)
			break
		}
		verdict := "ok"
		if ok, why := confCheck(tg, g.chain, s); !ok {
			verdict = "INCOMPLETE: " + why
		}
		fmt.Fprintf(&b, "%s\n    -> %s\n", s, verdict)
	}
	t.Logf("%s: folded stacks, heaviest first:\n%s", g.name, b.String())
}

func TestWholeSystem(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	type running struct {
		tg confTarget
		p  *confProc
	}
	var procs []running
	for _, tg := range confLoadTargets(t) {
		if tg.Name != "chain" && tg.Name != "cpp" && tg.Name != "rust" {
			continue
		}
		path := filepath.Join(bin, tg.Binary)
		if _, err := os.Stat(path); err != nil {
			t.Logf("%s: not built (%s missing?), left out", tg.Name, tg.Toolchain)
			continue
		}
		procs = append(procs, running{tg, confStart(t, path)})
	}
	if len(procs) == 0 {
		t.Skip("none of chain, cpp and rust was built")
	}
	time.Sleep(300 * time.Millisecond)
	for _, r := range procs {
		if !r.p.alive() {
			t.Fatalf("%s (pid %d) exited right after starting", r.tg.Name, r.p.pid)
		}
	}
	key := func(r running) string { return fmt.Sprintf("%s-%d", r.tg.comm(), r.p.pid) }
	var stacks []confStack
	var stderr string
	cpu := make([]time.Duration, len(procs))
	for attempt := 1; ; attempt++ {
		for i, r := range procs {
			cpu[i] = r.p.cpuTime()
		}
		var out string
		out, stderr = confRecord(t, pftop, "-d", "3s", "--format", "folded", "-o", "-", "--per-pid", "--stats")
		starved := false
		for i, r := range procs {
			cpu[i] = r.p.cpuTime() - cpu[i]
			starved = starved || cpu[i] < confStarved
		}
		var err error
		if stacks, err = confParseFolded(out); err != nil {
			t.Fatalf("folded output: %v", err)
		}
		few := false
		for _, r := range procs {
			n := 0
			for _, s := range stacks {
				if s.comm == key(r) {
					n += s.count
				}
			}
			few = few || n < 20
		}
		if !few || !starved || attempt == confAttempts {
			break
		}
		t.Logf("attempt %d: too few samples, but a target was starved of CPU (the box is busy): recording again", attempt)
	}
	for _, r := range procs {
		r.p.kill()
	}
	t.Logf("whole system: %d samples in %d stacks", confTotal(stacks), len(stacks))
	for i, r := range procs {
		key := key(r)
		var mine []confStack
		withLeaf := 0
		for _, s := range stacks {
			if s.comm != key {
				continue
			}
			mine = append(mine, s)
			if slices.Contains(s.frames, r.tg.Leaf) {
				withLeaf += s.count
			}
		}
		total := confTotal(mine)
		if total < 20 {
			t.Errorf("%s: %d samples, want at least 20 (it used %.2f s of CPU while pftop ran)", key, total, cpu[i].Seconds())
			continue
		}
		share := float64(withLeaf) / float64(total)
		t.Logf("%s: %d samples (%.2f s of CPU while pftop ran), %.1f%% with %s; top stack: %s",
			key, total, cpu[i].Seconds(), 100*share, r.tg.Leaf, confByCount(mine)[0])
		if share < 0.5 {
			var b strings.Builder
			for _, s := range confByCount(mine) {
				fmt.Fprintf(&b, "%s\n", s)
			}
			t.Errorf("%s: only %.1f%% of samples hold %s, want at least 50%%:\n%s", key, 100*share, r.tg.Leaf, b.String())
		}
	}
	if t.Failed() {
		t.Logf("pftop stderr:\n%s", stderr)
	}
}

func TestRecordPprof(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	chain := filepath.Join(testutil.BuildTargets(t), "chain")
	if _, err := os.Stat(chain); err != nil {
		t.Skipf("chain target not built: %v", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool pprof: %v", err)
	}
	p := confStart(t, chain)
	confWarmUp(t, p, nil)
	file := filepath.Join(t.TempDir(), "chain.pb.gz")
	confRecord(t, pftop, "-d", "3s", "-p", strconv.Itoa(p.pid), "--format", "pprof", "-o", file)
	p.kill()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "tool", "pprof", "-top", file)
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	t.Logf("go tool pprof -top:\n%s", out)
	if !strings.Contains(string(out), "chain_c") {
		t.Errorf("chain_c is not in the pprof profile")
	}
}

// confExitCode runs cmd and returns its exit code and stderr, failing the
// test when it cannot run or does not end.
func confExitCode(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), stderr.String()
	default:
		t.Fatalf("%s: %v\nstderr:\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
		return 0, ""
	}
}

func TestRecordUsageErrors(t *testing.T) {
	pftop := testutil.BuildPftop(t)
	usage := func(t *testing.T, wantCode int, wantMsg string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pftop, args...)
		cmd.Dir = t.TempDir() // nothing may be written, but never into the repository
		code, stderr := confExitCode(t, cmd)
		if code != wantCode {
			t.Errorf("pftop %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stderr)
		}
		if !strings.Contains(stderr, wantMsg) {
			t.Errorf("pftop %s: stderr does not mention %q:\n%s", strings.Join(args, " "), wantMsg, stderr)
		}
	}
	t.Run("no-such-pid", func(t *testing.T) {
		// pftop checks its privileges first: without them this says "sudo".
		testutil.RequirePrivileges(t)
		usage(t, exitUsage, "999999999", "record", "-p", "999999999")
	})
	t.Run("zero-frequency", func(t *testing.T) {
		usage(t, exitUsage, "-F 0", "record", "-F", "0")
	})
	t.Run("unknown-command", func(t *testing.T) {
		usage(t, exitUsage, "bogus", "bogus")
	})
	t.Run("not-root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			usage(t, exitNoPriv, "sudo", "record", "-d", "1s", "-o", "-")
			return
		}
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skipf("running as root and cannot drop privileges: %v", err)
		}
		// nobody must reach the binary: the build directory is root's.
		dir, err := os.MkdirTemp("", "pftop-nobody")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		exe := filepath.Join(dir, "pftop")
		data, err := os.ReadFile(pftop)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, data, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
			exe, "record", "-d", "1s", "-o", "-")
		cmd.Dir = dir
		code, stderr := confExitCode(t, cmd)
		if code != exitNoPriv {
			t.Errorf("pftop record as nobody: exit %d, want %d\nstderr:\n%s", code, exitNoPriv, stderr)
		}
		if !strings.Contains(stderr, "sudo") {
			t.Errorf("pftop record as nobody: stderr does not mention sudo:\n%s", stderr)
		}
	})
}

func TestRecordSIGINT(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	chain := filepath.Join(testutil.BuildTargets(t), "chain")
	if _, err := os.Stat(chain); err != nil {
		t.Skipf("chain target not built: %v", err)
	}
	bpftool, _ := exec.LookPath("bpftool")
	var before map[uint32]string
	if bpftool != "" {
		before = confPrograms(t, bpftool)
	}
	p := confStart(t, chain)
	confWarmUp(t, p, nil)
	file := filepath.Join(t.TempDir(), "chain.folded")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := confCommand(ctx, pftop, "record", "-d", "60s", "-p", strconv.Itoa(p.pid), "--format", "folded", "-o", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	// Loading BPF can take seconds on a busy box: count the 2 s from when
	// pftop samples.
	if err := confWaitSampling(cmd.Process.Pid, 30*time.Second); err != nil {
		t.Fatalf("pftop: %v\nstderr:\n%s", err, stderr.String())
	}
	time.Sleep(2 * time.Second)
	var held []uint32 // BPF programs this pftop holds
	var during map[uint32]string
	if bpftool != "" {
		held = confHeldPrograms(t, bpftool, cmd.Process.Pid)
		during = confPrograms(t, bpftool)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatalf("pftop after SIGINT: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("pftop still running 5 s after SIGINT\nstderr:\n%s", stderr.String())
	}
	p.kill()

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("output after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	stacks, err := confParseFolded(string(data))
	if err != nil {
		t.Fatal(err)
	}
	withChain := 0
	for _, s := range stacks {
		if i := slices.Index(s.frames, "main"); i >= 0 && len(s.frames) >= i+4 &&
			slices.Equal(s.frames[i:i+4], []string{"main", "chain_a", "chain_b", "chain_c"}) {
			withChain += s.count
		}
	}
	t.Logf("interrupted recording: %d samples, %d with main;chain_a;chain_b;chain_c", confTotal(stacks), withChain)
	if withChain == 0 {
		t.Errorf("the interrupted recording lacks the chain:\n%s", data)
	}

	if bpftool == "" {
		t.Log("bpftool not installed: BPF program cleanup not checked")
		return
	}
	// pftop holds sample and process_exit by file descriptor and
	// unwind_native through its prog array; none may outlive it. Program IDs
	// are never reused, so other pftop runs on the box do not interfere.
	names := map[string]bool{}
	for _, id := range held {
		names[during[id]] = true
	}
	for _, want := range []string{"sample", "unwind_native"} {
		if !names[want] {
			t.Errorf("found no program named %s held by pftop (held: %v)", want, held)
		}
	}
	// The kernel frees a prog array's programs from a workqueue after the
	// last reference goes, so they may linger a moment on a busy box.
	var after map[uint32]string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after = confPrograms(t, bpftool)
		left := slices.ContainsFunc(held, func(id uint32) bool { _, ok := after[id]; return ok })
		if !left || time.Now().After(deadline) {
			break
		}
	}
	for _, id := range held {
		if name, ok := after[id]; ok {
			t.Errorf("BPF program %d (%s) is still loaded 10 s after pftop exited", id, name)
		}
	}
	count := func(progs map[uint32]string) string {
		n := map[string]int{}
		for _, name := range progs {
			n[name]++
		}
		return fmt.Sprintf("sample=%d unwind_native=%d process_exit=%d", n["sample"], n["unwind_native"], n["process_exit"])
	}
	t.Logf("BPF programs held by pftop: %v; loaded before: %s, during: %s, after: %s",
		held, count(before), count(during), count(after))
}

// confWaitSampling waits until process pid has perf events open, which
// pftop opens and attaches its sampler to last, after loading BPF.
func confWaitSampling(pid int, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return err
		}
		for _, fd := range fds {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); link == "anon_inode:[perf_event]" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no perf event open %s after starting", timeout)
		}
	}
}

// confPrograms lists the loaded BPF programs: ID -> name.
func confPrograms(t *testing.T, bpftool string) map[uint32]string {
	t.Helper()
	out := confBpftool(t, bpftool, "prog", "show")
	var progs []struct {
		ID   uint32 `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &progs); err != nil {
		t.Fatalf("bpftool prog show: %v", err)
	}
	m := map[uint32]string{}
	for _, p := range progs {
		m[p.ID] = p.Name
	}
	return m
}

// confHeldPrograms returns the IDs of the BPF programs process pid holds:
// by file descriptor, or in a prog array map it holds.
func confHeldPrograms(t *testing.T, bpftool string, pid int) []uint32 {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	for _, fd := range fds {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if link != "anon_inode:bpf-prog" && link != "anon_inode:bpf-map" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		fields := confFdinfo(string(info))
		if link == "anon_inode:bpf-prog" {
			if id, err := strconv.ParseUint(fields["prog_id"], 10, 32); err == nil {
				ids = append(ids, uint32(id))
			}
			continue
		}
		if fields["map_type"] != "3" { // BPF_MAP_TYPE_PROG_ARRAY
			continue
		}
		var entries []struct {
			Value []string `json:"value"` // bytes as hex strings; a prog array yields program IDs
		}
		if err := json.Unmarshal(confBpftool(t, bpftool, "map", "dump", "id", fields["map_id"]), &entries); err != nil {
			t.Fatalf("bpftool map dump: %v", err)
		}
		for _, e := range entries {
			var b []byte
			for _, h := range e.Value {
				v, err := strconv.ParseUint(h, 0, 8)
				if err != nil {
					t.Fatalf("bpftool map dump: value byte %q", h)
				}
				b = append(b, byte(v))
			}
			if len(b) == 4 {
				ids = append(ids, binary.LittleEndian.Uint32(b))
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func confFdinfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func confBpftool(t *testing.T, bpftool string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bpftool, append([]string{"--json"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("bpftool %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestConformanceCheck pins the completeness rule on made-up folded lines;
// it needs neither root nor BPF.
func TestConformanceCheck(t *testing.T) {
	chain := confTarget{Binary: "chain", Chain: []string{"main", "chain_a", "chain_b", "chain_c"}, Root: "_start", Leaf: "chain_c"}
	cpp := confTarget{Binary: "cpp", Root: "_start",
		Chain: []string{"main", "app::Runner::run()", "app::detail::Worker<int>::step(int)", "double app::detail::compute<double>(double)"}}
	qsort := confTarget{Binary: "qsort", Chain: []string{"main", "sort_forever", "compare_slow"}, Gaps: true, Root: "_start"}
	threads := confTarget{Binary: "threads", Root: "clone3", RootAliases: []string{"__clone3"},
		Threads: map[string][]string{"worker-a": {"worker_a", "a_mid", "a_leaf"}}}
	// With libc's debug file installed (libc6-dbg), libc frames must be named.
	chainDbg, qsortDbg, threadsDbg := chain, qsort, threads
	chainDbg.libcNamed, qsortDbg.libcNamed, threadsDbg.libcNamed = true, true, true
	gochain := confTarget{Binary: "gochain", Root: "runtime.goexit", Chains: map[string][]string{
		"main":   {"runtime.main", "main.main", "main.goMid", "main.goHelper_[i]", "main.goLeaf"},
		"worker": {"main.worker", "main.workMid", "main.workLeaf"},
	}}
	cgo := confTarget{Binary: "cgo", Root: "runtime.goexit", Gaps: true, Chains: map[string][]string{
		"c":        {"runtime.main", "main.main", "main.goCaller", "c_outer", "c_spin"},
		"callback": {"runtime.main", "main.main", "main.goCaller", "c_outer", "goCallback", "main.goCallback", "main.cbLeaf"},
	}}
	for _, c := range []struct {
		tg   confTarget
		line string
		want bool
	}{
		{chain, "chain;_start;__libc_start_main;libc.so.6+0x2724a;main;chain_a;chain_b;chain_c 127", true},
		{chain, "chain;_start;__libc_start_main;main;chain_a;chain_b;chain_c;asm_sysvec_apic_timer_interrupt_[k];irqentry_exit_to_user_mode_[k] 1", true},
		{chain, "chain;[unwind error: unknown mapping];[anon]+0x56168670e184 2", false},
		{chain, "chain;__libc_start_main;main;chain_a;chain_b;chain_c 1", false},                      // not the root
		{chain, "chain;_start;main;chain_a;chain_c 1", false},                                         // chain_b missing
		{chain, "chain;_start;main;chain_a;chain_b;chain_c;memcpy 1", false},                          // below the leaf
		{chain, "chain;_start;main;chain_a;chain_b;chain_c;schedule_[k];chain_c 1", false},            // user after kernel
		{chain, "chain;_start;main;chain_a;chain_b;chain_c;asm_sysvec_apic_timer_interrupt 1", false}, // unannotated
		{cpp, "cpp;_start;__libc_start_main;libc.so.6+0x2724a;main;app::Runner::run();app::detail::Worker<int>::step(int);double app::detail::compute<double>(double) 127", true},
		{qsort, "qsort;_start;__libc_start_main;libc.so.6+0x2724a;main;sort_forever;qsort_r;libc.so.6+0x3f9c1;libc.so.6+0x3fbf4;compare_slow 3", true},
		{qsort, "qsort;_start;main;qsort_r;libc.so.6+0x3fbf4;compare_slow 3", false},
		{threads, "worker-a;libc.so.6+0x1098ec;libc.so.6+0x891f5;worker_a;a_mid;a_leaf 23", true},
		{threads, "worker-a;__clone3;start_thread;worker_a;a_mid;a_leaf 23", true},
		{threads, "worker-a;libfoo.so+0x10;start_thread;worker_a;a_mid;a_leaf 23", false},
		{chainDbg, "chain;_start;__libc_start_main_impl;__libc_start_call_main;main;chain_a;chain_b;chain_c 127", true},
		{chainDbg, "chain;_start;__libc_start_main;libc.so.6+0x2724a;main;chain_a;chain_b;chain_c 127", false},
		{qsortDbg, "qsort;_start;__libc_start_main_impl;__libc_start_call_main;main;sort_forever;__GI___qsort_r;msort_with_tmp;compare_slow 3", true},
		{qsortDbg, "qsort;_start;__libc_start_main_impl;__libc_start_call_main;main;sort_forever;__GI___qsort_r;libc.so.6+0x3fbf4;compare_slow 3", false},
		{threadsDbg, "worker-a;clone3;start_thread;worker_a;a_mid;a_leaf 23", true},
		{threadsDbg, "worker-a;libc.so.6+0x1098ec;libc.so.6+0x891f5;worker_a;a_mid;a_leaf 23", false},
		{gochain, "gochain;runtime.goexit;runtime.main;main.main;main.goMid;main.goHelper_[i];main.goLeaf 106", true},
		{gochain, "gochain;runtime.goexit;main.worker;main.workMid;main.workLeaf;asm_sysvec_apic_timer_interrupt_[k] 2", true},
		{gochain, "gochain;runtime.goexit;runtime.main;main.main;main.goHelper_[i];main.goLeaf 3", false},        // frameless leaf lost its caller
		{gochain, "gochain;runtime.goexit;runtime.main;main.main;main.goMid;main.goHelper;main.goLeaf 3", false}, // helper not marked inline
		{gochain, "gochain;runtime.main;main.main;main.goMid;main.goHelper_[i];main.goLeaf 3", false},            // not to runtime.goexit
		{gochain, "gochain;[unwind error: bad unwind rule];main.worker;main.workMid;main.workLeaf 3", false},     // error frame
		{cgo, "cgo;runtime.goexit;runtime.main;main.main;main.goCaller;main._Cfunc_c_outer;runtime.cgocall;runtime.asmcgocall;_cgo_e047c3b0012d_Cfunc_c_outer;c_outer;c_spin 40", true},
		{cgo, "cgo;runtime.goexit;runtime.main;main.main;main.goCaller;main._Cfunc_c_outer;runtime.cgocall;runtime.asmcgocall;_cgo_e047c3b0012d_Cfunc_c_outer;c_outer;goCallback;crosscall2;runtime.cgocallback;runtime.cgocallbackg;runtime.cgocallbackg1;_cgoexp_e047c3b0012d_goCallback;main.goCallback;main.cbLeaf 131", true},
		{cgo, "cgo;[unwind error: bad unwind rule];runtime.asmcgocall;_cgo_e047c3b0012d_Cfunc_c_outer;c_outer;goCallback;crosscall2;runtime.cgocallback;runtime.cgocallbackg;runtime.cgocallbackg1;_cgoexp_e047c3b0012d_goCallback;main.goCallback;main.cbLeaf 131", false},
		{cgo, "cgo;runtime.goexit;runtime.main;main.main;main.goCaller;c_outer;main.goCallback;goCallback;main.cbLeaf 1", false}, // C and Go out of order
	} {
		stacks, err := confParseFolded(c.line + "\n")
		if err != nil || len(stacks) != 1 {
			t.Fatalf("%q: %v", c.line, err)
		}
		i := slices.IndexFunc(c.tg.groups(stacks), func(g confGroup) bool { return len(g.stacks) == 1 })
		if i < 0 {
			t.Fatalf("%q: in no group", c.line)
		}
		g := c.tg.groups(stacks)[i]
		if got, why := confCheck(c.tg, g.chain, g.stacks[0]); got != c.want {
			t.Errorf("%q: complete %v (%s), want %v", c.line, got, why, c.want)
		}
	}
	gochain.RuntimePrefix = "runtime."
	for _, c := range []struct {
		line string
		want bool
	}{
		{"gochain;runtime.mstart;runtime.mstart0;runtime.mstart1;runtime.sysmon;runtime.usleep;schedule_[k] 1", true},
		{"gochain;runtime.mcall;runtime.asyncPreempt2.func1;runtime.gopreempt_m_[i];runtime.goschedImpl 1", true},
		{"gochain;[unwind error: bad unwind rule];runtime.asmcgocall 1", false},
		{"gochain;runtime.goexit;runtime.main;main.main;main.goMid 1", false},
		{"gochain;gochain+0x47a740 1", false},
	} {
		stacks, _ := confParseFolded(c.line + "\n")
		if got := gochain.runtimeOnly(stacks[0]); got != c.want {
			t.Errorf("runtimeOnly(%q) = %v, want %v", c.line, got, c.want)
		}
	}
	// A stack holding neither leaf is in no chain.
	stacks, _ := confParseFolded("gochain;runtime.goexit;runtime.main;main.main;main.goMid 4\ngochain;runtime.goexit;main.worker;main.workMid;main.workLeaf 2\n")
	if groups, other := gochain.chainGroups(stacks); len(other) != 1 || len(groups) != 2 || len(groups[0].stacks) != 0 || len(groups[1].stacks) != 1 {
		t.Errorf("chainGroups: %v, %v", groups, other)
	}
	if got := confCompact([]string{"main", "recurse", "recurse", "recurse", "recurse_leaf"}); got != "main;recurse ×3;recurse_leaf" {
		t.Errorf("confCompact: %q", got)
	}
}
