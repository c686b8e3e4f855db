package otlp

import (
	"slices"
	"strconv"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	pb "go.opentelemetry.io/proto/otlp/profiles/v1development"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/pftop/pftop/aggregate"
)

// Executable describes the file of native frames.
type Executable struct {
	Path       string // as the process mapped it
	GNUBuildID string // hex, "" when the file has none
	// HTLHash is the file ID pftop and the OpenTelemetry eBPF profiler
	// both use (hash of the head, tail and length), hex.
	HTLHash string
	Go      bool // a Go executable: its frames are Go frames
}

// Resolver names what Encode cannot know from the samples alone.
type Resolver interface {
	aggregate.Symbolizer
	// Executable describes the file whose short ID native frames carry.
	Executable(fileID uint64) Executable
}

// EncodeOptions are the facts of the box and the sampling.
type EncodeOptions struct {
	HostName     string
	Period       time.Duration // sampling period, e.g. 1/99 s
	ScopeVersion string        // pftop's version
}

// Semantic-convention keys.
const (
	attrPID            = "process.pid"
	attrExeName        = "process.executable.name"
	attrExePath        = "process.executable.path"
	attrContainer      = "container.id"
	attrHost           = "host.name"
	attrService        = "service.name"
	attrThreadName     = "thread.name"
	attrThreadID       = "thread.id"
	attrCPU            = "cpu.logical_number"
	attrFrameType      = "profile.frame.type"
	attrBuildIDGNU     = "process.executable.build_id.gnu"
	attrBuildIDHTLHash = "process.executable.build_id.htlhash"
)

// kernelMapping names the mapping of kernel frames, as perf does.
const kernelMapping = "[kernel.kallsyms]"

// FrameType returns the profile.frame.type of a frame: the runtime that
// ran it. Frames of an unwind that could not complete are "abort-marker",
// as in the OpenTelemetry eBPF profiler.
func FrameType(f aggregate.Frame, exe Executable) string {
	switch f.Kind {
	case aggregate.KindKernel:
		return "kernel"
	case aggregate.KindError:
		return "abort-marker"
	case aggregate.KindNative:
		if exe.Go {
			return "go"
		}
		return "native"
	}
	// The other kinds name their runtime as semantic conventions do
	// (KindPython: "cpython").
	return f.Kind.String()
}

// Encode turns w into one request: a ResourceProfiles per process (by
// PID), each with one Profile of its samples, and one dictionary for all.
//
// Each Sample carries one timestamp per occurrence and no values: the
// "timestamps only" shape, where each timestamp stands for one sample of
// the period. The timestamps are the samples' own (the Batch taps the
// trace stream, which has them, rather than the Store, which keeps only
// per-second counts and no CPU), so nothing is rounded or made up. Samples with the same stack but another thread or CPU are
// separate Samples, since thread.id, thread.name and cpu.logical_number
// are sample attributes.
func Encode(w *Window, r Resolver, opts EncodeOptions) *collpb.ExportProfilesServiceRequest {
	d := newDictionary(r)
	req := &collpb.ExportProfilesServiceRequest{}
	byPID := map[uint32][]int{}
	var pids []uint32
	for i := range w.Samples {
		pid := w.Samples[i].PID
		if _, ok := byPID[pid]; !ok {
			pids = append(pids, pid)
		}
		byPID[pid] = append(byPID[pid], i)
	}
	slices.Sort(pids)
	sampleType := &pb.ValueType{TypeStrindex: d.str("samples"), UnitStrindex: d.str("count")}
	periodType := &pb.ValueType{TypeStrindex: d.str("cpu"), UnitStrindex: d.str("nanoseconds")}
	for _, pid := range pids {
		samples := byPID[pid]
		prof := &pb.Profile{
			SampleType: sampleType,
			PeriodType: periodType,
			Period:     opts.Period.Nanoseconds(),
		}
		lo, hi := w.Start.UnixNano(), w.End.UnixNano()
		for _, i := range samples {
			s := &w.Samples[i]
			ps := &pb.Sample{
				StackIndex: d.stack(s.Frames),
				AttributeIndices: []int32{
					d.attr(attrThreadName, strValue(s.Comm)),
					d.attr(attrThreadID, intValue(int64(s.TID))),
					d.attr(attrCPU, intValue(int64(s.CPU))),
				},
				TimestampsUnixNano: make([]uint64, len(s.Times)),
			}
			for j, t := range s.Times {
				ps.TimestampsUnixNano[j] = uint64(t)
				lo, hi = min(lo, t), max(hi, t+1)
			}
			prof.Samples = append(prof.Samples, ps)
		}
		// Traces sampled just before the window began arrive in it;
		// widen the profile so every timestamp falls inside.
		prof.TimeUnixNano, prof.DurationNano = uint64(lo), uint64(hi-lo)
		first := &w.Samples[samples[0]]
		req.ResourceProfiles = append(req.ResourceProfiles, &pb.ResourceProfiles{
			Resource: &resourcepb.Resource{Attributes: resourceAttrs(pid, first.Container, w.Processes[pid], opts)},
			ScopeProfiles: []*pb.ScopeProfiles{{
				Scope:    &commonpb.InstrumentationScope{Name: "pftop", Version: opts.ScopeVersion},
				Profiles: []*pb.Profile{prof},
			}},
		})
	}
	req.Dictionary = d.out
	return req
}

