package aggregate

import (
	"fmt"
	"io"

	"github.com/google/pprof/profile"
)

// WritePprof writes p as a gzipped pprof profile (profile.proto) that
// `go tool pprof` reads as a CPU profile.
//
// Sample types are samples/count and cpu/nanoseconds (count × period).
// Every distinct Frame becomes one Location whose Lines are the frame's
// symbolized Locations, innermost first. Its Address is the frame's Addr:
// the ELF virtual address for native frames, the kernel address for kernel
// frames. The frame's kind shows in its Mapping: kernel frames share a
// "[kernel]" mapping, error frames an "[error]" one, and native frames get
// one mapping per executable, named by its Module and carrying pftop's
// file ID (hex) as BuildID. All mappings are marked symbolized. Each sample
// has the numeric labels "pid" and "tid" and, unless empty, the string
// labels "comm" and "container".
// sym may be nil, which names frames by address.
func WritePprof(w io.Writer, p *Profile, sym Symbolizer) error {
	pp := newPprofBuilder(p, sym).build(p)
	if err := pp.CheckValid(); err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	if err := pp.Write(w); err != nil {
		return fmt.Errorf("write pprof: %w", err)
	}
	return nil
}

// errorModule is the mapping of KindError frames.
const errorModule = "[error]"

type funcKey struct{ name, file string }

type mappingKey struct {
	kind   FrameKind
	fileID uint64
	module string
}

// pprofBuilder assigns pprof IDs in first-seen order, which is
// deterministic because Profile samples are sorted.
type pprofBuilder struct {
	out      *profile.Profile
	cache    *symCache
	locs     map[Frame]*profile.Location
	funcs    map[funcKey]*profile.Function
	mappings map[mappingKey]*profile.Mapping
}

func newPprofBuilder(p *Profile, sym Symbolizer) *pprofBuilder {
	out := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "samples", Unit: "count"},
			{Type: "cpu", Unit: "nanoseconds"},
		},
		DefaultSampleType: "cpu",
		PeriodType:        &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:            p.Period.Nanoseconds(),
		DurationNanos:     p.Duration.Nanoseconds(),
	}
	if !p.Start.IsZero() {
		out.TimeNanos = p.Start.UnixNano()
	}
	return &pprofBuilder{
		out:      out,
		cache:    newSymCache(sym),
		locs:     make(map[Frame]*profile.Location),
		funcs:    make(map[funcKey]*profile.Function),
		mappings: make(map[mappingKey]*profile.Mapping),
	}
}

func (b *pprofBuilder) build(p *Profile) *profile.Profile {
	period := p.Period.Nanoseconds()
	b.out.Sample = make([]*profile.Sample, 0, len(p.Samples))
	for i := range p.Samples {
		s := &p.Samples[i]
		locs := make([]*profile.Location, len(s.Frames))
		for j, f := range s.Frames {
			locs[j] = b.location(f)
		}
		ps := &profile.Sample{
			Location: locs,
			Value:    []int64{s.Count, s.Count * period},
			NumLabel: map[string][]int64{
				"pid": {int64(s.PID)},
				"tid": {int64(s.TID)},
			},
		}
		// pprof cannot carry an empty string label; omit those.
		if s.Comm != "" {
			ps.Label = map[string][]string{"comm": {s.Comm}}
		}
		if s.Container != "" {
			if ps.Label == nil {
				ps.Label = map[string][]string{}
			}
			ps.Label["container"] = []string{s.Container}
		}
		b.out.Sample = append(b.out.Sample, ps)
	}
	return b.out
}

func (b *pprofBuilder) location(f Frame) *profile.Location {
	if l, ok := b.locs[f]; ok {
		return l
	}
	syms := b.cache.locations(f)
	m := b.mapping(f, syms)
	l := &profile.Location{
		ID:      uint64(len(b.out.Location) + 1),
		Mapping: m,
		Address: f.Addr,
		Line:    make([]profile.Line, len(syms)),
	}
	for i, s := range syms {
		l.Line[i] = profile.Line{Function: b.function(s), Line: int64(s.Line)}
		m.HasFilenames = m.HasFilenames || s.File != ""
		m.HasLineNumbers = m.HasLineNumbers || s.Line > 0
		m.HasInlineFrames = m.HasInlineFrames || s.Inlined
	}
	b.out.Location = append(b.out.Location, l)
	b.locs[f] = l
	return l
}

func (b *pprofBuilder) function(s Location) *profile.Function {
	k := funcKey{name: s.Function, file: s.File}
	if fn, ok := b.funcs[k]; ok {
		return fn
	}
	fn := &profile.Function{
		ID:         uint64(len(b.out.Function) + 1),
		Name:       s.Function,
		SystemName: s.Function,
		Filename:   s.File,
	}
	b.out.Function = append(b.out.Function, fn)
	b.funcs[k] = fn
	return fn
}

// mapping returns the mapping of f, whose Locations are syms.
func (b *pprofBuilder) mapping(f Frame, syms []Location) *profile.Mapping {
	var k mappingKey
	switch f.Kind {
	case KindKernel:
		k = mappingKey{kind: KindKernel, module: kernelModule}
	case KindError:
		k = mappingKey{kind: KindError, module: errorModule}
	case KindPython:
		// One mapping per source file: a Python frame's FileID names
		// the frame, not an executable.
		k = mappingKey{kind: KindPython, module: syms[len(syms)-1].Module}
	default:
		k = mappingKey{kind: f.Kind, fileID: f.FileID, module: syms[len(syms)-1].Module}
		if k.module == "" {
			k.module = "[unknown]"
		}
	}
	if m, ok := b.mappings[k]; ok {
		return m
	}
	m := &profile.Mapping{
		ID:           uint64(len(b.out.Mapping) + 1),
		File:         k.module,
		HasFunctions: true,
	}
	if k.fileID != 0 {
		// Distinct executables with one base name must not merge.
		m.BuildID = fmt.Sprintf("%016x", k.fileID)
	}
	b.out.Mapping = append(b.out.Mapping, m)
	b.mappings[k] = m
	return m
}
