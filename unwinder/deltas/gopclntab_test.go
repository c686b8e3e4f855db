package deltas

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
	"github.com/pftop/pftop/symtab"
	"github.com/pftop/pftop/symtab/pclntab"
	"github.com/pftop/pftop/symtab/pclntab/pclntabtest"
)

func goOpen(t testing.TB, path string) *elf.File {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func goExtract(t testing.TB, f *elf.File) *Table {
	t.Helper()
	tab, err := ExtractPclntab(f)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, tab)
	return tab
}

// goFuncs returns the functions of f's pclntab by name.
func goFuncs(t testing.TB, f *elf.File) map[string]pclntab.Func {
	t.Helper()
	tab, _, err := pclntab.Open(f, pclntab.Options{Preload: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pclntab.Func{}
	for i := 0; i < tab.NumFuncs(); i++ {
		fn, err := tab.Func(i)
		if err != nil {
			t.Fatal(err)
		}
		name, err := tab.FuncName(&fn)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = fn
	}
	return out
}

// rulesIn returns the rules of [lo, hi) as "offset rule" lines.
func rulesIn(t *Table, lo, hi uint64) string {
	var sb strings.Builder
	r, _ := lookup(t, lo)
	fmt.Fprintf(&sb, "+%#x %s;", 0, r)
	for _, d := range t.Deltas {
		if d.Addr > lo && d.Addr < hi {
			fmt.Fprintf(&sb, " +%#x %s;", d.Addr-lo, d.Rule)
		}
	}
	return sb.String()
}

// TestGoFixtures checks the rules of a few functions of the committed
// fixtures, whose code the Makefile pins.
func TestGoFixtures(t *testing.T) {
	for _, path := range pclntabtest.Fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := goOpen(t, path)
			tab := goExtract(t, f)
			fns := goFuncs(t, f)
			at := func(name string) (Rule, pclntab.Func) {
				fn, ok := fns[name]
				if !ok {
					t.Fatalf("no %s", name)
				}
				r, _ := lookup(tab, fn.Entry)
				return r, fn
			}
			// A frameless leaf: RSP+8 throughout, then the gap.
			if r, fn := at("main.leaf"); r.String() != "rsp+8" || !strings.HasPrefix(rulesIn(tab, fn.Entry, fn.End), "+0x0 rsp+8; +0x") {
				t.Errorf("main.leaf: %s", rulesIn(tab, fn.Entry, fn.End))
			}
			for name, want := range map[string]string{
				"runtime.goexit":      "end",
				"runtime.mstart":      "end",
				"runtime.rt0_go":      "end",
				"runtime.systemstack": "invalid",
				"runtime.mcall":       "invalid",
			} {
				if r, fn := at(name); r.String() != want {
					t.Errorf("%s: %s, want %s", name, rulesIn(tab, fn.Entry, fn.End), want)
				}
			}
			sig := "runtime.sigreturn__sigaction"
			if _, ok := fns[sig]; !ok {
				sig = "runtime.sigreturn"
			}
			if r, _ := at(sig); r.CFA != CFASignal {
				t.Errorf("%s: %s, want signal", sig, r)
			}
			// main.(*T).mid has a frame with the frame pointer saved.
			_, fn := at("main.(*T).mid")
			if got := rulesIn(tab, fn.Entry, fn.End); !strings.Contains(got, "rbp=c-16") {
				t.Errorf("main.(*T).mid saves no frame pointer: %s", got)
			}
		})
	}
}

// insnRule is what objdump's instructions say the rule is before one
// instruction. alt, when set, is also right: a NOP between the body and
// the morestack call belongs to either.
type insnRule struct {
	addr uint64
	rule Rule
	alt  *Rule
	text string
}

var (
	reSubSP  = regexp.MustCompile(`^SUBQ \$0x([0-9a-f]+), SP$`)
	reAddSP  = regexp.MustCompile(`^ADDQ \$0x([0-9a-f]+), SP$`)
	reSaveBP = regexp.MustCompile(`^MOVQ BP, 0x([0-9a-f]+)\(SP\)$`)
	reSpill  = regexp.MustCompile(`^MOV\w* \w+, 0x[0-9a-f]+\(SP\)$`)
	reDestSP = regexp.MustCompile(`(, SP$)|^(PUSH|POP)`)
)

