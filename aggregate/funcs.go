package aggregate

import (
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// funcID names one function, a (Name, Module) pair, within a funcTable
// epoch.
type funcID = uint32

// funcInfo describes a function as first seen.
type funcInfo struct {
	name, module string
	file         string
	line         int
	kind         FrameKind
}

type fnKey struct{ name, module string }

// funcTable names the functions that queries have seen and symbolizes
// stacks into lists of funcIDs. Those lists are cached per stack in the
// stackTable, tagged with the epoch they belong to; a new epoch (another
// Symbolizer, or a table grown past its cap) invalidates all of them at
// once.
//
// A query that symbolizes holds mu from start to end, so the epoch stays
// put while it runs; it takes the Store's lock inside it. Nothing takes
// mu while holding the Store's lock.
type funcTable struct {
	mu       sync.Mutex
	epoch    uint32 // never 0, which marks "not cached"
	owner    Symbolizer
	byKey    map[fnKey]funcID
	infos    []funcInfo
	strBytes int
	max      int // functions held before a new epoch starts over
	// bytes is the table's memory estimate, readable without mu (which
	// a slow query may hold for long).
	bytes atomic.Int64
}

func newFuncTable(maxStacks int) funcTable {
	return funcTable{epoch: 1, byKey: make(map[fnKey]funcID), max: max(1024, 2*maxStacks)}
}

// stackCount is one stack counted by a query, with what symbolizing it
// needs, copied from the stackTable under the Store's lock.
type stackCount struct {
	id     stackID
	gen    uint32
	count  int64
	fns    []funcID // leaf first; cached when epoch is the funcTable's
	epoch  uint32
	frames []Frame // when fns is not cached
}

// beginLocked readies the table for a query symbolizing with sym and
// returns the epoch the query works in.
func (t *funcTable) beginLocked(sym Symbolizer) uint32 {
	if !sameSymbolizer(t.owner, sym) || len(t.infos) > t.max {
		t.reset(sym)
	}
	return t.epoch
}

// resolveLocked fills the fns of every stack whose list is not cached,
// symbolizing each distinct frame once, and returns the indexes of the
// stacks it filled.
func (t *funcTable) resolveLocked(sym Symbolizer, stacks []stackCount) (filled []int) {
	var frames map[Frame][]funcID
	var buf []funcID
	for i := range stacks {
		st := &stacks[i]
		if st.epoch == t.epoch {
			continue
		}
		if frames == nil {
			frames = make(map[Frame][]funcID)
		}
		buf = buf[:0]
		for _, f := range st.frames {
			ids, ok := frames[f]
			if !ok {
				ids = t.symbolize(sym, f)
				frames[f] = ids
			}
			buf = append(buf, ids...)
		}
		st.fns, st.epoch, st.frames = slices.Clone(buf), t.epoch, nil
		if st.fns == nil {
			st.fns = []funcID{}
		}
		filled = append(filled, i)
	}
	t.updateBytes()
	return filled
}

// reset starts a new epoch for sym with no functions. The old infos
// slice is left untouched for queries still reading it.
func (t *funcTable) reset(sym Symbolizer) {
	t.epoch++
	if t.epoch == 0 {
		t.epoch = 1
	}
	t.owner = sym
	t.byKey = make(map[fnKey]funcID)
	t.infos = nil
	t.strBytes = 0
	t.updateBytes()
}

// symbolize returns the funcIDs of f's Locations, innermost first.
func (t *funcTable) symbolize(sym Symbolizer, f Frame) []funcID {
	var locs []Location
	if sym != nil {
		locs = sym.Symbolize(f)
	}
	if len(locs) == 0 {
		locs = []Location{rawLocation(f)}
	}
	ids := make([]funcID, len(locs))
	for i := range locs {
		ids[i] = t.intern(&locs[i], f.Kind)
	}
	return ids
}

func (t *funcTable) intern(l *Location, kind FrameKind) funcID {
	k := fnKey{name: l.Function, module: l.Module}
	if id, ok := t.byKey[k]; ok {
		return id
	}
	id := funcID(len(t.infos))
	t.infos = append(t.infos, funcInfo{name: l.Function, module: l.Module, file: l.File, line: l.Line, kind: kind})
	t.byKey[k] = id
	t.strBytes += len(l.Function) + len(l.Module) + len(l.File)
	return id
}

// updateBytes refreshes the memory estimate; it needs mu.
func (t *funcTable) updateBytes() {
	n := int64(cap(t.infos)) * int64(unsafe.Sizeof(funcInfo{}))
	n += mapBytes(len(t.byKey), int(unsafe.Sizeof(fnKey{})+unsafe.Sizeof(funcID(0))))
	t.bytes.Store(n + int64(t.strBytes))
}

// memoryBytes returns the table's memory estimate as of the last query.
func (t *funcTable) memoryBytes() int64 { return t.bytes.Load() }

// sameSymbolizer reports whether a and b are the same Symbolizer, without
// the panic that == gives on uncomparable values (a map, say): those are
// never the same, so their results are not cached across queries.
func sameSymbolizer(a, b Symbolizer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() || !va.Comparable() || !vb.Comparable() {
		return false
	}
	return a == b
}
