package aggregate

import (
	"flag"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// mapSymbolizer is a Symbolizer backed by a map; unknown frames get an
// empty result, which encoders must survive.
type mapSymbolizer map[Frame][]Location

func (m mapSymbolizer) Symbolize(f Frame) []Location { return m[f] }

const (
	appID  = 0xa1a1a1a1a1a1a1a1
	libcID = 0xb2b2b2b2b2b2b2b2
)

var (
	fSyscall = Frame{Kind: KindKernel, Addr: 0xffffffff81000100}
	fEntry   = Frame{Kind: KindKernel, Addr: 0xffffffff81000200}
	fCompute = Frame{Kind: KindNative, FileID: appID, Addr: 0x1000}
	fMain    = Frame{Kind: KindNative, FileID: appID, Addr: 0x2000}
	fMain2   = Frame{Kind: KindNative, FileID: appID, Addr: 0x2004}
	fWeird   = Frame{Kind: KindNative, FileID: appID, Addr: 0x3000}
	fStart   = Frame{Kind: KindNative, FileID: libcID, Addr: 0x500}
	fAnon    = Frame{Kind: KindNative, Addr: 0x7f0000001234}
	fErr     = Frame{Kind: KindError, Addr: 2}
)

func testSymbolizer() mapSymbolizer {
	return mapSymbolizer{
		fSyscall: {{Function: "do_syscall_64", Module: "[kernel]"}},
		fEntry:   {{Function: "entry_SYSCALL_64", Module: "[kernel]"}},
		fCompute: {
			{Function: "square", Module: "app", File: "/src/app.c", Line: 10, Inlined: true},
			{Function: "sum", Module: "app", File: "/src/app.c", Line: 15, Inlined: true},
			{Function: "compute", Module: "app", File: "/src/app.c", Line: 20},
		},
		fMain:  {{Function: "main", Module: "app", File: "/src/app.c", Line: 30}},
		fMain2: {{Function: "main", Module: "app", File: "/src/app.c", Line: 31}},
		fWeird: {{Function: "ns::op;semi\nnew\r", Module: "app", File: "/src/app.c", Line: 40}},
		fStart: {{Function: "__libc_start_main", Module: "libc.so.6"}},
		fErr:   {{Function: "[unwind stopped: no unwind info]"}},
		// fAnon is deliberately missing.
	}
}

// testTraces returns a fixed set of traces; see the golden files for
// what they fold to.
func testTraces() []Trace {
	deep := []Frame{fSyscall, fEntry, fCompute, fMain, fStart}
	var ts []Trace
	add := func(n int, pid, tid uint32, comm string, frames ...Frame) {
		for range n {
			ts = append(ts, Trace{PID: pid, TID: tid, Comm: comm, Frames: frames})
		}
	}
	add(3, 100, 100, "app", deep...)
	add(2, 100, 101, "app", deep...)
	add(1, 200, 200, "app", deep...)
	add(4, 200, 201, "app", fWeird, fMain, fStart, fErr)
	add(5, 200, 201, "app", fCompute, fMain, fStart)
	add(1, 300, 300, "other;x", fAnon, fStart)
	add(2, 300, 300, "other;x", fMain, fStart)
	add(3, 300, 300, "other;x", fMain2, fStart)
	add(1, 400, 400, "", fSyscall)
	return ts
}

// fixedClock returns a clock that starts at a fixed time and advances by
// step on every call.
func fixedClock(step time.Duration) func() time.Time {
	t := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		now := t
		t = t.Add(step)
		return now
	}
}

// fakeClock is a clock that moves only when told to. It is safe for
// concurrent use.
type fakeClock struct {
	ns atomic.Int64 // since base
}

var clockBase = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *fakeClock) now() time.Time { return clockBase.Add(time.Duration(c.ns.Load())) }

func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// testProfile returns the Snapshot of testTraces taken 2 s after the
// Store's creation.
func testProfile(t *testing.T) *Profile {
	t.Helper()
	var clock fakeClock
	s := NewStoreWithOptions(StoreOptions{Period: 10 * time.Millisecond, Clock: clock.now})
	ts := testTraces()
	for i := range ts {
		s.Add(&ts[i])
	}
	clock.advance(2 * time.Second)
	return s.Snapshot()
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update to accept)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
