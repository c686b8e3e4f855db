package ui

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/pftop/pftop/aggregate"
)

// layoutText prints a layout one row per line: each frame as x+width and
// its name ("…" and its samples for a rest), marked + when collapsed, *
// when matching the search and ^ when an ancestor of the zoom.
func layoutText(l *flameLayout) string {
	var b strings.Builder
	for r, s := range l.rows {
		fmt.Fprintf(&b, "%2d:", r)
		for i := s.lo; i < s.hi; i++ {
			f := &l.frames[i]
			name := "…(" + strconv.FormatInt(f.total, 10) + ")"
			if f.node != nil {
				name = f.node.Name
			}
			for _, m := range []struct {
				flag frameFlags
				mark string
			}{{frameCollapsed, "+"}, {frameMatch, "*"}, {frameAncestor, "^"}} {
				if f.is(m.flag) {
					name += m.mark
				}
			}
			fmt.Fprintf(&b, " %d+%d %s", f.x, f.w, name)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func stacks(spec ...string) []fakeStack {
	var out []fakeStack
	for _, s := range spec {
		i := strings.LastIndexByte(s, ' ')
		n, err := strconv.ParseInt(s[i+1:], 10, 64)
		if err != nil {
			panic(s)
		}
		out = append(out, fakeStack{s[:i], n})
	}
	return out
}

func graphOf(tree *aggregate.TreeNode, width int) *flameLayout {
	return layoutGraph([]*aggregate.TreeNode{tree}, layoutOptions{width: width})
}

func TestFlameLayout(t *testing.T) {
	call, inv := treeOf(fakeStacks(), false), treeOf(fakeStacks(), true)
	work := flamePath{{"runtime.main", "spinner"}, {"main.main", "spinner"}, {"main.work", "spinner"}}
	for _, c := range []struct {
		name string
		l    *flameLayout
	}{
		// 55/15/15/15 of 100 in 10 cells: rounding each share would give
		// 6+2+2+2 = 12 cells; the largest remainders give 6+2+1+1 (the
		// tie among the 0.5 remainders goes to the larger weight, then to
		// the first). In d's 6 cells, x, y and the self time have 2.18,
		// 1.09 and 2.73 cells: 2, 1 and 3.
		{"rounding", graphOf(treeOf(stacks("a 15", "b 15", "c 15", "d 25", "d;x 20", "d;y 10"), false), 10)},
		// Thirty children of 1% of "a" (10 cells) are merged into one
		// rest of 3 cells; in "b", a child of 0.33 cells would lose the
		// rounding to the self time (0.43), and takes its cell.
		{"narrow", graphOf(treeOf(append(stacks("a 70", "b 4", "b;big 85", "b;small 3"), tiny("a", 30)...), false), 20)},
		// The pruned "…" of the store joins the rest, wide as it is.
		{"pruned", graphOf(treeOf(stacks("a 40", "a;b 20", "a;"+aggregate.OtherName+" 20", aggregate.OtherName+" 30"), false), 30)},
		{"fake", graphOf(call, 120)},
		{"zoom", layoutGraph(resolve(call, work), layoutOptions{width: 120})},
		{"collapse", layoutGraph([]*aggregate.TreeNode{call}, layoutOptions{width: 120,
			collapsed: map[*aggregate.TreeNode]bool{resolve(call, work)[3]: true}})},
		{"inverted", graphOf(inv, 120)},
		{"search", layoutGraph([]*aggregate.TreeNode{call}, layoutOptions{width: 120, query: "MALLOC"})},
		{"sandwich", layoutSandwich(sandwichTree(inv, funcRef{"runtime.mallocgc", "spinner"}),
			sandwichTree(call, funcRef{"runtime.mallocgc", "spinner"}), layoutOptions{width: 120})},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkLayout(t, c.l)
			golden.RequireEqual(t, layoutText(c.l))
		})
	}
}

// tiny returns n stacks of one sample each, under parent.
func tiny(parent string, n int) []fakeStack {
	var out []fakeStack
	for i := range n {
		out = append(out, fakeStack{fmt.Sprintf("%s;t%02d", parent, i), 1})
	}
	return out
}

func TestFlameSearchShare(t *testing.T) {
	call := treeOf(fakeStacks(), false)
	// runtime.mallocgc: 830+570 under main.work, 150 under main.other,
	// 1605 under Python; main.spin's kernel calls do not match.
	for _, c := range []struct {
		q    string
		want int64
	}{
		{"malloc", 830 + 570 + 150 + 1605},
		{"main", 5050 + 3380}, // runtime.main, and Py_RunMain ignoring case
		{"syscall", 95 + 55 + 610},
		{"nothing", 0},
	} {
		if got := matchedSamples(call, c.q); got != c.want {
			t.Errorf("%q: %d samples, want %d", c.q, got, c.want)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		w       int64
		weights []int64
		want    []int64
	}{
		{10, []int64{55, 15, 15, 15}, []int64{6, 2, 1, 1}},
		{10, []int64{15, 15, 15, 55}, []int64{2, 1, 1, 6}},
		{7, []int64{2, 1}, []int64{5, 2}},
		{3, []int64{1, 1, 1, 1}, []int64{1, 1, 1, 0}},
		{1, []int64{1, 1}, []int64{1, 0}},
		{5, []int64{0, 3, 0}, []int64{0, 5, 0}},
		{200, []int64{1, 999999}, []int64{0, 200}},
	} {
		b := &layoutBuilder{}
		var denom int64
		for _, w := range c.weights {
			b.items = append(b.items, lrItem{weight: w})
			denom += w
		}
		b.split(c.w, denom)
		var got []int64
		for _, it := range b.items {
			got = append(got, it.cells)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("split %d over %v = %v, want %v", c.w, c.weights, got, c.want)
		}
	}
}

// checkLayout checks what every layout must be: rows ordered by x without
// overlap inside the width, children inside their parent, children and
// rest no wider than the parent and exactly as wide when it has no self
// time, each frame within a cell of its exact share of the parent.
func checkLayout(t *testing.T, l *flameLayout) {
	t.Helper()
	type parent struct {
		i    int32
		pane flamePane
	}
	kids := make(map[parent][]int32)
	for r, s := range l.rows {
		end := int32(0)
		for i := s.lo; i < s.hi; i++ {
			f := &l.frames[i]
			if int(f.row) != r {
				t.Fatalf("frame %d on row %d says %d", i, r, f.row)
			}
			if f.w < 1 || f.x < end || int(f.x+f.w) > l.width {
				t.Fatalf("row %d: frame %d at %d+%d after %d in %d cells", r, i, f.x, f.w, end, l.width)
			}
			end = f.x + f.w
			if f.parent >= 0 && !l.frames[f.parent].is(frameAncestor) {
				kids[parent{f.parent, f.pane}] = append(kids[parent{f.parent, f.pane}], i)
			}
		}
	}
	for p, ks := range kids {
		pf := &l.frames[p.i]
		var w int32
		for _, k := range ks {
			f := &l.frames[k]
			if f.x < pf.x || f.x+f.w > pf.x+pf.w {
				t.Fatalf("frame %d (%d+%d) outside its parent (%d+%d)", k, f.x, f.w, pf.x, pf.w)
			}
			w += f.w
			exact := float64(pf.w) * float64(f.total) / float64(pf.node.Total)
			if f.node != nil && (float64(f.w) < exact-1 || float64(f.w) > exact+1) {
				t.Errorf("frame %s is %d cells for a share of %.2f", f.node.Name, f.w, exact)
			}
		}
		if w > pf.w || (pf.node.Self == 0 && w != pf.w) {
			t.Errorf("children of %s fill %d of its %d cells (self %d)", pf.node.Name, w, pf.w, pf.node.Self)
		}
	}
}

// randomTree builds a tree of about n nodes with consistent counts.
func randomTree(rng *rand.Rand, n int) *aggregate.TreeNode {
	var stacks []fakeStack
	for range max(n/4, 1) {
		depth := 1 + rng.IntN(8)
		var fs []string
		for range depth {
			fs = append(fs, "f"+strconv.Itoa(rng.IntN(1+rng.IntN(12))))
		}
		stacks = append(stacks, fakeStack{strings.Join(fs, ";"), 1 + int64(rng.ExpFloat64()*float64(1+rng.IntN(1000)))})
	}
	return treeOf(stacks, false)
}

// FuzzFlameLayout lays random trees out at random widths and checks the
// layout's invariants, among them that the children and the self time
// fill their parent exactly.
func FuzzFlameLayout(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1000} {
		f.Add(s, uint16(s*37%300+1))
	}
	f.Fuzz(func(t *testing.T, seed uint64, width uint16) {
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		tree := randomTree(rng, 10+rng.IntN(400))
		w := int(width%1000) + 1
		l := graphOf(tree, w)
		checkLayout(t, l)
		// The zoomed frame and collapsed frames keep the invariants.
		if len(tree.Children) > 0 {
			c := tree.Children[rng.IntN(len(tree.Children))]
			checkLayout(t, layoutGraph([]*aggregate.TreeNode{tree, c}, layoutOptions{width: w}))
			checkLayout(t, layoutGraph([]*aggregate.TreeNode{tree}, layoutOptions{width: w,
				collapsed: map[*aggregate.TreeNode]bool{c: true}}))
		}
	})
}

// TestSplitProperty checks the largest-remainder split on random
// weights: the cells add up to the width exactly and each is its exact
// share rounded down or up.
func TestSplitProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		b := &layoutBuilder{}
		var denom int64
		for range 1 + rng.IntN(40) {
			w := rng.Int64N(1 + rng.Int64N(100000))
			b.items = append(b.items, lrItem{weight: w})
			denom += w
		}
		if denom == 0 {
			continue
		}
		w := 1 + rng.Int64N(500)
		b.split(w, denom)
		var sum int64
		for _, it := range b.items {
			sum += it.cells
			lo := it.weight * w / denom
			if it.cells != lo && it.cells != lo+1 {
				t.Fatalf("weight %d of %d in %d cells got %d", it.weight, denom, w, it.cells)
			}
		}
		if sum != w {
			t.Fatalf("cells add up to %d, want %d", sum, w)
		}
	}
}
