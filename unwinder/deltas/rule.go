package deltas

import "math"

// DWARF expression opcodes used by the patterns below.
const (
	opDeref = 0x06
	opAnd   = 0x1a
	opPlus  = 0x22
	opShl   = 0x24
	opGe    = 0x2a
	opLit0  = 0x30
	opBreg0 = 0x70
)

// pltExpr is the CFA expression binutils emits for .plt entries, with the
// lit operand (index 6) left out: CFA = RSP + 8 + ((RIP & 15) >= N) << 3.
var pltExpr = [...]byte{
	opBreg0 + regRSP, 8, // DW_OP_breg7 8
	opBreg0 + regRA, 0, // DW_OP_breg16 0
	opLit0 + 15, opAnd, // DW_OP_lit15; DW_OP_and
	0,             // DW_OP_lit9 (IBT PLT), lit10 or lit11
	opGe,          // DW_OP_ge
	opLit0 + 3,    // DW_OP_lit3
	opShl, opPlus, // DW_OP_shl; DW_OP_plus
}

// classifyCFAExpr recognizes the CFA expressions the BPF unwinder can
// evaluate.
func classifyCFAExpr(e []byte) (exprKind, int64) {
	if len(e) == len(pltExpr) {
		ok := true
		for i, b := range pltExpr {
			if i != 6 && e[i] != b {
				ok = false
				break
			}
		}
		if lit := e[6]; ok && lit >= opLit0+9 && lit <= opLit0+11 {
			return exprPLT, int64(lit - opLit0)
		}
	}
	// DW_OP_breg6 OFF; DW_OP_deref
	if len(e) >= 3 && e[len(e)-1] == opDeref {
		if off, ok := matchBreg6(e[:len(e)-1]); ok {
			return exprDerefRBP, off
		}
	}
	return exprOther, 0
}

// matchBreg6 reports whether e is exactly DW_OP_breg6 OFF and returns OFF.
func matchBreg6(e []byte) (int64, bool) {
	if len(e) < 2 || e[0] != opBreg0+regRBP {
		return 0, false
	}
	c := cursor{data: e, off: 1}
	off := c.sleb()
	if c.err != nil || c.remaining() != 0 {
		return 0, false
	}
	return off, true
}

func fitsInt32(v int64) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

// invalidRule is the rule for addresses without usable unwind information.
var invalidRule = Rule{CFA: CFAInvalid}

// rule maps a CFI row to the rule the BPF unwinder uses. signal is set for
// FDEs whose CIE has the 'S' augmentation.
func (st *state) rule(signal bool) Rule {
	if signal {
		return Rule{CFA: CFASignal}
	}
	switch st.ra.kind {
	case regUndefined:
		return Rule{CFA: CFAEnd}
	case regUnspecified:
		// x86-64 CIEs always say ra at cfa-8; the ABI fixes it there.
	case regOffset:
		if st.ra.off != -8 {
			return invalidRule
		}
	default:
		return invalidRule
	}

	var r Rule
	switch st.cfa.how {
	case cfaRegOff:
		switch st.cfa.reg {
		case regRSP:
			r.CFA = CFARSP
		case regRBP:
			r.CFA = CFARBP
		default:
			return invalidRule
		}
		if !fitsInt32(st.cfa.off) {
			return invalidRule
		}
		r.CFAOffset = int32(st.cfa.off)
	case cfaExpr:
		switch st.cfa.expr {
		case exprDerefRBP:
			r.CFA = CFADerefRBP
		case exprPLT:
			r.CFA = CFAPLT
		default:
			return invalidRule
		}
		if !fitsInt32(st.cfa.exprOff) {
			return invalidRule
		}
		r.CFAOffset = int32(st.cfa.exprOff)
	default:
		return invalidRule
	}

	switch st.rbp.kind {
	case regOffset:
		r.RBP = RBPAtCFA
	case regAtRBP:
		r.RBP = RBPAtRBP
	default:
		// same_value, undefined, unspecified and rules the BPF side
		// cannot follow: RBP is taken as unchanged.
		return r
	}
	if !fitsInt32(st.rbp.off) {
		return invalidRule
	}
	r.RBPOffset = int32(st.rbp.off)
	return r
}
