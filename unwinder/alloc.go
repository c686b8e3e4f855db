package unwinder

import (
	"errors"
	"sort"
)

// ErrDeltasFull is returned when the shared delta array has no free range
// large enough for an executable's table.
var ErrDeltasFull = errors.New("stack delta array full")

// rangeAlloc hands out ranges of the shared delta array. Executables come
// and go, so freed ranges are merged with their neighbours and reused
// first-fit.
type rangeAlloc struct {
	size uint32
	free []span // sorted by start, non-adjacent
	used uint32
}

type span struct{ start, n uint32 }

func newRangeAlloc(size uint32) *rangeAlloc {
	return &rangeAlloc{size: size, free: []span{{0, size}}}
}

func (a *rangeAlloc) alloc(n uint32) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	for i, s := range a.free {
		if s.n >= n {
			a.free[i].start += n
			a.free[i].n -= n
			if a.free[i].n == 0 {
				a.free = append(a.free[:i], a.free[i+1:]...)
			}
			a.used += n
			return s.start, nil
		}
	}
	return 0, ErrDeltasFull
}

func (a *rangeAlloc) release(start, n uint32) {
	if n == 0 {
		return
	}
	a.used -= n
	i := sort.Search(len(a.free), func(i int) bool { return a.free[i].start > start })
	a.free = append(a.free, span{})
	copy(a.free[i+1:], a.free[i:])
	a.free[i] = span{start, n}
	// Merge with the next, then the previous neighbour.
	if i+1 < len(a.free) && a.free[i].start+a.free[i].n == a.free[i+1].start {
		a.free[i].n += a.free[i+1].n
		a.free = append(a.free[:i+1], a.free[i+2:]...)
	}
	if i > 0 && a.free[i-1].start+a.free[i-1].n == a.free[i].start {
		a.free[i-1].n += a.free[i].n
		a.free = append(a.free[:i], a.free[i+1:]...)
	}
}
