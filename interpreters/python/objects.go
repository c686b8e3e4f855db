package python

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// typeAddrs are the absolute addresses of the type objects that the
// objects this package reads must point to: a check that the memory at an
// address still holds the kind of object we expect.
type typeAddrs struct {
	code  uint64 // PyCode_Type
	str   uint64 // PyUnicode_Type (3.x), PyString_Type (2.7)
	bytes uint64 // PyBytes_Type (3.x), PyString_Type (2.7)
}

// objReader decodes the objects of one process (or of fuzz input).
type objReader struct {
	m     mem
	l     *layout
	types typeAddrs
	py2   bool
}

func (o *objReader) checkType(hdr []byte, want uint64, what string, addr uint64) error {
	if got := le64(hdr, offObType); got != want {
		return fmt.Errorf("%s at %#x has type %#x, want %#x: %w", what, addr, got, want, errBadObject)
	}
	return nil
}

// bytesObject reads a PyBytesObject (PyStringObject on 2.7), refusing one
// longer than limit.
func (o *objReader) bytesObject(addr uint64, limit int) ([]byte, error) {
	hdr, err := o.m.read(addr, int(o.l.BytesData))
	if err != nil {
		return nil, fmt.Errorf("bytes object: %w", err)
	}
	if err := o.checkType(hdr, o.types.bytes, "bytes object", addr); err != nil {
		return nil, err
	}
	n := int64(le64(hdr, offObSize))
	if n < 0 || n > int64(limit) {
		return nil, fmt.Errorf("bytes object at %#x: size %d out of range: %w", addr, n, errBadObject)
	}
	if n == 0 {
		return nil, nil
	}
	data, err := o.m.read(addr+uint64(o.l.BytesData), int(n))
	if err != nil {
		return nil, fmt.Errorf("bytes object data: %w", err)
	}
	return data, nil
}

// str reads a name: a compact unicode object on 3.x, a byte string on 2.7.
// Text longer than maxStrBytes characters is cut there.
func (o *objReader) str(addr uint64) (string, error) {
	if o.py2 {
		hdr, err := o.m.read(addr, int(o.l.BytesData))
		if err != nil {
			return "", fmt.Errorf("str object: %w", err)
		}
		if err := o.checkType(hdr, o.types.str, "str object", addr); err != nil {
			return "", err
		}
		n := int64(le64(hdr, offObSize))
		if n < 0 {
			return "", fmt.Errorf("str object at %#x: size %d: %w", addr, n, errBadObject)
		}
		n = min(n, maxStrBytes)
		if n == 0 {
			return "", nil
		}
		data, err := o.m.read(addr+uint64(o.l.BytesData), int(n))
		if err != nil {
			return "", fmt.Errorf("str object data: %w", err)
		}
		return strings.ToValidUTF8(string(data), "\uFFFD"), nil
	}
	hdr, err := o.m.read(addr, int(o.l.ASCIISize))
	if err != nil {
		return "", fmt.Errorf("unicode object: %w", err)
	}
	if err := o.checkType(hdr, o.types.str, "unicode object", addr); err != nil {
		return "", err
	}
	state := le32(hdr, o.l.UnicodeState)
	kind := int64(state>>uniKindShift) & 7
	compact := state&(1<<uniCompactBit) != 0
	ascii := state&(1<<uniASCIIBit) != 0
	length := int64(le64(hdr, offUniLen))
	switch {
	case !compact:
		return "", fmt.Errorf("unicode object at %#x is not compact: %w", addr, errBadObject)
	case kind != 1 && kind != 2 && kind != 4, ascii && kind != 1:
		return "", fmt.Errorf("unicode object at %#x: kind %d: %w", addr, kind, errBadObject)
	case length < 0:
		return "", fmt.Errorf("unicode object at %#x: length %d: %w", addr, length, errBadObject)
	}
	length = min(length, maxStrBytes)
	if length == 0 {
		return "", nil
	}
	data := addr + uint64(o.l.CompactSize)
	if ascii {
		data = addr + uint64(o.l.ASCIISize)
	}
	raw, err := o.m.read(data, int(length*kind))
	if err != nil {
		return "", fmt.Errorf("unicode object data: %w", err)
	}
	return decodeUCS(raw, int(kind), ascii)
}

// decodeUCS turns PEP 393 storage (1, 2 or 4 bytes per code point) into
// UTF-8.
func decodeUCS(raw []byte, kind int, ascii bool) (string, error) {
	if ascii {
		for _, c := range raw {
			if c >= 0x80 {
				return "", fmt.Errorf("ascii string holds %#x: %w", c, errBadObject)
			}
		}
		return string(raw), nil
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i+kind <= len(raw); i += kind {
		var r rune
		switch kind {
		case 1:
			r = rune(raw[i])
		case 2:
			r = rune(raw[i]) | rune(raw[i+1])<<8
		default:
			r = rune(le32(raw, uint32(i)))
		}
		if r > utf8.MaxRune || r < 0 {
			return "", fmt.Errorf("code point %#x: %w", r, errBadObject)
		}
		b.WriteRune(r) // lone surrogates become U+FFFD
	}
	return b.String(), nil
}

// codeInfo is what symbolization needs from one code object.
type codeInfo struct {
	name, file string
	firstLine  int32
	lines      []lineRange
}

// codeHeaderSize is how much of a code object code reads in one piece.
func (l *layout) codeHeaderSize() int {
	n := max(l.CodeName, l.CodeQualname, l.CodeFilename, l.CodeLineTable) + 8
	return int(max(n, l.CodeFirstLineNo+4, offObSize+8))
}

// code reads the code object at addr, first checking that it is one and
// that its co_firstlineno still equals check.
func (o *objReader) code(v Version, addr uint64, check uint32) (*codeInfo, error) {
	hdr, err := o.m.read(addr, o.l.codeHeaderSize())
	if err != nil {
		return nil, fmt.Errorf("code object: %w", err)
	}
	if err := o.checkType(hdr, o.types.code, "code object", addr); err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrStale, err)
	}
	first := le32(hdr, o.l.CodeFirstLineNo)
	if first != check {
		return nil, fmt.Errorf("code object at %#x: co_firstlineno %d, sampled %d: %w", addr, int32(first), int32(check), ErrStale)
	}
	ci := &codeInfo{firstLine: int32(first)}
	nameAt := o.l.CodeName
	if o.l.CodeQualname != 0 {
		nameAt = o.l.CodeQualname
	}
	if ci.name, err = o.str(le64(hdr, nameAt)); err != nil {
		return nil, fmt.Errorf("code object at %#x: name: %w", addr, err)
	}
	if ci.file, err = o.str(le64(hdr, o.l.CodeFilename)); err != nil {
		return nil, fmt.Errorf("code object at %#x: file name: %w", addr, err)
	}
	table, err := o.bytesObject(le64(hdr, o.l.CodeLineTable), maxLineTab)
	if err != nil {
		return nil, fmt.Errorf("code object at %#x: line table: %w", addr, err)
	}
	ci.lines = decodeLines(v, table, ci.firstLine)
	return ci, nil
}
