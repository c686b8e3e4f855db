package symtab

import (
	"encoding/binary"
	"fmt"
)

// dbuf is a sticky-error cursor over DWARF bytes: the first read past the
// end, or the first malformed value, records an error and empties the
// data, after which every read returns zero. Callers check err once, at
// the end of a unit of work.
type dbuf struct {
	data  []byte
	off   int    // position in data
	base  uint64 // section offset of data[0], for error messages
	sec   string // section name, for error messages
	order binary.ByteOrder
	err   error
	eof   bool // err is from running out of data
}

func newDbuf(sec string, base uint64, data []byte, order binary.ByteOrder) dbuf {
	return dbuf{data: data, base: base, sec: sec, order: order}
}

// pos returns the section offset of the cursor.
func (b *dbuf) pos() uint64 { return b.base + uint64(b.off) }

// left returns how many bytes remain.
func (b *dbuf) left() int { return len(b.data) - b.off }

func (b *dbuf) fail(msg string) {
	if b.err == nil {
		b.err = &FormatError{Off: -1, Msg: fmt.Sprintf("%s+%#x: %s", b.sec, b.pos(), msg)}
	}
	b.data, b.off = nil, 0
}

// failEOF is fail for data that ends too early, which a caller reading a
// window of a section may cure by reading more.
func (b *dbuf) failEOF(msg string) {
	if b.err == nil {
		b.eof = true
	}
	b.fail(msg)
}

// need reports whether n more bytes are available, failing if not.
func (b *dbuf) need(n uint64) bool {
	if n > uint64(b.left()) {
		b.failEOF("unexpected end of data")
		return false
	}
	return true
}

func (b *dbuf) u8() uint8 {
	if !b.need(1) {
		return 0
	}
	v := b.data[b.off]
	b.off++
	return v
}

func (b *dbuf) u16() uint16 {
	if !b.need(2) {
		return 0
	}
	v := b.order.Uint16(b.data[b.off:])
	b.off += 2
	return v
}

func (b *dbuf) u24() uint32 {
	if !b.need(3) {
		return 0
	}
	d := b.data[b.off:]
	b.off += 3
	if b.order == binary.BigEndian {
		return uint32(d[0])<<16 | uint32(d[1])<<8 | uint32(d[2])
	}
	return uint32(d[2])<<16 | uint32(d[1])<<8 | uint32(d[0])
}

func (b *dbuf) u32() uint32 {
	if !b.need(4) {
		return 0
	}
	v := b.order.Uint32(b.data[b.off:])
	b.off += 4
	return v
}

func (b *dbuf) u64() uint64 {
	if !b.need(8) {
		return 0
	}
	v := b.order.Uint64(b.data[b.off:])
	b.off += 8
	return v
}

// sized reads an unsigned value of 1, 2, 4 or 8 bytes.
func (b *dbuf) sized(n int) uint64 {
	switch n {
	case 1:
		return uint64(b.u8())
	case 2:
		return uint64(b.u16())
	case 4:
		return uint64(b.u32())
	case 8:
		return b.u64()
	}
	b.fail(fmt.Sprintf("unsupported value size %d", n))
	return 0
}

// uleb reads an unsigned LEB128 value. Bits past 64 are dropped (padded
// encodings longer than 10 bytes are legal).
func (b *dbuf) uleb() uint64 {
	var v uint64
	for i := 0; i < len(b.data)-b.off; i++ {
		c := b.data[b.off+i]
		if i < 10 {
			v |= uint64(c&0x7f) << (7 * uint(i))
		}
		if c&0x80 == 0 {
			b.off += i + 1
			return v
		}
	}
	b.failEOF("unterminated LEB128 value")
	return 0
}

// sleb reads a signed LEB128 value.
func (b *dbuf) sleb() int64 {
	var v int64
	var shift uint
	for i := 0; i < len(b.data)-b.off; i++ {
		c := b.data[b.off+i]
		if i < 10 {
			v |= int64(c&0x7f) << shift
			shift += 7
		}
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			b.off += i + 1
			return v
		}
	}
	b.failEOF("unterminated LEB128 value")
	return 0
}

func (b *dbuf) skip(n uint64) {
	if b.need(n) {
		b.off += int(n)
	}
}

func (b *dbuf) bytes(n uint64) []byte {
	if !b.need(n) {
		return nil
	}
	v := b.data[b.off : b.off+int(n)]
	b.off += int(n)
	return v
}

// cstr reads a NUL-terminated string, without the NUL.
func (b *dbuf) cstr() []byte {
	for i := b.off; i < len(b.data); i++ {
		if b.data[i] == 0 {
			v := b.data[b.off:i]
			b.off = i + 1
			return v
		}
	}
	b.failEOF("unterminated string")
	return nil
}

// offset reads a section offset: 4 bytes, or 8 in the 64-bit DWARF format.
func (b *dbuf) offset(dwarf64 bool) uint64 {
	if dwarf64 {
		return b.u64()
	}
	return uint64(b.u32())
}

// unitLength reads an initial length field. It returns the length of the
// unit that follows and whether the unit uses the 64-bit format.
func (b *dbuf) unitLength() (uint64, bool) {
	n := b.u32()
	switch {
	case n == 0xffffffff:
		return b.u64(), true
	case n >= 0xfffffff0:
		b.fail(fmt.Sprintf("reserved unit length %#x", n))
		return 0, false
	}
	return uint64(n), false
}
