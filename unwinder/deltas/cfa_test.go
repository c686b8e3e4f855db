package deltas

import (
	"errors"
	"testing"
)

// A typical gcc function: push rbp; mov rsp,rbp; ...; leave/ret inside a
// remember/restore pair so the code after the early return keeps rbp+16.
func TestRememberRestore(t *testing.T) {
	w := newEH(0x400000)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x40, cat(
		advance(1), cfaOffset(16), offsetReg(6, 2),
		advance(3), defCFAReg(6),
		advance(0x10), rememberState, defCFA(7, 8),
		advance(1), restoreState,
		advance(0x10), defCFA(7, 8),
	))
	w.terminate()
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1001 rsp+16 rbp=c-16
		0x1004 rbp+16 rbp=c-16
		0x1014 rsp+8 rbp=c-16
		0x1015 rbp+16 rbp=c-16
		0x1025 rsp+8 rbp=c-16
		0x1040 invalid
	`)
}

func TestRememberRestoreNested(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x2000, 0x20, cat(
		rememberState, advance(1), cfaOffset(16),
		rememberState, advance(1), cfaOffset(24),
		advance(1), restoreState,
		advance(1), restoreState,
	))
	expect(t, extractCFI(t, w), `
		0x2000 rsp+8
		0x2001 rsp+16
		0x2002 rsp+24
		0x2003 rsp+16
		0x2004 rsp+8
		0x2020 invalid
	`)
}

func TestAdvanceLoc(t *testing.T) {
	w := newEH(0x1000)
	// code alignment 4 scales every advance.
	c := w.cie(1, "zR", 0x1b, 4, -8, stdInit)
	w.fde(c, 0x10000, 0x100000, cat(
		advance(1), cfaOffset(16), // +4
		0x02, 2, cfaOffset(24), // advance_loc1 +8
		0x03, 0x00, 0x01, cfaOffset(32), // advance_loc2 +0x400
		0x04, 0x00, 0x00, 0x01, 0x00, cfaOffset(40), // advance_loc4 +0x40000
		0x1d, 1, 0, 0, 0, 0, 0, 0, 0, cfaOffset(48), // MIPS_advance_loc8 +4
	))
	expect(t, extractCFI(t, w), `
		0x10000 rsp+8
		0x10004 rsp+16
		0x1000c rsp+24
		0x1040c rsp+32
		0x5040c rsp+40
		0x50410 rsp+48
		0x110000 invalid
	`)
}

func TestSetLoc(t *testing.T) {
	w := newDebug()
	c := w.cie(1, "", 0, 1, -8, stdInit)
	w.fde(c, 0x3000, 0x100, cat(
		0x01, le64(0x3010), cfaOffset(16),
		0x01, le64(0x3020), cfaOffset(8),
		0x01, le64(0x3010), cfaOffset(32), // backwards: rest is invalid
	))
	expect(t, extractCFI(t, w), `
		0x3000 rsp+8
		0x3010 rsp+16
		0x3020 invalid
	`)
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// gcc's DRAP prologue for a realigned stack: CFA through r10, then
// CFA = *(rbp-8) with rbp saved at rbp+0.
func TestDefCFAExpression(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x80, cat(
		advance(5), defCFA(10, 0),
		advance(0x10), exprReg(6, 0x76, 0),
		advance(4), defCFAExpr(0x76, 0x78, 0x06),
		advance(0x20), defCFA(10, 0),
		advance(7), defCFA(7, 8),
	))
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1005 invalid
		0x1019 *(rbp-8) rbp=[rbp+0]
		0x1039 invalid
		0x1040 rsp+8 rbp=[rbp+0]
		0x1080 invalid
	`)
}

