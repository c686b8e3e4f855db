package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/sampler"
	"github.com/pftop/pftop/symtab"
	"github.com/pftop/pftop/unwinder"
)

// ResultPrefix starts the one line a run prints; `make kernels` greps the
// serial console for it.
const ResultPrefix = "PFTOP-KERNEL-RESULT"

// The chains every complete sample holds, root first; rootFrame is the
// root-most user frame of both targets.
var (
	chain     = []string{"main", "chain_a", "chain_b", "chain_c"}
	sysChain  = []string{"main", "sys_a", "sys_b", "sys_c"}
	rootFrame = "_start"
)

// sysLibcFrames bounds the C library frames (the read wrapper) above sys_c.
const sysLibcFrames = 3

// Config says what to check.
type Config struct {
	// Target is the chain program (testdata/targets/chain.c) to sample.
	Target string
	// SysTarget, when set, is syscall_chain.c built: sampled at the same
	// time, its samples taken in the kernel check that the programs find
	// the user registers of a task interrupted in the kernel.
	SysTarget string
	// Duration is how long the target is sampled.
	Duration time.Duration
	// Frequency in Hz per CPU.
	Frequency int
	// MinShare is the share of the chain target's samples, and of the
	// syscall target's samples taken in the kernel, that must be complete
	// and hold the chain.
	MinShare float64
	// MinSamples is the fewest samples (of each) that make a verdict.
	MinSamples int
	// Log receives progress and diagnostics; nil discards them.
	Log func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.Duration <= 0 {
		c.Duration = 3 * time.Second
	}
	if c.Frequency <= 0 {
		c.Frequency = 99
	}
	if c.MinShare <= 0 {
		c.MinShare = 0.90
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 30
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
}

// Program is one loaded program's size as the kernel reports it.
type Program struct {
	Name string
	// Verified is the verifier's count of processed instructions, which
	// kernels report from 5.16 on; 0 when not reported.
	Verified int
	// Xlated is the length of the translated program in instructions,
	// which every kernel reports.
	Xlated int
}

// Insns is the verifier's count where the kernel reports it, else the
// translated length.
func (p Program) Insns() int {
	if p.Verified > 0 {
		return p.Verified
	}
	return p.Xlated
}

// Kind names what Insns counts.
func (p Program) Kind() string {
	if p.Verified > 0 {
		return "verified"
	}
	return "xlated"
}

// Result is what one run found.
type Result struct {
	Pass     bool
	Reason   string // why not, when !Pass
	Kernel   string // uname -r
	Variant  string // bpf.Objects.Variant
	Programs []Program
	Samples  int     // the chain target's samples
	Complete int     // of which complete and holding the chain
	Share    float64 // Complete / Samples
	// KernelSamples are the syscall target's samples taken in the kernel,
	// whose user registers the program finds through the task (as the
	// variant says); KernelComplete of them are complete with the chain.
	// Both 0 without Config.SysTarget.
	KernelSamples  int
	KernelComplete int
	KernelShare    float64
}

// Largest returns the program with the most instructions.
func (r *Result) Largest() (Program, bool) {
	if len(r.Programs) == 0 {
		return Program{}, false
	}
	best := r.Programs[0]
	for _, p := range r.Programs[1:] {
		if p.Insns() > best.Insns() {
			best = p
		}
	}
	return best, true
}

// Line is the machine-readable result line:
//
//	PFTOP-KERNEL-RESULT PASS kernel=R variant="V" insns=NAME=N insns_kind=verified|xlated xlated=NAME=N samples=N complete=P% kernel_samples=N kernel_complete=P% programs=NAME:vN:xN,...
//	PFTOP-KERNEL-RESULT FAIL kernel=R ... reason="why"
//
// insns is the largest program by the verifier's count (5.16+) or else by
// its translated length; xlated is that program's translated length, which
// every kernel reports; in programs, v- means the kernel does not report
// the verifier's count.
func (r *Result) Line() string {
	var b strings.Builder
	b.WriteString(ResultPrefix)
	if r.Pass {
		b.WriteString(" PASS")
	} else {
		b.WriteString(" FAIL")
	}
	kernel := r.Kernel
	if kernel == "" {
		kernel = "unknown"
	}
	fmt.Fprintf(&b, " kernel=%s", kernel)
	if r.Variant != "" {
		fmt.Fprintf(&b, " variant=%q", r.Variant)
	}
	if p, ok := r.Largest(); ok {
		fmt.Fprintf(&b, " insns=%s=%d insns_kind=%s xlated=%s=%d", p.Name, p.Insns(), p.Kind(), p.Name, p.Xlated)
	}
	if r.Samples > 0 || r.Pass {
		fmt.Fprintf(&b, " samples=%d complete=%.1f%%", r.Samples, 100*r.Share)
	}
	if r.KernelSamples > 0 {
		fmt.Fprintf(&b, " kernel_samples=%d kernel_complete=%.1f%%", r.KernelSamples, 100*r.KernelShare)
	}
	if len(r.Programs) > 0 {
		parts := make([]string, len(r.Programs))
		for i, p := range r.Programs {
			v := "-"
			if p.Verified > 0 {
				v = fmt.Sprint(p.Verified)
			}
			parts[i] = fmt.Sprintf("%s:v%s:x%d", p.Name, v, p.Xlated)
		}
		fmt.Fprintf(&b, " programs=%s", strings.Join(parts, ","))
	}
	if !r.Pass {
		fmt.Fprintf(&b, " reason=%q", oneLine(r.Reason))
	}
	return b.String()
}

// oneLine keeps a reason on the result line: the first line of a verifier
// log is enough there, the rest is logged above it.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// Kernel returns uname -r.
func Kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Check loads every program, samples the chain target with the real
// unwinder and checks the stacks. It never panics: a panic becomes a
// failed Result.
func Check(ctx context.Context, cfg Config) (res Result) {
	cfg.defaults()
	res.Kernel = Kernel()
	defer func() {
		if p := recover(); p != nil {
			res.Pass = false
			res.Reason = fmt.Sprintf("panic: %v", p)
		}
	}()
	if err := check(ctx, cfg, &res); err != nil {
		res.Pass = false
		res.Reason = err.Error()
		return res
	}
	res.Pass = true
	return res
}

type sample struct {
	status bpf.Status
	kernel bool        // taken in the kernel: the user registers came from the task
	user   []bpf.Frame // leaf first
}

// target is one sampled program.
type target struct {
	path    string
	pid     uint32
	samples []sample
}

func startTarget(ctx context.Context, path string) (*exec.Cmd, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return cmd, nil
}

func check(ctx context.Context, cfg Config, res *Result) (err error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		cfg.Log("warning: raising RLIMIT_MEMLOCK: %v", err)
	}

	// The targets first: their PIDs go into the in-kernel filter.
	tctx, cancelTargets := context.WithCancel(ctx)
	var cmds []*exec.Cmd
	defer func() {
		cancelTargets()
		for _, c := range cmds {
			c.Wait()
		}
	}()
	var targets []*target
	for _, path := range []string{cfg.Target, cfg.SysTarget} {
		if path == "" {
			continue
		}
		cmd, err := startTarget(tctx, path)
		if err != nil {
			return err
		}
		cmds = append(cmds, cmd)
		targets = append(targets, &target{path: path, pid: uint32(cmd.Process.Pid)})
		cfg.Log("target %s pid %d", path, cmd.Process.Pid)
	}
	chainT := targets[0]
	var sysT *target
	if cfg.SysTarget != "" {
		sysT = targets[1]
	}
	pids := make([]uint32, len(targets))
	byPID := map[uint32]*target{}
	for i, t := range targets {
		pids[i] = t.pid
		byPID[t.pid] = t
	}

	loadStart := time.Now()
	objs, err := bpf.Load(bpf.Options{PIDs: pids})
	if err != nil {
		cfg.Log("load failed:\n%+v", err)
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("verifier rejected the programs: %v", ve)
		}
		return fmt.Errorf("load: %w", err)
	}
	defer objs.Close()
	res.Variant = objs.Variant
	cfg.Log("loaded in %s, variant %q", time.Since(loadStart).Round(time.Millisecond), objs.Variant)

	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"sample", objs.Sample}, {"unwind_native", objs.UnwindNative}, {"process_exit", objs.ProcessExit}} {
		info, err := p.prog.Info()
		if err != nil {
			return fmt.Errorf("program info %s: %w", p.name, err)
		}
		pr := Program{Name: p.name}
		if n, ok := info.VerifiedInstructions(); ok {
			pr.Verified = int(n)
		}
		size, err := info.TranslatedSize()
		if err != nil {
			return fmt.Errorf("program info %s: translated length: %w", p.name, err)
		}
		pr.Xlated = size / 8 // struct bpf_insn
		res.Programs = append(res.Programs, pr)
		verified := "not reported"
		if pr.Verified > 0 {
			verified = fmt.Sprint(pr.Verified)
		}
		cfg.Log("program %s: %d instructions translated, verifier processed %s", pr.Name, pr.Xlated, verified)
	}

	mgr, err := unwinder.New(unwinder.Config{
		Maps:          unwinder.KernelMaps{Objs: objs},
		DeltaCapacity: objs.DeltaCapacity,
		Self:          os.Getpid(),
	})
	if err != nil {
		return fmt.Errorf("unwinder: %w", err)
	}
	defer mgr.Close()
	for _, t := range targets {
		if err := mgr.Sync(t.pid); err != nil {
			return fmt.Errorf("sync %s: %w", t.path, err)
		}
	}

	smp, err := sampler.New(objs, sampler.Config{Frequency: cfg.Frequency})
	if err != nil {
		return fmt.Errorf("attach sampling: %w", err)
	}
	defer smp.Close()

	bg, cancelBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		smp.Close()
		cancelBG()
		wg.Wait()
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		mgr.Run(bg)
	}()
	go func() {
		defer wg.Done()
		for {
			ev, err := smp.ReadEvent()
			if err != nil {
				return
			}
			switch ev.Kind {
			case bpf.EventSync:
				if byPID[ev.PID] != nil {
					mgr.Request(ev.PID)
				}
			case bpf.EventExit:
				mgr.Exit(ev.PID)
			}
		}
	}()
	var readErrs int
	traced := make(chan struct{})
	go func() {
		defer close(traced)
		var s sampler.Sample
		for {
			if err := smp.ReadTrace(&s); err != nil {
				if errors.Is(err, sampler.ErrClosed) {
					return
				}
				readErrs++
				continue
			}
			if t := byPID[s.PID]; t != nil {
				t.samples = append(t.samples, sample{status: s.Status, kernel: len(s.Kernel) > 0, user: slices.Clone(s.User)})
			}
		}
	}()

	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	smp.Stop()
	for deadline := time.Now().Add(2 * time.Second); smp.Pending() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	smp.Close()
	<-traced
	if err := ctx.Err(); err != nil {
		return err
	}
	if c, err := objs.ReadCounters(); err == nil {
		var parts []string
		for i, v := range c {
			if v != 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", bpf.Counter(i), v))
			}
		}
		cfg.Log("bpf counters: %s", strings.Join(parts, " "))
	}
	if readErrs > 0 {
		cfg.Log("%d trace read errors", readErrs)
	}

	names := newNamer(mgr)
	defer names.close()

	chainWhy := map[string]int{}
	for _, s := range chainT.samples {
		if ok, reason := chainOK(s, names, chain, 0); ok {
			res.Complete++
		} else {
			chainWhy[reason]++
		}
	}
	res.Samples = len(chainT.samples)
	if res.Samples > 0 {
		res.Share = float64(res.Complete) / float64(res.Samples)
	}
	cfg.Log("chain target: %d samples, %d complete with %s (%.1f%%)",
		res.Samples, res.Complete, strings.Join(chain, ";"), 100*res.Share)
	chainTop := logReasons(cfg, chainWhy)

	sysWhy := map[string]int{}
	if sysT != nil {
		for _, s := range sysT.samples {
			if !s.kernel {
				continue
			}
			res.KernelSamples++
			if ok, reason := chainOK(s, names, sysChain, sysLibcFrames); ok {
				res.KernelComplete++
			} else {
				sysWhy[reason]++
			}
		}
		if res.KernelSamples > 0 {
			res.KernelShare = float64(res.KernelComplete) / float64(res.KernelSamples)
		}
		cfg.Log("syscall target: %d samples, %d in the kernel, %d of those complete with %s (%.1f%%)",
			len(sysT.samples), res.KernelSamples, res.KernelComplete, strings.Join(sysChain, ";"), 100*res.KernelShare)
	}
	sysTop := logReasons(cfg, sysWhy)

	switch {
	case res.Samples < cfg.MinSamples:
		return fmt.Errorf("only %d samples of the chain target in %s, want at least %d", res.Samples, cfg.Duration, cfg.MinSamples)
	case res.Share < cfg.MinShare:
		return fmt.Errorf("%.1f%% of %d samples of the chain target complete, want %.0f%%; most common failure: %s",
			100*res.Share, res.Samples, 100*cfg.MinShare, chainTop)
	case sysT != nil && res.KernelSamples < cfg.MinSamples:
		return fmt.Errorf("only %d samples of the syscall target in the kernel in %s, want at least %d", res.KernelSamples, cfg.Duration, cfg.MinSamples)
	case sysT != nil && res.KernelShare < cfg.MinShare:
		return fmt.Errorf("%.1f%% of %d samples of the syscall target taken in the kernel complete, want %.0f%%; most common failure: %s",
			100*res.KernelShare, res.KernelSamples, 100*cfg.MinShare, sysTop)
	}
	return nil
}