// simulate follows the stack pointer through a compiled function as
// objdump shows it and returns the rule before every instruction, or
// false when the function does something the simulation does not model.
// It knows the compiler's prologues and epilogues (PUSHQ BP; MOVQ SP, BP;
// SUBQ $n, SP / ADDQ $n, SP; POPQ BP and SUBQ $n, SP; MOVQ BP, n-8(SP) /
// ADDQ $n, SP), that code after a RET or JMP runs with the full frame,
// and that the morestack call at the end (spills, CALL
// runtime.morestack*, reloads, JMP to the entry) runs with none.
func simulate(fn pclntabtest.ObjFunc) ([]insnRule, bool) {
	r, why := simulateWhy(fn)
	return r, why == ""
}

func simulateWhy(fn pclntabtest.ObjFunc) ([]insnRule, string) {
	ins := fn.Insns
	isNOP := func(i int) bool { return strings.HasPrefix(ins[i].Text, "NOP") }
	tail, gap, tailEnd := len(ins), len(ins), len(ins)
	for i := len(ins) - 1; i >= 0; i-- {
		if strings.HasPrefix(ins[i].Text, "CALL runtime.morestack") {
			tail = i
			for tail > 0 && (reSpill.MatchString(ins[tail-1].Text) || isNOP(tail-1)) {
				tail--
			}
			// NOPs at the start may end the body instead (after a call
			// that does not return).
			for gap = tail; tail < i && isNOP(tail); tail++ {
			}
			// The tail ends with a jump back to the entry; wrappers have
			// more code after it.
			for tailEnd = i; tailEnd < len(ins) && ins[tailEnd].Text != "JMP "+fn.Name+"(SB)"; tailEnd++ {
			}
			break
		}
	}
	var out []insnRule
	sp, saved := int64(0), false
	frame, frameSaved := int64(0), false
	rule := func() Rule {
		r := Rule{CFA: CFARSP, CFAOffset: int32(sp + 8)}
		if saved && sp >= 8 {
			r.RBP, r.RBPOffset = RBPAtCFA, -16
		}
		return r
	}
	inTail := func(i int) bool { return i >= tail && i <= tailEnd }
	for i, in := range ins {
		if i >= gap && i < tail {
			r := Rule{CFA: CFARSP, CFAOffset: 8}
			out = append(out, insnRule{in.Addr, rule(), &r, in.Text})
			continue
		}
		if inTail(i) {
			r := Rule{CFA: CFARSP, CFAOffset: 8}
			out = append(out, insnRule{in.Addr, r, nil, in.Text})
			if i == tailEnd {
				sp, saved = frame, frameSaved
			}
			continue
		}
		out = append(out, insnRule{in.Addr, rule(), nil, in.Text})
		txt := in.Text
		hex := func(re *regexp.Regexp) (int64, bool) {
			m := re.FindStringSubmatch(txt)
			if m == nil {
				return 0, false
			}
			v, err := strconv.ParseInt(m[1], 16, 64)
			return v, err == nil
		}
		switch {
		case txt == "PUSHQ BP":
			if sp != 0 || i+1 >= len(ins) || ins[i+1].Text != "MOVQ SP, BP" {
				return nil, "PUSHQ BP not in a prologue at " + txt
			}
			sp, saved = 8, true
		case txt == "POPQ BP":
			if sp != 8 {
				return nil, "POPQ BP with other things pushed"
			}
			sp, saved = 0, false
		case reSubSP.MatchString(txt):
			n, _ := hex(reSubSP)
			sp += n
		case reAddSP.MatchString(txt):
			n, _ := hex(reAddSP)
			if sp -= n; sp == 0 {
				saved = false
			}
		case reSaveBP.MatchString(txt):
			if n, _ := hex(reSaveBP); n == sp-8 && sp > 0 {
				saved = true
			}
		case reDestSP.MatchString(txt) && !strings.HasPrefix(txt, "CMP") && !strings.HasPrefix(txt, "TEST"):
			return nil, "writes SP: " + txt
		}
		if sp >= frame && sp > 0 {
			frame, frameSaved = sp, saved
		}
		if sp < 0 {
			return nil, "negative SP offset"
		}
		if txt == "RET" || strings.HasPrefix(txt, "JMP ") {
			// Code after an exit belongs to paths that still have the
			// frame.
			sp, saved = frame, frameSaved
		}
	}
	return out, ""
}

