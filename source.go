package main

import (
	"bytes"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/ui"
)

// liveSource answers the UI's queries from the running profiler's store,
// naming frames with the shared symbolizer.
type liveSource struct {
	p   *profiler
	sym *frameSymbolizer
	fw  *forwarder // nil when not forwarding

	host, kernel string
	cpus         int

	mu       sync.Mutex // guards the rate state below
	lastAt   time.Time
	lastN    int64
	lastDone uint64
	lastOK   uint64
	lastCPU  time.Duration
	health   ui.Health
}

var _ ui.Source = (*liveSource)(nil)

func newLiveSource(p *profiler, sym *frameSymbolizer) *liveSource {
	s := &liveSource{p: p, sym: sym, cpus: p.smp.CPUs()}
	s.host, _ = os.Hostname()
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		s.kernel = string(bytes.TrimRight(uts.Release[:], "\x00"))
	}
	s.lastAt, s.lastCPU = time.Now(), ownCPUTime()
	return s
}

func (s *liveSource) Top(q aggregate.Query) aggregate.TopResult { return s.p.store.Top(q, s.sym) }

func (s *liveSource) CallersCallees(q aggregate.Query, name, module string) ([]aggregate.FunctionRow, []aggregate.FunctionRow) {
	return s.p.store.CallersCallees(q, s.sym, name, module)
}

func (s *liveSource) Tree(q aggregate.Query, inverted bool) *aggregate.TreeNode {
	return s.p.store.Tree(q, s.sym, inverted)
}

func (s *liveSource) Processes(q aggregate.Query) []aggregate.ProcessRow {
	return s.p.store.Processes(q)
}

func (s *liveSource) Containers(q aggregate.Query) []aggregate.ContainerRow {
	return s.p.store.Containers(q)
}

// Health computes rates over the time since the previous call, so the
// header shows what happens now rather than averages since start.
func (s *liveSource) Health() ui.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	dt := now.Sub(s.lastAt)
	if dt < 200*time.Millisecond && s.health.Host != "" {
		return s.health
	}
	h := ui.Health{Host: s.host, Kernel: s.kernel, CPUs: s.cpus, Frequency: s.p.cfg.Frequency}
	n := s.p.store.Samples()
	h.SamplesPerSec = float64(n-s.lastN) / dt.Seconds()
	done, ok := s.p.traces.Load(), s.p.complete.Load()
	if d := done - s.lastDone; d > 0 {
		h.CompleteShare = float64(ok-s.lastOK) / float64(d)
	} else {
		h.CompleteShare = s.health.CompleteShare
	}
	if c, err := s.p.objs.ReadCounters(); err == nil {
		h.Drops = int64(c[bpf.CounterRingFull]) + s.p.store.Dropped()
		for _, k := range []bpf.Counter{bpf.CounterNoMapping, bpf.CounterNoUnwind, bpf.CounterReadFailed,
			bpf.CounterTruncated, bpf.CounterBadRegs, bpf.CounterBadRule, bpf.CounterTailCall} {
			h.UnwindErrors += int64(c[k])
		}
	}
	h.Exported, h.ExportDropped = s.fw.counts()
	cpu := ownCPUTime()
	h.OwnCPU = (cpu - s.lastCPU).Seconds() / dt.Seconds()
	s.lastAt, s.lastN, s.lastDone, s.lastOK, s.lastCPU = now, n, done, ok, cpu
	s.health = h
	return h
}

// ownCPUTime is the CPU time this process has used.
func ownCPUTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