// logReasons logs the commonest reasons stacks were incomplete and returns
// the commonest.
func logReasons(cfg Config, why map[string]int) string {
	reasons := make([]string, 0, len(why))
	for r := range why {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return why[reasons[i]] > why[reasons[j]] })
	for i, r := range reasons {
		if i == 5 {
			break
		}
		cfg.Log("incomplete: %d × %s", why[r], r)
	}
	if len(reasons) == 0 {
		return ""
	}
	return reasons[0]
}

// chainOK says whether s is a complete stack that reaches the root and
// holds want, followed by at most extra frames toward the leaf; if not,
// it says why.
func chainOK(s sample, names *namer, want []string, extra int) (bool, string) {
	if s.status != bpf.StatusOK {
		return false, "status: " + s.status.String()
	}
	user := make([]string, len(s.user))
	for i, f := range s.user {
		user[len(s.user)-1-i] = names.name(f) // root first
	}
	stack := strings.Join(user, ";")
	if len(user) < len(want)+1 {
		return false, "too short: " + stack
	}
	if user[0] != rootFrame {
		return false, fmt.Sprintf("root-most frame %s, want %s: %s", user[0], rootFrame, stack)
	}
	for k := 0; k <= extra && len(want)+k < len(user); k++ {
		end := len(user) - k
		if slices.Equal(user[end-len(want):end], want) {
			return true, ""
		}
	}
	return false, "chain not whole at the leaf: " + stack
}

// namer names user frames from the symbol tables of the files the
// unwinder registered.
type namer struct {
	mgr   *unwinder.Manager
	files map[uint64]*symtab.File
}

func newNamer(mgr *unwinder.Manager) *namer {
	return &namer{mgr: mgr, files: map[uint64]*symtab.File{}}
}

func (n *namer) name(f bpf.Frame) string {
	if f.FileId == 0 {
		return fmt.Sprintf("[anon+%#x]", f.Addr)
	}
	st, seen := n.files[f.FileId]
	if !seen {
		if file, ok := n.mgr.Lookup(f.FileId); ok && file.Reader != nil {
			if t, err := symtab.NewFile(file.Reader); err == nil {
				st = t
			}
		}
		n.files[f.FileId] = st
	}
	if st != nil {
		if sym, ok := st.Lookup(f.Addr); ok {
			return sym.Name
		}
	}
	return fmt.Sprintf("[%x+%#x]", f.FileId, f.Addr)
}

func (n *namer) close() {
	for _, st := range n.files {
		if st != nil {
			st.Close()
		}
	}
}
