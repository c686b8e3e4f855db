package deltas

import "math/bits"

// DWARF register numbers of the x86-64 psABI that the rules care about.
const (
	regRBP = 6
	regRSP = 7
	regRA  = 16
)

// maxStateStack bounds DW_CFA_remember_state nesting.
const maxStateStack = 64

// regKind is the DWARF rule of one register.
type regKind uint8

const (
	regUnspecified regKind = iota
	regUndefined
	regSame
	regOffset    // saved at CFA + off
	regValOffset // value is CFA + off
	regRegister  // in another register
	regAtRBP     // DW_CFA_expression: DW_OP_breg6 off
	regExpr      // any other DW_CFA_expression
	regValExpr   // DW_CFA_val_expression
)

type regRule struct {
	kind regKind
	off  int64
}

// cfaHow says whether the CFA is register+offset or an expression. As in
// libgcc, DW_CFA_def_cfa_offset keeps the kind, DW_CFA_def_cfa_register
// switches back to register+offset with the last offset.
type cfaHow uint8

const (
	cfaUnset cfaHow = iota
	cfaRegOff
	cfaExpr
)

// exprKind classifies a DW_CFA_def_cfa_expression.
type exprKind uint8

const (
	exprOther exprKind = iota
	exprDerefRBP
	exprPLT
)

type cfaRule struct {
	how     cfaHow
	expr    exprKind
	reg     uint64
	off     int64
	exprOff int64
}

// state is one row of the CFI table, reduced to what the rules need.
type state struct {
	cfa cfaRule
	rbp regRule
	ra  regRule
}

// machine runs DW_CFA programs. One machine is reused for every FDE of a
// file so that the remember_state stack is allocated once.
type machine struct {
	cie   *cie
	bases ptrBases
	st    state
	stack []state
}

// setReg records rule r for DWARF register reg when it is one we track.
func (m *machine) setReg(reg uint64, r regRule) {
	switch reg {
	case regRBP:
		m.st.rbp = r
	case regRA:
		m.st.ra = r
	}
}

// restore sets reg back to the CIE's initial rule.
func (m *machine) restore(reg uint64) {
	switch reg {
	case regRBP:
		m.st.rbp = m.cie.init.rbp
	case regRA:
		m.st.ra = m.cie.init.ra
	}
}

// run executes the instructions in c starting at loc, handing the builder
// the state in force over each range that ends with an advance, and stops
// once loc reaches end. It returns the final location; the caller owns the
// range [loc, end). With out nil (CIE initial instructions) advances only
// move loc.
func (m *machine) run(c *cursor, loc, end uint64, out *builder) uint64 {
	for c.err == nil && c.remaining() > 0 && loc < end {
		op := c.u8()
		next, ok := m.location(op, c, loc)
		if !ok {
			m.apply(op, c)
			continue
		}
		if c.err != nil {
			break
		}
		if next > end {
			next = end
		}
		if out != nil && next > loc {
			out.span(loc, next, &m.st)
		}
		loc = next
	}
	return loc
}

// location decodes the instructions that move the location: the advances
// and DW_CFA_set_loc. ok is false for every other opcode. An advance past
// the end of the address space lands on the end.
func (m *machine) location(op uint8, c *cursor, loc uint64) (next uint64, ok bool) {
	var delta uint64
	switch {
	case op>>6 == 1: // DW_CFA_advance_loc
		delta = uint64(op & 0x3f)
	case op == 0x01: // DW_CFA_set_loc
		b := m.bases
		b.addrSize = m.cie.addrSize
		next = c.pointer(m.cie.fdeEnc, &b, 0)
		if next < loc {
			c.fail("DW_CFA_set_loc moves backwards")
		}
		return next, true
	case op == 0x02: // DW_CFA_advance_loc1
		delta = uint64(c.u8())
	case op == 0x03: // DW_CFA_advance_loc2
		delta = uint64(c.u16())
	case op == 0x04: // DW_CFA_advance_loc4
		delta = uint64(c.u32())
	case op == 0x1d: // DW_CFA_MIPS_advance_loc8
		delta = c.u64()
	default:
		return 0, false
	}
	hi, lo := bits.Mul64(delta, m.cie.codeAlign)
	next = loc + lo
	if hi != 0 || next < loc {
		next = ^uint64(0)
	}
	return next, true
}

