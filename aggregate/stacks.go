package aggregate

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// stackID names one distinct stack within a Store. IDs of freed stacks are
// reused; stackMeta.gen tells the uses apart.
type stackID uint32

// noStack ends a hash chain.
const noStack = ^stackID(0)

// stackMeta describes one slot of a stackTable.
type stackMeta struct {
	off, end int    // the stack's frames are arena[off:end]
	hash     uint64 // hashFrames of the frames
	next     stackID
	// refs counts the bucket entries that hold this stack; the stack is
	// freed when the last one expires.
	refs  uint32
	gen   uint32 // bumped each time the slot is freed
	live  bool
	kinds uint64 // kindBit of every frame
	// fns caches the stack's symbolized function IDs, leaf first, valid
	// while fnsEpoch equals the function table's epoch (0: none).
	fns      []funcID
	fnsEpoch uint32
}

// stackTable interns frames and stacks: each distinct Frame is stored
// once in frames and named by a frameID, each distinct stack once as a
// run of frameIDs in a single arena, named by its slot in meta. Lookups
// go through a map from the stack's hash to the newest stack with that
// hash; stacks sharing a hash are chained through next. A frame lives
// while a stack holds it, a stack while a bucket entry counts it.
type stackTable struct {
	arena  []frameID
	dead   int // arena slots of freed stacks, reclaimed by compact
	meta   []stackMeta
	free   []stackID // freed slots, reused by insert
	live   int
	byHash map[uint64]stackID // hash -> newest stack with that hash
	fnsLen int                // sum of len(meta[i].fns), for memory estimates
	frames frameTable
}

func newStackTable() stackTable {
	return stackTable{byHash: make(map[uint64]stackID), frames: newFrameTable()}
}

// len returns the number of live stacks.
func (t *stackTable) len() int { return t.live }

// ids returns the frame IDs of the live stack id. The caller must not
// modify them.
func (t *stackTable) ids(id stackID) []frameID {
	m := &t.meta[id]
	return t.arena[m.off:m.end:m.end]
}

// appendFrames appends the frames of the live stack id to dst.
func (t *stackTable) appendFrames(dst []Frame, id stackID) []Frame {
	for _, fid := range t.ids(id) {
		dst = append(dst, t.frames.frames[fid])
	}
	return dst
}

// stackLen returns the number of frames of the live stack id.
func (t *stackTable) stackLen(id stackID) int {
	return t.meta[id].end - t.meta[id].off
}

// equal reports whether the live stack id is fs.
func (t *stackTable) equal(id stackID, fs []Frame) bool {
	ids := t.ids(id)
	if len(ids) != len(fs) {
		return false
	}
	for i, fid := range ids {
		if t.frames.frames[fid] != fs[i] {
			return false
		}
	}
	return true
}

// lookup returns the ID of the live stack equal to fs. h must be
// hashFrames(seed, fs) with the owner's seed.
func (t *stackTable) lookup(h uint64, fs []Frame) (stackID, bool) {
	head, ok := t.byHash[h]
	if !ok {
		return 0, false
	}
	for id := head; id != noStack; id = t.meta[id].next {
		if t.equal(id, fs) {
			return id, true
		}
	}
	return 0, false
}

// insert adds a copy of fs, which must not be in the table yet, and
// returns its ID. The new stack has no references.
func (t *stackTable) insert(h uint64, fs []Frame) stackID {
	head, ok := t.byHash[h]
	if !ok {
		head = noStack
	}
	var id stackID
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		id = stackID(len(t.meta))
		t.meta = append(t.meta, stackMeta{})
	}
	off := len(t.arena)
	for _, f := range fs {
		t.arena = append(t.arena, t.frames.intern(f))
	}
	m := &t.meta[id]
	*m = stackMeta{
		off:   off,
		end:   len(t.arena),
		hash:  h,
		next:  head,
		gen:   m.gen,
		live:  true,
		kinds: kindMask(fs),
	}
	t.byHash[h] = id
	t.live++
	return id
}

// intern returns the ID of the stack equal to fs, inserting a copy of fs
// if there is none.
func (t *stackTable) intern(h uint64, fs []Frame) stackID {
	if id, ok := t.lookup(h, fs); ok {
		return id
	}
	return t.insert(h, fs)
}

// release drops one reference to id and frees the stack with the last.
func (t *stackTable) release(id stackID) {
	m := &t.meta[id]
	if m.refs > 1 {
		m.refs--
		return
	}
	t.remove(id)
}

// remove frees the stack id: it leaves its hash chain, its cached
// functions are dropped and its slot is reused by a later insert.
func (t *stackTable) remove(id stackID) {
	m := &t.meta[id]
	if !m.live {
		return
	}
	if head := t.byHash[m.hash]; head == id {
		if m.next == noStack {
			delete(t.byHash, m.hash)
		} else {
			t.byHash[m.hash] = m.next
		}
	} else {
		for p := head; p != noStack; p = t.meta[p].next {
			if t.meta[p].next == id {
				t.meta[p].next = m.next
				break
			}
		}
	}
	for _, fid := range t.ids(id) {
		t.frames.release(fid)
	}
	t.dead += m.end - m.off
	t.fnsLen -= len(m.fns)
	*m = stackMeta{gen: m.gen + 1}
	t.free = append(t.free, id)
	t.live--
	t.maybeCompact()
}

