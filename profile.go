package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/aggregate/container"
	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/interpreters/python"
	"github.com/pftop/pftop/sampler"
	"github.com/pftop/pftop/unwinder"
)

// profiler is the running pipeline: BPF objects, attached sampler, process
// manager and the store the traces land in.
type profiler struct {
	cfg  Common
	objs *bpf.Objects
	smp  *sampler.Sampler
	mgr  *unwinder.Manager
	// interp detects interpreter processes and names their frames.
	interp *interpreters
	store  *aggregate.Store

	pids    map[uint32]bool // empty: every process
	onTrace func(*aggregate.Trace)

	contMu     sync.Mutex
	containers map[uint32]string // container ID per PID, "" on the host

	containerID     string   // --container resolved to a full ID
	containerPIDs   []uint32 // its processes when pftop started
	containerFilter string   // the same, when samples are filtered by it

	started       time.Time
	firstComplete atomic.Int64 // ns after start of the first complete stack, 0 until then
	traces        atomic.Uint64
	complete      atomic.Uint64
	readErrors    atomic.Uint64

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when the trace loop ends
}

// errNoPrivilege says what to do; it maps to exit code 77.
func errNoPrivilege(err error) error {
	return &exitError{code: exitNoPriv, err: fmt.Errorf("%w\npftop needs root, or CAP_BPF and CAP_PERFMON (Linux 5.8+): run it with sudo, or `sudo setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+ep ./pftop`; `pftop check` says more", err)}
}

// startProfiler loads, attaches and starts syncing. The caller must call
// stop and then close.
// profilerOptions are the choices that differ between commands.
type profilerOptions struct {
	// sampleAll samples every process even when cfg names some: the
	// live view filters interactively. Otherwise -p filters in the kernel.
	sampleAll bool
	// onTrace, when set, also gets every trace the store counts (it
	// must copy what it keeps): OTLP forwarding keeps the CPU and time
	// that the store does not.
	onTrace func(*aggregate.Trace)
}

// history bounds how long samples are kept (0: the store's default).
func startProfiler(ctx context.Context, cfg Common, history time.Duration, opts profilerOptions) (_ *profiler, err error) {
	if cfg.Frequency <= 0 || cfg.Frequency > 100000 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("-F %d: frequency must be between 1 and 100000 Hz", cfg.Frequency)}
	}
	if os.Geteuid() != 0 && !haveBPFCaps() {
		return nil, errNoPrivilege(errors.New("not running as root"))
	}
	if !readsOtherProcesses() {
		fmt.Fprintln(os.Stderr, "pftop: warning: "+noPtraceWarning)
	}
	p := &profiler{cfg: cfg, pids: map[uint32]bool{}, containers: map[uint32]string{}, started: time.Now(), done: make(chan struct{}), onTrace: opts.onTrace}
	if cfg.Container != "" {
		id, members, err := resolveContainer(cfg.Container)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		p.containerID, p.containerPIDs = id, members
		if !opts.sampleAll {
			p.containerFilter = id
		}
	}
	for _, pid := range cfg.PID {
		if pid <= 0 {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("-p %d: not a process id", pid)}
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("-p %d: no such process", pid)}
		}
		p.pids[uint32(pid)] = true
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if err := rlimit.RemoveMemlock(); err != nil {
		// 5.11+ charges BPF memory to the cgroup and does not need it.
		fmt.Fprintf(os.Stderr, "pftop: warning: raising RLIMIT_MEMLOCK: %v\n", err)
	}
	var filter []uint32
	if !opts.sampleAll {
		for pid := range p.pids {
			filter = append(filter, pid)
		}
	} else {
		p.pids = map[uint32]bool{}
	}
	if err := kernelBTF(); err != nil {
		return nil, &exitError{code: exitNoPriv, err: fmt.Errorf("%w\npftop's BPF programs adapt to this kernel with its BTF (CO-RE) and cannot load without it: use a kernel built with CONFIG_DEBUG_INFO_BTF=y (the default of every major distribution since 2020); `pftop check` says more", err)}
	}
	if p.objs, err = bpf.Load(bpf.Options{PIDs: filter, TimePhases: p.cfg.BPFTiming}); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EPERM) {
			return nil, errNoPrivilege(err)
		}
		return nil, err
	}
	p.interp = newInterpreters(p.objs)
	ucfg := unwinder.Config{
		Maps:          unwinder.KernelMaps{Objs: p.objs},
		DeltaCapacity: p.objs.DeltaCapacity,
		Self:          os.Getpid(),
		Synced:        p.interp.synced,
		Reaped:        p.interp.exit,
	}
	if p.cfg.NoInterpreters {
		// Nothing is detected, so nothing is published to the walkers.
		ucfg.Synced = nil
	}
	p.mgr, err = unwinder.New(ucfg)
	if err != nil {
		return nil, err
	}
	// Named processes are synced before sampling starts, so even their
	// first samples unwind; the whole box is synced while sampling.
	for pid := range p.pids {
		p.mgr.Sync(pid)
	}
	for _, pid := range p.containerPIDs {
		p.mgr.Sync(pid)
	}
	p.store = aggregate.NewStoreWithOptions(aggregate.StoreOptions{
		Period:  time.Second / time.Duration(cfg.Frequency),
		History: history,
	})
	p.smp, err = sampler.New(p.objs, sampler.Config{Frequency: cfg.Frequency})
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, errNoPrivilege(err)
		}
		return nil, err
	}

	ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		if len(p.pids) > 0 {
			return
		}
		// Busy processes ask for a sync with their first samples; give
		// those requests a head start and the CPU, then sync the rest.
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		p.mgr.SyncAll(ctx, 1)
	}()
	go func() {
		defer p.wg.Done()
		p.mgr.Run(ctx)
	}()
	go func() {
		defer p.wg.Done()
		p.readEvents()
	}()
	go p.readTraces()
	return p, nil
}

