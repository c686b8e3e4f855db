package otlp

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/aggregate"
)

// Process describes one process of a Window, as its resource.
type Process struct {
	ExecutableName string // base name of the executable
	ExecutablePath string // path of the executable, as the process sees it
	// ServiceName is the process's own OTEL_SERVICE_NAME when it sets
	// one; Encode uses ExecutableName otherwise.
	ServiceName string
}

// Sample is every occurrence of one stack in one thread on one CPU within
// a Window.
type Sample struct {
	PID, TID, CPU uint32
	Comm          string // the thread's name
	Container     string // container ID, "" on the host
	// Frames is leaf first, as in aggregate.Trace. Samples of one stack
	// share the slice; it must not be modified.
	Frames []aggregate.Frame
	// Times holds one timestamp (Unix ns) per occurrence.
	Times []int64
}

// Window is what a Batch collected between two Takes.
type Window struct {
	Start, End time.Time
	Samples    []Sample // in order of first occurrence
	Processes  map[uint32]Process
	Events     int   // timestamps held, the sum of len(Samples[i].Times)
	Dropped    int64 // traces left out because the Batch was full
}

// DefaultBatchLimit is the number of traces a Batch holds by default:
// ten seconds of a 100-CPU box sampled at 99 Hz.
const DefaultBatchLimit = 100_000

// BatchOptions configures a Batch. The zero value is valid.
type BatchOptions struct {
	// Limit caps the traces held between two Takes (0: DefaultBatchLimit).
	// Traces past it are counted in Window.Dropped, not kept, so memory
	// stays bounded whatever the box does.
	Limit int
	// Describe names a process; it is called once per PID and Window,
	// when its first trace arrives, so short-lived processes are
	// described while they still exist. nil leaves processes undescribed.
	Describe func(pid uint32) Process
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Batch collects traces between exports. It copies what it keeps, so the
// caller may reuse a Trace once Add returns. Add and Take may be called
// from different goroutines.
type Batch struct {
	limit    int
	describe func(uint32) Process
	now      func() time.Time
	// monoToUnix converts the sampler's CLOCK_MONOTONIC timestamps to
	// Unix time; both clocks tick together, only their origins differ.
	monoToUnix int64

	mu      sync.Mutex
	w       *Window
	index   map[sampleKey]int // into w.Samples
	stacks  map[string]*stack // by key
	buf     []byte            // scratch for stack keys
	dropped int64             // in total, for Dropped
}

// stack is one distinct stack of a Window: its key, kept so hits need no
// new string, and a copy of its frames.
type stack struct {
	key    string
	frames []aggregate.Frame
}

type sampleKey struct {
	pid, tid, cpu   uint32
	comm, container string
	stack           string // interned key of the frames
}

// NewBatch returns an empty Batch.
func NewBatch(opts BatchOptions) *Batch {
	if opts.Limit <= 0 {
		opts.Limit = DefaultBatchLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Batch{limit: opts.Limit, describe: opts.Describe, now: opts.Now}
	b.reset()
	return b
}

// reset starts an empty Window. It also measures the clocks' offset
// anew: NTP slews the wall clock, so an agent running for weeks would
// otherwise drift.
func (b *Batch) reset() {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		b.monoToUnix = b.now().UnixNano() - ts.Nano()
	}
	b.w = &Window{Start: b.now(), Processes: map[uint32]Process{}}
	b.index = map[sampleKey]int{}
	b.stacks = map[string]*stack{}
}

// Add keeps one trace. t.Time is the sampler's CLOCK_MONOTONIC time of
// the sample; 0 stands for now.
func (b *Batch) Add(t *aggregate.Trace) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.w
	if w.Events >= b.limit {
		w.Dropped++
		b.dropped++
		return
	}
	ts := t.Time + b.monoToUnix
	if t.Time == 0 {
		ts = b.now().UnixNano()
	}
	b.buf = appendStackKey(b.buf[:0], t.Frames)
	st, ok := b.stacks[string(b.buf)] // no allocation for the lookup
	if !ok {
		st = &stack{key: string(b.buf), frames: append([]aggregate.Frame(nil), t.Frames...)}
		b.stacks[st.key] = st
	}
	k := sampleKey{pid: t.PID, tid: t.TID, cpu: t.CPU, comm: t.Comm, container: t.Container, stack: st.key}
	i, ok := b.index[k]
	if !ok {
		i = len(w.Samples)
		b.index[k] = i
		w.Samples = append(w.Samples, Sample{
			PID: t.PID, TID: t.TID, CPU: t.CPU, Comm: t.Comm, Container: t.Container,
			Frames: st.frames,
		})
		if _, seen := w.Processes[t.PID]; !seen {
			var p Process
			if b.describe != nil {
				p = b.describe(t.PID)
			}
			w.Processes[t.PID] = p
		}
	}
	w.Samples[i].Times = append(w.Samples[i].Times, ts)
	w.Events++
}

// appendStackKey appends a byte string that identifies frames.
func appendStackKey(dst []byte, frames []aggregate.Frame) []byte {
	for _, f := range frames {
		dst = append(dst, byte(f.Kind))
		dst = binary.LittleEndian.AppendUint64(dst, f.FileID)
		dst = binary.LittleEndian.AppendUint64(dst, f.Addr)
	}
	return dst
}

// Take returns what was collected since the previous Take (or NewBatch)
// and starts an empty Window.
func (b *Batch) Take() *Window {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.w
	w.End = b.now()
	b.reset()
	return w
}

// Dropped returns the traces left out so far because a Window was full.
func (b *Batch) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
