package aggregate

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// DefaultPeriod is the sampling period of the default frequency, 99 Hz.
const DefaultPeriod = time.Second / 99

// Defaults of StoreOptions.
const (
	DefaultHistory   = 10 * time.Minute
	DefaultMaxStacks = 200_000
)

// Trace is one sample as the sampler delivers it.
type Trace struct {
	PID, TID uint32
	Comm     string // the thread's name (task comm)
	// Container is the ID of the process's container, "" on the host
	// (see package container).
	Container string
	CPU       uint32
	// Time is when the sample was taken (ns, CLOCK_MONOTONIC, from BPF).
	// The Store does not use it: it buckets a trace by its own clock when
	// Add runs, which the sampler's short queue keeps within a few
	// milliseconds of Time and which needs no mapping between clocks.
	Time int64

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
	// it once when created and once in each Add, query, Snapshot, Len,
	// Stacks and MemoryBytes, always with its lock held, so a test clock
	// needs no locking of its own (it must not call the Store).
	Clock func() time.Time
	// History is how long counts are kept, in whole seconds (at least
	// one); 0 means DefaultHistory. Counts are bucketed per second of
	// the Clock since the Store's creation; a bucket is dropped when it
	// falls out of the History.
	History time.Duration
	// MaxStacks caps the distinct stacks held; 0 means DefaultMaxStacks.
	// A trace whose stack is new while the cap is reached is dropped and
	// counted (Store.Dropped). Stacks that no held bucket counts any more
	// are freed.
	MaxStacks int
}

// Store counts traces over a bounded history. Each distinct stack is
// stored once; samples are counted in one-second buckets per (PID, TID,
// Comm, Container, stack). Memory is bounded by MaxStacks and by the
// number of samples a History can hold; MemoryBytes reports it.
//
// A Store is safe for concurrent use: typically one goroutine calls Add
// while others query (Top, Tree, Processes, …) or call Snapshot. Queries
// hold the lock only to gather counts; they symbolize and compute
// without it. The zero value is not usable; use NewStore.
type Store struct {
	period    time.Duration
	clock     func() time.Time
	start     time.Time
	seed      uint64 // stack hash seed, immutable after NewStore
	maxStacks int

	mu      sync.Mutex
	ring    ring        // guarded by mu
	stacks  stackTable  // guarded by mu
	threads threadTable // guarded by mu
	samples int64       // guarded by mu
	dropped int64       // guarded by mu

	funcs funcTable // has its own lock; never taken with mu held
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
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	if opts.MaxStacks <= 0 {
		opts.MaxStacks = DefaultMaxStacks
	}
	buckets := max(1, int(opts.History/time.Second))
	return &Store{
		period:    opts.Period,
		clock:     opts.Clock,
		start:     opts.Clock(),
		seed:      newHashSeed(),
		maxStacks: opts.MaxStacks,
		ring:      newRing(buckets),
		stacks:    newStackTable(),
		threads:   newThreadTable(),
		funcs:     newFuncTable(opts.MaxStacks),
	}
}

// Add counts one sample of t in the current second. It copies what it
// keeps: t and t.Frames may be reused by the caller as soon as Add
// returns. t.CPU and t.Time are not kept.
func (s *Store) Add(t *Trace) {
	h := hashFrames(s.seed, t.Frames)
	s.mu.Lock()
	s.samples++
	s.advanceLocked(s.clock())
	id, ok := s.stacks.lookup(h, t.Frames)
	if !ok {
		if s.stacks.live >= s.maxStacks {
			s.dropped++
			s.mu.Unlock()
			return
		}
		id = s.stacks.insert(h, t.Frames)
	}
	th := s.threads.intern(threadKey{pid: t.PID, tid: t.TID, comm: t.Comm, container: t.Container})
	s.countLocked(th, id)
	s.mu.Unlock()
}

// Len returns the number of distinct (PID, TID, Comm, Container, stack)
// entries held, which is the number of samples a Snapshot taken now would
// hold. It takes time in proportion to the counts held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock())
	seen := make(map[uint64]struct{})
	s.ring.each(0, s.ring.newest, func(e entry) {
		seen[uint64(e.thread)<<32|uint64(e.stack)] = struct{}{}
	})
	return len(seen)
}

// Samples returns the number of traces added so far, including dropped
// ones and ones that have since left the history.
func (s *Store) Samples() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// Dropped returns the number of traces that were not counted because
// their stack was new while MaxStacks stacks were held.
func (s *Store) Dropped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Stacks returns the number of distinct stacks held.
func (s *Store) Stacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock())
	return s.stacks.len()
}

// MemoryBytes estimates the heap the Store uses: interned stacks and
// threads, the counts of the history, and the function names and
// per-stack function lists that queries cache. It is an estimate (map
// overheads are approximated), meant for a health line, not accounting.
func (s *Store) MemoryBytes() int64 {
	s.mu.Lock()
	s.advanceLocked(s.clock())
	n := s.stacks.memoryBytes() + s.threads.memoryBytes() + s.ring.memoryBytes()
	s.mu.Unlock()
	return n + s.funcs.memoryBytes()
}

// Snapshot returns a deep copy of all the counts held, summed over the
// history. The Profile shares no memory with the Store, and its samples
// are sorted by PID, TID, Comm, Container and then frames, so equal
// contents give equal Profiles whatever order the traces arrived in.
func (s *Store) Snapshot() *Profile { return s.ProfileOf(Query{}) }

// ProfileOf returns, like Snapshot, an immutable Profile, of the samples
// q selects: its window (at bucket granularity) and its filters. It is
// what a snapshot of a view saves.
func (s *Store) ProfileOf(q Query) *Profile {
	s.mu.Lock()
	now := s.clock()
	s.advanceLocked(now)
	lo, hi, span := s.windowLocked(q, now)
	from := s.start.Add(time.Duration(max(lo, 0)) * time.Second)
	f := s.filterLocked(q)
	counts := make(map[uint64]int64)
	if lo <= hi {
		s.ring.each(lo, hi, func(e entry) {
			if f.threads != nil && !f.threads[e.thread] {
				return
			}
			if f.kind != 0 && !s.stackOKLocked(&f, e.stack) {
				return
			}
			counts[uint64(e.thread)<<32|uint64(e.stack)] += int64(e.count)
		})
	}
	// Size the copy first so every sample's frames share one allocation.
	copied := make(map[stackID][]Frame)
	size := 0
	for k := range counts {
		id := stackID(k)
		if _, ok := copied[id]; !ok {
			copied[id] = nil
			size += s.stacks.stackLen(id)
		}
	}
	arena := make([]Frame, 0, size)
	samples := make([]ProfileSample, 0, len(counts))
	for k, n := range counts {
		id := stackID(k)
		frames, ok := copied[id]
		if !ok || frames == nil {
			off := len(arena)
			arena = s.stacks.appendFrames(arena, id)
			frames = arena[off:len(arena):len(arena)]
			copied[id] = frames
		}
		th := s.threads.meta[k>>32].key
		samples = append(samples, ProfileSample{
			PID: th.pid, TID: th.tid, Comm: th.comm, Container: th.container,
			Frames: frames, Count: n,
		})
	}
	s.mu.Unlock()

	slices.SortFunc(samples, compareSamples)
	return &Profile{
		Samples:  samples,
		Duration: span,
		Period:   s.period,
		Start:    from,
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
	if c := cmp.Compare(a.Container, b.Container); c != 0 {
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
