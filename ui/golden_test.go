package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// Golden files live in testdata/<test name>.golden; `go test ./ui/ -update`
// rewrites them.

func checkGolden(t *testing.T, s string) {
	t.Helper()
	golden.RequireEqual(t, s)
}

func checkScreen(t *testing.T, h *harness) {
	t.Helper()
	s := h.screen()
	if n := strings.Count(s, "\n") + 1; n != 40 {
		t.Errorf("screen has %d lines, want 40", n)
	}
	golden.RequireEqual(t, s)
}

func TestGoldenTable(t *testing.T) {
	t.Run("nocolor", func(t *testing.T) {
		checkScreen(t, newHarness(t, Options{NoColor: true, Window: 5 * time.Second}))
	})
	t.Run("color", func(t *testing.T) {
		checkScreen(t, newHarness(t, Options{Window: 5 * time.Second}))
	})
	t.Run("search", func(t *testing.T) {
		h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second})
		h.keys("/", "m", "a", "i", "n")
		checkScreen(t, h)
	})
	t.Run("sorted-by-function-filtered-paused", func(t *testing.T) {
		h := newHarness(t, Options{NoColor: true, Window: 30 * time.Second,
			Filter: Filter{PIDs: []uint32{4242}, Comm: "spinner"}})
		h.keys("5", "space", "down", "down")
		checkScreen(t, h)
	})
	t.Run("narrow", func(t *testing.T) {
		h := newHarness(t, Options{NoColor: true})
		h.send(tea.WindowSizeMsg{Width: 60, Height: 40})
		checkScreen(t, h)
	})
}

func TestGoldenHeader(t *testing.T) {
	h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second,
		Filter: Filter{PIDs: []uint32{4242, 77}, Containers: []string{cid1}}})
	h.keys("space")
	golden.RequireEqual(t, h.m.headerView())
}

func TestGoldenProcs(t *testing.T) {
	h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second})
	h.keys("p", "down", "space")
	checkScreen(t, h)
}

func TestGoldenContainers(t *testing.T) {
	h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second})
	h.keys("c")
	checkScreen(t, h)
}

func TestGoldenHelp(t *testing.T) {
	h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second})
	h.keys("?")
	checkScreen(t, h)
}

func TestGoldenCallers(t *testing.T) {
	h := newHarness(t, Options{NoColor: true, Window: 5 * time.Second})
	h.keys("enter", "down")
	checkScreen(t, h)
}

// TestTeatest runs the model in a real Bubble Tea program: the table shows
// up, q quits, and the final model renders like the golden table.
func TestTeatest(t *testing.T) {
	src := newFake()
	m := New(src, Options{NoColor: true, Window: 5 * time.Second, Refresh: 10 * time.Millisecond, Now: testClock})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("main.spin")) && bytes.Contains(b, []byte("build-07"))
	}, teatest.WithDuration(5*time.Second))
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if !ok {
		t.Fatal("final model is not a Model")
	}
	if src.count("Top") == 0 {
		t.Error("no Top query")
	}
	golden.RequireEqual(t, final.render())
}