func TestCFAExpressions(t *testing.T) {
	for _, tc := range []struct {
		name string
		expr []byte
		want Rule
	}{
		{"plt lit11", pltExprBytes, Rule{CFA: CFAPLT, CFAOffset: 11}},
		{"plt lit10", cat(pltExprBytes[:6], 0x3a, pltExprBytes[7:]), Rule{CFA: CFAPLT, CFAOffset: 10}},
		{"plt lit9 (IBT)", cat(pltExprBytes[:6], 0x39, pltExprBytes[7:]), Rule{CFA: CFAPLT, CFAOffset: 9}},
		{"plt lit12", cat(pltExprBytes[:6], 0x3c, pltExprBytes[7:]), invalidRule},
		{"plt breg7 16", cat(0x77, 16, pltExprBytes[2:]), invalidRule},
		{"plt truncated", pltExprBytes[:10], invalidRule},
		{"deref rbp-40", []byte{0x76, 0x58, 0x06}, Rule{CFA: CFADerefRBP, CFAOffset: -40}},
		{"deref rbp+300", cat(0x76, sleb(300), 0x06), Rule{CFA: CFADerefRBP, CFAOffset: 300}},
		{"deref rsp", []byte{0x77, 0x58, 0x06}, invalidRule},
		{"deref rbp plus", []byte{0x76, 0x58, 0x06, 0x23, 0x08}, invalidRule},
		{"breg6 without deref", []byte{0x76, 0x58}, invalidRule},
		{"empty", nil, invalidRule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEH(0)
			c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
			w.fde(c, 0x1000, 0x10, defCFAExpr(tc.expr...))
			tab := extractCFI(t, w)
			if got, _ := lookup(tab, 0x1000); got != tc.want {
				t.Errorf("rule %v, want %v", got, tc.want)
			}
		})
	}
}

// The .plt FDE binutils writes: PLT0 pushes twice, then the expression.
func TestPLT(t *testing.T) {
	w := newEH(0x2000)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1020, 0x50, cat(cfaOffset(16), advance(6), cfaOffset(24), advance(10), defCFAExpr(pltExprBytes...)))
	w.terminate()
	expect(t, extractCFI(t, w), `
		0x1020 rsp+16
		0x1026 rsp+24
		0x1030 plt11
		0x1070 invalid
	`)
}

func TestSignalFrame(t *testing.T) {
	w := newEH(0x8000)
	c := w.cie(1, "zRS", 0x1b, 1, -8, stdInit)
	// glibc's __restore_rt describes every register with an expression.
	w.fde(c, 0x3c04f, 0xa, cat(defCFAExpr(0x77, 0xa0, 0x01, 0x06), exprReg(6, 0x77, 0x78), exprReg(16, 0x77, 0xa8, 0x01)))
	c2 := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c2, 0x3c060, 0x10, nil)
	expect(t, extractCFI(t, w), `
		0x3c04f signal
		0x3c059 invalid
		0x3c060 rsp+8
		0x3c070 invalid
	`)
}

// glibc's _start: cfi_undefined rip.
func TestUndefinedRA(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, cat(defCFA(7, 8), 0x07, 16))
	w.fde(c, 0x10b0, 0x22, cat(advance(4), cfaOffset(16)))
	c2 := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	// clone: the child's part starts after the syscall.
	w.fde(c2, 0x2000, 0x40, cat(advance(0x10), 0x07, 16, advance(0x10), 0xc0|16))
	expect(t, extractCFI(t, w), `
		0x10b0 end
		0x10d2 invalid
		0x2000 rsp+8
		0x2010 end
		0x2020 rsp+8
		0x2040 invalid
	`)
}

