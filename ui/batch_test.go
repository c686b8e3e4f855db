package ui

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pftop/pftop/aggregate"
)

func runBatch(t *testing.T, src Source, opts BatchOptions) string {
	t.Helper()
	if opts.Delay == 0 {
		opts.Delay = time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = testClock
	}
	var buf bytes.Buffer
	if err := RunBatch(context.Background(), &buf, src, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// tables splits batch output into tables of lines.
func tables(out string) [][]string {
	var ts [][]string
	for _, block := range strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n") {
		ts = append(ts, strings.Split(block, "\n"))
	}
	return ts
}

func TestBatch(t *testing.T) {
	src := newFake()
	n := aggregate.KindNative
	src.top.Rows = append([]aggregate.FunctionRow{
		{Name: "evil\x1b[31mred\x1b[0m\x07", Module: "m\x1b]0;title\x07", Kind: n, Self: 9000, Total: 9000},
		{Name: strings.Repeat("日本", 40), Module: "wide", Kind: n, Self: 8000, Total: 8000},
		{Name: strings.Repeat("é", 100), Module: "accents", Kind: n, Self: 7000, Total: 7000},
	}, src.top.Rows...)
	out := runBatch(t, src, BatchOptions{Iterations: 3, Rows: 10, FunctionWidth: 30, Window: 30 * time.Second,
		Filter: Filter{PIDs: []uint32{4242}, Comm: "spinner"}})

	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
			t.Fatalf("control byte %#x at %d in output", c, i)
		}
	}
	if !utf8.ValidString(out) {
		t.Fatal("output is not valid UTF-8")
	}
	ts := tables(out)
	if len(ts) != 3 {
		t.Fatalf("%d tables, want 3:\n%s", len(ts), out)
	}
	for _, tab := range ts {
		if want := "pftop 2026-03-14 15:09:26  samples 10000  window 30s (5s)  functions 49  filter pid 4242 comm spinner"; tab[0] != want {
			t.Errorf("header %q, want %q", tab[0], want)
		}
		if len(tab) != 2+10 {
			t.Errorf("table has %d lines, want header, titles and 10 rows", len(tab))
		}
		// Aligned: every column starts at the same cell on every line;
		// KIND is last, so the width before it is the same.
		lines := tab[1:]
		kindAt := textWidth(lines[0]) - len("KIND")
		for _, l := range lines {
			kinds := []string{"native", "kernel", "error"}
			ok := false
			for _, k := range append(kinds, "KIND") {
				if strings.HasSuffix(l, " "+k) && textWidth(l)-len(k) == kindAt {
					ok = true
				}
			}
			if !ok {
				t.Errorf("misaligned line (kind not at %d): %q", kindAt, l)
			}
			if got := cellIndex(l, "  "); got < 0 {
				t.Errorf("no gap in %q", l)
			}
		}
		if fnAt := cellIndex(lines[0], "FUNCTION"); cellIndex(lines[2], "…") < fnAt || cellIndex(lines[3], "…") < fnAt {
			t.Errorf("long names not cut inside their column: %q %q", lines[2], lines[3])
		}
	}
	if !strings.Contains(out, "日本日本日本日本日本日本日本…") {
		t.Errorf("wide name not cut to 30 cells with …:\n%s", out)
	}
	if !strings.Contains(out, strings.Repeat("é", 29)+"…") {
		t.Errorf("accented name not cut on a rune boundary:\n%s", out)
	}
	q := src.lastQuery()
	if !slices.Equal(q.PIDs, []uint32{4242}) || q.Comm != "spinner" || !q.From.Equal(fixedNow.Add(-30*time.Second)) {
		t.Errorf("batch query %+v", q)
	}
	if src.count("Top") != 3 {
		t.Errorf("%d queries for 3 iterations", src.count("Top"))
	}
}

// cellIndex is the cell (not byte) where sub starts in s, or -1.
func cellIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return textWidth(s[:i])
}

func TestBatchGolden(t *testing.T) {
	out := runBatch(t, newFake(), BatchOptions{Iterations: 1, Window: 5 * time.Second})
	if got := len(tables(out)[0]); got != 2+DefaultRows {
		t.Errorf("%d lines, want %d", got, 2+DefaultRows)
	}
	checkGolden(t, out)
}

func TestBatchAllRows(t *testing.T) {
	out := runBatch(t, newFake(), BatchOptions{Iterations: 1, Rows: -1})
	if got := len(tables(out)[0]); got != 2+46 {
		t.Errorf("%d lines, want all 46 rows", got)
	}
}

func TestBatchCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- RunBatch(ctx, &buf, newFake(), BatchOptions{Delay: time.Millisecond}) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("until-cancelled batch returned %v", err)
	}
	if !strings.HasPrefix(buf.String(), "pftop ") {
		t.Error("nothing printed before cancel")
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err := RunBatch(ctx, &buf, newFake(), BatchOptions{Delay: time.Hour, Iterations: 2})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the iterations: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestBatchWriteError(t *testing.T) {
	err := RunBatch(context.Background(), failWriter{}, newFake(), BatchOptions{Delay: time.Millisecond, Iterations: 1})
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("write error: %v", err)
	}
}
