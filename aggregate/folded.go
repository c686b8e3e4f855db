package aggregate

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// FoldedOptions selects variants of the folded format.
type FoldedOptions struct {
	// Annotate appends the stackcollapse-perf suffixes: "_[k]" to kernel
	// functions and "_[i]" to inlined ones.
	Annotate bool
	// PerPID makes the first element "comm-PID" instead of "comm", so
	// processes with the same name stay apart.
	PerPID bool
}

// WriteFolded writes p in the folded format read by flamegraph.pl and most
// flame graph tools: one line per distinct symbolized stack,
//
//	comm;root;...;leaf COUNT
//
// Each Location of a frame is its own element, so inlined calls appear as
// callees of the function they were inlined into. Semicolons in names
// become ':' and line breaks are dropped, so every line stays parseable.
// Stacks that symbolize alike are summed; lines are sorted. sym may be nil,
// which names frames by address.
func WriteFolded(w io.Writer, p *Profile, sym Symbolizer, opts FoldedOptions) error {
	f := folder{cache: newSymCache(sym), opts: opts, elems: make(map[Frame]string)}
	counts := make(map[string]int64)
	var b strings.Builder
	for i := range p.Samples {
		s := &p.Samples[i]
		b.Reset()
		f.writeStack(&b, s)
		counts[b.String()] += s.Count
	}

	bw := bufio.NewWriter(w)
	var num []byte
	for _, line := range slices.Sorted(maps.Keys(counts)) {
		bw.WriteString(line)
		bw.WriteByte(' ')
		num = strconv.AppendInt(num[:0], counts[line], 10)
		bw.Write(num)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write folded: %w", err)
	}
	return nil
}

// folder turns samples into folded stacks, caching each frame's elements.
type folder struct {
	cache *symCache
	opts  FoldedOptions
	elems map[Frame]string // frame -> its elements joined by ';', root first
}

func (f *folder) writeStack(b *strings.Builder, s *ProfileSample) {
	comm := s.Comm
	if comm == "" {
		comm = "[unknown]"
	}
	writeEscaped(b, comm)
	if f.opts.PerPID {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(s.PID), 10))
	}
	for i := len(s.Frames) - 1; i >= 0; i-- {
		b.WriteByte(';')
		b.WriteString(f.frameElems(s.Frames[i]))
	}
}

// frameElems returns the folded elements of one frame, outermost first.
func (f *folder) frameElems(fr Frame) string {
	if e, ok := f.elems[fr]; ok {
		return e
	}
	locs := f.cache.locations(fr)
	var b strings.Builder
	for i := len(locs) - 1; i >= 0; i-- {
		l := &locs[i]
		name := l.Function
		if name == "" {
			name = "[unknown]"
		}
		writeEscaped(&b, name)
		if f.opts.Annotate {
			switch {
			case l.Inlined:
				b.WriteString("_[i]")
			case fr.Kind == KindKernel:
				b.WriteString("_[k]")
			}
		}
		if i > 0 {
			b.WriteByte(';')
		}
	}
	e := b.String()
	f.elems[fr] = e
	return e
}

// writeEscaped writes s with ';' replaced by ':' and line breaks removed.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ';':
			b.WriteByte(':')
		case '\n', '\r':
		default:
			b.WriteByte(c)
		}
	}
}
