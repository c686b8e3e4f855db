package deltas

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pftop/pftop/symtab/pclntab"
)

// Go functions' stack deltas come from the pcsp tables of .gopclntab: the
// pcsp value at a pc is the number of bytes the function has pushed since
// its entry, so CFA = RSP + spdelta + 8 and the return address is at
// CFA-8.
//
// Frame pointer. Go on amd64 saves the caller's RBP in the slot just below
// the return address, CFA-16, with one of two prologues:
//
//	PUSHQ BP; MOVQ SP, BP; SUBQ $n, SP             Go 1.21 and later
//	SUBQ $n+8, SP; MOVQ BP, n(SP); LEAQ n(SP), BP  Go 1.18 to 1.20
//
// The first pcsp increase of the function is where the prologue ran: its
// instruction bytes are checked for one of these forms, and RBP is taken
// from CFA-16 from the end of the saving instruction on, wherever spdelta
// is at least 8 (the epilogues, MOVQ n(SP), BP; ADDQ $n+8, SP and ADDQ
// $n, SP; POPQ BP, leave the slot intact until the frame is popped, and
// the morestack call at the function's end runs with spdelta 0). Elsewhere
// RBP still holds the caller's value (RBPSame). Functions without either
// prologue (frameless leaves, most assembly) are RBPSame throughout.
//
// Ends of stacks, from the _func flags the runtime's own traceback uses:
//   - funcFlag_TOPFRAME (runtime.goexit, runtime.mstart, runtime.rt0_go):
//     CFAEnd. Every goroutine stack, the main goroutine's included (it
//     runs runtime.main, started like any goroutine), has runtime.goexit
//     at its base; every thread's g0 stack ends at runtime.mstart, and m0's
//     at runtime.rt0_go while it initializes the runtime.
//   - funcFlag_SPWRITE (systemstack, mcall, morestack, asmcgocall, gogo,
//     nanotime1, time.now, clone, ...): these switch stacks, so pcsp no
//     longer describes the frame after the write. They get CFAInvalid, the
//     BPF unwinder's frame-pointer fallback, which since Go 1.21 follows
//     their RBP back to the goroutine stack they came from (systemstack,
//     asmcgocall and nanotime1 set up RBP before switching; mcall zeroes
//     it, which ends the stack).
//
// The signal return trampoline (runtime.sigreturn__sigaction, formerly
// runtime.sigreturn: MOVQ $15, AX; SYSCALL), which Go installs as
// sa_restorer, is CFASignal like glibc's __restore_rt.

const maxGoFrame = 1 << 30

// ExtractPclntab returns the stack deltas of the Go functions of f, from
// its .gopclntab (found by section, by symbol, or by scanning when section
// headers were removed; stripped executables keep it). Addresses between
// functions, and past the end of a function's pcsp table, are CFAInvalid.
// The error wraps ErrNoUnwindInfo and pclntab.ErrNotFound when f has no
// pclntab, and pclntab.ErrUnsupportedVersion for Go older than 1.18.
func ExtractPclntab(f *elf.File) (t *Table, err error) {
	t, _, err = extractPclntab(f)
	return t, err
}

// span is an address range [lo, hi).
type span struct{ lo, hi uint64 }

// extractPclntab also returns the ranges that the Go functions' pcsp
// tables cover, sorted and merged.
func extractPclntab(f *elf.File) (t *Table, cover []span, err error) {
	defer func() {
		if v := recover(); v != nil {
			t, cover, err = nil, nil, fmt.Errorf("extract pclntab deltas: panic while parsing: %v", v)
		}
	}()
	return buildPclntab(f)
}

// buildPclntab is extractPclntab without the recovery, for the fuzz test
// (pclntab.Open itself recovers from debug/elf's panics).
func buildPclntab(f *elf.File) (*Table, []span, error) {
	if f.Machine != elf.EM_X86_64 {
		return nil, nil, fmt.Errorf("extract pclntab deltas: machine %v: %w", f.Machine, errors.ErrUnsupported)
	}
	tab, _, err := pclntab.Open(f, pclntab.Options{Preload: true})
	if err != nil {
		if errors.Is(err, pclntab.ErrNotFound) {
			return nil, nil, fmt.Errorf("extract pclntab deltas: %w (%w)", ErrNoUnwindInfo, err)
		}
		return nil, nil, fmt.Errorf("extract pclntab deltas: %w", err)
	}
	g := goExtractor{tab: tab, code: newCodeReader(f)}
	g.out = make([]Delta, 0, tab.NumFuncs()*8) // Go binaries average 8.5
	for i := 0; i < tab.NumFuncs(); i++ {
		g.function(i)
	}
	if len(g.out) == 0 || len(g.cover) == 0 {
		if g.firstErr != nil {
			return nil, nil, fmt.Errorf("extract pclntab deltas: %w", g.firstErr)
		}
		return nil, nil, fmt.Errorf("extract pclntab deltas: %w", ErrNoUnwindInfo)
	}
	return &Table{Deltas: g.out}, g.cover, nil
}

