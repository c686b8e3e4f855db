package deltas

// cursor reads DWARF CFI encodings from a byte slice. Errors are sticky, as
// in debug/dwarf's buf: after the first one every read returns zero values
// and the caller checks err once.
type cursor struct {
	data []byte
	off  int
	err  *FormatError
	// name of the section, for errors.
	name string
}

func (c *cursor) fail(msg string) {
	if c.err == nil {
		c.err = &FormatError{Section: c.name, Off: uint64(c.off), Msg: msg}
	}
	c.off = len(c.data)
}

func (c *cursor) remaining() int { return len(c.data) - c.off }

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || n > len(c.data)-c.off {
		c.fail("unexpected end of data")
		return false
	}
	return true
}

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.data[c.off]
	c.off++
	return v
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	b := c.data[c.off : c.off+2]
	c.off += 2
	return uint16(b[0]) | uint16(b[1])<<8
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	b := c.data[c.off : c.off+4]
	c.off += 4
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (c *cursor) u64() uint64 {
	if !c.need(8) {
		return 0
	}
	b := c.data[c.off : c.off+8]
	c.off += 8
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// uint reads an unsigned little-endian integer of size bytes (1, 2, 4 or 8).
func (c *cursor) uint(size int) uint64 {
	switch size {
	case 1:
		return uint64(c.u8())
	case 2:
		return uint64(c.u16())
	case 4:
		return uint64(c.u32())
	case 8:
		return c.u64()
	}
	c.fail("unsupported integer size")
	return 0
}

// uleb reads an unsigned LEB128 number. Bits beyond 64 are dropped.
func (c *cursor) uleb() uint64 {
	var v uint64
	var shift uint
	for {
		if !c.need(1) {
			return 0
		}
		b := c.data[c.off]
		c.off++
		if shift < 64 {
			v |= uint64(b&0x7f) << shift
		}
		shift += 7
		if b&0x80 == 0 {
			return v
		}
	}
}

// sleb reads a signed LEB128 number. Bits beyond 64 are dropped.
func (c *cursor) sleb() int64 {
	var v int64
	var shift uint
	for {
		if !c.need(1) {
			return 0
		}
		b := c.data[c.off]
		c.off++
		if shift < 64 {
			v |= int64(b&0x7f) << shift
		}
		shift += 7
		if b&0x80 == 0 {
			if shift < 64 && b&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

// bytes returns the next n bytes without copying.
func (c *cursor) bytes(n uint64) []byte {
	if n > uint64(c.remaining()) {
		c.fail("length past end of data")
		return nil
	}
	if !c.need(int(n)) {
		return nil
	}
	b := c.data[c.off : c.off+int(n)]
	c.off += int(n)
	return b
}

// cstring returns the bytes up to a NUL terminator and skips the NUL.
func (c *cursor) cstring() []byte {
	if c.err != nil {
		return nil
	}
	for i := c.off; i < len(c.data); i++ {
		if c.data[i] == 0 {
			s := c.data[c.off:i]
			c.off = i + 1
			return s
		}
	}
	c.fail("unterminated string")
	return nil
}

// block reads a ULEB128 length followed by that many bytes.
func (c *cursor) block() []byte {
	n := c.uleb()
	return c.bytes(n)
}

// Pointer encodings (DW_EH_PE_*), from the LSB's description of .eh_frame.
const (
	peAbsptr  = 0x00
	peULEB128 = 0x01
	peUdata2  = 0x02
	peUdata4  = 0x03
	peUdata8  = 0x04
	peSigned  = 0x08
	peSLEB128 = 0x09
	peSdata2  = 0x0a
	peSdata4  = 0x0b
	peSdata8  = 0x0c

	pePCRel   = 0x10
	peTextRel = 0x20
	peDataRel = 0x30
	peFuncRel = 0x40
	peAligned = 0x50

	peIndirect = 0x80
	peOmit     = 0xff
)

// ptrBases holds the bases that pointer encodings are relative to.
type ptrBases struct {
	// vaddr is the address data[0] of the cursor is loaded at (pcrel).
	vaddr uint64
	// text and data are the textrel and datarel bases.
	text, data uint64
	// addrSize is the size of an absolute pointer: 4 or 8.
	addrSize int
}

func (b *ptrBases) mask(v uint64) uint64 {
	if b.addrSize == 4 {
		return v & 0xffffffff
	}
	return v
}

// value reads the value part of an encoded pointer (the low 4 bits of enc)
// without applying any base.
func (c *cursor) encValue(enc uint8, addrSize int) uint64 {
	switch enc & 0x0f {
	case peAbsptr:
		return c.uint(addrSize)
	case peULEB128:
		return c.uleb()
	case peUdata2:
		return uint64(c.u16())
	case peUdata4:
		return uint64(c.u32())
	case peUdata8:
		return c.u64()
	case peSigned:
		if addrSize == 4 {
			return uint64(int64(int32(c.u32())))
		}
		return c.u64()
	case peSLEB128:
		return uint64(c.sleb())
	case peSdata2:
		return uint64(int64(int16(c.u16())))
	case peSdata4:
		return uint64(int64(int32(c.u32())))
	case peSdata8:
		return c.u64()
	}
	c.fail("unknown pointer encoding")
	return 0
}

// pointer reads an encoded pointer and applies its base. funcBase is the
// base of DW_EH_PE_funcrel. The indirect flag is ignored: it says the
// result is the address of the pointer, which is what we return.
func (c *cursor) pointer(enc uint8, b *ptrBases, funcBase uint64) uint64 {
	if enc == peOmit {
		return 0
	}
	start := c.off
	var base uint64
	switch enc & 0x70 {
	case peAbsptr:
	case pePCRel:
		base = b.vaddr + uint64(start)
	case peTextRel:
		base = b.text
	case peDataRel:
		base = b.data
	case peFuncRel:
		base = funcBase
	case peAligned:
		a := b.addrSize
		if a != 4 && a != 8 {
			c.fail("bad address size")
			return 0
		}
		if pad := int((b.vaddr + uint64(c.off)) % uint64(a)); pad != 0 {
			c.bytes(uint64(a - pad))
		}
		return b.mask(c.uint(a))
	default:
		c.fail("unknown pointer application")
		return 0
	}
	return b.mask(base + c.encValue(enc, b.addrSize))
}
