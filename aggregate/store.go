package aggregate

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// DefaultPeriod is the sampling period of the default frequency, 99 Hz.
const DefaultPeriod = time.Second / 99

// Trace is one sample as the sampler delivers it.
type Trace struct {
	PID, TID uint32
	Comm     string
	CPU      uint32
	Time     int64 // ns, CLOCK_MONOTONIC

	// Frames is leaf first: index 0 is the innermost frame. Kernel frames
	// come first when present, then user frames, then possibly one
	// KindError frame at the root end saying why the unwind stopped.
	Frames []Frame
}

// StoreOptions configures a Store. The zero value is valid.
type StoreOptions struct {
	// Period is the sampling period; 0 means DefaultPeriod.
	Period time.Duration
	// Clock gives the current time; nil means time.Now. The Store reads
	// it once when created (Profile.Start) and at each Snapshot
	// (Profile.Duration).
	Clock func() time.Time
}

// Store counts traces. Each distinct stack is stored once; samples are
// counted per (PID, TID, Comm, stack).
//
// A Store is safe for concurrent use: typically one goroutine calls Add
// while others call Snapshot, Len or Samples. The zero value is not usable;
// use NewStore.
type Store struct {
	period time.Duration
	clock  func() time.Time
	start  time.Time
	seed   uint64 // stack hash seed, immutable after NewStore

	mu      sync.Mutex
	stacks  stackTable          // guarded by mu
	counts  map[sampleKey]int64 // guarded by mu
	samples int64               // guarded by mu
}

// sampleKey is what a Store counts by.
type sampleKey struct {
	pid, tid uint32
	stack    stackID
	comm     string
}

// NewStore returns an empty Store with default options.
func NewStore() *Store {
	return NewStoreWithOptions(StoreOptions{})
}

// NewStoreWithOptions returns an empty Store configured by opts.
func NewStoreWithOptions(opts StoreOptions) *Store {
	if opts.Period <= 0 {
		opts.Period = DefaultPeriod
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Store{
		period: opts.Period,
		clock:  opts.Clock,
		start:  opts.Clock(),
		seed:   newHashSeed(),
		stacks: newStackTable(),
		counts: make(map[sampleKey]int64),
	}
}

// Add counts one sample of t. It copies what it keeps: t and t.Frames may
// be reused by the caller as soon as Add returns. t.CPU and t.Time are not
// kept yet.
func (s *Store) Add(t *Trace) {
	h := hashFrames(s.seed, t.Frames)
	s.mu.Lock()
	id := s.stacks.intern(h, t.Frames)
	s.counts[sampleKey{pid: t.PID, tid: t.TID, stack: id, comm: t.Comm}]++
	s.samples++
	s.mu.Unlock()
}

// Len returns the number of distinct (PID, TID, Comm, stack) entries, which
// is the number of samples a Snapshot taken now would hold.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

// Samples returns the number of traces added so far.
func (s *Store) Samples() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// Stacks returns the number of distinct stacks interned so far.
func (s *Store) Stacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stacks.len()
}

// Snapshot returns a deep copy of the current counts. The Profile shares no
// memory with the Store, and its samples are sorted by PID, TID, Comm and
// then frames, so equal contents give equal Profiles whatever order the
// traces arrived in.
func (s *Store) Snapshot() *Profile {
	s.mu.Lock()
	now := s.clock()
	// Size the copy first so every sample's frames share one allocation.
	copied := make(map[stackID][]Frame)
	size := 0
	for k := range s.counts {
		if _, ok := copied[k.stack]; !ok {
			copied[k.stack] = nil
			size += len(s.stacks.frames(k.stack))
		}
	}
	arena := make([]Frame, 0, size)
	samples := make([]ProfileSample, 0, len(s.counts))
	for k, n := range s.counts {
		frames := copied[k.stack]
		if frames == nil {
			off := len(arena)
			arena = append(arena, s.stacks.frames(k.stack)...)
			frames = arena[off:len(arena):len(arena)]
			copied[k.stack] = frames
		}
		samples = append(samples, ProfileSample{
			PID: k.pid, TID: k.tid, Comm: k.comm, Frames: frames, Count: n,
		})
	}
	s.mu.Unlock()

	slices.SortFunc(samples, compareSamples)
	return &Profile{
		Samples:  samples,
		Duration: now.Sub(s.start),
		Period:   s.period,
		Start:    s.start,
	}
}

// compareSamples orders samples for Snapshot.
func compareSamples(a, b ProfileSample) int {
	if c := cmp.Compare(a.PID, b.PID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.TID, b.TID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Comm, b.Comm); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Frames, b.Frames, compareFrames); c != 0 {
		return c
	}
	return cmp.Compare(a.Count, b.Count)
}

func compareFrames(a, b Frame) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := cmp.Compare(a.FileID, b.FileID); c != 0 {
		return c
	}
	return cmp.Compare(a.Addr, b.Addr)
}
