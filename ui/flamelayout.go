package ui

import (
	"slices"

	"github.com/pftop/pftop/aggregate"
)

// The flamegraph's layout: which frame goes where, in cells. It is a pure
// function of the tree, the zoom, the collapsed nodes, the search and the
// width, computed when one of them changes; rendering and navigation read
// it.
//
// Widths follow the largest-remainder method: a node's width is shared
// among its children and its self time (the gap after its children) in
// proportion to their samples, every share rounded down, and the cells
// left over go to the largest remainders. So the children and the gap fill
// their parent exactly, and the widths of a row never drift from the
// row above. A child whose exact share is less than one cell is merged,
// with its narrow siblings and the pruned "…" node of a pruned tree, into
// one "…" rest after the wide children; if the rest rounds to nothing while
// the gap has a cell, the rest takes that cell, so narrow children never
// vanish without a trace.

// flamePane tells the parts of a graph apart.
type flamePane uint8

const (
	paneGraph   flamePane = iota // the call or inverted graph
	paneCallees                  // a sandwich's function and its callees
	paneCallers                  // a sandwich's callers, above the function
)

// frameFlags mark frames.
type frameFlags uint8

const (
	frameRest      frameFlags = 1 << iota // narrow children merged ("…")
	frameCollapsed                        // children hidden by `-`
	frameMatch                            // the search matches its name
	frameAncestor                         // an ancestor of the zoomed frame
)

// flameFrame is one frame on screen.
type flameFrame struct {
	node   *aggregate.TreeNode // nil for a rest
	total  int64               // samples in it (a rest's: those merged)
	x, w   int32               // cells
	row    int32               // logical row: 0 is the top before flipping
	parent int32               // the parent's frame, -1 for the root
	pane   flamePane
	flags  frameFlags
}

func (f *flameFrame) is(fl frameFlags) bool { return f.flags&fl != 0 }

// frameSpan is a row: frames[lo:hi], ordered by x.
type frameSpan struct{ lo, hi int32 }

// flameLayout is a laid-out graph.
type flameLayout struct {
	width  int
	frames []flameFrame
	rows   []frameSpan // by logical row, top first
	// root is the frame paths start from: the graph's root ("all"), or a
	// sandwich's function; focus is the zoomed frame (the sandwich's
	// function).
	root, focus int32
}

// layoutOptions are the inputs of a layout besides the tree.
type layoutOptions struct {
	width     int
	collapsed map[*aggregate.TreeNode]bool // nodes whose children are hidden
	query     string                       // search: frames whose name contains it match
}

// layoutBuilder holds the scratch of one layout.
type layoutBuilder struct {
	opts  layoutOptions
	l     *flameLayout
	items []lrItem
	order []int
}

// lrItem is one share in a largest-remainder split.
type lrItem struct {
	weight int64
	rem    int64
	cells  int64
}

// layoutGraph lays out a graph zoomed on the last node of chain: chain[0]
// is the root and the nodes before the last are drawn above it as
// full-width rows, its ancestors.
func layoutGraph(chain []*aggregate.TreeNode, opts layoutOptions) *flameLayout {
	b := newLayoutBuilder(opts)
	if len(chain) == 0 || opts.width <= 0 {
		return b.l
	}
	for i, n := range chain {
		f := b.frame(n, n.Total, 0, int32(opts.width), int32(i-1), paneGraph)
		if i < len(chain)-1 {
			f.flags |= frameAncestor
			f.flags &^= frameCollapsed
		}
		if i == 0 {
			f.flags &^= frameMatch // "all" is not a function
		}
		b.l.rows = append(b.l.rows, frameSpan{int32(i), int32(i + 1)})
	}
	last := int32(len(chain) - 1)
	b.l.focus = last
	b.l.rows = append(b.l.rows, b.grow(last, chain[last], paneGraph)...)
	b.number()
	return b.l
}

