// Package sampler opens one cpu-clock perf event per online CPU, attaches
// pftop's BPF sampling program to each, reports process exits through the
// sched_process_exit raw tracepoint, and drains the ring buffers into Go
// values. It owns the lifetime of everything it attaches: Close detaches
// and releases it all, and unblocks pending reads.
//
// ReadTrace is for one goroutine and ReadEvent for another; Close may be
// called from any goroutine, once or more.
package sampler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/bpf"
)

// ErrClosed is returned by reads after Close.
var ErrClosed = os.ErrClosed

// Config says how to sample.
type Config struct {
	// Frequency in Hz per CPU (perf's -F).
	Frequency int
	// FlushInterval bounds how long a trace may wait in the ring buffer:
	// the programs do not wake user space for each record.
	FlushInterval time.Duration
}

func (c *Config) check() error {
	if c.Frequency <= 0 || c.Frequency > 100000 {
		return fmt.Errorf("frequency %d Hz out of range 1..100000", c.Frequency)
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 100 * time.Millisecond
	}
	return nil
}

// Sampler is attached sampling. Create it with New.
type Sampler struct {
	cfg     Config
	perfFDs []int
	exit    link.Link
	traces  *ringbuf.Reader
	events  *ringbuf.Reader

	closeOnce sync.Once
	closeErr  error
	traceRec  ringbuf.Record
}

// New opens and enables the perf events and attaches the programs of objs.
// objs must outlive the Sampler.
func New(objs *bpf.Objects, cfg Config) (_ *Sampler, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Sampler{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.traces, err = ringbuf.NewReader(objs.Traces); err != nil {
		return nil, fmt.Errorf("open trace ring: %w", err)
	}
	if s.events, err = ringbuf.NewReader(objs.Events); err != nil {
		return nil, fmt.Errorf("open event ring: %w", err)
	}
	s.exit, err = link.AttachRawTracepoint(link.RawTracepointOptions{
		Name:    "sched_process_exit",
		Program: objs.ProcessExit,
	})
	if err != nil {
		return nil, fmt.Errorf("attach sched_process_exit: %w", err)
	}
	cpus, err := OnlineCPUs()
	if err != nil {
		return nil, err
	}
	for _, cpu := range cpus {
		fd, err := openCPUClock(cpu, cfg.Frequency)
		if errors.Is(err, unix.ENODEV) {
			continue // went offline meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("perf_event_open cpu %d: %w", cpu, err)
		}
		s.perfFDs = append(s.perfFDs, fd)
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, objs.Sample.FD()); err != nil {
			return nil, fmt.Errorf("attach to perf event on cpu %d: %w", cpu, err)
		}
	}
	// Enable only once every CPU is attached, so a failure above leaves no
	// half-started sampling behind.
	for _, fd := range s.perfFDs {
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
			return nil, fmt.Errorf("enable perf event: %w", err)
		}
	}
	return s, nil
}

func openCPUClock(cpu, freq int) (int, error) {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample: uint64(freq),
		Bits:   unix.PerfBitFreq | unix.PerfBitDisabled,
	}
	return unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
}

// CPUs returns how many perf events are attached.
func (s *Sampler) CPUs() int { return len(s.perfFDs) }

