package aggregate

import (
	"math"
	"time"
	"unsafe"
)

// entry counts one (thread, stack) in one bucket.
type entry struct {
	thread threadID
	stack  stackID
	count  uint32
}

// bucket holds the counts of one second. Only the newest bucket of a Store
// receives samples; the others are sealed.
type bucket struct {
	sec     int64 // seconds since the Store's start; -1: unused
	entries []entry
}

// ring is a Store's bounded history: one bucket per second, the newest at
// slot newest mod len(buckets). Its methods need the Store's lock.
type ring struct {
	buckets []bucket
	newest  int64            // second of the newest bucket
	index   map[uint64]int32 // thread<<32|stack -> entry of the newest bucket
	// indexPeak is the most entries index held since it was made: a
	// cleared map keeps its room.
	indexPeak int
}

func newRing(n int) ring {
	r := ring{buckets: make([]bucket, n), index: make(map[uint64]int32)}
	for i := range r.buckets {
		r.buckets[i].sec = -1
	}
	r.buckets[0].sec = 0
	return r
}

// slot returns the bucket that holds second sec (sec >= 0) when it is
// held.
func (r *ring) slot(sec int64) *bucket {
	return &r.buckets[sec%int64(len(r.buckets))]
}

// oldest returns the second of the oldest bucket the ring can hold.
func (r *ring) oldest() int64 {
	return max(0, r.newest-int64(len(r.buckets))+1)
}

// second returns the bucket second of now, counted from start.
func second(start, now time.Time) int64 {
	return int64(now.Sub(start) / time.Second)
}

// advanceLocked moves the Store's history to now: when a new second has
// begun it seals the newest bucket, expires the buckets that fall out of
// the history (freeing stacks and threads no other bucket holds) and
// starts an empty bucket. A clock that goes back leaves the newest bucket
// current.
func (s *Store) advanceLocked(now time.Time) {
	sec := second(s.start, now)
	r := &s.ring
	if sec <= r.newest {
		return
	}
	if sealed := len(r.slot(r.newest).entries); r.indexPeak > 4*sealed+1024 {
		// A burst grew the index; let it go.
		r.index, r.indexPeak = make(map[uint64]int32), 0
	} else {
		clear(r.index)
	}
	n := int64(len(r.buckets))
	for k := r.oldest(); k <= min(sec-n, r.newest); k++ {
		if b := r.slot(k); b.sec == k {
			s.expireLocked(b)
		}
	}
	r.newest = sec
	r.slot(sec).sec = sec
}

// expireLocked drops the counts of b and the references they hold.
func (s *Store) expireLocked(b *bucket) {
	for _, e := range b.entries {
		s.stacks.release(e.stack)
		s.threads.release(e.thread)
	}
	// Keep the capacity for the next bucket of this slot unless a burst
	// left it mostly unused.
	if cap(b.entries) > 4*len(b.entries)+64 {
		b.entries = nil
	} else {
		b.entries = b.entries[:0]
	}
	b.sec = -1
}

// countLocked counts one sample of (th, st) in the newest bucket. The
// first count of a pair in a bucket takes a reference to each.
func (s *Store) countLocked(th threadID, st stackID) {
	r := &s.ring
	b := r.slot(r.newest)
	key := uint64(th)<<32 | uint64(st)
	if i, ok := r.index[key]; ok && b.entries[i].count < math.MaxUint32 {
		b.entries[i].count++
		return
	}
	// New pair, or its count is full: start an entry (queries sum them).
	r.index[key] = int32(len(b.entries))
	r.indexPeak = max(r.indexPeak, len(r.index))
	b.entries = append(b.entries, entry{thread: th, stack: st, count: 1})
	s.stacks.meta[st].refs++
	s.threads.meta[th].refs++
}

// memoryBytes estimates the ring's heap use.
func (r *ring) memoryBytes() int64 {
	n := int64(cap(r.buckets)) * int64(unsafe.Sizeof(bucket{}))
	for i := range r.buckets {
		n += int64(cap(r.buckets[i].entries)) * int64(unsafe.Sizeof(entry{}))
	}
	return n + mapBytes(r.indexPeak, int(unsafe.Sizeof(uint64(0))+unsafe.Sizeof(int32(0))))
}

// each calls f for every entry in the held buckets of seconds lo..hi.
func (r *ring) each(lo, hi int64, f func(e entry)) {
	lo = max(lo, r.oldest())
	hi = min(hi, r.newest)
	for k := lo; k <= hi; k++ {
		b := r.slot(k)
		if b.sec != k {
			continue
		}
		for _, e := range b.entries {
			f(e)
		}
	}
}
