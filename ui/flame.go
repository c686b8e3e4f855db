package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// flameGraph is the graph the flamegraph view shows.
type flameGraph int

const (
	graphCall     flameGraph = iota // the call tree, root ("all") first
	graphInverted                   // the inverted tree, leaf functions first
	graphSandwich                   // a function's callers and callees
)

// Pruning: the view asks for trees without the nodes narrower than a
// quarter of a cell at the current zoom (they would be merged into a "…"
// anyway), but never prunes finer than minShareFloor of the samples, and
// a sandwich, whose function may be spread thin over the tree, always
// asks for that.
const (
	cellsPerNode  = 4
	minShareFloor = 1e-5
)

// flameState is what the user chose in one graph; it survives refreshes
// because it names frames by their paths.
type flameState struct {
	zoom      []flamePath // zoom steps in the graph pane; the last is shown
	sel       flameSel    // the selected frame
	trail     flameSel    // the frame the selection last left for its parent
	collapsed []flameSel  // frames whose children are hidden
}

func (s flameState) zoomPath() flamePath {
	if len(s.zoom) == 0 {
		return nil
	}
	return s.zoom[len(s.zoom)-1]
}

// flameRequest is what the view needs from the Source.
type flameRequest struct {
	graph    flameGraph
	fn       funcRef // the sandwich's function
	minShare float64 // Query.MinShare
}

// flameData answers a flameRequest.
type flameData struct {
	req              flameRequest
	tree             *aggregate.TreeNode // graphCall, graphInverted
	callers, callees *aggregate.TreeNode // graphSandwich (nil: not sampled)
	samples          int64               // samples in the window
}

// flameModel is the flamegraph view: the call tree (or the inverted tree,
// or a function's sandwich) as rows of frames, one row per depth.
type flameModel struct {
	common        Common
	width, height int
	inverted      bool      // `i`: the inverted graph
	flipped       bool      // `r`: the root at the bottom
	sandwich      []funcRef // the sandwiches visited; the last is shown
	states        [3]flameState
	search        searchState // matches is not used
	loaded        bool
	data          flameData

	// Derived from the above by relayout and select.
	lay     *flameLayout
	cur     int32 // the selected frame in lay, -1 for none
	off     int   // the first logical row on screen
	matched int64 // samples under search matches
}

func newFlameModel(c Common) flameModel {
	return flameModel{common: c, lay: &flameLayout{}, cur: -1}
}

// SetSize sets the view's size.
func (f *flameModel) SetSize(w, h int) {
	resized := w != f.width
	f.width, f.height = w, h
	if resized {
		*f = f.relayout()
	} else {
		f.off = f.scroll()
	}
}

func (f flameModel) graph() flameGraph {
	switch {
	case len(f.sandwich) > 0:
		return graphSandwich
	case f.inverted:
		return graphInverted
	}
	return graphCall
}

func (f flameModel) state() *flameState { return &f.states[f.graph()] }

// fn is the function of the sandwich shown.
func (f flameModel) fn() funcRef {
	if len(f.sandwich) == 0 {
		return funcRef{}
	}
	return f.sandwich[len(f.sandwich)-1]
}

// current reports whether the data held answers what is on screen.
func (f flameModel) current() bool {
	return f.loaded && f.data.req.graph == f.graph() && f.data.req.fn == f.fn()
}

// graphHeight is the number of lines for the graph, below the title.
func (f flameModel) graphHeight() int { return max(f.height-1, 1) }

// request is what the view asks the Source for.
func (f flameModel) request() flameRequest {
	r := flameRequest{graph: f.graph(), fn: f.fn(), minShare: minShareFloor}
	if r.graph == graphSandwich {
		return r
	}
	share := 1.0
	if f.current() && f.data.tree != nil && f.data.tree.Total > 0 {
		chain := resolve(f.data.tree, f.state().zoomPath())
		share = float64(chain[len(chain)-1].Total) / float64(f.data.tree.Total)
	}
	r.minShare = max(share/float64(cellsPerNode*max(f.width, 1)), minShareFloor)
	return r
}

