package python

// lineRange says the bytecode bytes [start, end) belong to line (-1: no
// line, such as compiler-generated cleanup code).
type lineRange struct {
	start, end uint32
	line       int32
}

// openEnd ends the last range of tables that do not record the code's
// length (co_lnotab).
const openEnd = ^uint32(0)

// decodeLines decodes a code object's line table into address ranges, in
// bytes from the start of the bytecode, the way that version's
// PyCode_Addr2Line walks it. Malformed tables end the decoding early; they
// never panic.
func decodeLines(v Version, table []byte, first int32) []lineRange {
	switch {
	case v.atLeast(3, 11):
		return decodeLocations(table, first)
	case v.atLeast(3, 10):
		return decodeLinetable310(table, first)
	default:
		return decodeLnotab(table, first, v.Major >= 3)
	}
}

// decodeLnotab reads co_lnotab (2.7 through 3.9): pairs of (bytecode
// increment, line increment); line increments are signed from 3.6 on
// (and never negative before). A pair with a zero bytecode increment only
// moves the line.
func decodeLnotab(table []byte, first int32, signed bool) []lineRange {
	var out []lineRange
	addr, line := uint32(0), first
	for i := 0; i+1 < len(table); i += 2 {
		if b := uint32(table[i]); b > 0 {
			out = append(out, lineRange{addr, addr + b, line})
			addr += b
		}
		if signed {
			line += int32(int8(table[i+1]))
		} else {
			line += int32(table[i+1])
		}
	}
	return append(out, lineRange{addr, openEnd, line})
}

// decodeLinetable310 reads 3.10's co_linetable: pairs of (bytecode bytes,
// signed line delta), -128 meaning "no line" for that range only.
func decodeLinetable310(table []byte, first int32) []lineRange {
	var out []lineRange
	addr, line := uint32(0), first
	for i := 0; i+1 < len(table); i += 2 {
		start := addr
		addr += uint32(table[i])
		cur := int32(-1)
		if d := int8(table[i+1]); d != -128 {
			line += int32(d)
			cur = line
		}
		if addr > start {
			out = append(out, lineRange{start, addr, cur})
		}
	}
	return out
}

// Location table entry kinds (3.11+, Objects/locations.md).
const (
	locShortMax  = 9  // 0-9: same line, one column byte
	locOneLine0  = 10 // 10-12: line delta 0, 1, 2, two column bytes
	locNoColumns = 13 // signed varint line delta
	locLong      = 14 // signed varint line delta, then end line and columns
	locNone      = 15 // no location
)

// decodeLocations reads the 3.11+ location table: each entry starts with a
// byte with the top bit set, holding its kind and its length in code units
// (1-8); the bytes after it, up to the next such byte, carry positions.
func decodeLocations(table []byte, first int32) []lineRange {
	var out []lineRange
	addr, line := uint32(0), first
	for i := 0; i < len(table); {
		b := table[i]
		if b&0x80 == 0 {
			return out // not an entry start: malformed
		}
		kind := (b >> 3) & 15
		units := uint32(b&7) + 1
		var delta int32
		switch {
		case kind == locNoColumns || kind == locLong:
			delta = signedVarint(table[i+1:])
		case kind >= locOneLine0 && kind < locNoColumns:
			delta = int32(kind - locOneLine0)
		}
		line += delta
		cur := line
		if kind == locNone {
			cur = -1
		}
		start := addr
		addr += units * 2
		if n := len(out); n > 0 && out[n-1].line == cur && out[n-1].end == start {
			out[n-1].end = addr
		} else {
			out = append(out, lineRange{start, addr, cur})
		}
		for i++; i < len(table) && table[i]&0x80 == 0; i++ {
		}
	}
	return out
}

// varint reads CPython's location-table varint: 6 bits per byte, least
// significant first, bit 6 set on every byte but the last.
func varint(p []byte) uint32 {
	var val uint32
	for i, shift := 0, uint(0); i < len(p) && shift < 32; i, shift = i+1, shift+6 {
		val |= uint32(p[i]&63) << shift
		if p[i]&64 == 0 {
			break
		}
	}
	return val
}

// signedVarint holds the sign in the lowest bit.
func signedVarint(p []byte) int32 {
	u := varint(p)
	if u&1 != 0 {
		return -int32(u >> 1)
	}
	return int32(u >> 1)
}

// lineAt returns the line of the bytecode byte at addr, 0 when unknown.
func lineAt(ranges []lineRange, addr uint32) int {
	lo, hi := 0, len(ranges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch r := ranges[mid]; {
		case addr < r.start:
			hi = mid
		case addr >= r.end:
			lo = mid + 1
		default:
			return int(max(r.line, 0))
		}
	}
	return 0
}