// layoutSandwich lays out a sandwich: the function (the root of both
// trees) in the middle at full width, its callers growing upward from it
// and its callees downward.
func layoutSandwich(callers, callees *aggregate.TreeNode, opts layoutOptions) *flameLayout {
	b := newLayoutBuilder(opts)
	if callees == nil || opts.width <= 0 {
		return b.l
	}
	b.frame(callees, callees.Total, 0, int32(opts.width), -1, paneCallees)
	down := b.grow(0, callees, paneCallees)
	var up []frameSpan
	if callers != nil {
		up = b.grow(0, callers, paneCallers)
	}
	b.l.rows = make([]frameSpan, 0, len(up)+1+len(down))
	for i := len(up) - 1; i >= 0; i-- {
		b.l.rows = append(b.l.rows, up[i])
	}
	b.l.rows = append(b.l.rows, frameSpan{0, 1})
	b.l.rows = append(b.l.rows, down...)
	b.number()
	return b.l
}

func newLayoutBuilder(opts layoutOptions) *layoutBuilder {
	return &layoutBuilder{opts: opts, l: &flameLayout{width: max(opts.width, 0)}}
}

// number sets each frame's row from the rows.
func (b *layoutBuilder) number() {
	for r, s := range b.l.rows {
		for i := s.lo; i < s.hi; i++ {
			b.l.frames[i].row = int32(r)
		}
	}
}

// frame appends a frame of node n.
func (b *layoutBuilder) frame(n *aggregate.TreeNode, total int64, x, w, parent int32, pane flamePane) *flameFrame {
	f := flameFrame{node: n, total: total, x: x, w: w, parent: parent, pane: pane}
	if n == nil {
		f.flags |= frameRest
	} else {
		if b.opts.collapsed[n] && len(n.Children) > 0 {
			f.flags |= frameCollapsed
		}
		if b.opts.query != "" && indexFold(n.Name, b.opts.query) >= 0 {
			f.flags |= frameMatch
		}
	}
	b.l.frames = append(b.l.frames, f)
	return &b.l.frames[len(b.l.frames)-1]
}

// grow lays out the descendants of frame from, whose node's children are
// those of n, one level at a time, and returns the levels.
func (b *layoutBuilder) grow(from int32, n *aggregate.TreeNode, pane flamePane) []frameSpan {
	var levels []frameSpan
	start := int32(len(b.l.frames))
	if f := b.l.frames[from]; !f.is(frameCollapsed) {
		b.children(n, from, f.x, f.w, pane)
	}
	for end := int32(len(b.l.frames)); end > start; end = int32(len(b.l.frames)) {
		levels = append(levels, frameSpan{start, end})
		for i := start; i < end; i++ {
			f := b.l.frames[i]
			if f.node != nil && !f.is(frameCollapsed) {
				b.children(f.node, i, f.x, f.w, pane)
			}
		}
		start = end
	}
	return levels
}

// isOther reports whether n stands for the children a pruned tree left
// out.
func isOther(n *aggregate.TreeNode) bool {
	return n.Name == aggregate.OtherName && n.Module == "" && len(n.Children) == 0
}

// children lays out the children of n in the w cells from x, as frames
// whose parent is the frame parent.
func (b *layoutBuilder) children(n *aggregate.TreeNode, parent, x, w int32, pane flamePane) {
	if len(n.Children) == 0 || w <= 0 {
		return
	}
	var sum int64
	for _, c := range n.Children {
		sum += max(c.Total, 0)
	}
	denom := max(n.Total, sum)
	if denom <= 0 {
		return
	}
	W := int64(w)
	// Wide children get a share each; narrow ones and the pruned ones
	// share the rest.
	items := b.items[:0]
	var rest int64
	for _, c := range n.Children {
		t := max(c.Total, 0)
		if isOther(c) || t*W < denom {
			rest += t
			continue
		}
		items = append(items, lrItem{weight: t})
	}
	wide := len(items)
	items = append(items, lrItem{weight: rest}, lrItem{weight: denom - sum})
	b.items = items
	b.split(W, denom)
	restItem, self := &items[wide], &items[wide+1]
	if rest > 0 && restItem.cells == 0 && self.cells > 0 {
		restItem.cells, self.cells = 1, self.cells-1
	}
	i := 0
	for _, c := range n.Children {
		t := max(c.Total, 0)
		if isOther(c) || t*W < denom {
			continue
		}
		cw := int32(items[i].cells)
		b.frame(c, t, x, cw, parent, pane)
		x += cw
		i++
	}
	if restItem.cells > 0 {
		b.frame(nil, rest, x, int32(restItem.cells), parent, pane)
	}
}

