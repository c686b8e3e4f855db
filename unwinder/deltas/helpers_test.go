package deltas

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// lookup returns the rule in force at addr.
func lookup(t *Table, addr uint64) (Rule, bool) {
	i := sort.Search(len(t.Deltas), func(i int) bool { return t.Deltas[i].Addr > addr })
	if i == 0 {
		return Rule{}, false
	}
	return t.Deltas[i-1].Rule, true
}

// checkInvariants verifies what Table promises: strictly increasing
// addresses and no two consecutive equal rules.
func checkInvariants(tb testing.TB, t *Table) {
	tb.Helper()
	for i := 1; i < len(t.Deltas); i++ {
		a, b := t.Deltas[i-1], t.Deltas[i]
		if a.Addr >= b.Addr {
			tb.Fatalf("deltas %d,%d not increasing: %#x, %#x", i-1, i, a.Addr, b.Addr)
		}
		if a.Rule == b.Rule {
			tb.Fatalf("deltas %d,%d at %#x, %#x repeat rule %+v", i-1, i, a.Addr, b.Addr, a.Rule)
		}
	}
}

func dump(t *Table) string {
	var sb strings.Builder
	for _, d := range t.Deltas {
		fmt.Fprintf(&sb, "%#x %s\n", d.Addr, d.Rule)
	}
	return sb.String()
}

// String renders a rule the way the tests spell expectations.
func (r Rule) String() string {
	var s string
	switch r.CFA {
	case CFAInvalid:
		return "invalid"
	case CFARSP:
		s = fmt.Sprintf("rsp%+d", r.CFAOffset)
	case CFARBP:
		s = fmt.Sprintf("rbp%+d", r.CFAOffset)
	case CFADerefRBP:
		s = fmt.Sprintf("*(rbp%+d)", r.CFAOffset)
	case CFAPLT:
		s = fmt.Sprintf("plt%d", r.CFAOffset)
	case CFAEnd:
		return "end"
	case CFASignal:
		return "signal"
	default:
		s = fmt.Sprintf("cfa?%d", r.CFA)
	}
	switch r.RBP {
	case RBPAtCFA:
		s += fmt.Sprintf(" rbp=c%+d", r.RBPOffset)
	case RBPAtRBP:
		s += fmt.Sprintf(" rbp=[rbp%+d]", r.RBPOffset)
	}
	return s
}

// Helpers to write DWARF CFI by hand.

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// cat concatenates byte slices and single bytes.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case []byte:
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return b
}

// DW_CFA instruction encoders.
func advance(d int) []byte      { return []byte{0x40 | byte(d)} }
func cfaOffset(o uint64) []byte { return cat(0x0e, uleb(o)) }
func defCFA(r, o uint64) []byte { return cat(0x0c, uleb(r), uleb(o)) }
func defCFAReg(r uint64) []byte { return cat(0x0d, uleb(r)) }
func offsetReg(r byte, o uint64) []byte {
	return cat(0x80|r, uleb(o))
}
func defCFAExpr(e ...byte) []byte { return cat(0x0f, uleb(uint64(len(e))), e) }
func exprReg(r uint64, e ...byte) []byte {
	return cat(0x10, uleb(r), uleb(uint64(len(e))), e)
}

var (
	rememberState = []byte{0x0a}
	restoreState  = []byte{0x0b}
	// x86-64 CIE initial instructions: CFA = rsp+8, ra at cfa-8.
	stdInit = cat(defCFA(7, 8), offsetReg(16, 1))
	// The binutils PLT expression with DW_OP_lit11.
	pltExprBytes = []byte{0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22}
)

// cfiWriter builds .eh_frame or .debug_frame contents.
type cfiWriter struct {
	buf   bytes.Buffer
	eh    bool
	is64  bool
	vaddr uint64
	encs  map[int]byte // CIE offset -> FDE pointer encoding (0xff: absolute 8)
	augz  map[int]bool
}

func newEH(vaddr uint64) *cfiWriter {
	return &cfiWriter{eh: true, vaddr: vaddr, encs: map[int]byte{}, augz: map[int]bool{}}
}

func newDebug() *cfiWriter {
	return &cfiWriter{encs: map[int]byte{}, augz: map[int]bool{}}
}

// entry writes length, id and body, padding to 4 bytes with DW_CFA_nop.
func (w *cfiWriter) entry(id func(idOff int) []byte, body []byte) int {
	start := w.buf.Len()
	lenSize := 4
	if w.is64 {
		lenSize = 12
	}
	idOff := start + lenSize
	idb := id(idOff)
	n := len(idb) + len(body)
	for n%4 != 0 {
		body = append(body, 0)
		n++
	}
	if w.is64 {
		w.buf.Write([]byte{0xff, 0xff, 0xff, 0xff})
		binary.Write(&w.buf, binary.LittleEndian, uint64(n))
	} else {
		binary.Write(&w.buf, binary.LittleEndian, uint32(n))
	}
	w.buf.Write(idb)
	w.buf.Write(body)
	return start
}