// minCompact is the arena size under which freed frames are not worth
// reclaiming.
const minCompact = 1 << 14

// maybeCompact copies the live stacks into a new arena once most of the
// old one is dead.
func (t *stackTable) maybeCompact() {
	if t.dead < minCompact || t.dead*2 < len(t.arena) {
		return
	}
	arena := make([]frameID, 0, (len(t.arena)-t.dead)*5/4)
	for i := range t.meta {
		m := &t.meta[i]
		if !m.live {
			continue
		}
		off := len(arena)
		arena = append(arena, t.arena[m.off:m.end]...)
		m.off, m.end = off, len(arena)
	}
	t.arena, t.dead = arena, 0
}

// setFns caches the function IDs of the live stack id for epoch.
func (t *stackTable) setFns(id stackID, fns []funcID, epoch uint32) {
	m := &t.meta[id]
	t.fnsLen += len(fns) - len(m.fns)
	m.fns, m.fnsEpoch = fns, epoch
}

// memoryBytes estimates the table's heap use.
func (t *stackTable) memoryBytes() int64 {
	n := int64(cap(t.arena)) * int64(unsafe.Sizeof(frameID(0)))
	n += int64(cap(t.meta)) * int64(unsafe.Sizeof(stackMeta{}))
	n += int64(cap(t.free)) * int64(unsafe.Sizeof(stackID(0)))
	n += mapBytes(len(t.byHash), int(unsafe.Sizeof(uint64(0))+unsafe.Sizeof(stackID(0))))
	n += int64(t.fnsLen) * int64(unsafe.Sizeof(funcID(0)))
	return n + t.frames.memoryBytes()
}

// frameID names one distinct Frame within a stackTable.
type frameID uint32

// frameTable interns frames, counting the stack slots that hold each.
type frameTable struct {
	frames  []Frame  // by frameID
	refs    []uint32 // by frameID; 0: free slot
	byFrame map[Frame]frameID
	free    []frameID
}

func newFrameTable() frameTable {
	return frameTable{byFrame: make(map[Frame]frameID)}
}

// intern returns the ID of f and takes a reference to it.
func (t *frameTable) intern(f Frame) frameID {
	id, ok := t.byFrame[f]
	if !ok {
		if n := len(t.free); n > 0 {
			id = t.free[n-1]
			t.free = t.free[:n-1]
			t.frames[id] = f
		} else {
			id = frameID(len(t.frames))
			t.frames = append(t.frames, f)
			t.refs = append(t.refs, 0)
		}
		t.byFrame[f] = id
	}
	t.refs[id]++
	return id
}

// release drops one reference to id and frees the frame with the last.
func (t *frameTable) release(id frameID) {
	if t.refs[id]--; t.refs[id] == 0 {
		delete(t.byFrame, t.frames[id])
		t.frames[id] = Frame{}
		t.free = append(t.free, id)
	}
}

func (t *frameTable) memoryBytes() int64 {
	n := int64(cap(t.frames))*int64(unsafe.Sizeof(Frame{})) + int64(cap(t.refs)+cap(t.free))*4
	return n + mapBytes(len(t.byFrame), int(unsafe.Sizeof(Frame{})+unsafe.Sizeof(frameID(0))))
}

// mapBytes estimates the heap use of a map holding n entries of kv bytes:
// Go's maps keep a control byte per slot and are between 7/16 and 7/8
// full, so count about twice the payload.
func mapBytes(n, kv int) int64 {
	return int64(n) * int64(kv+1) * 2
}

// otherKinds is the kindBit shared by kinds that have no bit of their own.
const otherKinds = 63

// kindBit returns the bit of kind k in a stackMeta.kinds mask.
func kindBit(k FrameKind) uint64 {
	return 1 << min(uint(k), otherKinds)
}

// kindMask returns the kinds of fs as a mask of kindBits.
func kindMask(fs []Frame) uint64 {
	var m uint64
	for _, f := range fs {
		m |= kindBit(f.Kind)
	}
	return m
}

// Odd 64-bit constants for hashFrames (from the fractional parts of
// irrational numbers; any odd, bit-dense values work).
const (
	hashK0 = 0x9e3779b97f4a7c15
	hashK1 = 0xc2b2ae3d27d4eb4f
	hashK2 = 0x165667b19e3779f9
)

// newHashSeed returns a random seed so that hash collisions, which are
// handled but slow, cannot be planned by a process shaping its stacks.
func newHashSeed() uint64 {
	return maphash.Comparable(maphash.MakeSeed(), uint64(0))
}

// mum multiplies a and b into 128 bits and folds the halves together.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashFrames hashes a stack. It is not cryptographic; equal stacks give
// equal hashes and stackTable.lookup resolves collisions by comparison.
func hashFrames(seed uint64, fs []Frame) uint64 {
	h := seed ^ uint64(len(fs))*hashK0
	for _, f := range fs {
		h = mum(h^f.Addr^hashK1, f.FileID^uint64(f.Kind)<<56^hashK2)
	}
	return mum(h^hashK0, h^hashK1)
}
