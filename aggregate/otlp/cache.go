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
	r   Resolver
	max int

	mu   sync.Mutex
	locs map[aggregate.Frame][]aggregate.Location
	exes map[uint64]Executable
}

// Cached returns a Resolver that asks r once per frame and executable.
// It holds at most maxFrames frames (0: DefaultCacheFrames) and forgets
// them all when full, which keeps it bounded and, on a box whose set of
// hot frames fits, costs one re-naming per overflow.
func Cached(r Resolver, maxFrames int) Resolver {
	if maxFrames <= 0 {
		maxFrames = DefaultCacheFrames
	}
	return &cachedResolver{r: r, max: maxFrames, locs: map[aggregate.Frame][]aggregate.Location{}, exes: map[uint64]Executable{}}
}

func (c *cachedResolver) Symbolize(f aggregate.Frame) []aggregate.Location {
	c.mu.Lock()
	locs, ok := c.locs[f]
	c.mu.Unlock()
	if ok {
		return locs
	}
	locs = c.r.Symbolize(f) // unlocked: it may read files
	c.mu.Lock()
	if len(c.locs) >= c.max {
		clear(c.locs)
	}
	c.locs[f] = locs
	c.mu.Unlock()
	return locs
}

func (c *cachedResolver) Executable(id uint64) Executable {
	c.mu.Lock()
	e, ok := c.exes[id]
	c.mu.Unlock()
	if ok {
		return e
	}
	e = c.r.Executable(id)
	c.mu.Lock()
	if len(c.exes) >= c.max {
		clear(c.exes)
	}
	c.exes[id] = e
	c.mu.Unlock()
	return e
}
