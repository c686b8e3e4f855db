package ui

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// bigResult is a top answer of n functions with realistic names.
func bigResult(n int) aggregate.TopResult {
	rows := make([]aggregate.FunctionRow, n)
	var total int64
	for i := range rows {
		self := int64(n - i)
		rows[i] = aggregate.FunctionRow{
			Name:   fmt.Sprintf("github.com/example/service/internal/pkg%03d.(*Handler).serveRequest%d", i%500, i),
			Module: "service",
			File:   fmt.Sprintf("/build/src/github.com/example/service/internal/pkg%03d/handler.go", i%500),
			Line:   100 + i%900,
			Kind:   aggregate.FrameKind(1 + i%3),
			Self:   self,
			Total:  self * 3,
		}
		total += self
	}
	return aggregate.TopResult{Rows: rows, Samples: total, Window: 5 * time.Second}
}

// benchModel is a 200×60 model showing a 5k-row answer, cursor and
// search active so every rendering path runs.
func benchModel(b *testing.B, noColor bool) Model {
	src := newFake()
	src.top = bigResult(5000)
	m := New(src, Options{NoColor: noColor, Window: 5 * time.Second, Now: testClock})
	m.tick = func(time.Duration) tea.Cmd { return nil }
	next, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m = next.(Model)
	m.apply(dataMsg{gen: m.gen, health: src.health, top: &src.top})
	m.top.search.query = "serveRequest1"
	m.top.search.matches = findMatches(m.top.rows, m.top.search.query)
	m.top.nav = m.top.nav.move(10, len(m.top.rows), m.top.pageHeight())
	return m
}

// BenchmarkRenderTop200x60 measures one frame of the top table at 200×60
// over 5k functions (goal: ≤ 5 ms).
func BenchmarkRenderTop200x60(b *testing.B) {
	for _, c := range []struct {
		name    string
		noColor bool
	}{{"color", false}, {"nocolor", true}} {
		b.Run(c.name, func(b *testing.B) {
			m := benchModel(b, c.noColor)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkApplyTop5k measures taking in a 5k-row answer (sorting, keeping
// the selection, matching the search): once per refresh.
func BenchmarkApplyTop5k(b *testing.B) {
	m := benchModel(b, false)
	res := bigResult(5000)
	b.ReportAllocs()
	for b.Loop() {
		m.top = m.top.setResult(res)
	}
}

// flameBenchTree is a call tree of about n nodes shaped like a server's:
// a few roots, chains of 10 to 40 frames that fork now and then, and
// counts spread unevenly over the leaves.
func flameBenchTree(n int) *aggregate.TreeNode {
	rng := rand.New(rand.NewPCG(5, 5))
	var stacks []fakeStack
	nodes := 0
	for nodes < n {
		depth := 10 + rng.IntN(31)
		frames := make([]string, depth)
		for d := range frames {
			// Mostly the hot callee, else one of a long tail.
			k := 0
			if rng.IntN(10) < 2 {
				k = 1 + int(rng.ExpFloat64()*float64(2+d))
			}
			frames[d] = fmt.Sprintf("github.com/example/service/pkg%02d.(*T).method%d", d, k)
		}
		stacks = append(stacks, fakeStack{strings.Join(frames, ";"), 1 + int64(rng.ExpFloat64()*50)})
		if len(stacks)%500 == 0 {
			nodes = countTree(treeOf(stacks, false))
		}
	}
	return treeOf(stacks, false)
}

func countTree(n *aggregate.TreeNode) int {
	c := 1
	for _, k := range n.Children {
		c += countTree(k)
	}
	return c
}

// flameCombTree is the worst case for drawing: about n nodes of which
// 190 chains of 60 frames fill nearly every cell of a 200×60 screen; the
// others are tiny frames under one root, merged into a rest.
func flameCombTree(n int) *aggregate.TreeNode {
	var stacks []fakeStack
	frames := make([]string, 60)
	for c := range 190 {
		for d := range frames {
			frames[d] = fmt.Sprintf("chain%03d.depth%02d", c, d)
		}
		stacks = append(stacks, fakeStack{strings.Join(frames, ";"), 10000})
	}
	for i := range (n - 190*60) / 2 {
		stacks = append(stacks, fakeStack{fmt.Sprintf("tiny;t%05d;leaf", i), 1})
	}
	return treeOf(stacks, false)
}

// BenchmarkFlameLayoutRender200x60 measures laying out and rendering the
// flamegraph of a 50k-node tree at 200×60 (goal: ≤ 10 ms), with a frame
// selected and a search highlighting matches: a profile shaped like a
// service's, and the worst case where every cell is a frame of its own.
func BenchmarkFlameLayoutRender200x60(b *testing.B) {
	service, comb := flameBenchTree(50000), flameCombTree(50000)
	for _, c := range []struct {
		name    string
		tree    *aggregate.TreeNode
		noColor bool
	}{{"service/color", service, false}, {"service/nocolor", service, true}, {"worst/color", comb, false}, {"worst/nocolor", comb, true}} {
		tree := c.tree
		b.Run(c.name, func(b *testing.B) {
			src := newFake()
			m := New(src, Options{NoColor: c.noColor, Now: testClock})
			m.tick = func(time.Duration) tea.Cmd { return nil }
			next, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
			m = next.(Model)
			m.active = 1
			m.flame.search.query = "method1"
			m.flame = m.flame.setData(flameData{req: m.flame.request(), tree: tree, samples: tree.Total})
			for range 8 {
				m.flame = m.flame.vertical(1)
			}
			b.ReportAllocs()
			for b.Loop() {
				f := m.flame.relayout()
				_ = f.View()
			}
			b.ReportMetric(float64(countTree(tree)), "nodes")
			b.ReportMetric(float64(len(m.flame.lay.frames)), "frames")
			b.ReportMetric(float64(len(m.flame.lay.rows)), "rows")
		})
	}
}