// checkObjdump compares the table with the simulation of every compiled
// function of the binary; it returns how many functions it checked.
func checkObjdump(t *testing.T, tc, bin string, tab *Table, sym string) int {
	t.Helper()
	checked, bad := 0, 0
	for _, fn := range pclntabtest.Objdump(t, tc, bin, sym) {
		if !strings.HasSuffix(fn.File, ".go") && fn.File != "<autogenerated>" {
			continue // assembly
		}
		want, ok := simulate(fn)
		if !ok {
			continue
		}
		checked++
		for _, w := range want {
			got, _ := lookup(tab, w.addr)
			if got != w.rule && (w.alt == nil || got != *w.alt) {
				if bad++; bad <= 10 {
					t.Errorf("%s at %#x (%s): %s, objdump says %s", fn.Name, w.addr, w.text, got, w.rule)
				}
				break
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d functions differ", bad, checked)
	}
	return checked
}

// TestGoObjdump builds the test program with every toolchain and checks
// the rules at every instruction of its compiled functions against the SP
// adjustments objdump shows, and the stripped build against the plain one.
func TestGoObjdump(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		t.Run(tc, func(t *testing.T) {
			bin := pclntabtest.BuildProg(t, tc)
			tab := goExtract(t, goOpen(t, bin))
			n := checkObjdump(t, tc, bin, tab, "")
			t.Logf("%d deltas; %d compiled functions checked against objdump", len(tab.Deltas), n)

			// The main package's functions in detail.
			for _, fn := range pclntabtest.Objdump(t, tc, bin, `^main\.`) {
				if _, why := simulateWhy(fn); why != "" && strings.HasSuffix(fn.File, ".go") {
					t.Errorf("%s: not simulated: %s", fn.Name, why)
				}
			}
			for _, fn := range pclntabtest.Objdump(t, tc, bin, `^main\.leaf$`) {
				for _, in := range fn.Insns {
					if strings.Contains(in.Text, "SP") || strings.Contains(in.Text, "BP") {
						t.Errorf("main.leaf is not frameless: %s", in.Text)
					}
				}
			}
			f := goOpen(t, bin)
			fns := goFuncs(t, f)
			leaf := fns["main.leaf"]
			if got := rulesIn(tab, leaf.Entry, leaf.End); !strings.HasPrefix(got, "+0x0 rsp+8; +0x") || strings.Count(got, ";") != 2 {
				t.Errorf("frameless main.leaf: %s", got)
			}
			big := fns["main.big"]
			bigFrame := false
			for _, d := range tab.Deltas {
				if d.Addr >= big.Entry && d.Addr < big.End && d.Rule.CFAOffset > 4096 && d.Rule.RBP == RBPAtCFA {
					bigFrame = true
				}
			}
			if !bigFrame {
				t.Errorf("main.big has no 4 KiB frame: %s", rulesIn(tab, big.Entry, big.End))
			}

			stripped := goExtract(t, goOpen(t, pclntabtest.BuildProg(t, tc, "-ldflags=-s -w")))
			if len(stripped.Deltas) != len(tab.Deltas) {
				t.Errorf("stripped: %d deltas, plain %d", len(stripped.Deltas), len(tab.Deltas))
			}
		})
	}
}

// TestGoUnwind unwinds the stacks the test program recorded, the way the
// BPF unwinder does, with the program's own table, and checks the frames
// (symbolized with symtab.GoTable) against runtime.CallersFrames, the
// frame pointer restored at every frame, and that each stack ends at
// runtime.goexit.
func TestGoUnwind(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		for _, variant := range [][]string{nil, {"-ldflags=-s -w"}} {
			name := tc
			if variant != nil {
				name += "-stripped"
			}
			t.Run(name, func(t *testing.T) {
				bin := pclntabtest.BuildProg(t, tc, variant...)
				f := goOpen(t, bin)
				tab := goExtract(t, f)
				gt, err := symtab.NewGoTable(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range pclntabtest.RunProg(t, bin) {
					checkUnwind(t, c, tab, gt)
				}
			})
		}
	}
}

func checkUnwind(t *testing.T, c pclntabtest.Capture, tab *Table, gt *symtab.GoTable) {
	t.Helper()
	read := func(addr uint64) (uint64, bool) {
		if addr < c.SP || addr-c.SP+8 > uint64(len(c.Mem)) {
			return 0, false
		}
		o := addr - c.SP
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(c.Mem[o+uint64(i)])
		}
		return v, true
	}
	pc, sp, bp := c.PC, c.SP, c.BP
	var got []pclntabtest.Frame
	seenCapture, ended := false, false
	for n := 0; n < 64 && !ended; n++ {
		r, _ := lookup(tab, pc-1)
		frames, ok := gt.Lookup(pc - 1)
		if !ok {
			t.Fatalf("%s: frame %d at %#x is in no Go function", c.Label, n, pc)
		}
		if seenCapture {
			for _, fr := range frames {
				if !fr.Wrapper { // runtime.CallersFrames leaves them out
					got = append(got, pclntabtest.Frame{Function: fr.Function, File: fr.File, Line: fr.Line})
				}
			}
		}
		if frames[len(frames)-1].Function == "main.capture" {
			seenCapture = true
		}
		var cfa uint64
		switch r.CFA {
		case CFAEnd:
			ended = true
			continue
		case CFARSP:
			cfa = sp + uint64(r.CFAOffset)
			// A frame whose caller's RBP is saved at CFA-16 set RBP to
			// point there: the RBP this frame runs with must be that.
			if r.RBP == RBPAtCFA && bp != cfa-16 {
				t.Errorf("%s: frame %d (%s at %#x): rbp %#x, want its frame pointer %#x", c.Label, n, frames[len(frames)-1].Function, pc, bp, cfa-16)
			}
		default:
			t.Fatalf("%s: frame %d (%s at %#x): rule %s", c.Label, n, frames[len(frames)-1].Function, pc, r)
		}
		ra, ok1 := read(cfa - 8)
		if r.RBP == RBPAtCFA {
			var ok2 bool
			bp, ok2 = read(cfa + uint64(int64(r.RBPOffset)))
			ok1 = ok1 && ok2
		}
		if !ok1 || cfa <= sp {
			t.Fatalf("%s: frame %d at %#x: cfa %#x outside the recorded stack from %#x", c.Label, n, pc, cfa, c.SP)
		}
		pc, sp = ra, cfa
	}
	if !ended {
		t.Errorf("%s: no end of stack", c.Label)
	}
	want := c.Frames[1:] // after main.capture
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: unwound\n\t%v\nruntime.CallersFrames says\n\t%v", c.Label, got, want)
	}
	if last := got[len(got)-1].Function; last != "runtime.goexit" {
		t.Errorf("%s: stack ends at %s", c.Label, last)
	}
}