// Close stops sampling, detaches the programs and unblocks readers.
func (s *Sampler) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, fd := range s.perfFDs {
			unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_DISABLE, 0)
			if err := unix.Close(fd); err != nil {
				errs = append(errs, fmt.Errorf("close perf event: %w", err))
			}
		}
		s.perfFDs = nil
		if s.exit != nil {
			if err := s.exit.Close(); err != nil {
				errs = append(errs, fmt.Errorf("detach exit tracepoint: %w", err))
			}
		}
		for _, r := range []*ringbuf.Reader{s.traces, s.events} {
			if r != nil {
				if err := r.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close ring: %w", err))
				}
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Sample is one decoded trace. Slices are reused by ReadTrace.
type Sample struct {
	Time   uint64 // CLOCK_MONOTONIC ns
	PID    uint32
	TID    uint32
	CPU    uint32
	Status bpf.Status
	Comm   string
	Kernel []uint64    // kernel PCs, leaf first
	User   []bpf.Frame // user frames, leaf first
}

// Offsets in struct trace (bpf/types.h).
const (
	offKtime     = 0
	offPID       = 8
	offTID       = 12
	offCPU       = 16
	offStatus    = 20
	offKLen      = 24
	offULen      = 28
	offComm      = 32
	offUstack    = 48 // then ULen frames, then KLen kernel addresses
	frameSize    = 16
	eventSize    = 16
	traceMinSize = offUstack
)

// ReadTrace blocks until a trace arrives and decodes it into s. It returns
// an error wrapping ErrClosed after Close.
func (sp *Sampler) ReadTrace(s *Sample) error {
	for {
		sp.traces.SetDeadline(time.Now().Add(sp.cfg.FlushInterval))
		err := sp.traces.ReadInto(&sp.traceRec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if errors.Is(err, ringbuf.ErrClosed) {
			return fmt.Errorf("read trace: %w", ErrClosed)
		}
		if err != nil {
			return fmt.Errorf("read trace: %w", err)
		}
		if err := decodeTrace(sp.traceRec.RawSample, s); err != nil {
			return err
		}
		return nil
	}
}

// Pending returns how many bytes wait in the trace ring.
func (sp *Sampler) Pending() int { return sp.traces.AvailableBytes() }

func decodeTrace(b []byte, s *Sample) error {
	if len(b) < traceMinSize {
		return fmt.Errorf("short trace record: %d bytes", len(b))
	}
	le := binary.LittleEndian
	s.Time = le.Uint64(b[offKtime:])
	s.PID = le.Uint32(b[offPID:])
	s.TID = le.Uint32(b[offTID:])
	s.CPU = le.Uint32(b[offCPU:])
	s.Status = bpf.Status(le.Uint32(b[offStatus:]))
	un := min(int(le.Uint32(b[offULen:])), bpf.MaxUserFrames, (len(b)-offUstack)/frameSize)
	offKstack := offUstack + frameSize*un
	kn := min(int(le.Uint32(b[offKLen:])), bpf.MaxKernelFrames, (len(b)-offKstack)/8)
	comm := b[offComm : offComm+16]
	if i := strings.IndexByte(string(comm), 0); i >= 0 {
		comm = comm[:i]
	}
	if s.Comm != string(comm) {
		s.Comm = string(comm)
	}
	s.Kernel = s.Kernel[:0]
	for i := 0; i < kn; i++ {
		s.Kernel = append(s.Kernel, le.Uint64(b[offKstack+8*i:]))
	}
	s.User = s.User[:0]
	for i := 0; i < un; i++ {
		o := offUstack + frameSize*i
		s.User = append(s.User, bpf.Frame{FileId: le.Uint64(b[o:]), Addr: le.Uint64(b[o+8:])})
	}
	return nil
}

// Event is a request from the programs to user space.
type Event struct {
	Kind uint32 // bpf.EventSync or bpf.EventExit
	PID  uint32
	Addr uint64
}

// ReadEvent blocks until a sync or exit event arrives.
func (sp *Sampler) ReadEvent() (Event, error) {
	for {
		sp.events.SetDeadline(time.Now().Add(sp.cfg.FlushInterval))
		rec, err := sp.events.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if errors.Is(err, ringbuf.ErrClosed) {
			return Event{}, fmt.Errorf("read event: %w", ErrClosed)
		}
		if err != nil {
			return Event{}, fmt.Errorf("read event: %w", err)
		}
		b := rec.RawSample
		if len(b) < eventSize {
			return Event{}, fmt.Errorf("short event record: %d bytes", len(b))
		}
		le := binary.LittleEndian
		return Event{Kind: le.Uint32(b), PID: le.Uint32(b[4:]), Addr: le.Uint64(b[8:])}, nil
	}
}

// OnlineCPUs lists the online CPUs from sysfs.
func OnlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("list online cpus: %w", err)
	}
	return ParseCPUList(strings.TrimSpace(string(b)))
}

// ParseCPUList parses the kernel's CPU list format ("0-3,5,7-8").
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("bad cpu list %q: %w", s, err)
			}
		}
		if a < 0 || b < a || b-a > 1<<16 {
			return nil, fmt.Errorf("bad cpu list %q", s)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("no online cpus in %q", s)
	}
	return cpus, nil
}

// Stop disables the perf events: no new samples are taken, while what the
// rings hold can still be read. Close still has to be called.
func (sp *Sampler) Stop() {
	for _, fd := range sp.perfFDs {
		unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_DISABLE, 0)
	}
}