// fetchFlame answers req from src: it runs in a tea.Cmd. samples is the
// window's sample count, from the Top answer.
func fetchFlame(src Source, q aggregate.Query, req flameRequest, samples int64) *flameData {
	q.MinShare = req.minShare
	d := &flameData{req: req, samples: samples}
	if req.graph == graphSandwich {
		d.callers = sandwichTree(src.Tree(q, true), req.fn)
		d.callees = sandwichTree(src.Tree(q, false), req.fn)
		return d
	}
	d.tree = src.Tree(q, req.graph == graphInverted)
	if d.tree != nil {
		d.samples = d.tree.Total
	}
	return d
}

// setData shows an answer; one for another graph is dropped.
func (f flameModel) setData(d flameData) flameModel {
	if d.req.graph != f.graph() || d.req.fn != f.fn() {
		return f
	}
	f.data, f.loaded = d, true
	f.matched = f.countMatches()
	return f.relayout()
}

// openSandwich shows the sandwich of fn, on top of what was shown.
func (f flameModel) openSandwich(fn funcRef) flameModel {
	if len(f.sandwich) > 0 && f.fn() == fn {
		return f
	}
	f.sandwich = append(slices.Clip(f.sandwich), fn)
	f.states[graphSandwich] = flameState{sel: flameSel{pane: paneCallees}}
	return f.relayout()
}

// relayout lays the graph out again after the data, the zoom, the
// collapsed frames, the search or the width changed.
func (f flameModel) relayout() flameModel {
	opts := layoutOptions{width: f.width, query: f.search.query}
	st := f.state()
	switch {
	case !f.current():
		f.lay = &flameLayout{width: f.width}
	case f.graph() == graphSandwich:
		opts.collapsed = f.collapsedNodes()
		f.lay = layoutSandwich(f.data.callers, f.data.callees, opts)
	default:
		opts.collapsed = f.collapsedNodes()
		f.lay = layoutGraph(resolve(f.data.tree, st.zoomPath()), opts)
	}
	f.cur, _ = f.lay.find(st.sel)
	f.off = f.scroll()
	return f
}

// paneRoot is the node paths of pane start from.
func (f flameModel) paneRoot(p flamePane) *aggregate.TreeNode {
	switch p {
	case paneCallers:
		return f.data.callers
	case paneCallees:
		return f.data.callees
	}
	return f.data.tree
}

// collapsedNodes finds the collapsed frames in the data.
func (f flameModel) collapsedNodes() map[*aggregate.TreeNode]bool {
	st := f.state()
	if len(st.collapsed) == 0 {
		return nil
	}
	out := make(map[*aggregate.TreeNode]bool, len(st.collapsed))
	for _, s := range st.collapsed {
		if chain := resolve(f.paneRoot(s.pane), s.path); len(chain) == len(s.path)+1 {
			out[chain[len(chain)-1]] = true
		}
	}
	return out
}

// countMatches counts the samples under search matches: in the whole
// graph, or under a sandwich's function.
func (f flameModel) countMatches() int64 {
	q := f.search.query
	if q == "" || !f.current() {
		return 0
	}
	if f.graph() == graphSandwich {
		n := f.data.callees
		switch {
		case n == nil:
			return 0
		case indexFold(n.Name, q) >= 0:
			return n.Total
		}
		return matchedSamples(n, q)
	}
	if f.data.tree == nil {
		return 0
	}
	return matchedSamples(f.data.tree, q)
}

// scroll returns the first logical row to show, keeping the selected
// frame in view.
func (f flameModel) scroll() int {
	n, h := len(f.lay.rows), f.graphHeight()
	if n <= h {
		return 0
	}
	off := max(min(f.off, n-h), 0)
	if f.cur >= 0 {
		r := int(f.lay.frames[f.cur].row)
		if r < off {
			off = r
		}
		if r >= off+h {
			off = r - h + 1
		}
	}
	return off
}

// lineRow is the logical row shown on line y of the graph (0 is the line
// below the title), or -1.
func (f flameModel) lineRow(y int) int {
	h := f.graphHeight()
	if y < 0 || y >= h {
		return -1
	}
	r := f.off + y
	if f.flipped {
		r = f.off + h - 1 - y
	}
	if r >= len(f.lay.rows) {
		return -1
	}
	return r
}

// typing reports whether keys go to the search prompt.
func (f flameModel) typing() bool { return f.search.typing }