// TestGoCommand checks the table of the installed go command against
// objdump for every compiled function.
func TestGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("large binary")
	}
	bin := testutil.GoCommand(t)
	tab := goExtract(t, goOpen(t, bin))
	n := checkObjdump(t, "local", bin, tab, "")
	t.Logf("%s: %d deltas; %d compiled functions checked against objdump", bin, len(tab.Deltas), n)
	if n < 10000 {
		t.Errorf("only %d functions checked", n)
	}
}

func TestGoNotGo(t *testing.T) {
	for _, name := range []string{"prog", "prog-fp"} {
		b := readFixture(t, name)
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ExtractPclntab(ef); !errors.Is(err, ErrNoUnwindInfo) || !errors.Is(err, pclntab.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNoUnwindInfo and pclntab.ErrNotFound", name, err)
		}
		// ExtractAuto is ExtractELF for a non-Go file.
		auto, err := ExtractAuto(ef)
		if err != nil {
			t.Fatal(err)
		}
		if dump(auto) != dump(extractBytes(t, b)) {
			t.Errorf("%s: ExtractAuto differs from ExtractELF", name)
		}
	}
}

func TestOverlay(t *testing.T) {
	rsp := func(o int32) Rule { return Rule{CFA: CFARSP, CFAOffset: o} }
	base := &Table{Deltas: []Delta{
		{0x1000, rsp(8)}, {0x1004, rsp(16)}, {0x1100, invalidRule},
		{0x2000, rsp(8)}, {0x2010, invalidRule},
		{0x3000, rsp(8)}, {0x3008, rsp(24)}, {0x3100, invalidRule},
	}}
	top := &Table{Deltas: []Delta{
		{0x1040, rsp(8)}, {0x1041, rsp(16)}, {0x1050, invalidRule},
		{0x2000, Rule{CFA: CFAEnd}}, {0x2008, invalidRule},
		{0x3010, rsp(8)}, {0x3020, invalidRule},
	}}
	got := overlay(base, top, []span{{0x1040, 0x1050}, {0x2000, 0x2008}, {0x3010, 0x3020}})
	checkInvariants(t, got)
	want := "0x1000 rsp+8\n0x1004 rsp+16\n0x1040 rsp+8\n0x1041 rsp+16\n0x1100 invalid\n" +
		"0x2000 end\n0x2008 rsp+8\n0x2010 invalid\n" +
		"0x3000 rsp+8\n0x3008 rsp+24\n0x3010 rsp+8\n0x3020 rsp+24\n0x3100 invalid\n"
	if d := dump(got); d != want {
		t.Errorf("overlay:\n%s\nwant:\n%s", d, want)
	}
	if d := dump(overlay(base, top, nil)); d != dump(base) {
		t.Errorf("overlay without cover:\n%s", d)
	}
}