func resourceAttrs(pid uint32, container string, p Process, opts EncodeOptions) []*commonpb.KeyValue {
	kv := []*commonpb.KeyValue{{Key: attrPID, Value: intValue(int64(pid))}}
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, &commonpb.KeyValue{Key: k, Value: strValue(v)})
		}
	}
	add(attrExeName, p.ExecutableName)
	add(attrExePath, p.ExecutablePath)
	add(attrContainer, container)
	add(attrHost, opts.HostName)
	service := p.ServiceName
	if service == "" {
		service = p.ExecutableName
	}
	add(attrService, service)
	return kv
}

func strValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func intValue(n int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
}

// dictionary builds a ProfilesDictionary with every table deduplicated
// and index 0 of each the zero value.
type dictionary struct {
	r   Resolver
	out *pb.ProfilesDictionary

	strs      map[string]int32
	attrs     map[attrKey]int32
	funcs     map[funcKey]int32
	mappings  map[mappingKey]int32
	locations map[aggregate.Frame]int32
	stacks    map[string]int32 // by location indices
	exes      map[uint64]Executable
	keyBuf    []byte
}

type attrKey struct {
	key   string
	isInt bool
	str   string
	n     int64
}

type funcKey struct{ name, file string }

func newDictionary(r Resolver) *dictionary {
	return &dictionary{
		r: r,
		out: &pb.ProfilesDictionary{
			MappingTable:   []*pb.Mapping{{}},
			LocationTable:  []*pb.Location{{}},
			FunctionTable:  []*pb.Function{{}},
			LinkTable:      []*pb.Link{{TraceId: make([]byte, 16), SpanId: make([]byte, 8)}},
			StringTable:    []string{""},
			AttributeTable: []*pb.KeyValueAndUnit{{}},
			StackTable:     []*pb.Stack{{}},
		},
		strs:      map[string]int32{"": 0},
		attrs:     map[attrKey]int32{},
		funcs:     map[funcKey]int32{},
		mappings:  map[mappingKey]int32{},
		locations: map[aggregate.Frame]int32{},
		stacks:    map[string]int32{},
		exes:      map[uint64]Executable{},
	}
}

func (d *dictionary) str(s string) int32 {
	if i, ok := d.strs[s]; ok {
		return i
	}
	i := int32(len(d.out.StringTable))
	d.out.StringTable = append(d.out.StringTable, s)
	d.strs[s] = i
	return i
}

func (d *dictionary) attr(key string, v *commonpb.AnyValue) int32 {
	k := attrKey{key: key}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_IntValue:
		k.isInt, k.n = true, x.IntValue
	case *commonpb.AnyValue_StringValue:
		k.str = x.StringValue
	}
	if i, ok := d.attrs[k]; ok {
		return i
	}
	i := int32(len(d.out.AttributeTable))
	d.out.AttributeTable = append(d.out.AttributeTable, &pb.KeyValueAndUnit{KeyStrindex: d.str(key), Value: v})
	d.attrs[k] = i
	return i
}

