package aggregate

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// speedscopeDoc is the file format as read back, with pointers where a
// missing field must be told from a zero one.
type speedscopeDoc struct {
	Schema *string `json:"$schema"`
	Shared *struct {
		Frames []struct {
			Name *string `json:"name"`
			File string  `json:"file"`
		} `json:"frames"`
	} `json:"shared"`
	Profiles []struct {
		Type       *string   `json:"type"`
		Name       *string   `json:"name"`
		Unit       *string   `json:"unit"`
		StartValue *float64  `json:"startValue"`
		EndValue   *float64  `json:"endValue"`
		Samples    [][]int   `json:"samples"`
		Weights    []float64 `json:"weights"`
	} `json:"profiles"`
	Name               string `json:"name"`
	ActiveProfileIndex *int   `json:"activeProfileIndex"`
	Exporter           string `json:"exporter"`
}

// checkSpeedscope validates out against the format and returns it
// decoded: required fields present, indexes in range, one weight per
// sample, weights summing to each profile's endValue and, over all
// profiles, to total.
func checkSpeedscope(t *testing.T, out []byte, total int64) *speedscopeDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var d speedscopeDoc
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	if d.Schema == nil || *d.Schema != "https://www.speedscope.app/file-format-schema.json" {
		t.Errorf("$schema = %v", d.Schema)
	}
	if d.Shared == nil || d.Shared.Frames == nil {
		t.Fatal("no shared.frames")
	}
	for i, f := range d.Shared.Frames {
		if f.Name == nil || *f.Name == "" {
			t.Errorf("frame %d has no name", i)
		}
	}
	if len(d.Profiles) == 0 {
		t.Fatal("no profiles")
	}
	if d.ActiveProfileIndex == nil || *d.ActiveProfileIndex < 0 || *d.ActiveProfileIndex >= len(d.Profiles) {
		t.Errorf("activeProfileIndex = %v of %d profiles", d.ActiveProfileIndex, len(d.Profiles))
	}
	units := []string{"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}
	var sum float64
	for i, p := range d.Profiles {
		if p.Type == nil || *p.Type != "sampled" || p.Name == nil || p.Unit == nil || !slices.Contains(units, *p.Unit) ||
			p.StartValue == nil || p.EndValue == nil || p.Samples == nil || p.Weights == nil {
			t.Fatalf("profile %d misses fields or has bad ones: %+v", i, p)
		}
		if len(p.Samples) != len(p.Weights) {
			t.Errorf("profile %d: %d samples, %d weights", i, len(p.Samples), len(p.Weights))
		}
		var w float64
		for j, s := range p.Samples {
			for _, x := range s {
				if x < 0 || x >= len(d.Shared.Frames) {
					t.Errorf("profile %d sample %d: frame index %d of %d", i, j, x, len(d.Shared.Frames))
				}
			}
		}
		for _, x := range p.Weights {
			if x <= 0 {
				t.Errorf("profile %d: weight %v", i, x)
			}
			w += x
		}
		if w != *p.EndValue-*p.StartValue {
			t.Errorf("profile %d: weights sum to %v, end-start is %v", i, w, *p.EndValue-*p.StartValue)
		}
		sum += w
	}
	if sum != float64(total) {
		t.Errorf("weights sum to %v, want %d samples", sum, total)
	}
	return &d
}

func TestWriteSpeedscope(t *testing.T) {
	p := testProfile(t)
	var buf bytes.Buffer
	if err := WriteSpeedscope(&buf, p, testSymbolizer()); err != nil {
		t.Fatal(err)
	}
	d := checkSpeedscope(t, buf.Bytes(), p.Total())

	// Profiles per process, in PID order; the busiest is active.
	var names []string
	for _, pr := range d.Profiles {
		names = append(names, *pr.Name)
	}
	if want := []string{"app (pid 100)", "app (pid 200)", "other;x (pid 300)", "[unknown] (pid 400)"}; !slices.Equal(names, want) {
		t.Errorf("profiles %q, want %q", names, want)
	}
	if *d.ActiveProfileIndex != 1 {
		t.Errorf("active profile %d, want 1 (pid 200, 10 samples)", *d.ActiveProfileIndex)
	}

	// Stacks read back as the folded ones: root first, inlined calls as
	// callees, threads merged, one entry per distinct stack.
	var got []string
	for _, pr := range d.Profiles {
		for j, s := range pr.Samples {
			var elems []string
			for _, x := range s {
				elems = append(elems, *d.Shared.Frames[x].Name)
			}
			got = append(got, strings.Join(elems, ";")+" "+strconv.FormatFloat(pr.Weights[j], 'f', -1, 64))
		}
	}
	want := []string{
		"__libc_start_main;main;compute;sum;square;entry_SYSCALL_64;do_syscall_64 5",
		"[unwind stopped: no unwind info];__libc_start_main;main;ns::op;semi\nnew\r 4",
		"__libc_start_main;main;compute;sum;square 5",
		"__libc_start_main;main;compute;sum;square;entry_SYSCALL_64;do_syscall_64 1",
		"__libc_start_main;[unknown]+0x7f0000001234 1",
		"__libc_start_main;main 5",
		"do_syscall_64 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("stacks:\n%q\nwant:\n%q", got, want)
	}

	// Frames are shared: main at two addresses is one frame, and kernel
	// frames carry their module as file.
	for _, f := range d.Shared.Frames {
		if *f.Name == "main" && f.File != "/src/app.c" {
			t.Errorf("main's file %q", f.File)
		}
		if *f.Name == "do_syscall_64" && f.File != "[kernel]" {
			t.Errorf("do_syscall_64's file %q", f.File)
		}
	}
	seen := map[string]bool{}
	for _, f := range d.Shared.Frames {
		k := *f.Name + "\x00" + f.File
		if seen[k] {
			t.Errorf("frame %q %q twice", *f.Name, f.File)
		}
		seen[k] = true
	}

	// Deterministic.
	var again bytes.Buffer
	if err := WriteSpeedscope(&again, p, testSymbolizer()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two writes differ")
	}
}

func TestWriteSpeedscopeEmptyAndNilSymbolizer(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSpeedscope(&buf, &Profile{}, nil); err != nil {
		t.Fatal(err)
	}
	d := checkSpeedscope(t, buf.Bytes(), 0)
	if len(d.Profiles) != 1 || len(d.Profiles[0].Samples) != 0 {
		t.Errorf("empty profile: %s", buf.Bytes())
	}

	p := testProfile(t)
	buf.Reset()
	if err := WriteSpeedscope(&buf, p, nil); err != nil {
		t.Fatal(err)
	}
	d = checkSpeedscope(t, buf.Bytes(), p.Total())
	if n := *d.Shared.Frames[0].Name; !strings.Contains(n, "+0x") {
		t.Errorf("frame without symbols named %q", n)
	}
}

func TestWriteSpeedscopeWriteError(t *testing.T) {
	if err := WriteSpeedscope(failWriter{}, testProfile(t), testSymbolizer()); err == nil || !strings.HasPrefix(err.Error(), "write speedscope: ") {
		t.Errorf("err = %v", err)
	}
}