func TestRANotAtCFAMinus8(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x30, cat(
		advance(0x10), offsetReg(16, 2), // ra at cfa-16
		advance(0x10), 0x09, 16, 0, // ra in rax
	))
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1010 invalid
	`)
}

// Every remaining DW_CFA opcode, through its effect on the rule.
func TestOpcodes(t *testing.T) {
	w := newEH(0)
	c := w.cie(3, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x100, cat(
		0x00,                   // nop
		0x05, 6, 3, advance(1), // offset_extended rbp cfa-24
		0x11, 6, sleb(-4), advance(1), // offset_extended_sf rbp at -4*-8 = cfa+32
		0xc6, advance(1), // restore rbp (unspecified in CIE)
		0x2f, 6, 2, advance(1), // GNU_negative_offset_extended rbp: -(2*-8) = cfa+16
		0x06, 6, advance(1), // restore_extended
		0x08, 6, advance(1), // same_value
		0x07, 6, advance(1), // undefined
		0x09, 6, 3, advance(1), // register rbp in rbx
		0x12, 7, sleb(-3), advance(1), // def_cfa_sf rsp, -3*-8 = 24
		0x13, sleb(-4), advance(1), // def_cfa_offset_sf 32
		0x14, 6, 2, advance(1), // val_offset rbp
		0x15, 6, sleb(1), advance(1), // val_offset_sf
		0x16, 6, 1, 0x30, advance(1), // val_expression rbp lit0
		exprReg(6, 0x77, 0), advance(1), // expression rbp breg7: not rbp-based
		0x2e, 0x10, advance(1), // GNU_args_size
		0x2d, advance(1), // GNU_window_save (ignored)
		defCFA(3, 8), advance(1), // CFA from rbx
	))
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8 rbp=c-24
		0x1001 rsp+8 rbp=c+32
		0x1002 rsp+8
		0x1003 rsp+8 rbp=c+16
		0x1004 rsp+8
		0x1008 rsp+24
		0x1009 rsp+32
		0x1010 invalid
	`)
}

func TestAdjacentAndGaps(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x10, cat(advance(1), cfaOffset(16)))
	w.fde(c, 0x1010, 0x10, cat(advance(1), cfaOffset(16))) // adjacent: no marker
	w.fde(c, 0x1030, 0x10, nil)                            // gap before
	w.fde(c, 0x1040, 0x10, nil)                            // same rule: merged
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1001 rsp+16
		0x1010 rsp+8
		0x1011 rsp+16
		0x1020 invalid
		0x1030 rsp+8
		0x1050 invalid
	`)
}

func TestUnsortedAndOverlapping(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x2000, 0x10, cfaOffset(48))
	w.fde(c, 0x1000, 0x100, cfaOffset(16))
	w.fde(c, 0x1080, 0x10, cfaOffset(32))  // inside the previous one: wins from its start
	w.fde(c, 0x1f00, 0x200, cfaOffset(24)) // overlaps 0x2000: that one wins from 0x2000
	expect(t, extractCFI(t, w), `
		0x1000 rsp+16
		0x1080 rsp+32
		0x1090 invalid
		0x1f00 rsp+24
		0x2000 rsp+48
		0x2010 invalid
	`)
}

func TestEHFrameWinsOverDebugFrame(t *testing.T) {
	eh := newEH(0x10000)
	c := eh.cie(1, "zR", 0x1b, 1, -8, stdInit)
	eh.fde(c, 0x1040, 0x40, nil)
	eh.fde(c, 0x1100, 0x10, nil)
	eh.terminate()
	dbg := newDebug()
	d := dbg.cie(1, "", 0, 1, -8, stdInit)
	dbg.fde(d, 0x1000, 0x180, cat(advance(0x20), cfaOffset(32)))
	dbg.fde(d, 0x2000, 0x10, cfaOffset(64))
	expect(t, extractCFI(t, eh, dbg), `
		0x1000 rsp+8
		0x1020 rsp+32
		0x1040 rsp+8
		0x1080 rsp+32
		0x1100 rsp+8
		0x1110 rsp+32
		0x1180 invalid
		0x2000 rsp+64
		0x2010 invalid
	`)
}

func TestDebugFrameFormats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		is64    bool
		version byte
	}{
		{"v1", false, 1},
		{"v3", false, 3},
		{"v4", false, 4},
		{"dwarf64 v4", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDebug()
			w.is64 = tc.is64
			c := w.cie(tc.version, "", 0, 1, -8, stdInit)
			w.fde(c, 0x401000, 0x20, cat(advance(1), cfaOffset(16)))
			expect(t, extractCFI(t, w), `
				0x401000 rsp+8
				0x401001 rsp+16
				0x401020 invalid
			`)
		})
	}
}

func TestEHFrame64(t *testing.T) {
	w := newEH(0x5000)
	w.is64 = true
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x20, cat(advance(1), cfaOffset(16)))
	w.terminate()
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1001 rsp+16
		0x1020 invalid
	`)
}