// TestFrameSave feeds prologue bytes to frameSave.
func TestFrameSave(t *testing.T) {
	runs := func(sps ...int32) []spRange {
		var rs []spRange
		a := uint64(0x1000)
		for i, sp := range sps {
			n := uint64(4)
			if i == 0 {
				n = 0x10
			}
			rs = append(rs, spRange{a, a + n, sp})
			a += n
		}
		return rs
	}
	cases := []struct {
		name  string
		code  []byte // from 0x1000
		runs  []spRange
		at    uint64
		saved bool
	}{
		{"push", append(bytes.Repeat([]byte{0x90}, 0xf), 0x55, 0x48, 0x89, 0xe5), runs(0, 8, 0x28), 0x1010, true},
		{"push r13", append(bytes.Repeat([]byte{0x90}, 0xe), 0x41, 0x55, 0x48, 0x83), runs(0, 8), 0, false},
		{"push without mov", append(bytes.Repeat([]byte{0x90}, 0xf), 0x55, 0x90, 0x90, 0x90), runs(0, 8), 0, false},
		{"subq disp8", append(bytes.Repeat([]byte{0x90}, 0x10), 0x48, 0x89, 0x6c, 0x24, 0x20), runs(0, 0x28), 0x1015, true},
		{"subq wrong disp", append(bytes.Repeat([]byte{0x90}, 0x10), 0x48, 0x89, 0x6c, 0x24, 0x18), runs(0, 0x28), 0, false},
		{"subq disp32", append(bytes.Repeat([]byte{0x90}, 0x10), 0x48, 0x89, 0xac, 0x24, 0x00, 0x20, 0, 0), runs(0, 0x2008), 0x1018, true},
		{"frameless", bytes.Repeat([]byte{0x90}, 0x20), runs(0), 0, false},
		{"pushes first", append(bytes.Repeat([]byte{0x90}, 0xf), 0x50, 0x55), runs(0, 8, 16), 0, false},
		{"no code", nil, runs(0, 8), 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := append(c.code, bytes.Repeat([]byte{0xcc}, 16)...)
			g := goExtractor{code: &codeReader{win: code, at: 0x1000}}
			at, ok := g.frameSave(c.runs)
			if ok != c.saved || at != c.at {
				t.Errorf("frameSave = %#x, %v; want %#x, %v", at, ok, c.at, c.saved)
			}
		})
	}
}

