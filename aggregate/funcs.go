package aggregate

import (
	"reflect"
	"slices"
	"sync"
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
// Its lock is never held while taking the Store's.
type funcTable struct {
	mu       sync.Mutex
	epoch    uint32 // never 0, which marks "not cached"
	owner    Symbolizer
	byKey    map[fnKey]funcID
	infos    []funcInfo
	strBytes int
	max      int // functions held before a new epoch starts over
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
	frames []Frame  // immutable, see stackTable
	fns    []funcID // leaf first; valid when epoch is the funcTable's
	epoch  uint32
}

// resolve fills the fns of every stack whose list is not cached for the
// current epoch, symbolizing each distinct frame once. It returns the
// function infos, which stay valid and unchanged after the call, and
// the indexes of the stacks it filled.
func (t *funcTable) resolve(sym Symbolizer, stacks []stackCount) (infos []funcInfo, filled []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !sameSymbolizer(t.owner, sym) || len(t.infos) > t.max {
		t.reset(sym)
	}
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
		st.fns, st.epoch = slices.Clone(buf), t.epoch
		if st.fns == nil {
			st.fns = []funcID{}
		}
		filled = append(filled, i)
	}
	return t.infos, filled
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

func (t *funcTable) memoryBytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(cap(t.infos)) * int64(unsafe.Sizeof(funcInfo{}))
	n += mapBytes(len(t.byKey), int(unsafe.Sizeof(fnKey{})+unsafe.Sizeof(funcID(0))))
	return n + int64(t.strBytes)
}

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
