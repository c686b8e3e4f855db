package ui

import (
	"fmt"
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