// split shares w cells among b.items in proportion to their weights,
// which add up to denom, by the largest-remainder method: ties go to the
// larger weight, then to the earlier item.
func (b *layoutBuilder) split(w, denom int64) {
	items := b.items
	left := w
	for i := range items {
		q := items[i].weight * w
		items[i].cells, items[i].rem = q/denom, q%denom
		left -= items[i].cells
	}
	if left <= 0 {
		return
	}
	order := b.order[:0]
	for i := range items {
		if items[i].rem > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, c int) int {
		x, y := &items[a], &items[c]
		switch {
		case x.rem != y.rem:
			return cmpDesc(x.rem, y.rem)
		case x.weight != y.weight:
			return cmpDesc(x.weight, y.weight)
		}
		return a - c
	})
	for _, i := range order[:min(int(left), len(order))] {
		items[i].cells++
	}
	b.order = order
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// frameAt returns the frame on logical row r at cell x, or -1.
func (l *flameLayout) frameAt(r, x int) int32 {
	if r < 0 || r >= len(l.rows) {
		return -1
	}
	s := l.rows[r]
	fs := l.frames[s.lo:s.hi]
	i, _ := slices.BinarySearchFunc(fs, x, func(f flameFrame, x int) int {
		switch {
		case int(f.x+f.w) <= x:
			return -1
		case int(f.x) > x:
			return 1
		}
		return 0
	})
	if i < len(fs) && int(fs[i].x) <= x && x < int(fs[i].x+fs[i].w) {
		return s.lo + int32(i)
	}
	return -1
}

// childRow is the logical row where the children of frame i in pane
// grow: below it, or above it for a sandwich's callers.
func (l *flameLayout) childRow(i int32, pane flamePane) int {
	if pane == paneCallers {
		return int(l.frames[i].row) - 1
	}
	return int(l.frames[i].row) + 1
}

// child returns the child frame of frame i in pane whose node is id, or
// -1.
func (l *flameLayout) child(i int32, pane flamePane, id frameID) int32 {
	r := l.childRow(i, pane)
	if r < 0 || r >= len(l.rows) {
		return -1
	}
	s := l.rows[r]
	for j := s.lo; j < s.hi; j++ {
		f := &l.frames[j]
		if f.parent == i && f.pane == pane && f.node != nil && f.node.Name == id.name && f.node.Module == id.module {
			return j
		}
	}
	return -1
}

// firstChild returns the first (widest) child frame of frame i in pane
// that is not a rest, or -1.
func (l *flameLayout) firstChild(i int32, pane flamePane) int32 {
	r := l.childRow(i, pane)
	if r < 0 || r >= len(l.rows) {
		return -1
	}
	s := l.rows[r]
	for j := s.lo; j < s.hi; j++ {
		if f := &l.frames[j]; f.parent == i && f.pane == pane && f.node != nil {
			return j
		}
	}
	return -1
}

// pathOf returns where frame i is: its pane and the path to it from the
// layout's root.
func (l *flameLayout) pathOf(i int32) flameSel {
	if i < 0 || int(i) >= len(l.frames) {
		return flameSel{}
	}
	pane := l.frames[i].pane
	var p flamePath
	for ; i >= 0 && l.frames[i].parent >= 0; i = l.frames[i].parent {
		p = append(p, idOf(l.frames[i].node))
	}
	slices.Reverse(p)
	if len(p) == 0 && pane == paneCallers {
		pane = paneCallees
	}
	return flameSel{pane: pane, path: p}
}

// find returns the frame of s, or the deepest frame on its path that is
// on screen when s itself is not (hidden in a rest or under a collapsed
// node, or gone from the data), and whether it found s itself. It
// returns -1 for an empty layout.
func (l *flameLayout) find(s flameSel) (int32, bool) {
	if len(l.frames) == 0 {
		return -1, false
	}
	i := l.root
	for _, id := range s.path {
		c := l.child(i, s.pane, id)
		if c < 0 {
			return i, false
		}
		i = c
	}
	return i, true
}
