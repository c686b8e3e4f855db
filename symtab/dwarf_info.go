package symtab

import (
	"fmt"
)

// The DWARF constants this package uses (DWARF 2 to 5, plus the GNU
// extensions that GCC, dwz and split DWARF emit).

// Tags.
const (
	tagLexicalBlock      = 0x0b
	tagCompileUnit       = 0x11
	tagInlinedSubroutine = 0x1d
	tagSubprogram        = 0x2e
	tagPartialUnit       = 0x3c
	tagSkeletonUnit      = 0x4a
)

// Attributes.
const (
	atName            = 0x03
	atStmtList        = 0x10
	atLowPC           = 0x11
	atHighPC          = 0x12
	atCompDir         = 0x1b
	atAbstractOrigin  = 0x31
	atSpecification   = 0x47
	atRanges          = 0x55
	atCallFile        = 0x58
	atCallLine        = 0x59
	atLinkageName     = 0x6e
	atStrOffsetsBase  = 0x72
	atAddrBase        = 0x73
	atRnglistsBase    = 0x74
	atMIPSLinkageName = 0x2007
	atGNURangesBase   = 0x2132
	atGNUAddrBase     = 0x2133
)

// Forms.
const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

// Unit types (DWARF 5).
const (
	utCompile      = 1
	utType         = 2
	utPartial      = 3
	utSkeleton     = 4
	utSplitCompile = 5
	utSplitType    = 6
)

// valClass says how to interpret an attribute value.
type valClass uint8

const (
	clsNone      valClass = iota
	clsConst              // u holds an unsigned constant (or a sign-extended sdata)
	clsAddr               // u is an address
	clsAddrx              // u indexes .debug_addr from the unit's addr_base
	clsRef                // u is a .debug_info offset
	clsRefAlt             // u is a .debug_info offset in the supplementary (dwz) file
	clsStr                // s holds the string, u its offset in the section
	clsStrp               // u is a .debug_str offset
	clsLineStrp           // u is a .debug_line_str offset
	clsStrx               // u indexes .debug_str_offsets from the unit's base
	clsStrAlt             // u is a .debug_str offset in the supplementary file
	clsSecOffset          // u is an offset into another section
	clsRnglistx           // u indexes the unit's range list offsets
	clsOther              // a block, a signature or a location list index
)

// attrVal is one decoded attribute value.
type attrVal struct {
	cls valClass
	u   uint64
	s   []byte
}

// attrSpec is one attribute of an abbreviation, in 8 bytes: attribute
// codes and forms fit in 16 bits (others read as unknown), and the
// constants of DW_FORM_implicit_const that matter here (lines, file
// numbers, sizes) in 32.
type attrSpec struct {
	attr     uint16
	form     uint16
	implicit int32
}

// abbrev is one abbreviation declaration.
type abbrev struct {
	tag      uint32
	children bool
	specs    []attrSpec
}

// abbrevTable is the abbreviations of one or more units; codes 1..n are
// held densely, others in a map.
type abbrevTable struct {
	dense  []abbrev
	sparse map[uint64]*abbrev
	bytes  int
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code-1 < uint64(len(t.dense)) {
		return &t.dense[code-1]
	}
	return t.sparse[code]
}

// parseAbbrevs decodes the table at the start of b. A table ends with a
// zero code; reaching the end of b first is reported through b.err.
func parseAbbrevs(b *dbuf) *abbrevTable {
	t := &abbrevTable{}
	start := b.off
	for b.err == nil {
		code := b.uleb()
		if code == 0 {
			break
		}
		a := abbrev{tag: uint32(b.uleb()), children: b.u8() != 0}
		for b.err == nil {
			attr, form := b.uleb(), b.uleb()
			if attr == 0 && form == 0 {
				break
			}
			spec := attrSpec{attr: uint16(attr), form: uint16(form)}
			if attr > 0xffff {
				spec.attr = 0
			}
			if form > 0xffff {
				spec.form = 0xffff // unknown: decoding it fails
			}
			if form == formImplicitConst {
				spec.implicit = int32(min(max(b.sleb(), -1<<31), 1<<31-1))
			}
			a.specs = append(a.specs, spec)
		}
		if b.err != nil {
			break
		}
		switch {
		case code == uint64(len(t.dense))+1 && t.sparse == nil:
			t.dense = append(t.dense, a)
		default:
			if t.sparse == nil {
				t.sparse = make(map[uint64]*abbrev)
			}
			if t.get(code) == nil {
				t.sparse[code] = &a
			}
		}
	}
	t.bytes = (b.off-start)*5 + 64 // the decoded form is about five times the encoding
	return t
}

