package aggregate

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestTreePruned(t *testing.T) {
	s, _ := queryStore(t)
	// 11 samples: MinShare 0.3 keeps nodes of 4 samples or more (3.3
	// rounded up). square (3 of compute's 4) and the kernel chain below it
	// fold into "…"; rec's inner rec (2 samples) does too.
	got := treeText(s.Tree(Query{MinShare: 0.3}, querySymbolizer(), false))
	want := `all 1/11
  __libc_start_main 0/10
    main 0/10
      rec 0/6
        rec 4/6
          … 2/2
      compute 0/4
        sum 0/4
          square 3/4
            … 1/1
`
	if got != want {
		t.Errorf("pruned Tree:\n%s\nwant:\n%s", got, want)
	}
	// The root's children are pruned too, and other comes last whatever
	// its Total.
	got = treeText(s.Tree(Query{MinShare: 0.5}, querySymbolizer(), true))
	want = `all 1/11
  rec 0/6
    rec 0/6
      … 6/6
  … 4/4
`
	if got != want {
		t.Errorf("pruned inverted Tree:\n%s\nwant:\n%s", got, want)
	}
	// A share of 1 keeps only what every sample goes through.
	got = treeText(s.Tree(Query{MinShare: 1}, querySymbolizer(), false))
	want = "all 1/11\n  … 10/10\n"
	if got != want {
		t.Errorf("MinShare 1:\n%s\nwant:\n%s", got, want)
	}
}

// pruneTree folds the children of every node whose Total is below min
// into one OtherName child, the way Tree does while building.
func pruneTree(n *TreeNode, min int64) *TreeNode {
	out := &TreeNode{Name: n.Name, Module: n.Module, Kind: n.Kind, Self: n.Self, Total: n.Total}
	var other int64
	for _, c := range n.Children {
		if c.Total < min {
			other += c.Total
			continue
		}
		out.Children = append(out.Children, pruneTree(c, min))
	}
	if other > 0 {
		out.Children = append(out.Children, &TreeNode{Name: OtherName, Self: other, Total: other})
	}
	return out
}

// checkTreeSums checks that every node's Self and children's Totals add
// up to its Total, and that only the last child may be the other node.
func checkTreeSums(t *testing.T, n *TreeNode, path string) {
	t.Helper()
	sum := n.Self
	for i, c := range n.Children {
		sum += c.Total
		if c.Name == OtherName && (i != len(n.Children)-1 || len(c.Children) > 0 || c.Self != c.Total) {
			t.Errorf("%s: other node at %d of %d, %d children, self %d total %d", path, i, len(n.Children), len(c.Children), c.Self, c.Total)
		}
		checkTreeSums(t, c, path+";"+c.Name)
	}
	if sum != n.Total {
		t.Errorf("%s: self+children = %d, total %d", path, sum, n.Total)
	}
}

func TestTreePrunedMatchesFullTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	sym := mapSymbolizer{}
	var frames []Frame
	for i := range 16 {
		f := Frame{Kind: KindNative, FileID: 7, Addr: uint64(i)}
		frames = append(frames, f)
		sym[f] = []Location{{Function: fmt.Sprintf("f%d", i), Module: "m"}}
	}
	s := NewStore()
	for range 5000 {
		st := make([]Frame, rng.IntN(10))
		for j := range st {
			st[j] = frames[rng.IntN(1+rng.IntN(len(frames)))]
		}
		for range 1 + rng.IntN(3) {
			s.Add(&Trace{PID: uint32(rng.IntN(3)), Frames: st})
		}
	}
	for _, inverted := range []bool{false, true} {
		full := s.Tree(Query{}, sym, inverted)
		checkTreeSums(t, full, "all")
		for _, share := range []float64{1e-9, 0.001, 0.01, 0.1, 0.5} {
			min := int64(float64(full.Total)*share + 0.999999)
			got := s.Tree(Query{MinShare: share}, sym, inverted)
			checkTreeSums(t, got, "all")
			if g, w := treeText(got), treeText(pruneTree(full, min)); g != w {
				t.Errorf("inverted=%v share %v: pruned tree differs from the full tree pruned:\n%s\nwant:\n%s", inverted, share, g, w)
			}
		}
	}
}

// BenchmarkTreePruned5Min100kStacks is BenchmarkTree5Min100kStacks with
// the pruning a 200-column flamegraph asks for: a quarter of a cell of
// the whole graph (1/800), of a frame zoomed to a tenth of it, and the
// finest it ever asks for (1e-5, a sandwich or a deep zoom).
func BenchmarkTreePruned5Min100kStacks(b *testing.B) {
	pool := newBenchPool()
	s, clock := fiveMinutes(b, pool)
	s.Top(Query{}, pool.sym) // warm the symbolized stacks
	for _, share := range []float64{1.0 / 800, 1.0 / 8000, 1e-5} {
		q := Query{From: clock.now().Add(-5 * 60e9), MinShare: share}
		for _, inverted := range []bool{false, true} {
			name := fmt.Sprintf("call/share=1:%.0f", 1/share)
			if inverted {
				name = fmt.Sprintf("inverted/share=1:%.0f", 1/share)
			}
			b.Run(name, func(b *testing.B) {
				var root *TreeNode
				b.ReportAllocs()
				for b.Loop() {
					root = s.Tree(q, pool.sym, inverted)
				}
				b.ReportMetric(float64(countNodes(root)), "nodes")
			})
		}
	}
}
