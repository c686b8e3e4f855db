package aggregate

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// stackID names one distinct stack within a Store.
type stackID uint32

// noStack ends a hash chain.
const noStack = ^stackID(0)

// span locates one stack in the arena.
type span struct {
	off, end int
}

// stackTable interns stacks: each distinct []Frame is copied once into a
// single arena and named by its index in spans. Lookups go through a map
// from the stack's hash to the newest stack with that hash; stacks sharing
// a hash are chained through next. Nothing is modified once appended.
type stackTable struct {
	arena  []Frame
	spans  []span             // by stackID
	next   []stackID          // by stackID: older stack with the same hash
	byHash map[uint64]stackID // hash -> newest stack with that hash
}

func newStackTable() stackTable {
	return stackTable{byHash: make(map[uint64]stackID)}
}

func (t *stackTable) len() int { return len(t.spans) }

// frames returns the interned stack id. The caller must not modify it.
func (t *stackTable) frames(id stackID) []Frame {
	sp := t.spans[id]
	return t.arena[sp.off:sp.end:sp.end]
}

// intern returns the ID of the stack equal to fs, adding a copy of fs if
// there is none. h must be hashFrames(seed, fs) with the owner's seed.
func (t *stackTable) intern(h uint64, fs []Frame) stackID {
	head, ok := t.byHash[h]
	if ok {
		for id := head; id != noStack; id = t.next[id] {
			if slices.Equal(t.frames(id), fs) {
				return id
			}
		}
	} else {
		head = noStack
	}
	id := stackID(len(t.spans))
	off := len(t.arena)
	t.arena = append(t.arena, fs...)
	t.spans = append(t.spans, span{off: off, end: len(t.arena)})
	t.next = append(t.next, head)
	t.byHash[h] = id
	return id
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
// equal hashes and stackTable.intern resolves collisions by comparison.
func hashFrames(seed uint64, fs []Frame) uint64 {
	h := seed ^ uint64(len(fs))*hashK0
	for _, f := range fs {
		h = mum(h^f.Addr^hashK1, f.FileID^uint64(f.Kind)<<56^hashK2)
	}
	return mum(h^hashK0, h^hashK1)
}
