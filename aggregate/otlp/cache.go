package otlp

import (
	"sync"

	"github.com/pftop/pftop/aggregate"
)

// DefaultCacheFrames bounds the frames a cached Resolver remembers.
const DefaultCacheFrames = 50_000

// cachedResolver remembers what a Resolver said about each frame and
// executable, so an export names only the frames it has not seen yet.
// A frame's names never change: native frames are keyed by the content
// hash of their file, kernel frames by address.
type cachedResolver struct {
	r    Resolver
	locs memo[aggregate.Frame, []aggregate.Location]
	exes memo[uint64, Executable]
}

// Cached returns a Resolver that asks r once per frame and executable.
// It holds at most maxFrames frames (0: DefaultCacheFrames) and forgets
// them all when full, which keeps it bounded and, on a box whose set of
// hot frames fits, costs one re-naming per overflow.
func Cached(r Resolver, maxFrames int) Resolver {
	if maxFrames <= 0 {
		maxFrames = DefaultCacheFrames
	}
	return &cachedResolver{r: r, locs: newMemo[aggregate.Frame, []aggregate.Location](maxFrames), exes: newMemo[uint64, Executable](maxFrames)}
}

func (c *cachedResolver) Symbolize(f aggregate.Frame) []aggregate.Location {
	return c.locs.get(f, c.r.Symbolize)
}

func (c *cachedResolver) Executable(id uint64) Executable {
	return c.exes.get(id, c.r.Executable)
}

// memo is a bounded map of computed values, cleared when full.
type memo[K comparable, V any] struct {
	max int
	mu  sync.Mutex
	m   map[K]V
}

func newMemo[K comparable, V any](max int) memo[K, V] {
	return memo[K, V]{max: max, m: map[K]V{}}
}

// get returns the value of k, computing it with f, unlocked (it may read
// files), when it is not held.
func (c *memo[K, V]) get(k K, f func(K) V) V {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = f(k)
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}
