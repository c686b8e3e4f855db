package aggregate

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestWriteFoldedGolden(t *testing.T) {
	p := testProfile(t)
	for _, tc := range []struct {
		golden string
		opts   FoldedOptions
	}{
		{"folded.golden", FoldedOptions{}},
		{"folded_annotate.golden", FoldedOptions{Annotate: true}},
		{"folded_perpid.golden", FoldedOptions{PerPID: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFolded(&buf, p, testSymbolizer(), tc.opts); err != nil {
				t.Fatal(err)
			}
			checkFolded(t, buf.String(), p.Total())
			golden(t, tc.golden, buf.Bytes())
		})
	}
}

// checkFolded checks the format's invariants: sorted, unique stacks, every
// line "a;b;c COUNT" with no empty element, counts adding up to total.
func checkFolded(t *testing.T, out string, total int64) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var sum int64
	prev := ""
	for i, line := range lines {
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			t.Fatalf("line %d has no count: %q", i, line)
		}
		stack := line[:sp]
		n, err := strconv.ParseInt(line[sp+1:], 10, 64)
		if err != nil || n <= 0 {
			t.Errorf("line %d: bad count: %q", i, line)
		}
		sum += n
		if i > 0 && stack <= prev {
			t.Errorf("line %d: not sorted or duplicate: %q after %q", i, stack, prev)
		}
		prev = stack
		for _, e := range strings.Split(stack, ";") {
			if e == "" {
				t.Errorf("line %d: empty element: %q", i, line)
			}
		}
	}
	if sum != total {
		t.Errorf("counts add up to %d, want %d", sum, total)
	}
}

func TestWriteFoldedNilSymbolizer(t *testing.T) {
	p := &Profile{Samples: []ProfileSample{{
		PID: 1, TID: 1, Comm: "x",
		Frames: []Frame{fSyscall, fMain, fAnon, fErr},
		Count:  2,
	}, {
		PID: 2, TID: 2, Comm: "\n",
		Frames: []Frame{fMain},
		Count:  1,
	}}}
	var buf bytes.Buffer
	if err := WriteFolded(&buf, p, nil, FoldedOptions{Annotate: true}); err != nil {
		t.Fatal(err)
	}
	want := "[unknown];a1a1a1a1a1a1a1a1+0x2000 1\n" +
		"x;[unwind error 2];[unknown]+0x7f0000001234;a1a1a1a1a1a1a1a1+0x2000;[kernel]+0xffffffff81000100_[k] 2\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWriteFoldedEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFolded(&buf, &Profile{}, nil, FoldedOptions{}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("empty profile wrote %q", buf.String())
	}
}

type failWriter struct{}

var errFail = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestWriteFoldedError(t *testing.T) {
	err := WriteFolded(failWriter{}, testProfile(t), testSymbolizer(), FoldedOptions{})
	if !errors.Is(err, errFail) {
		t.Errorf("err = %v, want it to wrap %v", err, errFail)
	}
}