// apply executes one instruction that changes the rules.
func (m *machine) apply(op uint8, c *cursor) {
	daf := m.cie.dataAlign
	switch op >> 6 {
	case 2: // DW_CFA_offset
		m.setReg(uint64(op&0x3f), regRule{regOffset, int64(c.uleb()) * daf})
		return
	case 3: // DW_CFA_restore
		m.restore(uint64(op & 0x3f))
		return
	}
	switch op {
	case 0x05: // DW_CFA_offset_extended
		reg, off := c.uleb(), c.uleb()
		m.setReg(reg, regRule{regOffset, int64(off) * daf})
	case 0x06: // DW_CFA_restore_extended
		m.restore(c.uleb())
	case 0x07: // DW_CFA_undefined
		m.setReg(c.uleb(), regRule{kind: regUndefined})
	case 0x08: // DW_CFA_same_value
		m.setReg(c.uleb(), regRule{kind: regSame})
	case 0x09: // DW_CFA_register
		reg := c.uleb()
		c.uleb()
		m.setReg(reg, regRule{kind: regRegister})
	case 0x10: // DW_CFA_expression
		reg := c.uleb()
		r := regRule{kind: regExpr}
		if off, ok := matchBreg6(c.block()); ok {
			r = regRule{regAtRBP, off}
		}
		m.setReg(reg, r)
	case 0x11: // DW_CFA_offset_extended_sf
		reg, off := c.uleb(), c.sleb()
		m.setReg(reg, regRule{regOffset, off * daf})
	case 0x14: // DW_CFA_val_offset
		reg, off := c.uleb(), c.uleb()
		m.setReg(reg, regRule{regValOffset, int64(off) * daf})
	case 0x15: // DW_CFA_val_offset_sf
		reg, off := c.uleb(), c.sleb()
		m.setReg(reg, regRule{regValOffset, off * daf})
	case 0x16: // DW_CFA_val_expression
		reg := c.uleb()
		c.block()
		m.setReg(reg, regRule{kind: regValExpr})
	case 0x2f: // DW_CFA_GNU_negative_offset_extended
		reg, off := c.uleb(), c.uleb()
		m.setReg(reg, regRule{regOffset, -int64(off) * daf})
	default:
		m.applyCFA(op, c)
	}
}

// applyCFA executes the instructions that change the CFA rule or the state
// stack, and those without effect.
func (m *machine) applyCFA(op uint8, c *cursor) {
	cfa := &m.st.cfa
	switch op {
	case 0x00: // DW_CFA_nop
	case 0x0a: // DW_CFA_remember_state
		if len(m.stack) >= maxStateStack {
			c.fail("DW_CFA_remember_state nested too deep")
			return
		}
		m.stack = append(m.stack, m.st)
	case 0x0b: // DW_CFA_restore_state
		n := len(m.stack)
		if n == 0 {
			c.fail("DW_CFA_restore_state with empty stack")
			return
		}
		m.st = m.stack[n-1]
		m.stack = m.stack[:n-1]
	case 0x0c: // DW_CFA_def_cfa
		reg, off := c.uleb(), c.uleb()
		cfa.how, cfa.reg, cfa.off = cfaRegOff, reg, int64(off)
	case 0x0d: // DW_CFA_def_cfa_register
		cfa.how, cfa.reg = cfaRegOff, c.uleb()
	case 0x0e: // DW_CFA_def_cfa_offset
		cfa.off = int64(c.uleb())
	case 0x0f: // DW_CFA_def_cfa_expression
		kind, off := classifyCFAExpr(c.block())
		cfa.how, cfa.expr, cfa.exprOff = cfaExpr, kind, off
	case 0x12: // DW_CFA_def_cfa_sf
		reg, off := c.uleb(), c.sleb()
		cfa.how, cfa.reg, cfa.off = cfaRegOff, reg, off*m.cie.dataAlign
	case 0x13: // DW_CFA_def_cfa_offset_sf
		cfa.off = c.sleb() * m.cie.dataAlign
	case 0x2d: // DW_CFA_GNU_window_save: SPARC, no operands
	case 0x2e: // DW_CFA_GNU_args_size
		c.uleb()
	default:
		c.fail("unknown DW_CFA opcode")
	}
}
