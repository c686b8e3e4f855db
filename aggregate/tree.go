package aggregate

import (
	"cmp"
	"slices"
)

// Tree returns the call tree of the samples q selects: the root, named
// "all", counts every sample, its children are the outermost functions
// and each node's children the functions it calls. Nodes merge by (Name,
// Module) among siblings; every Location of a frame is a node, so
// inlined calls are nodes of their own.
//
// With inverted set it returns the callers tree instead: the root's
// children are the leaf functions and each node's children its callers.
//
// A node's Total counts the samples whose path goes through it and its
// Self those whose path ends at it (Total minus its children's Totals):
// in the call tree the samples in that function itself, in the inverted
// tree the samples whose outermost caller it is. The root's Self counts
// samples with no frames. sym may be nil, which names frames by address.
func (s *Store) Tree(q Query, sym Symbolizer, inverted bool) *TreeNode {
	sc := s.gatherSymbolized(q, sym)
	b := newTreeBuilder()
	for i := range sc.stacks {
		st := &sc.stacks[i]
		b.add(st.fns, st.count, inverted)
	}
	return b.build(sc.infos)
}

// wideAt is the number of children past which a node's children are
// found through treeBuilder.wide instead of its sibling list.
const wideAt = 8

// tnode is a tree node while building; children are a linked list.
type tnode struct {
	fn          funcID
	self, total int64
	child, next int32 // first child, next sibling; -1 for none
	kids        int32
}

// treeBuilder builds a tree in one slice, looking children up by a short
// list walk or, for nodes with many children, a map.
type treeBuilder struct {
	nodes []tnode
	wide  map[uint64]int32 // parent<<32|fn -> child, for wide parents
}

func newTreeBuilder() *treeBuilder {
	return &treeBuilder{nodes: []tnode{{child: -1, next: -1}}, wide: map[uint64]int32{}}
}

// add counts one stack's path: fns is leaf first, the call tree walks it
// from the end, the inverted one from the start.
func (b *treeBuilder) add(fns []funcID, count int64, inverted bool) {
	node := int32(0)
	b.nodes[0].total += count
	for i := range fns {
		fn := fns[i]
		if !inverted {
			fn = fns[len(fns)-1-i]
		}
		node = b.child(node, fn)
		b.nodes[node].total += count
	}
	b.nodes[node].self += count
}

// child returns the child of parent for fn, adding it when needed.
func (b *treeBuilder) child(parent int32, fn funcID) int32 {
	p := &b.nodes[parent]
	if p.kids > wideAt {
		if c, ok := b.wide[uint64(parent)<<32|uint64(fn)]; ok {
			return c
		}
	} else {
		for c := p.child; c >= 0; c = b.nodes[c].next {
			if b.nodes[c].fn == fn {
				return c
			}
		}
	}
	c := int32(len(b.nodes))
	b.nodes = append(b.nodes, tnode{fn: fn, child: -1, next: p.child})
	p = &b.nodes[parent]
	p.child = c
	p.kids++
	switch {
	case p.kids == wideAt+1:
		for k := c; k >= 0; k = b.nodes[k].next {
			b.wide[uint64(parent)<<32|uint64(b.nodes[k].fn)] = k
		}
	case p.kids > wideAt+1:
		b.wide[uint64(parent)<<32|uint64(fn)] = c
	}
	return c
}

// build converts the tree to TreeNodes, all in one allocation, children
// sorted by Total descending, then Name and Module.
func (b *treeBuilder) build(infos []funcInfo) *TreeNode {
	out := make([]TreeNode, len(b.nodes))
	kids := make([]*TreeNode, len(b.nodes)-1)
	for i := range b.nodes {
		n := &b.nodes[i]
		t := &out[i]
		t.Self, t.Total = n.self, n.total
		if i == 0 {
			t.Name = "all"
		} else {
			fi := &infos[n.fn]
			t.Name, t.Module, t.Kind = fi.name, fi.module, fi.kind
		}
	}
	for i := range b.nodes {
		n := &b.nodes[i]
		if n.kids == 0 {
			continue
		}
		t := &out[i]
		t.Children, kids = kids[:0:n.kids], kids[n.kids:]
		for c := n.child; c >= 0; c = b.nodes[c].next {
			t.Children = append(t.Children, &out[c])
		}
		slices.SortFunc(t.Children, compareTreeNodes)
	}
	return &out[0]
}

func compareTreeNodes(a, b *TreeNode) int {
	if c := cmp.Compare(b.Total, a.Total); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Module, b.Module)
}