// goExtractor builds the table function by function, in address order.
type goExtractor struct {
	tab      *pclntab.Table
	code     *codeReader
	out      []Delta
	cover    []span
	runs     []spRange // scratch
	firstErr error
}

func (g *goExtractor) note(err error) {
	if g.firstErr == nil {
		g.firstErr = err
	}
}

// add appends the rule in force from addr on. A later rule at the same
// address replaces an earlier one; a rule equal to the one in force is
// dropped.
func (g *goExtractor) add(addr uint64, r Rule) {
	n := len(g.out)
	if n > 0 && g.out[n-1].Addr >= addr {
		g.out = g.out[:n-1]
		n--
	}
	if n > 0 && g.out[n-1].Rule == r {
		return
	}
	g.out = append(g.out, Delta{Addr: addr, Rule: r})
}

func (g *goExtractor) covered(lo, hi uint64) {
	if lo >= hi {
		return
	}
	if n := len(g.cover); n > 0 && g.cover[n-1].hi == lo {
		g.cover[n-1].hi = hi
		return
	}
	g.cover = append(g.cover, span{lo, hi})
}

// spRange is one run of a pcsp table.
type spRange struct {
	start, end uint64
	sp         int32
}

func (g *goExtractor) function(i int) {
	fn, err := g.tab.Func(i)
	if err != nil {
		g.note(err)
		return
	}
	if fn.Entry >= fn.End {
		return
	}
	runs := g.runs[:0]
	it := g.tab.PCTable(&fn, fn.PCSP)
	for it.Next() {
		runs = append(runs, spRange{it.Start, it.End, it.Value})
	}
	g.runs = runs
	if err := it.Err(); err != nil {
		g.note(err)
	}
	if len(runs) == 0 {
		return
	}
	end := runs[len(runs)-1].end
	g.covered(runs[0].start, end)

	switch {
	case fn.Flag&pclntab.FlagTopFrame != 0:
		g.add(runs[0].start, Rule{CFA: CFAEnd})
	case fn.Flag&pclntab.FlagSPWrite != 0:
		g.add(runs[0].start, invalidRule)
	case g.isSigreturn(&fn):
		g.add(runs[0].start, Rule{CFA: CFASignal})
	default:
		g.frames(runs)
	}
	g.add(end, invalidRule)
}

// isSigreturn recognizes the runtime's signal return trampoline by name
// and by its code: MOVQ $15, AX (or MOVL); SYSCALL.
func (g *goExtractor) isSigreturn(fn *pclntab.Func) bool {
	b := g.code.bytes(fn.Entry, 9)
	if !bytes.HasPrefix(b, []byte{0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05}) &&
		!bytes.HasPrefix(b, []byte{0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05}) {
		return false
	}
	name, err := g.tab.FuncName(fn)
	return err == nil && strings.HasPrefix(name, "runtime.sigreturn")
}

// frames emits the rules of an ordinary function from its pcsp runs.
func (g *goExtractor) frames(runs []spRange) {
	savedAt, hasFP := g.frameSave(runs)
	for _, r := range runs {
		if r.sp < 0 || r.sp > maxGoFrame {
			g.add(r.start, invalidRule)
			continue
		}
		rule := Rule{CFA: CFARSP, CFAOffset: r.sp + 8}
		if !hasFP || r.sp < 8 || r.end <= savedAt {
			g.add(r.start, rule)
			continue
		}
		if r.start < savedAt {
			g.add(r.start, rule)
		}
		rule.RBP, rule.RBPOffset = RBPAtCFA, -16
		g.add(max(r.start, savedAt), rule)
	}
}

// frameSave finds where the function saves the caller's RBP at CFA-16:
// the first pcsp increase must follow PUSHQ BP (and precede MOVQ SP, BP),
// or precede MOVQ BP, n-8(SP) where n is the new spdelta.
func (g *goExtractor) frameSave(runs []spRange) (uint64, bool) {
	for k := 1; k < len(runs); k++ {
		prev, r := runs[k-1], runs[k]
		if prev.end != r.start {
			return 0, false
		}
		if r.sp <= prev.sp {
			continue
		}
		if prev.sp != 0 {
			return 0, false
		}
		a := r.start
		if r.sp == 8 {
			b := g.code.bytes(a-1, 4)
			if bytes.Equal(b, []byte{0x55, 0x48, 0x89, 0xe5}) { // PUSHQ BP; MOVQ SP, BP
				return a, true
			}
			return 0, false
		}
		disp := int64(r.sp) - 8
		b := g.code.bytes(a, 8)
		switch {
		case len(b) >= 5 && bytes.HasPrefix(b, []byte{0x48, 0x89, 0x6c, 0x24}) && int64(int8(b[4])) == disp:
			return a + 5, true // MOVQ BP, disp8(SP)
		case len(b) >= 8 && bytes.HasPrefix(b, []byte{0x48, 0x89, 0xac, 0x24}) &&
			int64(int32(uint32(b[4])|uint32(b[5])<<8|uint32(b[6])<<16|uint32(b[7])<<24)) == disp:
			return a + 8, true // MOVQ BP, disp32(SP)
		}
		return 0, false
	}
	return 0, false
}

