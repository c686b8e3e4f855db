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
	return buildTree(sc.stacks, inverted).build(sc.infos)
}

// tnode is a tree node while building; children are a linked list.
type tnode struct {
	self, total int64
	fn          funcID
	child, next int32 // first child, next sibling; -1 for none
	kids        int32
}

// treeBuilder holds a tree in one slice; node 0 is the root.
type treeBuilder struct {
	nodes  []tnode
	stacks []stackCount
	paths  [][]funcID // by stack, in tree order
	keys   []uint64   // scratch for grow
}

// buildTree builds the tree of the stacks' paths: root to leaf (fns
// reversed) or, inverted, leaf to root.
func buildTree(stacks []stackCount, inverted bool) *treeBuilder {
	paths := make([][]funcID, len(stacks))
	if inverted {
		for i := range stacks {
			paths[i] = stacks[i].fns
		}
	} else {
		n := 0
		for i := range stacks {
			n += len(stacks[i].fns)
		}
		buf := make([]funcID, n)
		for i := range stacks {
			fns := stacks[i].fns
			p := buf[:len(fns):len(fns)]
			buf = buf[len(fns):]
			for j, fn := range fns {
				p[len(fns)-1-j] = fn
			}
			paths[i] = p
		}
	}
	idx := make([]int32, len(stacks))
	for i := range idx {
		idx[i] = int32(i)
	}
	b := &treeBuilder{
		nodes:  make([]tnode, 1, 1+2*len(stacks)),
		stacks: stacks,
		paths:  paths,
		keys:   make([]uint64, len(stacks)),
	}
	b.nodes[0] = tnode{child: -1, next: -1}
	b.grow(0, idx, 0)
	return b
}

// grow counts the stacks idx, whose paths share the depth functions that
// lead to node, in node and builds node's subtree. It sorts the stacks
// by their next function (a radix sort, one level at a time), so each
// child is made once, for one run of stacks, and never looked up. It
// reorders idx.
func (b *treeBuilder) grow(node int32, idx []int32, depth int) {
	if len(idx) == 1 {
		// One path left: a chain.
		p, count := b.paths[idx[0]], b.stacks[idx[0]].count
		b.nodes[node].total += count
		for _, fn := range p[depth:] {
			node = b.add(node, fn)
			b.nodes[node].total += count
		}
		b.nodes[node].self += count
		return
	}
	// The keys buffer is shared: a child's grow overwrites it, but only
	// after this call is done with its own keys.
	keys := b.keys[:0]
	for _, i := range idx {
		count, p := b.stacks[i].count, b.paths[i]
		b.nodes[node].total += count
		if depth == len(p) {
			b.nodes[node].self += count
			continue
		}
		keys = append(keys, uint64(p[depth])<<32|uint64(uint32(i)))
	}
	slices.Sort(keys)
	idx = idx[:len(keys)]
	for j, k := range keys {
		idx[j] = int32(uint32(k))
	}
	for lo := 0; lo < len(idx); {
		fn := b.paths[idx[lo]][depth]
		hi := lo + 1
		for hi < len(idx) && b.paths[idx[hi]][depth] == fn {
			hi++
		}
		b.grow(b.add(node, fn), idx[lo:hi], depth+1)
		lo = hi
	}
}

// add adds a child for fn to parent and returns it.
func (b *treeBuilder) add(parent int32, fn funcID) int32 {
	c := int32(len(b.nodes))
	b.nodes = append(b.nodes, tnode{fn: fn, child: -1, next: b.nodes[parent].child})
	p := &b.nodes[parent]
	p.child = c
	p.kids++
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
