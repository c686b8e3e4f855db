package aggregate

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
)

// FoldedOptions selects variants of the folded format.
type FoldedOptions struct {
	// Annotate appends the stackcollapse-perf suffixes: "_[k]" to kernel
	// functions and "_[i]" to inlined ones. (JIT frames will end in "_[j]"
	// once the sampler reports them.)
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
	var line []byte
	for i := range p.Samples {
		s := &p.Samples[i]
		line = f.appendStack(line[:0], s)
		// Look up without allocating; only a new line's key is copied.
		if n, ok := counts[string(line)]; ok {
			counts[string(line)] = n + s.Count
		} else {
			counts[string(line)] = s.Count
		}
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

// appendStack appends the folded stack of s, without its count, to b.
func (f *folder) appendStack(b []byte, s *ProfileSample) []byte {
	b = appendElem(b, s.Comm)
	if f.opts.PerPID {
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(s.PID), 10)
	}
	for i := len(s.Frames) - 1; i >= 0; i-- {
		b = append(b, ';')
		b = append(b, f.frameElems(s.Frames[i])...)
	}
	return b
}

// frameElems returns the folded elements of one frame, outermost first.
func (f *folder) frameElems(fr Frame) string {
	if e, ok := f.elems[fr]; ok {
		return e
	}
	locs := f.cache.locations(fr)
	var b []byte
	for i := len(locs) - 1; i >= 0; i-- {
		l := &locs[i]
		b = appendElem(b, l.Function)
		if f.opts.Annotate {
			switch {
			case l.Inlined:
				b = append(b, "_[i]"...)
			case fr.Kind == KindKernel:
				b = append(b, "_[k]"...)
			}
		}
		if i > 0 {
			b = append(b, ';')
		}
	}
	e := string(b)
	f.elems[fr] = e
	return e
}

// appendElem appends s as one folded element: ';' becomes ':', line
// breaks are dropped, and an element that would be empty is "[unknown]".
func appendElem(b []byte, s string) []byte {
	n := len(b)
	b = appendEscaped(b, s)
	if len(b) == n {
		b = append(b, "[unknown]"...)
	}
	return b
}

// appendEscaped appends s with ';' replaced by ':' and line breaks removed.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ';':
			b = append(b, ':')
		case '\n', '\r':
		default:
			b = append(b, c)
		}
	}
	return b
}
