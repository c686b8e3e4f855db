package otlp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	pb "go.opentelemetry.io/proto/otlp/profiles/v1development"
	"google.golang.org/protobuf/proto"

	"github.com/pftop/pftop/aggregate"
)

// fakeResolver names native frames "fn<addr>" in file "f<id>.c", with an
// inlined callee when the address is odd, kernel frames "k<addr>".
type fakeResolver struct{}

func (fakeResolver) Symbolize(f aggregate.Frame) []aggregate.Location {
	switch f.Kind {
	case aggregate.KindKernel:
		return []aggregate.Location{{Function: fmt.Sprintf("k%x", f.Addr), Module: "[kernel]"}}
	case aggregate.KindError:
		return []aggregate.Location{{Function: "[unwind error]", Module: "[pftop]"}}
	case aggregate.KindPython:
		return []aggregate.Location{{Function: fmt.Sprintf("py%x", f.Addr), Module: "s.py", File: "/app/s.py", Line: int(f.Addr)}}
	}
	outer := aggregate.Location{Function: fmt.Sprintf("fn%x", f.Addr), Module: fmt.Sprintf("exe%d", f.FileID), File: fmt.Sprintf("f%d.c", f.FileID), Line: int(f.Addr)}
	if f.Addr%2 == 1 {
		return []aggregate.Location{{Function: fmt.Sprintf("inl%x", f.Addr), Module: outer.Module, File: outer.File, Line: 1, Inlined: true}, outer}
	}
	return []aggregate.Location{outer}
}

func (fakeResolver) Executable(id uint64) Executable {
	return Executable{Path: fmt.Sprintf("/bin/exe%d", id), GNUBuildID: fmt.Sprintf("beef%d", id), HTLHash: fmt.Sprintf("%032x", id), Go: id == 7}
}

func native(id, addr uint64) aggregate.Frame {
	return aggregate.Frame{Kind: aggregate.KindNative, FileID: id, Addr: addr}
}

// testWindow collects a few processes, threads, CPUs and stacks, with
// repeats, so every table has something to deduplicate.
func testWindow(t *testing.T) *Window {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	b := NewBatch(BatchOptions{
		Now: func() time.Time { return now },
		Describe: func(pid uint32) Process {
			return Process{ExecutableName: fmt.Sprintf("exe%d", pid), ExecutablePath: fmt.Sprintf("/bin/exe%d", pid)}
		},
	})
	b.monoToUnix = now.UnixNano() // trace times are ns into the window
	stacks := [][]aggregate.Frame{
		{{Kind: aggregate.KindKernel, Addr: 0xffff1000}, native(1, 0x10), native(1, 0x21), native(2, 0x30)},
		{native(1, 0x10), native(1, 0x21), native(2, 0x30)},
		{native(7, 0x40), native(7, 0x42)},
		{native(1, 0x10), {Kind: aggregate.KindError, Addr: 3}},
		{native(1, 0x10), {Kind: aggregate.KindPython, FileID: 9, Addr: 0x50}, {Kind: aggregate.KindPython, FileID: 9, Addr: 0x52}},
	}
	n := 0
	for pid := uint32(100); pid < 103; pid++ {
		for tid := pid; tid < pid+2; tid++ {
			for cpu := uint32(0); cpu < 2; cpu++ {
				for i, fs := range stacks {
					for rep := 0; rep <= i; rep++ {
						n++
						b.Add(&aggregate.Trace{PID: pid, TID: tid, CPU: cpu, Comm: fmt.Sprintf("t%d", tid), Frames: fs, Time: int64(n) * 1000})
					}
				}
			}
		}
	}
	now = now.Add(time.Second)
	w := b.Take()
	if w.Events != n {
		t.Fatalf("window holds %d events, want %d", w.Events, n)
	}
	return w
}