func TestAugmentations(t *testing.T) {
	for _, tc := range []struct {
		aug string
		enc byte
	}{
		{"z", 0},
		{"zR", 0x00},
		{"zR", 0x03},
		{"zR", 0x01},
		{"zR", 0x09},
		{"zR", 0x02},
		{"zPLR", 0x1b},
		{"zRB", 0x1b},
	} {
		t.Run(tc.aug, func(t *testing.T) {
			w := newEH(0x10000)
			c := w.cie(1, tc.aug, tc.enc, 1, -8, stdInit)
			w.fde(c, 0x1000, 0x20, cat(advance(1), cfaOffset(16)))
			w.terminate()
			expect(t, extractCFI(t, w), `
				0x1000 rsp+8
				0x1001 rsp+16
				0x1020 invalid
			`)
		})
	}
}

func TestPointerEncodings(t *testing.T) {
	b := ptrBases{vaddr: 0x1000, text: 0x2000, data: 0x3000, addrSize: 8}
	for _, tc := range []struct {
		enc  byte
		data []byte
		want uint64
	}{
		{peAbsptr, le64(0x123456789), 0x123456789},
		{peULEB128, uleb(300), 300},
		{peUdata2, []byte{0x34, 0x12}, 0x1234},
		{peUdata4, []byte{0x78, 0x56, 0x34, 0x12}, 0x12345678},
		{peUdata8, le64(1 << 40), 1 << 40},
		{peSigned, le64(^uint64(0)), ^uint64(0)},
		{peSLEB128, sleb(-2), ^uint64(1)},
		{peSdata2, []byte{0xfe, 0xff}, ^uint64(1)},
		{peSdata4, []byte{0xfe, 0xff, 0xff, 0xff}, ^uint64(1)},
		{peSdata8, le64(5), 5},
		{pePCRel | peSdata4, []byte{0xf0, 0xff, 0xff, 0xff}, 0x1000 - 0x10 + 4},
		{peTextRel | peUdata2, []byte{0x10, 0}, 0x2010},
		{peDataRel | peSdata4, []byte{0x10, 0, 0, 0}, 0x3010},
		{peIndirect | pePCRel | peSdata4, []byte{0x10, 0, 0, 0}, 0x1014},
		{peAligned, cat(0, 0, 0, 0, le64(0x55)), 0x55}, // padded from 4 to 8
	} {
		c := cursor{data: cat(0, 0, 0, 0, tc.data)}
		c.off = 4
		if got := c.pointer(tc.enc, &b, 0); c.err != nil || got != tc.want {
			t.Errorf("enc %#x: got %#x, %v; want %#x", tc.enc, got, c.err, tc.want)
		}
	}
	for _, enc := range []byte{0x05, 0x0d, 0x70} {
		c := cursor{data: le64(0)}
		if c.pointer(enc, &b, 0); c.err == nil {
			t.Errorf("enc %#x: no error", enc)
		}
	}
}