func (p *profiler) readEvents() {
	for {
		ev, err := p.smp.ReadEvent()
		if err != nil {
			return // closed
		}
		switch ev.Kind {
		case bpf.EventSync:
			if len(p.pids) == 0 || p.pids[ev.PID] {
				p.mgr.Request(ev.PID)
			}
		case bpf.EventExit:
			p.mgr.Exit(ev.PID)
			p.interp.exit(ev.PID)
			p.contMu.Lock()
			delete(p.containers, ev.PID)
			p.contMu.Unlock()
		}
	}
}

func (p *profiler) readTraces() {
	defer close(p.done)
	time.Sleep(p.cfg.StallReader) // 0 unless a test fills the ring
	var s sampler.Sample
	t := aggregate.Trace{}
	for {
		if err := p.smp.ReadTrace(&s); err != nil {
			if errors.Is(err, sampler.ErrClosed) {
				return
			}
			p.readErrors.Add(1)
			continue
		}
		if len(p.pids) > 0 && !p.pids[s.PID] {
			continue
		}
		if p.cfg.Comm != "" && s.Comm != p.cfg.Comm {
			continue
		}
		t.Container = p.containerOf(s.PID)
		if p.containerFilter != "" && t.Container != p.containerFilter {
			continue
		}
		p.traces.Add(1)
		if s.Status == bpf.StatusOK && len(s.User) > 0 {
			p.complete.Add(1)
			if p.firstComplete.Load() == 0 {
				p.firstComplete.Store(int64(time.Since(p.started)))
			}
		}
		t.PID, t.TID, t.Comm, t.CPU, t.Time = s.PID, s.TID, s.Comm, s.CPU, int64(s.Time)
		t.Frames = t.Frames[:0]
		if !p.cfg.NoKernel {
			for _, k := range s.Kernel {
				t.Frames = append(t.Frames, aggregate.Frame{Kind: aggregate.KindKernel, Addr: k})
			}
		}
		var py *python.Process
		pyLooked := false
		for _, u := range s.User {
			if ok, check, lasti := bpf.PythonFrame(u.FileId); ok {
				if !pyLooked {
					py, pyLooked = p.interp.process(s.PID), true
				}
				t.Frames = append(t.Frames, p.interp.pythonFrame(py, check, lasti, u.Addr))
				continue
			}
			f := aggregate.Frame{Kind: aggregate.KindNative, FileID: u.FileId, Addr: u.Addr}
			if f.FileID == 0 {
				if id, addr, ok := p.mgr.Resolve(s.PID, f.Addr); ok {
					f.FileID, f.Addr = id, addr
				}
			}
			t.Frames = append(t.Frames, f)
		}
		if !s.Status.Complete() {
			t.Frames = append(t.Frames, aggregate.Frame{Kind: aggregate.KindError, Addr: uint64(s.Status)})
		}
		if len(t.Frames) > 0 {
			p.store.Add(&t)
			if p.onTrace != nil {
				p.onTrace(&t)
			}
		}
	}
}