func TestEncodeRoundTrip(t *testing.T) {
	w := testWindow(t)
	req := Encode(w, fakeResolver{}, EncodeOptions{HostName: "box", Period: time.Second / 99, ScopeVersion: "test"})
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var got collpb.ExportProfilesServiceRequest
	if err := proto.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := Validate(&got); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	d := got.Dictionary
	checkNoDuplicates(t, d)

	if len(got.ResourceProfiles) != 3 {
		t.Fatalf("%d resources, want one per process (3)", len(got.ResourceProfiles))
	}
	// Rebuild every sample from the wire form and compare with the
	// window: same stacks, names, threads, CPUs and timestamps.
	type key struct {
		pid, tid, cpu uint32
		comm, stack   string
	}
	want := map[key][]uint64{}
	for _, s := range w.Samples {
		var names []string
		for _, f := range s.Frames {
			for _, l := range (fakeResolver{}).Symbolize(f) {
				names = append(names, l.Function)
			}
		}
		k := key{s.PID, s.TID, s.CPU, s.Comm, strings.Join(names, ";")}
		for _, ts := range s.Times {
			want[k] = append(want[k], uint64(ts))
		}
	}
	got2 := map[key][]uint64{}
	for _, rp := range got.ResourceProfiles {
		res := map[string]*commonpb.AnyValue{}
		for _, kv := range rp.Resource.Attributes {
			res[kv.Key] = kv.Value
		}
		pid := uint32(res[attrPID].GetIntValue())
		if name := fmt.Sprintf("exe%d", pid); res[attrExeName].GetStringValue() != name || res[attrService].GetStringValue() != name {
			t.Errorf("pid %d: executable name %v, service %v, want %s", pid, res[attrExeName], res[attrService], name)
		}
		if res[attrHost].GetStringValue() != "box" || res[attrExePath].GetStringValue() != fmt.Sprintf("/bin/exe%d", pid) {
			t.Errorf("pid %d: resource %v", pid, res)
		}
		p := rp.ScopeProfiles[0].Profiles[0]
		if s := d.StringTable[p.SampleType.TypeStrindex]; s != "samples" {
			t.Errorf("sample type %q", s)
		}
		if p.Period != int64(time.Second/99) {
			t.Errorf("period %d", p.Period)
		}
		for _, s := range p.Samples {
			attrs := map[string]*commonpb.AnyValue{}
			for _, ai := range s.AttributeIndices {
				a := d.AttributeTable[ai]
				attrs[d.StringTable[a.KeyStrindex]] = a.Value
			}
			var names []string
			for _, li := range d.StackTable[s.StackIndex].LocationIndices {
				loc := d.LocationTable[li]
				checkLocation(t, d, loc)
				for _, line := range loc.Lines {
					names = append(names, d.StringTable[d.FunctionTable[line.FunctionIndex].NameStrindex])
				}
			}
			k := key{pid, uint32(attrs[attrThreadID].GetIntValue()), uint32(attrs[attrCPU].GetIntValue()), attrs[attrThreadName].GetStringValue(), strings.Join(names, ";")}
			for _, ts := range s.TimestampsUnixNano {
				if ts < p.TimeUnixNano || ts >= p.TimeUnixNano+p.DurationNano {
					t.Errorf("timestamp %d outside the profile [%d, +%d)", ts, p.TimeUnixNano, p.DurationNano)
				}
			}
			got2[k] = append(got2[k], s.TimestampsUnixNano...)
		}
	}
	if len(got2) != len(want) {
		t.Fatalf("%d distinct samples decoded, want %d", len(got2), len(want))
	}
	for k, ts := range want {
		if !slices.Equal(got2[k], ts) {
			t.Errorf("sample %+v: timestamps %v, want %v", k, got2[k], ts)
		}
	}
}

// checkLocation checks a location's frame type and, for native frames,
// its mapping's build IDs.
func checkLocation(t *testing.T, d *pb.ProfilesDictionary, loc *pb.Location) {
	t.Helper()
	var typ string
	for _, ai := range loc.AttributeIndices {
		if a := d.AttributeTable[ai]; d.StringTable[a.KeyStrindex] == attrFrameType {
			typ = a.Value.GetStringValue()
		}
	}
	fn := d.StringTable[d.FunctionTable[loc.Lines[len(loc.Lines)-1].FunctionIndex].NameStrindex]
	m := d.MappingTable[loc.MappingIndex]
	switch {
	case strings.HasPrefix(fn, "k"):
		if typ != "kernel" || d.StringTable[m.FilenameStrindex] != kernelMapping {
			t.Errorf("%s: type %q, mapping %q", fn, typ, d.StringTable[m.FilenameStrindex])
		}
	case strings.HasPrefix(fn, "py"):
		if typ != "cpython" || loc.MappingIndex == 0 || d.StringTable[m.FilenameStrindex] != "/app/s.py" {
			t.Errorf("%s: type %q, mapping %d (%q), want cpython in /app/s.py", fn, typ, loc.MappingIndex, d.StringTable[m.FilenameStrindex])
		}
	case strings.HasPrefix(fn, "[unwind"):
		if typ != "abort-marker" || loc.MappingIndex != 0 {
			t.Errorf("%s: type %q, mapping %d", fn, typ, loc.MappingIndex)
		}
	default:
		wantType := "native"
		if fn == "fn40" || fn == "fn42" {
			wantType = "go"
		}
		if typ != wantType {
			t.Errorf("%s: type %q, want %q", fn, typ, wantType)
		}
		ids := map[string]string{}
		for _, ai := range m.AttributeIndices {
			a := d.AttributeTable[ai]
			ids[d.StringTable[a.KeyStrindex]] = a.Value.GetStringValue()
		}
		if !strings.HasPrefix(ids[attrBuildIDGNU], "beef") || len(ids[attrBuildIDHTLHash]) != 32 {
			t.Errorf("%s: mapping build IDs %v", fn, ids)
		}
		if !strings.HasPrefix(d.StringTable[m.FilenameStrindex], "/bin/exe") {
			t.Errorf("%s: mapping file %q", fn, d.StringTable[m.FilenameStrindex])
		}
	}
}