func TestBadInstructions(t *testing.T) {
	for _, tc := range []struct {
		name string
		ins  []byte
	}{
		{"unknown opcode", cat(advance(4), cfaOffset(16), advance(4), 0x3f, advance(4), cfaOffset(32))},
		{"restore_state on empty stack", cat(advance(4), cfaOffset(16), advance(4), restoreState, advance(4))},
		{"truncated uleb", cat(advance(4), cfaOffset(16), advance(4), 0x0e, 0x80, 0x80)},
		{"block past end", cat(advance(4), cfaOffset(16), advance(4), 0x0f, 0x7f, 0x76)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEH(0)
			c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
			w.fde(c, 0x1000, 0x20, tc.ins)
			w.fde(c, 0x1020, 0x20, nil) // the next FDE is unaffected
			expect(t, extractCFI(t, w), `
				0x1000 rsp+8
				0x1004 rsp+16
				0x1008 invalid
				0x1020 rsp+8
				0x1040 invalid
			`)
		})
	}
}

func TestRememberStateBounded(t *testing.T) {
	var ins []byte
	for range maxStateStack + 1 {
		ins = append(ins, rememberState...)
	}
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x20, cat(advance(1), ins, cfaOffset(16), advance(1)))
	expect(t, extractCFI(t, w), `
		0x1000 rsp+8
		0x1001 invalid
	`)
}

func TestBadEntries(t *testing.T) {
	// A CIE we cannot use (version 2) loses only its own FDEs.
	w := newEH(0)
	bad := w.cie(2, "zR", 0x1b, 1, -8, stdInit)
	good := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(bad, 0x1000, 0x10, nil)
	w.fde(good, 0x2000, 0x10, nil)
	// An FDE pointing at another FDE.
	f := w.fde(good, 0x3000, 0x10, nil)
	w.fde(f, 0x4000, 0x10, nil)
	// Unknown augmentation without 'z'.
	odd := w.cie(1, "xy", 0, 1, -8, stdInit)
	w.fde(odd, 0x5000, 0x10, nil)
	w.terminate()
	w.buf.Write([]byte("garbage after the terminator is never read"))
	expect(t, extractCFI(t, w), `
		0x2000 rsp+8
		0x2010 invalid
		0x3000 rsp+8
		0x3010 invalid
	`)

	// Truncated entry: what came before is kept.
	w = newEH(0)
	good = w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(good, 0x2000, 0x10, nil)
	w.buf.Write([]byte{0x40, 0, 0, 0, 1, 2, 3})
	expect(t, extractCFI(t, w), `
		0x2000 rsp+8
		0x2010 invalid
	`)

	// Nothing usable: the error says why.
	w = newEH(0)
	w.buf.Write([]byte{0x40, 0, 0, 0, 1, 2, 3})
	_, err := extract([]*section{w.section()}, nil)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Section != ".eh_frame" {
		t.Errorf("err = %v, want a .eh_frame FormatError", err)
	}
	// An empty section is no unwind info.
	if _, err := extract([]*section{newEH(0).section()}, nil); !errors.Is(err, ErrNoUnwindInfo) {
		t.Errorf("empty: err = %v, want ErrNoUnwindInfo", err)
	}
}

func TestExecRangeFilter(t *testing.T) {
	w := newEH(0)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x0, 0x10, nil)     // discarded function, left at 0
	w.fde(c, 0x1000, 0x10, nil)  // in the text segment
	w.fde(c, 0x1ff0, 0x100, nil) // runs past its end: clipped
	w.fde(c, 0x9000, 0x10, nil)  // data segment
	tab, err := extract([]*section{w.section()}, []addrRange{{0x1000, 0x2000}})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, tab, `
		0x1000 rsp+8
		0x1010 invalid
		0x1ff0 rsp+8
		0x2000 invalid
	`)
}

// gas writes augmentation "S" (no 'z') in .debug_frame.
func TestSignalFrameDebugFrame(t *testing.T) {
	w := newDebug()
	c := w.cie(1, "S", 0, 1, -8, stdInit)
	w.fde(c, 0x11a0, 2, nil)
	expect(t, extractCFI(t, w), `
		0x11a0 signal
		0x11a2 invalid
	`)
}
