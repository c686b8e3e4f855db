package python

import (
	"container/list"
	"fmt"
	"sync"
)

// Frame is one symbolized Python frame.
type Frame struct {
	Function string // co_qualname (3.11+) or co_name; "<module>" for module code
	File     string // co_filename
	Line     int    // 0 when unknown
}

// Symbolize names the frame the walker recorded. code is the code object's
// address; check is the low 32 bits of co_firstlineno read at sample time.
// lasti is, per version:
//
//   - 2.7 to 3.9: f_lasti, a byte offset into co_code;
//   - 3.10: f_lasti, an index in 2-byte code units;
//   - 3.11+: the frame's instruction pointer (prev_instr on 3.11 and 3.12,
//     instr_ptr on 3.13) minus (code + CodeAdaptive): a byte offset into
//     co_code_adaptive. prev_instr points at the instruction being run
//     (in a calling frame: the last cache unit of its CALL), instr_ptr at
//     the start of the instruction being run (in a calling frame: its
//     CALL); both map to the call's line, the way the runtime's own
//     PyFrame_GetLineNumber does.
//
// A negative lasti (a frame that has not run its first instruction) means
// the first line. A code object that is not one any more, or whose
// co_firstlineno no longer equals check, was freed or reused: the error
// wraps ErrStale and no name is returned. Results are cached by (code,
// check) within a memory bound; Symbolize is safe for concurrent use.
func (p *Process) Symbolize(code uint64, lasti int64, check uint32) (Frame, error) {
	key := codeKey{code, check}
	ci, ok := p.cache.get(key)
	if !ok {
		var err error
		ci, err = p.obj.code(p.Version, code, check)
		if err != nil {
			return Frame{}, fmt.Errorf("python: symbolize code object %#x: %w", code, err)
		}
		p.cache.put(key, ci)
	}
	return Frame{Function: ci.name, File: ci.file, Line: ci.line(p.Version, lasti)}, nil
}

// line maps a walker's lasti to a source line.
func (ci *codeInfo) line(v Version, lasti int64) int {
	if lasti < 0 {
		return int(ci.firstLine)
	}
	if v.Major == 3 && v.Minor == 10 {
		lasti *= 2
	}
	if lasti >= int64(openEnd) {
		return 0
	}
	return lineAt(ci.lines, uint32(lasti))
}

// codeKey identifies a code object as the walker saw it.
type codeKey struct {
	addr  uint64
	check uint32
}

// defaultCacheBytes bounds the decoded code objects one process keeps.
const defaultCacheBytes = 8 << 20

// codeCache is a least-recently-used cache of decoded code objects,
// bounded by an estimate of the bytes they hold.
type codeCache struct {
	mu      sync.Mutex
	limit   int
	used    int
	order   *list.List // front: most recently used; values are *cacheEntry
	byKey   map[codeKey]*list.Element
	hits    uint64
	misses  uint64
	evicted uint64
}

type cacheEntry struct {
	key  codeKey
	info *codeInfo
	size int
}

func newCodeCache(limit int) *codeCache {
	return &codeCache{limit: limit, order: list.New(), byKey: map[codeKey]*list.Element{}}
}

func (ci *codeInfo) memSize() int { return 96 + len(ci.name) + len(ci.file) + 12*len(ci.lines) }

func (c *codeCache) get(k codeKey) (*codeInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).info, true
	}
	return nil, false
}

func (c *codeCache) put(k codeKey, ci *codeInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return // another goroutine decoded it too
	}
	size := ci.memSize()
	if size > c.limit {
		return
	}
	c.byKey[k] = c.order.PushFront(&cacheEntry{k, ci, size})
	c.used += size
	for c.used > c.limit {
		last := c.order.Back()
		ent := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.byKey, ent.key)
		c.used -= ent.size
	}
}