// checkNoDuplicates checks that no table holds the same value twice.
func checkNoDuplicates(t *testing.T, d *pb.ProfilesDictionary) {
	t.Helper()
	dups := func(name string, n int, key func(i int) string) {
		seen := map[string]int{}
		for i := range n {
			k := key(i)
			if j, ok := seen[k]; ok {
				t.Errorf("%s[%d] duplicates [%d]: %s", name, i, j, k)
			}
			seen[k] = i
		}
	}
	text := func(m proto.Message) string {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		return string(b)
	}
	dups("string_table", len(d.StringTable), func(i int) string { return d.StringTable[i] })
	dups("attribute_table", len(d.AttributeTable), func(i int) string { return text(d.AttributeTable[i]) })
	dups("function_table", len(d.FunctionTable), func(i int) string { return text(d.FunctionTable[i]) })
	dups("mapping_table", len(d.MappingTable), func(i int) string { return text(d.MappingTable[i]) })
	dups("location_table", len(d.LocationTable), func(i int) string { return text(d.LocationTable[i]) })
	dups("stack_table", len(d.StackTable), func(i int) string { return text(d.StackTable[i]) })
}

func TestEncodeServiceNameFromProcess(t *testing.T) {
	b := NewBatch(BatchOptions{Describe: func(uint32) Process {
		return Process{ExecutableName: "java", ServiceName: "checkout"}
	}})
	b.Add(&aggregate.Trace{PID: 1, TID: 1, Frames: []aggregate.Frame{native(1, 2)}})
	req := Encode(b.Take(), fakeResolver{}, EncodeOptions{})
	for _, kv := range req.ResourceProfiles[0].Resource.Attributes {
		if kv.Key == attrService && kv.Value.GetStringValue() != "checkout" {
			t.Errorf("service.name %v, want the process's own", kv.Value)
		}
	}
}

func TestBatchLimit(t *testing.T) {
	b := NewBatch(BatchOptions{Limit: 10})
	tr := &aggregate.Trace{PID: 1, TID: 1, Frames: []aggregate.Frame{native(1, 2)}}
	for range 25 {
		b.Add(tr)
	}
	w := b.Take()
	if w.Events != 10 || w.Dropped != 15 || b.Dropped() != 15 {
		t.Errorf("events %d dropped %d (total %d), want 10 and 15", w.Events, w.Dropped, b.Dropped())
	}
	// The next window starts empty and counts its own drops.
	b.Add(tr)
	if w := b.Take(); w.Events != 1 || w.Dropped != 0 {
		t.Errorf("next window: events %d dropped %d", w.Events, w.Dropped)
	}
}

func TestBatchCopiesFrames(t *testing.T) {
	b := NewBatch(BatchOptions{})
	fs := []aggregate.Frame{native(1, 2), native(1, 3)}
	b.Add(&aggregate.Trace{PID: 1, TID: 1, Frames: fs})
	fs[0].Addr = 99 // the caller reuses its slice
	b.Add(&aggregate.Trace{PID: 1, TID: 1, Frames: fs})
	w := b.Take()
	if len(w.Samples) != 2 || w.Samples[0].Frames[0].Addr != 2 || w.Samples[1].Frames[0].Addr != 99 {
		t.Errorf("samples %+v", w.Samples)
	}
}