func (d *dictionary) function(l aggregate.Location) int32 {
	k := funcKey{name: l.Function, file: l.File}
	if i, ok := d.funcs[k]; ok {
		return i
	}
	i := int32(len(d.out.FunctionTable))
	name := d.str(l.Function)
	d.out.FunctionTable = append(d.out.FunctionTable, &pb.Function{
		NameStrindex: name, SystemNameStrindex: name, FilenameStrindex: d.str(l.File),
	})
	d.funcs[k] = i
	return i
}

func (d *dictionary) executable(fileID uint64) Executable {
	if e, ok := d.exes[fileID]; ok {
		return e
	}
	e := d.r.Executable(fileID)
	d.exes[fileID] = e
	return e
}

// mappingKey names a mapping: a native file by its ID, or (ID 0) the
// kernel or an interpreted frame's source file by name.
type mappingKey struct {
	fileID uint64
	name   string
}

// mapping returns the mapping of a native frame's file, or, for fileID 0,
// the one named name: the kernel's, or an interpreted frame's source
// file by its path (pprof output, too, has one mapping per source file,
// named by its base name). Frames carry file-relative addresses,
// so the mappings have no memory range.
func (d *dictionary) mapping(fileID uint64, name string) int32 {
	k := mappingKey{fileID: fileID}
	if fileID == 0 {
		k.name = name
	}
	if i, ok := d.mappings[k]; ok {
		return i
	}
	m := &pb.Mapping{}
	if fileID != 0 {
		e := d.executable(fileID)
		if e.Path != "" {
			name = e.Path
		}
		if e.GNUBuildID != "" {
			m.AttributeIndices = append(m.AttributeIndices, d.attr(attrBuildIDGNU, strValue(e.GNUBuildID)))
		}
		if e.HTLHash != "" {
			m.AttributeIndices = append(m.AttributeIndices, d.attr(attrBuildIDHTLHash, strValue(e.HTLHash)))
		}
	}
	m.FilenameStrindex = d.str(name)
	i := int32(len(d.out.MappingTable))
	d.out.MappingTable = append(d.out.MappingTable, m)
	d.mappings[k] = i
	return i
}

func (d *dictionary) location(f aggregate.Frame) int32 {
	if i, ok := d.locations[f]; ok {
		return i
	}
	locs := d.r.Symbolize(f)
	var exe Executable
	if f.Kind == aggregate.KindNative && f.FileID != 0 {
		exe = d.executable(f.FileID)
	}
	l := &pb.Location{
		Address:          f.Addr,
		AttributeIndices: []int32{d.attr(attrFrameType, strValue(FrameType(f, exe)))},
	}
	switch {
	case f.Kind == aggregate.KindKernel:
		// One mapping for the kernel and its modules: their frames
		// carry kernel addresses.
		l.MappingIndex = d.mapping(0, kernelMapping)
	case f.Kind == aggregate.KindNative && f.FileID != 0:
		l.MappingIndex = d.mapping(f.FileID, locs[len(locs)-1].Module)
	case f.Kind == aggregate.KindPython:
		file := locs[len(locs)-1].File
		if file == "" {
			file = locs[len(locs)-1].Module
		}
		l.MappingIndex = d.mapping(0, file)
	}
	if f.Kind == aggregate.KindError {
		l.Address = 0 // Addr is a reason code, named by the function
	}
	for _, s := range locs {
		l.Lines = append(l.Lines, &pb.Line{FunctionIndex: d.function(s), Line: int64(s.Line)})
	}
	i := int32(len(d.out.LocationTable))
	d.out.LocationTable = append(d.out.LocationTable, l)
	d.locations[f] = i
	return i
}

func (d *dictionary) stack(frames []aggregate.Frame) int32 {
	idx := make([]int32, len(frames))
	d.keyBuf = d.keyBuf[:0]
	for i, f := range frames {
		idx[i] = d.location(f)
		d.keyBuf = strconv.AppendInt(d.keyBuf, int64(idx[i]), 36)
		d.keyBuf = append(d.keyBuf, ',')
	}
	if i, ok := d.stacks[string(d.keyBuf)]; ok {
		return i
	}
	i := int32(len(d.out.StackTable))
	d.out.StackTable = append(d.out.StackTable, &pb.Stack{LocationIndices: idx})
	d.stacks[string(d.keyBuf)] = i
	return i
}