// unit is one unit of .debug_info, with what its root DIE says about it.
type unit struct {
	off       uint64 // section offset of the unit header
	end       uint64 // section offset past the unit
	dieOff    uint64 // section offset of the root DIE
	abbrevOff uint64
	version   uint8
	utype     uint8
	asize     uint8
	dwarf64   bool
	tag       uint32 // of the root DIE

	lowPC      uint64 // base address for range lists
	lineOff    uint64
	hasLine    bool
	strOffBase uint64
	addrBase   uint64
	rngBase    uint64
	compDir    string
}

// offSize is the size of a section offset in the unit.
func (u *unit) offSize() int {
	if u.dwarf64 {
		return 8
	}
	return 4
}

// parseUnitHeader decodes the unit header at the start of b, whose first
// byte is at section offset b.base.
func parseUnitHeader(b *dbuf) unit {
	u := unit{off: b.pos()}
	length, dwarf64 := b.unitLength()
	u.dwarf64 = dwarf64
	u.end = b.pos() + length
	if u.end < b.pos() {
		b.fail("unit length overflows")
		return u
	}
	v := b.u16()
	u.version = uint8(v)
	if v < 2 || v > 5 {
		b.fail(fmt.Sprintf("unsupported DWARF version %d", v))
		return u
	}
	if v >= 5 {
		u.utype = b.u8()
		u.asize = b.u8()
		u.abbrevOff = b.offset(dwarf64)
		switch u.utype {
		case utSkeleton, utSplitCompile:
			b.skip(8) // dwo_id
		case utType, utSplitType:
			b.skip(8) // type signature
			b.offset(dwarf64)
		}
	} else {
		u.utype = utCompile
		u.abbrevOff = b.offset(dwarf64)
		u.asize = b.u8()
	}
	switch u.asize {
	case 1, 2, 4, 8:
	default:
		b.fail(fmt.Sprintf("unsupported address size %d", u.asize))
	}
	u.dieOff = b.pos()
	if u.dieOff > u.end {
		b.fail("unit header longer than the unit")
	}
	return u
}

