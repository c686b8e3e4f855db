package aggregate

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

func writePprof(t *testing.T, p *Profile, sym Symbolizer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePprof(&buf, p, sym); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWritePprofRoundTrip(t *testing.T) {
	p := testProfile(t)
	data := writePprof(t, p, testSymbolizer())
	if again := writePprof(t, p, testSymbolizer()); !bytes.Equal(data, again) {
		t.Error("two encodings of one Profile differ")
	}
	pp, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}

	if got := len(pp.SampleType); got != 2 ||
		pp.SampleType[0].Type != "samples" || pp.SampleType[0].Unit != "count" ||
		pp.SampleType[1].Type != "cpu" || pp.SampleType[1].Unit != "nanoseconds" {
		t.Errorf("SampleType = %v", pp.SampleType)
	}
	if pp.PeriodType.Type != "cpu" || pp.PeriodType.Unit != "nanoseconds" || pp.Period != 1e7 {
		t.Errorf("period = %v %d", pp.PeriodType, pp.Period)
	}
	if pp.DurationNanos != 2e9 || pp.TimeNanos != p.Start.UnixNano() {
		t.Errorf("DurationNanos = %d, TimeNanos = %d", pp.DurationNanos, pp.TimeNanos)
	}

	var count, cpu int64
	for _, s := range pp.Sample {
		count += s.Value[0]
		cpu += s.Value[1]
		if s.Value[1] != s.Value[0]*int64(10*time.Millisecond) {
			t.Errorf("sample values %v: cpu is not count × period", s.Value)
		}
	}
	if count != p.Total() || cpu != p.Total()*int64(10*time.Millisecond) {
		t.Errorf("totals = %d samples, %d ns; want %d samples", count, cpu, p.Total())
	}

	if len(pp.Sample) != len(p.Samples) {
		t.Fatalf("%d samples, want %d", len(pp.Sample), len(p.Samples))
	}
	sym := testSymbolizer()
	for i, s := range pp.Sample {
		ps := p.Samples[i]
		if got := s.NumLabel["pid"]; len(got) != 1 || got[0] != int64(ps.PID) {
			t.Errorf("sample %d: pid label %v, want %d", i, got, ps.PID)
		}
		if got := s.NumLabel["tid"]; len(got) != 1 || got[0] != int64(ps.TID) {
			t.Errorf("sample %d: tid label %v, want %d", i, got, ps.TID)
		}
		if got := s.Label["comm"]; ps.Comm == "" && got != nil || ps.Comm != "" && (len(got) != 1 || got[0] != ps.Comm) {
			t.Errorf("sample %d: comm label %v, want %q", i, got, ps.Comm)
		}
		if len(s.Location) != len(ps.Frames) {
			t.Fatalf("sample %d: %d locations, want %d", i, len(s.Location), len(ps.Frames))
		}
		for j, loc := range s.Location {
			checkLocation(t, loc, ps.Frames[j], sym)
		}
	}
	if got, want := len(pp.Location), 9; got != want {
		t.Errorf("%d locations, want one per distinct frame (%d)", got, want)
	}
	// main appears at two addresses with two lines but is one function.
	var mains int
	for _, fn := range pp.Function {
		if fn.Name == "main" {
			mains++
		}
	}
	if mains != 1 {
		t.Errorf("%d functions named main, want 1", mains)
	}
}

// checkLocation compares a parsed pprof Location with the frame it encodes.
func checkLocation(t *testing.T, loc *profile.Location, f Frame, sym mapSymbolizer) {
	t.Helper()
	if loc.Address != f.Addr {
		t.Errorf("location %d: address %#x, want %#x", loc.ID, loc.Address, f.Addr)
	}
	want := sym[f]
	if len(want) == 0 {
		want = []Location{rawLocation(f)}
	}
	if len(loc.Line) != len(want) {
		t.Fatalf("frame %v: %d lines, want %d", f, len(loc.Line), len(want))
	}
	for k, ln := range loc.Line {
		w := want[k]
		if ln.Function.Name != w.Function || ln.Function.Filename != w.File || ln.Line != int64(w.Line) {
			t.Errorf("frame %v line %d = %s %s:%d, want %s %s:%d", f, k,
				ln.Function.Name, ln.Function.Filename, ln.Line, w.Function, w.File, w.Line)
		}
	}
	if loc.Mapping == nil {
		t.Fatalf("frame %v: no mapping", f)
	}
	switch f.Kind {
	case KindKernel:
		if loc.Mapping.File != "[kernel]" {
			t.Errorf("kernel frame in mapping %q", loc.Mapping.File)
		}
	case KindError:
		if loc.Mapping.File != "[error]" {
			t.Errorf("error frame in mapping %q", loc.Mapping.File)
		}
	case KindNative:
		if loc.Mapping.File != want[len(want)-1].Module && f != fAnon {
			t.Errorf("frame %v in mapping %q, want %q", f, loc.Mapping.File, want[len(want)-1].Module)
		}
	}
	if !loc.Mapping.HasFunctions {
		t.Errorf("mapping %q not marked symbolized", loc.Mapping.File)
	}
}

func TestWritePprofMappingsStayApart(t *testing.T) {
	// Two executables with the same base name must not merge on Parse.
	a := Frame{Kind: KindNative, FileID: 1, Addr: 0x10}
	b := Frame{Kind: KindNative, FileID: 2, Addr: 0x10}
	sym := mapSymbolizer{
		a: {{Function: "f", Module: "python3"}},
		b: {{Function: "g", Module: "python3"}},
	}
	p := &Profile{Period: time.Millisecond, Samples: []ProfileSample{
		{PID: 1, TID: 1, Comm: "py", Frames: []Frame{a}, Count: 1},
		{PID: 2, TID: 2, Comm: "py", Frames: []Frame{b}, Count: 1},
	}}
	pp, err := profile.Parse(bytes.NewReader(writePprof(t, p, sym)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Mapping) != 2 {
		t.Fatalf("%d mappings, want 2", len(pp.Mapping))
	}
	if pp.Sample[0].Location[0].Mapping == pp.Sample[1].Location[0].Mapping {
		t.Error("frames of two executables share a mapping")
	}
}

func TestWritePprofEmpty(t *testing.T) {
	pp, err := profile.Parse(bytes.NewReader(writePprof(t, &Profile{Period: DefaultPeriod}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Sample) != 0 {
		t.Errorf("%d samples, want 0", len(pp.Sample))
	}
}

func TestWritePprofError(t *testing.T) {
	err := WritePprof(failWriter{}, testProfile(t), testSymbolizer())
	if !errors.Is(err, errFail) {
		t.Errorf("err = %v, want it to wrap %v", err, errFail)
	}
}

func TestGoToolPprofTop(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	if err := os.WriteFile(path, writePprof(t, testProfile(t), testSymbolizer()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "tool", "pprof", "-top", path)
	// Keep pprof from looking for binaries or writing under $HOME.
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir(), "PPROF_BINARY_PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	for _, want := range []string{"Type: cpu", "square", "do_syscall_64", "ns::op;semi"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pprof -top output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "symboliz") {
		t.Errorf("pprof tried to symbolize:\n%s", out)
	}
}