// stop stops sampling, drains what the rings still hold and stops the
// background work. The store stays readable.
func (p *profiler) stop() {
	if p.smp == nil {
		return
	}
	p.smp.Stop()
	deadline := time.Now().Add(time.Second)
	for p.smp.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.smp.Close()
	<-p.done
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// close releases everything; safe after a failed start.
func (p *profiler) close() {
	if p.smp != nil {
		p.smp.Close()
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	if p.mgr != nil {
		p.mgr.Close()
	}
	if p.interp != nil {
		p.interp.close()
	}
	if p.objs != nil {
		p.objs.Close()
	}
}

// printStats writes the counters to stderr (--stats).
func (p *profiler) printStats() {
	c, err := p.objs.ReadCounters()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pftop: stats:", err)
		return
	}
	fmt.Fprintln(os.Stderr, "bpf counters:")
	for i := 0; i < bpf.NumCounters; i++ {
		if i >= int(bpf.CounterTPrologue) && !p.cfg.BPFTiming {
			continue // the phase timers run only with --bpf-timing
		}
		fmt.Fprintf(os.Stderr, "  %-16s %d\n", bpf.Counter(i), c[i])
	}
	ms := p.mgr.Stats()
	fmt.Fprintf(os.Stderr, "unwinder: processes=%d executables=%d mappings=%d pages=%d deltas=%d/%d rules=%d syncs=%d gone=%d denied=%d failed=%d no_unwind_info=%d table_errors=%d extraction=%s bpf_mem_in_use=%d\n",
		ms.Processes, ms.Executables, ms.Mappings, ms.Pages, ms.DeltasUsed, ms.DeltaCapacity, ms.Rules,
		ms.Syncs, ms.SyncGone, ms.SyncDenied, ms.SyncFailed, ms.NoUnwindInfo, ms.TableErrors, ms.ExtractionTime.Round(time.Millisecond), ms.BPFMemoryInUse())
	if ms.LastSyncError != "" {
		fmt.Fprintf(os.Stderr, "unwinder: last error: %s\n", ms.LastSyncError)
	}
	if ms.Reaped > 0 {
		fmt.Fprintf(os.Stderr, "unwinder: reaped=%d (gone without an exit event)\n", ms.Reaped)
	}
	if p.interp != nil {
		fmt.Fprintln(os.Stderr, p.interp.stats())
	}
	fc := time.Duration(p.firstComplete.Load())
	fmt.Fprintf(os.Stderr, "traces: kept=%d complete=%d first_complete_after=%s read_errors=%d\n",
		p.traces.Load(), p.complete.Load(), fc.Round(time.Millisecond), p.readErrors.Load())
}

// containerOf returns pid's container ID, reading /proc/PID/cgroup the
// first time the process is seen.
func (p *profiler) containerOf(pid uint32) string {
	p.contMu.Lock()
	defer p.contMu.Unlock()
	if id, ok := p.containers[pid]; ok {
		return id
	}
	info, _ := container.Lookup("/proc", pid)
	p.containers[pid] = info.ID
	return info.ID
}

// resolveContainer finds the full ID of a running container from an ID or
// a prefix of at least 12 hex digits, as docker and podman print them, and
// the processes in it.
func resolveContainer(prefix string) (id string, pids []uint32, err error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) < 12 {
		return "", nil, fmt.Errorf("--container %q: give at least 12 hex digits of the ID", prefix)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return "", nil, fmt.Errorf("list processes: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		info, err := container.Lookup("/proc", uint32(pid))
		if err != nil || info.ID == "" || !strings.HasPrefix(info.ID, prefix) {
			continue
		}
		if id != "" && info.ID != id {
			return "", nil, fmt.Errorf("--container %s: more than one container has this prefix", prefix)
		}
		id = info.ID
		pids = append(pids, uint32(pid))
	}
	if id == "" {
		return "", nil, fmt.Errorf("--container %s: no running process is in such a container", prefix)
	}
	return id, pids, nil
}