// readAttr decodes one attribute value of the given form.
func readAttr(b *dbuf, u *unit, form uint16, implicit int32) attrVal {
	for range 4 { // DW_FORM_indirect may name another form; bound the chain
		switch form {
		case formAddr:
			return attrVal{cls: clsAddr, u: b.sized(int(u.asize))}
		case formData1, formFlag:
			return attrVal{cls: clsConst, u: uint64(b.u8())}
		case formData2:
			return attrVal{cls: clsConst, u: uint64(b.u16())}
		case formData4:
			return attrVal{cls: clsConst, u: uint64(b.u32())}
		case formData8:
			return attrVal{cls: clsConst, u: b.u64()}
		case formSdata:
			return attrVal{cls: clsConst, u: uint64(b.sleb())}
		case formUdata:
			return attrVal{cls: clsConst, u: b.uleb()}
		case formImplicitConst:
			return attrVal{cls: clsConst, u: uint64(int64(implicit))}
		case formFlagPresent:
			return attrVal{cls: clsConst, u: 1}
		case formData16:
			b.skip(16)
			return attrVal{cls: clsOther}
		case formBlock1:
			b.skip(uint64(b.u8()))
			return attrVal{cls: clsOther}
		case formBlock2:
			b.skip(uint64(b.u16()))
			return attrVal{cls: clsOther}
		case formBlock4:
			b.skip(uint64(b.u32()))
			return attrVal{cls: clsOther}
		case formBlock, formExprloc:
			b.skip(b.uleb())
			return attrVal{cls: clsOther}
		case formString:
			pos := b.pos()
			return attrVal{cls: clsStr, u: pos, s: b.cstr()}
		case formStrp:
			return attrVal{cls: clsStrp, u: b.offset(u.dwarf64)}
		case formLineStrp:
			return attrVal{cls: clsLineStrp, u: b.offset(u.dwarf64)}
		case formStrpSup, formGNUStrpAlt:
			return attrVal{cls: clsStrAlt, u: b.offset(u.dwarf64)}
		case formStrx, formGNUStrIndex:
			return attrVal{cls: clsStrx, u: b.uleb()}
		case formStrx1:
			return attrVal{cls: clsStrx, u: uint64(b.u8())}
		case formStrx2:
			return attrVal{cls: clsStrx, u: uint64(b.u16())}
		case formStrx3:
			return attrVal{cls: clsStrx, u: uint64(b.u24())}
		case formStrx4:
			return attrVal{cls: clsStrx, u: uint64(b.u32())}
		case formAddrx, formGNUAddrIndex:
			return attrVal{cls: clsAddrx, u: b.uleb()}
		case formAddrx1:
			return attrVal{cls: clsAddrx, u: uint64(b.u8())}
		case formAddrx2:
			return attrVal{cls: clsAddrx, u: uint64(b.u16())}
		case formAddrx3:
			return attrVal{cls: clsAddrx, u: uint64(b.u24())}
		case formAddrx4:
			return attrVal{cls: clsAddrx, u: uint64(b.u32())}
		case formRef1:
			return attrVal{cls: clsRef, u: u.off + uint64(b.u8())}
		case formRef2:
			return attrVal{cls: clsRef, u: u.off + uint64(b.u16())}
		case formRef4:
			return attrVal{cls: clsRef, u: u.off + uint64(b.u32())}
		case formRef8:
			return attrVal{cls: clsRef, u: u.off + b.u64()}
		case formRefUdata:
			return attrVal{cls: clsRef, u: u.off + b.uleb()}
		case formRefAddr:
			if u.version <= 2 {
				return attrVal{cls: clsRef, u: b.sized(int(u.asize))}
			}
			return attrVal{cls: clsRef, u: b.offset(u.dwarf64)}
		case formRefSup4:
			return attrVal{cls: clsRefAlt, u: uint64(b.u32())}
		case formRefSup8:
			return attrVal{cls: clsRefAlt, u: b.u64()}
		case formGNURefAlt:
			return attrVal{cls: clsRefAlt, u: b.offset(u.dwarf64)}
		case formRefSig8:
			b.skip(8)
			return attrVal{cls: clsOther}
		case formSecOffset:
			return attrVal{cls: clsSecOffset, u: b.offset(u.dwarf64)}
		case formLoclistx:
			b.uleb()
			return attrVal{cls: clsOther}
		case formRnglistx:
			return attrVal{cls: clsRnglistx, u: b.uleb()}
		case formIndirect:
			f := b.uleb()
			form, implicit = uint16(min(f, 0xffff)), 0
			continue
		default:
			b.fail(fmt.Sprintf("unknown attribute form %#x", form))
			return attrVal{}
		}
	}
	b.fail("DW_FORM_indirect chain too long")
	return attrVal{}
}

// skipAttr skips one attribute value, faster than decoding it.
func skipAttr(b *dbuf, u *unit, form uint16) {
	switch form {
	case formFlagPresent, formImplicitConst:
	case formAddr:
		b.skip(uint64(u.asize))
	case formData1, formFlag, formRef1, formStrx1, formAddrx1:
		b.skip(1)
	case formData2, formRef2, formStrx2, formAddrx2:
		b.skip(2)
	case formStrx3, formAddrx3:
		b.skip(3)
	case formData4, formRef4, formStrx4, formAddrx4, formRefSup4:
		b.skip(4)
	case formData8, formRef8, formRefSig8, formRefSup8:
		b.skip(8)
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNUStrpAlt, formGNURefAlt:
		b.skip(uint64(u.offSize()))
	case formUdata, formSdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx,
		formGNUAddrIndex, formGNUStrIndex:
		b.uleb()
	case formBlock, formExprloc:
		b.skip(b.uleb())
	case formString:
		b.cstr()
	default:
		readAttr(b, u, form, 0)
	}
}
