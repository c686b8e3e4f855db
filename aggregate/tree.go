package aggregate

import (
	"cmp"
	"math"
	"slices"
)

// OtherName names the node of a pruned tree (Query.MinShare) that stands
// for the children left out: it has no Module, Kind 0 and no children,
// its Self and Total are the sum of theirs, and it is the last child.
const OtherName = "…"

// otherFunc marks the other node while building; the function table never
// holds that many functions.
const otherFunc funcID = math.MaxUint32

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
//
// With q.MinShare set, nodes below that share of the samples are not
// built: each node's pruned children become one child named OtherName, so
// Self plus the children's Totals is still Total everywhere. A view that
// cannot show a node narrower than a cell asks for about a cell's share,
// and gets a tree of at most a few nodes per cell and depth.
func (s *Store) Tree(q Query, sym Symbolizer, inverted bool) *TreeNode {
	sc := s.gatherSymbolized(q, sym)
	b := buildTree(sc.stacks, len(sc.infos), inverted, minTotal(q.MinShare, sc.stacks))
	return b.build(sc.infos)
}

// minTotal is the smallest Total a node keeps under MinShare share: 0
// (keep all) when share is not above 0.
func minTotal(share float64, stacks []stackCount) int64 {
	if !(share > 0) {
		return 0
	}
	var total int64
	for i := range stacks {
		total += stacks[i].count
	}
	return int64(math.Ceil(min(share, 1) * float64(total)))
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
	// minTotal prunes: children whose Total is below it fold into one
	// other child (otherFunc). 0 keeps everything.
	minTotal int64

	// Scratch for grow, shared by all its calls. counts and sums are
	// indexed by function and all zero between uses.
	counts []int32
	sums   []int64
	seen   []funcID  // the functions met at one node
	tmp    []int32   // stacks being reordered
	runs   []treeRun // a stack: each call's children, above its callers'
}

// treeRun is a child being grown: the stacks idx[lo:hi] continue with fn
// and count total samples.
type treeRun struct {
	fn     funcID
	lo, hi int32
	total  int64
}

// buildTree builds the tree of the stacks' paths: root to leaf (fns
// reversed) or, inverted, leaf to root. Function IDs are below nfuncs.
// Children below minTotal are pruned (0 prunes nothing).
func buildTree(stacks []stackCount, nfuncs int, inverted bool, minTotal int64) *treeBuilder {
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
		nodes:    make([]tnode, 1, 1+2*len(stacks)),
		stacks:   stacks,
		paths:    paths,
		minTotal: minTotal,
		counts:   make([]int32, nfuncs),
		sums:     make([]int64, nfuncs),
		tmp:      make([]int32, len(stacks)),
	}
	b.nodes[0] = tnode{child: -1, next: -1}
	b.grow(0, idx, 0)
	return b
}

// grow counts the stacks idx, whose paths share the depth functions that
// lead to node, in node and builds node's subtree. It groups the stacks
// by their next function (a counting sort, one level at a time), so each
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
	// Count the stacks and samples that go on to each function.
	seen := b.seen[:0]
	n := int32(0)
	for _, i := range idx {
		count, p := b.stacks[i].count, b.paths[i]
		b.nodes[node].total += count
		if depth == len(p) {
			b.nodes[node].self += count
			continue
		}
		fn := p[depth]
		if b.counts[fn] == 0 {
			seen = append(seen, fn)
		}
		b.counts[fn]++
		b.sums[fn] += count
		n++
	}
	b.seen = seen
	// Give each function a run of idx, in the order first met, and move
	// the stacks there; counts becomes each run's write position.
	base := len(b.runs)
	pos := int32(0)
	for _, fn := range seen {
		c := b.counts[fn]
		b.runs = append(b.runs, treeRun{fn: fn, lo: pos, hi: pos + c, total: b.sums[fn]})
		b.counts[fn], b.sums[fn] = pos, 0
		pos += c
	}
	tmp := b.tmp[:n]
	for _, i := range idx {
		if p := b.paths[i]; depth < len(p) {
			fn := p[depth]
			tmp[b.counts[fn]] = i
			b.counts[fn]++
		}
	}
	for _, fn := range seen {
		b.counts[fn] = 0
	}
	idx = idx[:n]
	copy(idx, tmp)
	// Grow the children; their calls push their own runs above these.
	var other int64 // samples of the pruned children
	for r := base; r < base+len(seen); r++ {
		run := b.runs[r]
		if run.total < b.minTotal {
			other += run.total
			continue
		}
		b.grow(b.add(node, run.fn), idx[run.lo:run.hi], depth+1)
	}
	b.runs = b.runs[:base]
	if other > 0 {
		c := b.add(node, otherFunc)
		b.nodes[c].self, b.nodes[c].total = other, other
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
// sorted by Total descending, then Name and Module, the other node last.
func (b *treeBuilder) build(infos []funcInfo) *TreeNode {
	out := make([]TreeNode, len(b.nodes))
	kids := make([]*TreeNode, len(b.nodes)-1)
	for i := range b.nodes {
		n := &b.nodes[i]
		t := &out[i]
		t.Self, t.Total = n.self, n.total
		switch {
		case i == 0:
			t.Name = "all"
		case n.fn == otherFunc:
			t.Name = OtherName
		default:
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
		var other *TreeNode
		for c := n.child; c >= 0; c = b.nodes[c].next {
			if b.nodes[c].fn == otherFunc {
				other = &out[c]
				continue
			}
			t.Children = append(t.Children, &out[c])
		}
		slices.SortFunc(t.Children, compareTreeNodes)
		if other != nil {
			t.Children = append(t.Children, other)
		}
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
