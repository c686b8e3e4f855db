package aggregate

import (
	"slices"
	"time"
)

// windowLocked resolves q's time range to the held bucket seconds lo..hi
// (empty when lo > hi) and the time those buckets cover up to now. A
// bucket is in the window when its second overlaps [From, To).
func (s *Store) windowLocked(q Query, now time.Time) (lo, hi int64, span time.Duration) {
	lo, hi = s.ring.oldest(), s.ring.newest
	if !q.From.IsZero() {
		lo = max(lo, second(s.start, q.From))
	}
	if !q.To.IsZero() {
		d := q.To.Sub(s.start)
		if d <= 0 {
			return 0, -1, 0
		}
		hi = min(hi, int64((d-1)/time.Second))
	}
	if lo > hi {
		return 0, -1, 0
	}
	from := s.start.Add(time.Duration(lo) * time.Second)
	to := s.start.Add(time.Duration(hi+1) * time.Second)
	if now.Before(to) {
		to = now
	}
	return lo, hi, max(0, to.Sub(from))
}

// filter is a Query's filters resolved against the Store's tables.
type filter struct {
	threads []bool // by threadID; nil keeps every thread
	kind    FrameKind
	exact   []int8 // by stackID, for kinds without a bit: 0 unknown, 1 yes, -1 no
}

// filterLocked resolves the filters of q.
func (s *Store) filterLocked(q Query) filter {
	f := filter{kind: q.Kind}
	if q.Kind >= otherKinds {
		f.exact = make([]int8, len(s.stacks.meta))
	}
	if len(q.PIDs) == 0 && len(q.TIDs) == 0 && len(q.Containers) == 0 && q.Comm == "" {
		return f
	}
	pids, tids, ctrs := newSet(q.PIDs), newSet(q.TIDs), newSet(q.Containers)
	f.threads = make([]bool, len(s.threads.meta))
	for i := range s.threads.meta {
		m := &s.threads.meta[i]
		f.threads[i] = m.refs > 0 &&
			pids.has(m.key.pid) && tids.has(m.key.tid) && ctrs.has(m.key.container) &&
			(q.Comm == "" || q.Comm == m.key.comm)
	}
	return f
}

// stackOK reports whether the live stack id passes f's kind filter.
func (s *Store) stackOKLocked(f *filter, id stackID) bool {
	if f.kind == 0 {
		return true
	}
	if s.stacks.meta[id].kinds&kindBit(f.kind) == 0 {
		return false
	}
	if f.exact == nil {
		return true
	}
	if f.exact[id] == 0 {
		f.exact[id] = -1
		for _, fid := range s.stacks.ids(id) {
			if s.stacks.frames.frames[fid].Kind == f.kind {
				f.exact[id] = 1
				break
			}
		}
	}
	return f.exact[id] > 0
}

// set is a filter list; the empty set lets everything through.
type set[T comparable] struct {
	list []T
	m    map[T]struct{} // for long lists
}

func newSet[T comparable](list []T) set[T] {
	s := set[T]{list: list}
	if len(list) > 16 {
		s.m = make(map[T]struct{}, len(list))
		for _, v := range list {
			s.m[v] = struct{}{}
		}
	}
	return s
}

func (s set[T]) has(v T) bool {
	if len(s.list) == 0 {
		return true
	}
	if s.m != nil {
		_, ok := s.m[v]
		return ok
	}
	return slices.Contains(s.list, v)
}

// scan is what a query gathers under the Store's lock.
type scan struct {
	samples int64
	span    time.Duration
	stacks  []stackCount  // when gathering by stack
	threads []threadCount // when gathering by thread
}

// threadCount is one thread's samples in a query.
type threadCount struct {
	key   threadKey
	count int64
}

// gather counts the samples q selects, per stack or per thread. It holds
// the lock for one pass over the window's entries and a copy of what the
// query needs of the stacks or threads it saw: per stack, its function
// list when one is cached for epoch, else its frames.
func (s *Store) gather(q Query, byThread bool, epoch uint32) scan {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.advanceLocked(now)
	var sc scan
	lo, hi, span := s.windowLocked(q, now)
	sc.span = span
	if lo > hi {
		return sc
	}
	f := s.filterLocked(q)
	n := len(s.stacks.meta)
	if byThread {
		n = len(s.threads.meta)
	}
	counts := make([]int64, n)
	var touched []uint32
	for k := lo; k <= hi; k++ {
		b := s.ring.slot(k)
		if b.sec != k {
			continue
		}
		for _, e := range b.entries {
			if f.threads != nil && !f.threads[e.thread] {
				continue
			}
			if f.kind != 0 && !s.stackOKLocked(&f, e.stack) {
				continue
			}
			i := uint32(e.stack)
			if byThread {
				i = uint32(e.thread)
			}
			if counts[i] == 0 {
				touched = append(touched, i)
			}
			counts[i] += int64(e.count)
			sc.samples += int64(e.count)
		}
	}
	if byThread {
		sc.threads = make([]threadCount, len(touched))
		for j, i := range touched {
			sc.threads[j] = threadCount{key: s.threads.meta[i].key, count: counts[i]}
		}
		return sc
	}
	sc.stacks = make([]stackCount, len(touched))
	size := 0
	for j, i := range touched {
		m := &s.stacks.meta[i]
		sc.stacks[j] = stackCount{id: stackID(i), gen: m.gen, count: counts[i], fns: m.fns, epoch: m.fnsEpoch}
		if m.fnsEpoch != epoch {
			size += m.end - m.off
		}
	}
	if size > 0 {
		// All the frames to symbolize in one allocation.
		frames := make([]Frame, 0, size)
		for j := range sc.stacks {
			st := &sc.stacks[j]
			if st.epoch != epoch {
				off := len(frames)
				frames = s.stacks.appendFrames(frames, st.id)
				st.frames = frames[off:len(frames):len(frames)]
			}
		}
	}
	return sc
}

// symbolized is a by-stack scan whose stacks have function lists.
type symbolized struct {
	scan
	infos []funcInfo // by funcID
}

// gatherSymbolized gathers q by stack and gives every stack its function
// list: cached ones are reused, the others symbolized without the
// Store's lock and then cached. Symbolizing queries run one at a time.
func (s *Store) gatherSymbolized(q Query, sym Symbolizer) symbolized {
	s.funcs.mu.Lock()
	defer s.funcs.mu.Unlock()
	epoch := s.funcs.beginLocked(sym)
	sc := s.gather(q, false, epoch)
	filled := s.funcs.resolveLocked(sym, sc.stacks)
	if len(filled) > 0 {
		s.mu.Lock()
		for _, i := range filled {
			st := &sc.stacks[i]
			if m := &s.stacks.meta[st.id]; m.live && m.gen == st.gen {
				s.stacks.setFns(st.id, st.fns, st.epoch)
			}
		}
		s.mu.Unlock()
	}
	// infos is only appended to, or replaced by a reset: the part this
	// query sees stays valid without the lock.
	return symbolized{scan: sc, infos: s.funcs.infos}
}