// codeReader reads instruction bytes from the executable segments through
// a window that slides forward as functions are visited in address order.
type codeReader struct {
	segs []*elf.Prog
	win  []byte
	at   uint64 // address of win[0]
	buf  []byte
}

func newCodeReader(f *elf.File) *codeReader {
	c := &codeReader{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Filesz > 0 {
			c.segs = append(c.segs, p)
		}
	}
	sort.Slice(c.segs, func(i, j int) bool { return c.segs[i].Vaddr < c.segs[j].Vaddr })
	return c
}

// bytes returns up to n bytes at addr (fewer at the end of a segment, none
// outside the executable segments or on a read error).
func (c *codeReader) bytes(addr uint64, n int) []byte {
	if addr >= c.at && addr-c.at < uint64(len(c.win)) && uint64(len(c.win))-(addr-c.at) >= uint64(n) {
		off := addr - c.at
		return c.win[off : off+uint64(n)]
	}
	const window = 64 << 10
	for _, p := range c.segs {
		if addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		off := addr - p.Vaddr
		k := min(uint64(window), p.Filesz-off)
		if c.buf == nil {
			c.buf = make([]byte, window)
		}
		got, err := p.ReadAt(c.buf[:k], int64(off))
		if err != nil && err != io.EOF {
			got = 0
		}
		c.win, c.at = c.buf[:got], addr
		return c.win[:min(got, n)]
	}
	return nil
}

// ExtractAuto returns the stack deltas of f from every source it has:
// .eh_frame and .debug_frame (ExtractELF) and, for Go executables,
// .gopclntab (ExtractPclntab). In cgo executables, which have both, the
// pclntab rules apply inside the Go functions (the ranges their pcsp
// tables cover) and the CFI rules everywhere else: Go's own .debug_frame
// is derived from pcsp without the frame-pointer and end-of-stack rules,
// and C code has no pclntab entry. An error is returned only when neither
// source gives anything; it wraps ErrNoUnwindInfo when neither exists.
func ExtractAuto(f *elf.File) (*Table, error) {
	goTab, cover, goErr := extractPclntab(f)
	cTab, cErr := ExtractELF(f)
	switch {
	case goErr != nil && cErr != nil:
		if errors.Is(goErr, ErrNoUnwindInfo) {
			return nil, cErr
		}
		if errors.Is(cErr, ErrNoUnwindInfo) {
			return nil, goErr
		}
		return nil, errors.Join(cErr, goErr)
	case goErr != nil:
		return cTab, nil
	case cErr != nil:
		return goTab, nil
	}
	return overlay(cTab, goTab, cover), nil
}

// overlay returns base's rules outside the sorted, disjoint ranges cover
// and top's inside them.
func overlay(base, top *Table, cover []span) *Table {
	g := goExtractor{out: make([]Delta, 0, len(base.Deltas)+len(top.Deltas))}
	b, tp := base.Deltas, top.Deltas
	bi := 0
	for _, c := range cover {
		for ; bi < len(b) && b[bi].Addr < c.lo; bi++ {
			g.add(b[bi].Addr, b[bi].Rule)
		}
		// top's deltas in [c.lo, c.hi); the first one is at c.lo, where
		// a covered range always starts.
		ti := sort.Search(len(tp), func(i int) bool { return tp[i].Addr >= c.lo })
		g.add(c.lo, ruleAt(tp, c.lo))
		for ; ti < len(tp) && tp[ti].Addr < c.hi; ti++ {
			g.add(tp[ti].Addr, tp[ti].Rule)
		}
		// base's rule in force at c.hi resumes there.
		for ; bi < len(b) && b[bi].Addr <= c.hi; bi++ {
		}
		g.add(c.hi, ruleAt(b[:bi], c.hi))
	}
	for ; bi < len(b); bi++ {
		g.add(b[bi].Addr, b[bi].Rule)
	}
	return &Table{Deltas: g.out}
}

// ruleAt returns the rule in force at addr in ds (sorted), invalidRule
// before the first delta.
func ruleAt(ds []Delta, addr uint64) Rule {
	i := sort.Search(len(ds), func(i int) bool { return ds[i].Addr > addr })
	if i == 0 {
		return invalidRule
	}
	return ds[i-1].Rule
}