func (w *cfiWriter) idBytes(v uint64) []byte {
	if w.is64 {
		return binary.LittleEndian.AppendUint64(nil, v)
	}
	return binary.LittleEndian.AppendUint32(nil, uint32(v))
}

// cie writes a version-1 CIE (version 4 with address size 8 in
// .debug_frame when version is 4). aug "" or starting with 'z'; when it
// contains 'R', enc is the FDE pointer encoding.
func (w *cfiWriter) cie(version byte, aug string, enc byte, caf uint64, daf int64, init []byte) int {
	body := cat(version, []byte(aug), 0)
	if version == 4 {
		body = cat(body, 8, 0)
	}
	body = cat(body, uleb(caf), sleb(daf))
	if version == 1 {
		body = cat(body, 16)
	} else {
		body = cat(body, uleb(16))
	}
	if strings.HasPrefix(aug, "z") {
		var ad []byte
		for _, l := range aug[1:] {
			switch l {
			case 'R':
				ad = append(ad, enc)
			case 'P':
				ad = cat(ad, 0x00, make([]byte, 8)) // absptr personality
			case 'L':
				ad = append(ad, 0x1b)
			}
		}
		body = cat(body, uleb(uint64(len(ad))), ad)
	}
	if !strings.Contains(aug, "R") {
		enc = 0xff
	}
	body = cat(body, init)
	off := w.entry(func(int) []byte {
		if w.eh {
			return w.idBytes(0)
		}
		if w.is64 {
			return w.idBytes(^uint64(0))
		}
		return w.idBytes(0xffffffff)
	}, body)
	w.encs[off] = enc
	w.augz[off] = strings.HasPrefix(aug, "z")
	return off
}

// fde writes an FDE for [begin, begin+size) under the CIE at cieOff.
func (w *cfiWriter) fde(cieOff int, begin, size uint64, ins []byte) int {
	enc := w.encs[cieOff]
	return w.entry(func(idOff int) []byte {
		var ptr []byte
		if w.eh {
			ptr = w.idBytes(uint64(idOff - cieOff))
		} else {
			ptr = w.idBytes(uint64(cieOff))
		}
		fieldOff := idOff + len(ptr)
		var b []byte
		switch enc {
		case 0xff, 0x00:
			b = binary.LittleEndian.AppendUint64(nil, begin)
			b = binary.LittleEndian.AppendUint64(b, size)
		case 0x1b: // pcrel sdata4
			b = binary.LittleEndian.AppendUint32(nil, uint32(begin-(w.vaddr+uint64(fieldOff))))
			b = binary.LittleEndian.AppendUint32(b, uint32(size))
		case 0x03: // udata4
			b = binary.LittleEndian.AppendUint32(nil, uint32(begin))
			b = binary.LittleEndian.AppendUint32(b, uint32(size))
		case 0x01: // uleb128
			b = cat(uleb(begin), uleb(size))
		case 0x09: // sleb128
			b = cat(sleb(int64(begin)), sleb(int64(size)))
		case 0x02: // udata2
			b = binary.LittleEndian.AppendUint16(nil, uint16(begin))
			b = binary.LittleEndian.AppendUint16(b, uint16(size))
		default:
			panic(fmt.Sprintf("fde: encoding %#x", enc))
		}
		if w.augz[cieOff] {
			b = append(b, 0)
		}
		return cat(ptr, b)
	}, ins)
}

func (w *cfiWriter) terminate() { w.buf.Write([]byte{0, 0, 0, 0}) }

func (w *cfiWriter) section() *section {
	name := ".debug_frame"
	if w.eh {
		name = ".eh_frame"
	}
	return &section{name: name, data: w.buf.Bytes(), eh: w.eh,
		bases: ptrBases{vaddr: w.vaddr, addrSize: 8}}
}

// extractCFI builds a table from hand-written sections.
func extractCFI(tb testing.TB, ws ...*cfiWriter) *Table {
	tb.Helper()
	var secs []*section
	for _, w := range ws {
		secs = append(secs, w.section())
	}
	t, err := extract(secs, nil)
	if err != nil {
		tb.Fatalf("extract: %v", err)
	}
	checkInvariants(tb, t)
	return t
}

// expect compares a table with "addr rule" lines.
func expect(tb testing.TB, t *Table, want string) {
	tb.Helper()
	got := dump(t)
	want = strings.TrimLeft(want, "\n")
	var norm strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			norm.WriteString(l + "\n")
		}
	}
	if got != norm.String() {
		tb.Errorf("table:\n%s\nwant:\n%s", got, norm.String())
	}
}
