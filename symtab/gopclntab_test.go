package symtab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
	"github.com/pftop/pftop/symtab/pclntab"
	"github.com/pftop/pftop/symtab/pclntab/pclntabtest"
)

func openGoFile(t testing.TB, p string) (*GoTable, *elf.File) {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	g, err := NewGoTable(f)
	if err != nil {
		t.Fatal(err)
	}
	return g, f
}

func frameString(fr []GoFrame) string {
	var parts []string
	for _, f := range fr {
		s := fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
		if f.Inlined {
			s += " (inlined)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " / ")
}

func TestGoPrintName(t *testing.T) {
	for in, want := range map[string]string{
		"main.main":                             "main.main",
		"main.(*T).m":                           "main.(*T).m",
		"main.gen[go.shape.int]":                "main.gen[...]",
		"main.gen[...]":                         "main.gen[...]",
		"main.(*List[go.shape.int]).Push.func1": "main.(*List[...]).Push.func1",
		"main.F[go.shape.[]int,go.shape.int]":   "main.F[...]",
		"type:.eq.[2]interface {}":              "type:.eq.[...]interface {}",
		"odd]name[":                             "odd]name[",
		"":                                      "",
	} {
		if got := goPrintName(in); got != want {
			t.Errorf("goPrintName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoTableFixtures(t *testing.T) {
	for _, p := range pclntabtest.Fixtures(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			g, err := OpenGo(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			f, _ := elf.NewFile(bytes.NewReader(b))
			tab, _, err := pclntab.Open(f, pclntab.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if g.Len() != tab.NumFuncs() || g.Version() != tab.Version {
				t.Errorf("Len %d Version %v", g.Len(), g.Version())
			}
			// In main.(*T).mid, the call of leaf is in add, inlined.
			var call []GoFrame
			for i := 0; i < tab.NumFuncs(); i++ {
				fn, _ := tab.Func(i)
				if name, _ := tab.FuncName(&fn); name != "main.(*T).mid" {
					continue
				}
				for pc := fn.Entry; pc < fn.End; pc++ {
					if fr, ok := g.Lookup(pc); ok && len(fr) == 2 {
						call = fr
						break
					}
				}
				if fr, ok := g.Lookup(fn.Entry); !ok || len(fr) != 1 || fr[0].Entry != fn.Entry || fr[0].Line != 13 {
					t.Errorf("at the entry of mid: %+v", fr)
				}
			}
			want := "main.add example.com/fixture/main.go:8 (inlined) / main.(*T).mid example.com/fixture/main.go:13"
			if got := frameString(call); got != want {
				t.Errorf("inlined call: %s\nwant %s", got, want)
			}
			if call[0].Entry != 0 || call[1].Entry == 0 || call[0].Wrapper || call[1].Wrapper {
				t.Errorf("frames %+v", call)
			}
			if g.Version() == pclntab.Go120 && (call[0].StartLine != 8 || call[1].StartLine != 13) {
				t.Errorf("start lines %d %d", call[0].StartLine, call[1].StartLine)
			}
			for _, pc := range []uint64{0, 0x400000, tab.TextEnd(), ^uint64(0)} {
				if fr, ok := g.Lookup(pc); ok {
					t.Errorf("Lookup(%#x) = %v", pc, fr)
				}
			}
		})
	}
}

// TestGoTableObjdump checks every instruction of the test program's main
// package against objdump (innermost file:line, and the function) and
// addr2line, for every toolchain, plain and stripped.
func TestGoTableObjdump(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		t.Run(tc, func(t *testing.T) {
			plain := pclntabtest.BuildProg(t, tc)
			funcs := pclntabtest.Objdump(t, tc, plain, `^main\.`)
			for k, bin := range []string{plain, pclntabtest.BuildProg(t, tc, "-ldflags=-s -w")} {
				g, _ := openGoFile(t, bin)
				var addrs []uint64
				var looked [][]GoFrame
				for _, fn := range funcs {
					if !strings.HasSuffix(fn.File, ".go") {
						continue
					}
					for _, in := range fn.Insns {
						fr, ok := g.Lookup(in.Addr)
						if !ok {
							t.Fatalf("%s at %#x: not found", fn.Name, in.Addr)
						}
						inner, outer := fr[0], fr[len(fr)-1]
						if path.Base(inner.File) != in.File || inner.Line != in.Line || outer.Function != goPrintName(fn.Name) {
							t.Errorf("%#x: %s; objdump says %s %s:%d", in.Addr, frameString(fr), fn.Name, in.File, in.Line)
						}
						addrs = append(addrs, in.Addr)
						looked = append(looked, fr)
					}
				}
				if k > 0 {
					continue // built elsewhere: addr2line's paths differ
				}
				for i, a := range pclntabtest.Addr2line(t, tc, plain, addrs) {
					fr := looked[i]
					inner, outer := fr[0], fr[len(fr)-1]
					if a.Function != outer.Function && goPrintName(a.Function) != outer.Function || a.File != inner.File || a.Line != inner.Line {
						t.Errorf("%#x: %s; addr2line says %s", addrs[i], frameString(fr), a)
					}
				}
			}
		})
	}
}

// TestGoInlining checks that the test program's helpers are inlined, as
// the other tests assume.
func TestGoInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		t.Run(tc, func(t *testing.T) {
			dir := filepath.Dir(pclntabtest.BuildProg(t, tc))
			cmd := pclntabtest.GoCmd(t, tc, "build", "-gcflags=-m", "-o", os.DevNull, ".")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range []string{"inlining call to helper", "inlining call to outer"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("-gcflags=-m does not say %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestGoTableStacks symbolizes the stacks the test program recorded,
// found by following the frame pointers in the recorded memory, and
// compares them with runtime.CallersFrames: names, files, lines and
// inlined calls.
func TestGoTableStacks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		t.Run(tc, func(t *testing.T) {
			bin := pclntabtest.BuildProg(t, tc, "-ldflags=-s -w")
			g, _ := openGoFile(t, bin)
			inlined := 0
			for _, c := range pclntabtest.RunProg(t, bin) {
				var got []pclntabtest.Frame
				seenCapture := false
				for _, ra := range fpChain(c) {
					fr, ok := g.Lookup(ra - 1)
					if !ok {
						t.Fatalf("%s: return address %#x not found", c.Label, ra)
					}
					for _, f := range fr {
						if seenCapture && !f.Wrapper {
							got = append(got, pclntabtest.Frame{Function: f.Function, File: f.File, Line: f.Line})
						}
						if f.Inlined {
							inlined++
						}
					}
					if fr[len(fr)-1].Function == "main.capture" {
						seenCapture = true
					}
				}
				if want := c.Frames[1:]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: symbolized\n\t%v\nruntime.CallersFrames says\n\t%v", c.Label, got, want)
				}
			}
			if inlined < 2 {
				t.Errorf("%d inlined frames seen, want helper and outer", inlined)
			}
		})
	}
}

// fpChain returns the return addresses of a recorded stack by following
// the frame pointers: [BP] is the caller's BP, [BP+8] the return address.
func fpChain(c pclntabtest.Capture) []uint64 {
	read := func(addr uint64) (uint64, bool) {
		if addr < c.SP || addr-c.SP+8 > uint64(len(c.Mem)) {
			return 0, false
		}
		return binary.LittleEndian.Uint64(c.Mem[addr-c.SP:]), true
	}
	ras := []uint64{c.PC}
	for bp := c.BP; bp != 0 && len(ras) < 64; {
		ra, ok1 := read(bp + 8)
		next, ok2 := read(bp)
		if !ok1 || !ok2 || next <= bp && next != 0 {
			break
		}
		ras = append(ras, ra)
		bp = next
	}
	return ras
}

func TestGoTableNotGo(t *testing.T) {
	for _, p := range []string{"testdata/fixture", "testdata/fixture-stripped"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenGo(bytes.NewReader(b)); !errors.Is(err, ErrNoGoPclntab) {
			t.Errorf("%s: err = %v, want ErrNoGoPclntab", p, err)
		}
	}
	if _, err := OpenGo(bytes.NewReader([]byte("not an elf file"))); err == nil {
		t.Error("garbage: no error")
	}
}

// TestGoTableConcurrent looks up from many goroutines (run with -race)
// with caches small enough to turn over.
func TestGoTableConcurrent(t *testing.T) {
	g, f := openGoFile(t, pclntabtest.Fixtures(t)[1])
	g.pcs.init(64)
	g.funcs.init(64)
	g.names.init(16)
	g.files.init(4)
	text := f.Section(".text")
	want := map[uint64]string{}
	for a := text.Addr; a < text.Addr+text.Size; a += 97 {
		fr, _ := g.Lookup(a)
		want[a] = frameString(fr)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < 2000; i++ {
				a := text.Addr + 97*uint64(r.IntN(int(text.Size/97)))
				fr, _ := g.Lookup(a)
				if got := frameString(fr); got != want[a] {
					t.Errorf("%#x: %s, want %s", a, got, want[a])
					return
				}
			}
		})
	}
	wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.pcs.cur) + len(g.pcs.old); n > 129 {
		t.Errorf("pc cache holds %d entries, bound 129", n)
	}
}

func TestGenCache(t *testing.T) {
	var c genCache[int, int]
	c.init(3)
	for i := 0; i < 10; i++ {
		c.put(i, i*i)
		if n := len(c.cur) + len(c.old); n > 6 {
			t.Fatalf("%d entries", n)
		}
	}
	if v, ok := c.get(9); !ok || v != 81 {
		t.Errorf("get(9) = %d, %v", v, ok)
	}
	if _, ok := c.get(0); ok {
		t.Error("oldest entry kept")
	}
	// Costs: a generation holds entries costing up to size.
	c.init(10)
	for i := 0; i < 100; i++ {
		c.putCost(i, i, 4)
		cost := 0
		for _, m := range []map[int]genEntry[int]{c.cur, c.old} {
			for _, e := range m {
				cost += e.cost
			}
		}
		if cost > 2*10+4 {
			t.Fatalf("cost %d held", cost)
		}
	}
	// An entry moved from the old generation is not counted twice.
	c.init(2)
	c.put(1, 1)
	c.put(2, 2)
	c.put(3, 3) // 1 and 2 are old now
	c.get(1)
	if len(c.cur)+len(c.old) != 3 {
		t.Errorf("%d entries after a promotion, want 3", len(c.cur)+len(c.old))
	}
}

func FuzzGoTable(f *testing.F) {
	for _, p := range pclntabtest.Fixtures(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(0x401000))
	}
	f.Fuzz(func(t *testing.T, data []byte, pc uint64) {
		g, err := OpenGo(bytes.NewReader(data))
		if err != nil {
			return
		}
		check := func(pc uint64) {
			fr, ok := g.Lookup(pc)
			if ok != (len(fr) > 0) {
				t.Fatalf("Lookup(%#x) = %v, %v", pc, fr, ok)
			}
			for i, f := range fr {
				if f.Inlined != (i < len(fr)-1) || (f.Inlined && f.Entry != 0) {
					t.Fatalf("Lookup(%#x) = %+v", pc, fr)
				}
			}
			if len(fr) > goMaxInlineDepth+1 {
				t.Fatalf("Lookup(%#x): %d frames", pc, len(fr))
			}
		}
		check(pc)
		for i := 0; i < g.Len() && i < 64; i++ {
			e := g.t.Entry(i)
			check(e)
			check(e + 3)
		}
	})
}

// goAddrs returns n addresses spread over the functions of g.
func goAddrs(g *GoTable, n int) []uint64 {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]uint64, n)
	for i := range out {
		k := r.IntN(g.Len())
		lo, hi := g.t.Entry(k), g.t.Entry(k+1)
		out[i] = lo
		if hi > lo {
			out[i] += uint64(r.IntN(int(hi - lo)))
		}
	}
	return out
}

func BenchmarkGoOpen(b *testing.B) {
	p := testutil.GoCommand(b)
	osf, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer osf.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenGo(osf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoLookupCold looks up distinct addresses of the go command,
// each once, in a fresh table (its caches empty): what symbolizing a new
// profile costs.
func BenchmarkGoLookupCold(b *testing.B) {
	p := testutil.GoCommand(b)
	osf, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer osf.Close()
	g, err := OpenGo(osf)
	if err != nil {
		b.Fatal(err)
	}
	addrs := goAddrs(g, 100_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(addrs) {
			b.StopTimer()
			g, _ = OpenGo(osf)
			i = 0
			b.StartTimer()
		}
		g.Lookup(addrs[i])
		i++
	}
}

// BenchmarkGoLookupWarm looks up 100,000 distinct addresses over and
// over: the cached path.
func BenchmarkGoLookupWarm(b *testing.B) {
	p := testutil.GoCommand(b)
	osf, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer osf.Close()
	g, err := OpenGo(osf)
	if err != nil {
		b.Fatal(err)
	}
	addrs := goAddrs(g, 100_000)
	for _, a := range addrs {
		g.Lookup(a)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Lookup(addrs[i%len(addrs)])
		i++
	}
}
