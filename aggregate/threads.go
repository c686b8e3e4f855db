package aggregate

import "unsafe"

// threadID names one (pid, tid, comm, container) within a Store. IDs of
// freed threads are reused.
type threadID uint32

// threadKey is what a Store tells threads apart by: a thread that changes
// its name (exec, prctl) or moves to another container counts anew.
type threadKey struct {
	pid, tid  uint32
	comm      string
	container string
}

type threadMeta struct {
	key  threadKey
	refs uint32 // bucket entries that hold this thread; 0: free slot
}

// threadTable interns threadKeys. Like stackTable it counts references
// from bucket entries and frees a thread with its last one.
type threadTable struct {
	meta     []threadMeta
	free     []threadID
	byKey    map[threadKey]threadID
	strBytes int // bytes of the comm and container strings held
}

func newThreadTable() threadTable {
	return threadTable{byKey: make(map[threadKey]threadID)}
}

// intern returns the ID of k, adding k with no references if needed.
func (t *threadTable) intern(k threadKey) threadID {
	if id, ok := t.byKey[k]; ok {
		return id
	}
	var id threadID
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		id = threadID(len(t.meta))
		t.meta = append(t.meta, threadMeta{})
	}
	t.meta[id] = threadMeta{key: k}
	t.byKey[k] = id
	t.strBytes += len(k.comm) + len(k.container)
	return id
}

// release drops one reference to id and frees the thread with the last.
func (t *threadTable) release(id threadID) {
	m := &t.meta[id]
	if m.refs > 1 {
		m.refs--
		return
	}
	delete(t.byKey, m.key)
	t.strBytes -= len(m.key.comm) + len(m.key.container)
	*m = threadMeta{}
	t.free = append(t.free, id)
}

// live reports whether id names a thread.
func (t *threadTable) live(id threadID) bool { return t.meta[id].refs > 0 }

// memoryBytes estimates the table's heap use. Strings shared with the
// caller (the sampler hands the same comm to many traces) are counted
// as if they were not.
func (t *threadTable) memoryBytes() int64 {
	n := int64(cap(t.meta)) * int64(unsafe.Sizeof(threadMeta{}))
	n += int64(cap(t.free)) * int64(unsafe.Sizeof(threadID(0)))
	n += mapBytes(len(t.byKey), int(unsafe.Sizeof(threadKey{})+unsafe.Sizeof(threadID(0))))
	return n + int64(t.strBytes)
}