// TestGoCgo builds a cgo program and checks ExtractAuto: .eh_frame for
// the C functions, pclntab for the Go ones. (Go's internal linker keeps no
// CFI for the C code, which is then left to the frame-pointer fallback.)
func TestGoCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc for cgo")
	}
	files := map[string]string{"main.go": `package main

// static int cwork(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x; return s; }
// int callc(int x) { return cwork(x) + 1; }
import "C"

//go:noinline
func leaf(x int) int { return x*3 + 1 }

func main() { println(int(C.callc(C.int(leaf(3))))) }
`}
	for _, link := range []string{"internal", "external"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			for n, s := range files {
				os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644)
			}
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/cgo\n\ngo 1.20\n"), 0o644)
			bin := filepath.Join(dir, "cgo")
			cmd := exec.Command("go", "build", "-ldflags=-linkmode="+link, "-o", bin, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Skipf("cgo build: %v\n%s", err, out)
			}
			f := goOpen(t, bin)
			auto, err := ExtractAuto(f)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, auto)
			gtab := goExtract(t, f)
			ctab, err := ExtractELF(f)
			if err != nil {
				t.Fatal(err)
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			fns := goFuncs(t, f)
			checkedC := 0
			for _, s := range syms {
				if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 {
					continue
				}
				// Internal linking gives C functions pclntab entries too,
				// without pc-value tables.
				if fn, ok := fns[s.Name]; ok && fn.Entry == s.Value && fn.PCSP != 0 {
					// Go: the pclntab's rules over the whole function.
					for a := s.Value; a < s.Value+s.Size; a++ {
						want, _ := lookup(gtab, a)
						if got, _ := lookup(auto, a); got != want {
							t.Fatalf("Go %s+%#x: %s, pclntab says %s", s.Name, a-s.Value, got, want)
						}
					}
					continue
				}
				if s.Name == "cwork" || s.Name == "callc" || strings.HasPrefix(s.Name, "_cgo_") || s.Name == "crosscall2" {
					for a := s.Value; a < s.Value+s.Size; a++ {
						want, _ := lookup(ctab, a)
						if got, _ := lookup(auto, a); got != want {
							t.Fatalf("C %s+%#x: %s, CFI says %s", s.Name, a-s.Value, got, want)
						}
					}
					checkedC++
				}
			}
			if checkedC < 2 {
				t.Errorf("only %d C functions found", checkedC)
			}
			if r, _ := lookup(auto, fns["runtime.goexit"].Entry); r.CFA != CFAEnd {
				t.Errorf("goexit: %s", r)
			}
		})
	}
}

func FuzzExtractPclntab(f *testing.F) {
	for _, path := range pclntabtest.Fixtures(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := func() (ef *elf.File, err error) {
			defer func() {
				if recover() != nil {
					ef, err = nil, errors.New("debug/elf panicked")
				}
			}()
			return elf.NewFile(bytes.NewReader(data))
		}()
		if err != nil {
			return
		}
		if tab, _, err := buildPclntab(ef); err == nil {
			checkInvariants(t, tab)
		}
		if tab, err := ExtractAuto(ef); err == nil {
			checkInvariants(t, tab)
		}
	})
}

func BenchmarkExtractPclntabGo(b *testing.B) {
	f := goOpen(b, testutil.GoCommand(b))
	var n int
	b.ReportAllocs()
	for b.Loop() {
		tab, err := ExtractPclntab(f)
		if err != nil {
			b.Fatal(err)
		}
		n = len(tab.Deltas)
	}
	b.ReportMetric(float64(n), "deltas")
}