// Update handles keys and the mouse.
func (f flameModel) Update(msg tea.Msg) (flameModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if f.search.typing {
			return f.typingKey(msg), nil
		}
		return f.key(msg)
	case bodyClickMsg:
		if i := f.lay.frameAt(f.lineRow(msg.y-1), msg.x); i >= 0 && f.lay.frames[i].node != nil {
			f = f.selectFrame(i)
			return f.zoom()
		}
	case bodyWheelMsg:
		if msg.delta < 0 {
			return f.vertical(-1), nil
		}
		return f.vertical(1), nil
	}
	return f, nil
}

func (f flameModel) key(msg tea.KeyPressMsg) (flameModel, tea.Cmd) {
	km := f.common.Keys
	switch {
	case key.Matches(msg, km.Up):
		return f.vertical(-1), nil
	case key.Matches(msg, km.Down):
		return f.vertical(1), nil
	case key.Matches(msg, km.Left):
		return f.horizontal(-1), nil
	case key.Matches(msg, km.Right):
		return f.horizontal(1), nil
	case key.Matches(msg, km.Home):
		if len(f.lay.frames) > 0 {
			return f.selectFrame(f.lay.focus), nil
		}
	case key.Matches(msg, km.Zoom):
		return f.zoom()
	case key.Matches(msg, km.Back):
		switch {
		case f.search.query != "":
			f.search = searchState{}
			f.matched = 0
			return f.relayout(), nil
		case len(f.state().zoom) > 0 || len(f.sandwich) > 0:
			return f.zoomOut()
		}
		return f, emit(clearFiltersMsg{})
	case key.Matches(msg, km.ZoomOut):
		return f.zoomOut()
	case key.Matches(msg, km.Collapse):
		return f.collapse(), nil
	case key.Matches(msg, km.Expand):
		return f.expand(), nil
	case key.Matches(msg, km.Search):
		f.search = searchState{typing: true, query: f.search.query}
	case key.Matches(msg, km.NextMatch):
		return f.jump(1), nil
	case key.Matches(msg, km.PrevMatch):
		return f.jump(-1), nil
	case key.Matches(msg, km.Invert):
		if len(f.sandwich) == 0 {
			f.inverted = !f.inverted
			f.matched = f.countMatches()
			return f.relayout(), emit(requeryMsg{})
		}
	case key.Matches(msg, km.Flip):
		f.flipped = !f.flipped
	case key.Matches(msg, km.Sandwich):
		if fn, ok := f.selectedFunc(); ok {
			f = f.openSandwich(fn)
			return f, emit(requeryMsg{})
		}
	}
	return f, nil
}

// typingKey edits the search; the graph highlights matches as it goes.
func (f flameModel) typingKey(msg tea.KeyPressMsg) flameModel {
	km := f.common.Keys
	switch {
	case key.Matches(msg, km.Accept):
		f.search.typing = false
		return f
	case key.Matches(msg, km.Back):
		f.search = searchState{}
	case msg.Code == tea.KeyUp:
		return f.vertical(-1)
	case msg.Code == tea.KeyDown:
		return f.vertical(1)
	case !f.search.edit(msg):
		return f
	}
	f.matched = f.countMatches()
	return f.relayout()
}

// selectFrame selects frame i.
func (f flameModel) selectFrame(i int32) flameModel {
	st := f.states[f.graph()]
	st.sel = f.lay.pathOf(i)
	f.states[f.graph()] = st
	f.cur = i
	f.off = f.scroll()
	return f
}

// vertical moves the selection one line up (dy -1) or down: to the parent
// or to a child, whichever is there.
func (f flameModel) vertical(dy int) flameModel {
	if f.cur < 0 {
		return f
	}
	if f.flipped {
		dy = -dy
	}
	l := f.lay
	c := &l.frames[f.cur]
	row := int(c.row) + dy
	if c.parent >= 0 && int(l.frames[c.parent].row) == row {
		st := f.states[f.graph()]
		st.trail = st.sel
		f.states[f.graph()] = st
		return f.selectFrame(c.parent)
	}
	pane := c.pane
	if f.cur == l.root && f.graph() == graphSandwich && dy < 0 {
		pane = paneCallers
	}
	if l.childRow(f.cur, pane) != row {
		return f
	}
	// Back to the child the selection came from, else the widest.
	if t, ok := l.find(f.state().trail); ok && l.frames[t].parent == f.cur && int(l.frames[t].row) == row {
		return f.selectFrame(t)
	}
	if k := l.firstChild(f.cur, pane); k >= 0 {
		return f.selectFrame(k)
	}
	return f
}

