package python

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fakeMem is process memory made of one byte slice mapped at base.
type fakeMem struct {
	base uint64
	data []byte
}

func (f fakeMem) ReadAt(p []byte, off int64) (int, error) {
	if uint64(off) < f.base || uint64(off)-f.base >= uint64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[uint64(off)-f.base:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

const fakeBase = 0x10000

// fakeTypes are the type addresses synthetic memory uses.
var fakeTypes = typeAddrs{code: 0x1111, str: 0x2222, bytes: 0x3333}

// buildCodeMemory lays out, for version v, a code object at fakeBase+64
// named name, in file file, first line first, with line table table.
func buildCodeMemory(v Version, name, file string, first int32, table []byte) []byte {
	l, _ := layoutFor(v)
	buf := make([]byte, 4096)
	put64 := func(at int, x uint64) { binary.LittleEndian.PutUint64(buf[at:], x) }
	str := uint64(fakeTypes.str)
	if v.Major == 2 {
		str = fakeTypes.bytes
	}
	// Objects: code at 64, name at 1024, file at 1536, table at 2048.
	code, nameAt, fileAt, tabAt := 64, 1024, 1536, 2048
	put64(code+offObType, fakeTypes.code)
	binary.LittleEndian.PutUint32(buf[code+int(l.CodeFirstLineNo):], uint32(first))
	for _, f := range []uint32{l.CodeName, l.CodeQualname} {
		if f != 0 {
			put64(code+int(f), fakeBase+uint64(nameAt))
		}
	}
	put64(code+int(l.CodeFilename), fakeBase+uint64(fileAt))
	put64(code+int(l.CodeLineTable), fakeBase+uint64(tabAt))
	for _, s := range []struct {
		at   int
		text string
	}{{nameAt, name}, {fileAt, file}} {
		put64(s.at+offObType, str)
		if v.Major == 2 {
			put64(s.at+offObSize, uint64(len(s.text)))
			copy(buf[s.at+int(l.BytesData):], s.text)
			continue
		}
		put64(s.at+offUniLen, uint64(len(s.text)))
		binary.LittleEndian.PutUint32(buf[s.at+int(l.UnicodeState):], 1<<uniKindShift|1<<uniCompactBit|1<<uniASCIIBit)
		copy(buf[s.at+int(l.ASCIISize):], s.text)
	}
	bytesType := fakeTypes.bytes
	put64(tabAt+offObType, bytesType)
	put64(tabAt+offObSize, uint64(len(table)))
	copy(buf[tabAt+int(l.BytesData):], table)
	return buf
}

func fakeReader(v Version, data []byte) *objReader {
	l, _ := layoutFor(v)
	types := fakeTypes
	if v.Major == 2 {
		types.str = types.bytes
	}
	return &objReader{m: mem{fakeMem{fakeBase, data}}, l: &l, types: types, py2: v.Major == 2}
}

// TestCodeObjectSynthetic decodes hand-built code objects of every version
// and checks the stale and wrong-type paths.
func TestCodeObjectSynthetic(t *testing.T) {
	for _, v := range wantedVersions {
		// One line-table entry per format covering 6 bytes on line first+2.
		var table []byte
		switch {
		case v.atLeast(3, 11):
			table = []byte{0x80 | locOneLine0<<3 + 2<<3 | 2, 1, 5} // 3 units, line delta 2
		case v.atLeast(3, 10):
			table = []byte{6, 2}
		default:
			table = []byte{0, 2, 6, 0}
		}
		mem := buildCodeMemory(v, "fn", "/f.py", 10, table)
		o := fakeReader(v, mem)
		ci, err := o.code(v, fakeBase+64, 10)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		lasti := int64(2)
		if v.Minor == 10 {
			lasti = 1
		}
		if ci.name != "fn" || ci.file != "/f.py" || ci.line(v, lasti) != 12 || ci.line(v, -1) != 10 {
			t.Errorf("%v: %+v, line %d", v, ci, ci.line(v, lasti))
		}
		if _, err := o.code(v, fakeBase+64, 11); !errors.Is(err, ErrStale) {
			t.Errorf("%v: wrong first line: %v, want ErrStale", v, err)
		}
		if _, err := o.code(v, fakeBase+1024, 10); !errors.Is(err, ErrStale) {
			t.Errorf("%v: a string as a code object: %v, want ErrStale", v, err)
		}
	}
}

// FuzzObjects feeds arbitrary bytes, as process memory, to every parser of
// remote objects and line tables, for every version's layout: errors are
// fine, panics are not.
func FuzzObjects(f *testing.F) {
	for _, v := range wantedVersions {
		f.Add(buildCodeMemory(v, "name", "file.py", 3, []byte{0x80 | 13<<3, 0x45, 0x41, 0x01}))
	}
	f.Add([]byte("xdebugpy"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range wantedVersions {
			o := fakeReader(v, data)
			check := uint32(3)
			if len(data) > 72 {
				check = binary.LittleEndian.Uint32(data[68:])
			}
			if ci, err := o.code(v, fakeBase+64, check); err == nil {
				_ = ci.line(v, int64(len(data)))
			}
			_, _ = o.str(fakeBase + 64)
			_, _ = o.bytesObject(fakeBase+64, 1<<12)
			ranges := decodeLines(v, data, 1)
			for off := uint32(0); off < uint32(len(data)); off += 7 {
				_ = lineAt(ranges, off)
			}
			if len(data) >= dbgSize313 {
				_, _ = parseDebugOffsets(data, Version{3, 13, 0})
			}
		}
	})
}

// TestSymbolizeCache checks that results are cached within the bound and
// that Symbolize is safe for concurrent use (run with -race).
func TestSymbolizeCache(t *testing.T) {
	v := Version{3, 12, 0}
	data := buildCodeMemory(v, "fn", "/f.py", 7, []byte{0x80 | 10<<3 | 7})
	p := &Process{Version: v, obj: *fakeReader(v, data), cache: newCodeCache(200)}
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				fr, err := p.Symbolize(fakeBase+64, 0, 7)
				if err != nil || fr.Function != "fn" || fr.Line != 7 {
					t.Errorf("Symbolize = %+v, %v", fr, err)
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if _, ok := p.cache.get(codeKey{fakeBase + 64, 7}); !ok {
		t.Error("result not cached")
	}
	// Once cached, a result survives its memory going away...
	clear(data)
	if _, err := p.Symbolize(fakeBase+64, 0, 7); err != nil {
		t.Errorf("cached Symbolize: %v", err)
	}
	// ...but not for another check value.
	if _, err := p.Symbolize(fakeBase+64, 0, 8); err == nil {
		t.Error("Symbolize with another check succeeded on cleared memory")
	}
	// The bound holds: many distinct entries keep used under limit.
	c := newCodeCache(1000)
	for i := 0; i < 100; i++ {
		c.put(codeKey{uint64(i), 1}, &codeInfo{name: "0123456789"})
	}
	if c.used > c.limit || c.order.Len() != len(c.byKey) || len(c.byKey) == 0 {
		t.Errorf("cache used %d of %d with %d entries", c.used, c.limit, len(c.byKey))
	}
}