// horizontal moves the selection to the next frame left (dx -1) or right
// on its row, rests skipped.
func (f flameModel) horizontal(dx int) flameModel {
	if f.cur < 0 {
		return f
	}
	s := f.lay.rows[f.lay.frames[f.cur].row]
	for i := f.cur + int32(dx); i >= s.lo && i < s.hi; i += int32(dx) {
		if f.lay.frames[i].node != nil {
			return f.selectFrame(i)
		}
	}
	return f
}

// selectedFunc is the function of the selected frame; the graph's root is
// none.
func (f flameModel) selectedFunc() (funcRef, bool) {
	if f.cur < 0 {
		return funcRef{}, false
	}
	fr := &f.lay.frames[f.cur]
	if fr.node == nil || (fr.parent < 0 && f.graph() != graphSandwich) {
		return funcRef{}, false
	}
	return funcRef{fr.node.Name, fr.node.Module}, true
}

// zoom zooms into the selected frame: it becomes the full width with its
// ancestors above. In a sandwich it shows the sandwich of the selected
// function instead.
func (f flameModel) zoom() (flameModel, tea.Cmd) {
	if f.cur < 0 || f.lay.frames[f.cur].node == nil {
		return f, nil
	}
	if f.graph() == graphSandwich {
		if fn, ok := f.selectedFunc(); ok && fn != f.fn() {
			return f.openSandwich(fn), emit(requeryMsg{})
		}
		return f, nil
	}
	st := f.states[f.graph()]
	target := slices.Clone(st.sel.path)
	if slices.Equal(target, st.zoomPath()) {
		return f, nil
	}
	st.zoom = append(slices.Clip(st.zoom), target)
	f.states[f.graph()] = st
	// Finer data for the zoomed frame.
	return f.relayout(), emit(requeryMsg{})
}

// zoomOut undoes the last zoom, or goes back to the previous sandwich
// (and from the first one to the graph).
func (f flameModel) zoomOut() (flameModel, tea.Cmd) {
	if f.graph() == graphSandwich {
		f.sandwich = slices.Clip(f.sandwich[:len(f.sandwich)-1])
		if len(f.sandwich) > 0 {
			f.states[graphSandwich] = flameState{sel: flameSel{pane: paneCallees}}
		}
		f.matched = f.countMatches()
		return f.relayout(), emit(requeryMsg{})
	}
	st := f.states[f.graph()]
	if len(st.zoom) == 0 {
		return f, nil
	}
	st.zoom = slices.Clip(st.zoom[:len(st.zoom)-1])
	f.states[f.graph()] = st
	return f.relayout(), nil
}

// collapse hides the children of the selected frame.
func (f flameModel) collapse() flameModel {
	if f.cur < 0 {
		return f
	}
	fr := &f.lay.frames[f.cur]
	if fr.node == nil || len(fr.node.Children) == 0 || fr.is(frameAncestor|frameCollapsed) {
		return f
	}
	st := f.states[f.graph()]
	st.collapsed = append(slices.Clip(st.collapsed), st.sel)
	f.states[f.graph()] = st
	return f.relayout()
}

// expand shows the children of the selected frame again, and those of
// every collapsed frame under it.
func (f flameModel) expand() flameModel {
	st := f.states[f.graph()]
	if f.cur < 0 || len(st.collapsed) == 0 {
		return f
	}
	sel := f.lay.pathOf(f.cur)
	st.collapsed = slices.DeleteFunc(slices.Clone(st.collapsed), func(s flameSel) bool { return s.within(sel) })
	f.states[f.graph()] = st
	return f.relayout()
}

// jump selects the next search match after the selection in reading
// order (dir 1) or the previous one (dir -1), wrapping around.
func (f flameModel) jump(dir int) flameModel {
	var order []int32 // matching frames, top line first, then by x
	n := len(f.lay.rows)
	for y := range n {
		r := y
		if f.flipped {
			r = n - 1 - y
		}
		s := f.lay.rows[r]
		for i := s.lo; i < s.hi; i++ {
			if f.lay.frames[i].is(frameMatch) {
				order = append(order, i)
			}
		}
	}
	if len(order) == 0 {
		return f
	}
	k := slices.Index(order, f.cur)
	switch {
	case k < 0 && dir > 0:
		k = 0
	case k < 0:
		k = len(order) - 1
	default:
		k = (k + dir + len(order)) % len(order)
	}
	return f.selectFrame(order[k])
}
