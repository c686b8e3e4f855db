package pclntab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func openSyn(t *testing.T, v Version) (*Table, synTable) {
	t.Helper()
	st := synTab(v)
	tab, err := NewBytes(st.pcln, Config{FuncData: bytes.NewReader(st.funcdata), FuncDataSize: uint64(len(st.funcdata))})
	if err != nil {
		t.Fatal(err)
	}
	return tab, st
}

func TestSynthetic(t *testing.T) {
	for _, v := range []Version{Go118, Go120} {
		t.Run(v.String(), func(t *testing.T) {
			tab, st := openSyn(t, v)
			if tab.Version != v || tab.NumFuncs() != 4 || tab.TextStart != 0x401000 || tab.Quantum != 1 || tab.PtrSize != 8 {
				t.Fatalf("header: %+v", tab)
			}
			if got, want := tab.TextEnd(), 0x401000+uint64(st.entries[4]); got != want {
				t.Errorf("TextEnd = %#x, want %#x", got, want)
			}
			names := []string{"main.leaf", "main.(*T).outer", "runtime.goexit", "runtime.systemstack"}
			for i, want := range names {
				entry := 0x401000 + uint64(st.entries[i])
				for _, pc := range []uint64{entry, entry + 1, 0x401000 + uint64(st.entries[i+1]) - 1} {
					j, ok := tab.FindFunc(pc)
					if !ok || j != i {
						t.Fatalf("FindFunc(%#x) = %d, %v; want %d", pc, j, ok, i)
					}
				}
				f, err := tab.Func(i)
				if err != nil {
					t.Fatal(err)
				}
				if f.Entry != entry || f.Index != i {
					t.Errorf("func %d: %+v", i, f)
				}
				if name, err := tab.FuncName(&f); err != nil || name != want {
					t.Errorf("name %d = %q, %v; want %q", i, name, err, want)
				}
			}
			for _, pc := range []uint64{0, 0x401000, 0x4010ff, 0x401000 + uint64(st.entries[4]), ^uint64(0)} {
				if i, ok := tab.FindFunc(pc); ok {
					t.Errorf("FindFunc(%#x) = %d, want none", pc, i)
				}
			}

			f, _ := tab.Func(1)
			if v >= Go120 && f.StartLine != 20 {
				t.Errorf("startLine = %d", f.StartLine)
			}
			var sp []string
			it := tab.PCTable(&f, f.PCSP)
			for it.Next() {
				sp = append(sp, fmt.Sprintf("%x-%x:%d", it.Start-f.Entry, it.End-f.Entry, it.Value))
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(sp, " "), "0-4:0 4-8:8 8-38:40 38-39:8 39-3c:0"; got != want {
				t.Errorf("pcsp = %s, want %s", got, want)
			}
			for _, c := range []struct {
				off        uint64
				file, line int32
				inl        int32
			}{{0, 0, 20, -1}, {0x10, 1, 42, 0}, {0x13, 1, 42, 0}, {0x14, 1, 51, 1}, {0x18, 0, 22, -1}} {
				pc := f.Entry + c.off
				line, ok, err := tab.PCValue(&f, f.PCLn, pc)
				file, _, _ := tab.PCValue(&f, f.PCFile, pc)
				tabOff, _ := tab.PCData(&f, PCDataInlTreeIndex)
				inl, _, _ := tab.PCValue(&f, tabOff, pc)
				if !ok || err != nil || line != c.line || file != c.file || inl != c.inl {
					t.Errorf("at +%#x: file %d line %d inl %d (%v, %v); want %d %d %d", c.off, file, line, inl, ok, err, c.file, c.line, c.inl)
				}
			}
			if _, ok, _ := tab.PCValue(&f, f.PCLn, f.Entry+0x3c); ok {
				t.Error("PCValue past the table's end found a value")
			}
			for i, want := range []string{"/src/main.go", "/src/inl.go"} {
				if got, err := tab.FileName(&f, int32(i)); err != nil || got != want {
					t.Errorf("file %d = %q, %v", i, got, err)
				}
			}
			if _, err := tab.FileName(&f, 2); err == nil {
				t.Error("file with no name: no error")
			}
			if _, err := tab.FileName(&f, 99); err == nil {
				t.Error("file past cutab: no error")
			}
			c0, err := tab.InlinedCall(&f, 0)
			if err != nil {
				t.Fatal(err)
			}
			c1, err := tab.InlinedCall(&f, 1)
			if err != nil {
				t.Fatal(err)
			}
			n0, _ := tab.Name(c0.NameOff)
			n1, _ := tab.Name(c1.NameOff)
			if n0 != "main.inl1" || n1 != "main.inl2[go.shape.int]" || c0.ParentPC != 0x10 || c1.ParentPC != 0x14 {
				t.Errorf("inline tree: %+v %q, %+v %q", c0, n0, c1, n1)
			}
			if v >= Go120 && (c0.StartLine != 40 || c1.StartLine != 50) {
				t.Errorf("start lines %d %d", c0.StartLine, c1.StartLine)
			}
			if v == Go118 && (c1.Parent != 0 || c1.File != 1 || c1.Line != 42) {
				t.Errorf("go1.18 fields %+v", c1)
			}
			if _, err := tab.InlinedCall(&f, 2); err == nil {
				t.Error("inline index past the tree: no error")
			}
			g, _ := tab.Func(2)
			if g.Flag != FlagTopFrame {
				t.Errorf("goexit flag %#x", g.Flag)
			}
			if _, err := tab.InlinedCall(&g, 0); err == nil {
				t.Error("function without inline tree: no error")
			}
			s, _ := tab.Func(3)
			if _, err := tab.InlinedCall(&s, 0); err == nil {
				t.Error("function without funcdata: no error")
			}
		})
	}
}

func TestNoFuncData(t *testing.T) {
	st := synTab(Go120)
	tab, err := NewBytes(st.pcln, Config{TextStart: 0x1000})
	if err != nil {
		t.Fatal(err)
	}
	if tab.TextStart != 0x1000 {
		t.Errorf("TextStart = %#x, want the configured 0x1000", tab.TextStart)
	}
	f, _ := tab.Func(1)
	if _, err := tab.InlinedCall(&f, 0); !errors.Is(err, ErrNoFuncData) {
		t.Errorf("err = %v, want ErrNoFuncData", err)
	}
}

// TestMalformed breaks one thing at a time and checks the error.
func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	base := synTab(Go120).pcln
	hdrWord := func(k int) int { return 8 + 8*k }
	cases := []struct {
		name   string
		mutate func(b []byte) []byte
		is     error
		substr string
	}{
		{"empty", func(b []byte) []byte { return nil }, ErrNotFound, ""},
		{"bad magic", func(b []byte) []byte { le.PutUint32(b, 0x12345678); return b }, ErrNotFound, ""},
		{"go1.16", func(b []byte) []byte { le.PutUint32(b, magic116); return b }, ErrUnsupportedVersion, "1.17 or older"},
		{"go1.2", func(b []byte) []byte { le.PutUint32(b, magic12); return b }, ErrUnsupportedVersion, ""},
		{"future", func(b []byte) []byte { le.PutUint32(b, 0xfffffff5); return b }, ErrUnsupportedVersion, ""},
		{"padding", func(b []byte) []byte { b[4] = 1; return b }, nil, "padding"},
		{"quantum", func(b []byte) []byte { b[6] = 3; return b }, nil, "quantum"},
		{"ptrsize", func(b []byte) []byte { b[7] = 2; return b }, nil, "pointer size"},
		{"truncated header", func(b []byte) []byte { return b[:40] }, nil, "truncated header"},
		{"offsets out of order", func(b []byte) []byte { le.PutUint64(b[hdrWord(4):], 0x10); return b }, nil, "out of order"},
		{"offset past end", func(b []byte) []byte { le.PutUint64(b[hdrWord(7):], 1<<40); return b }, nil, "out of order"},
		{"too many funcs", func(b []byte) []byte { le.PutUint64(b[hdrWord(0):], 1<<40); return b }, nil, "do not fit"},
		{"unsorted", func(b []byte) []byte {
			pcln := le.Uint64(b[hdrWord(7):])
			le.PutUint32(b[pcln+8:], 0)
			le.PutUint32(b[pcln:], 0x200)
			return b
		}, nil, "not sorted"},
		{"truncated functab", func(b []byte) []byte { return b[:le.Uint64(b[hdrWord(7):])+12] }, nil, "do not fit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewBytes(c.mutate(bytes.Clone(base)), Config{})
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
			if c.substr != "" && !strings.Contains(err.Error(), c.substr) {
				t.Errorf("err = %v, want it to mention %q", err, c.substr)
			}
			var fe *FormatError
			if c.is == nil && !errors.As(err, &fe) {
				t.Errorf("err = %T, want *FormatError", err)
			}
		})
	}
}

// TestMalformedFunc breaks records after the header and function table,
// which New accepts; the accessors must report the damage.
func TestMalformedFunc(t *testing.T) {
	le := binary.LittleEndian
	st := synTab(Go120)
	b := bytes.Clone(st.pcln)
	pcln := le.Uint64(b[8+8*7:])
	rec := func(i int) uint64 { return pcln + uint64(le.Uint32(b[pcln+8*uint64(i)+4:])) }
	le.PutUint32(b[rec(0):], 0x999)              // entry differs from the function table
	le.PutUint32(b[rec(1)+4:], 0xffffff)         // name offset past funcnametab
	le.PutUint32(b[rec(2)+16:], 0x7fffffff)      // pcsp past pctab
	le.PutUint32(b[pcln+8*3+4:], uint32(len(b))) // _func past the end
	tab, err := NewBytes(b, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Func(0); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("Func(0): %v", err)
	}
	f1, err := tab.Func(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.FuncName(&f1); err == nil {
		t.Error("name past funcnametab: no error")
	}
	f2, _ := tab.Func(2)
	it := tab.PCTable(&f2, f2.PCSP)
	if it.Next() || it.Err() == nil {
		t.Error("pcsp past pctab: no error")
	}
	if _, err := tab.Func(3); err == nil {
		t.Error("_func past the end: no error")
	}
	for _, i := range []int{-1, 4, 1 << 30} {
		if _, err := tab.Func(i); err == nil {
			t.Errorf("Func(%d): no error", i)
		}
	}
}

func TestPCIterEdges(t *testing.T) {
	st := synTab(Go120)
	tab, _ := NewBytes(st.pcln, Config{})
	f, _ := tab.Func(0)
	pctabOff := tab.pctab.off
	// A varint that overflows 32 bits, and one that runs off pctab.
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"overflow", []byte{0x80, 0x80, 0x80, 0x80, 0x7f}, "overflows"},
		{"unterminated", []byte{0x02, 0x80}, "runs past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(st.pcln)
			pcln := binary.LittleEndian.Uint64(b[8+8*7:])
			// Replace pctab with c.data, keeping the layout: point the
			// header's pclntable offset right after it.
			nb := append(append(bytes.Clone(b[:pctabOff+1]), c.data...), b[pcln:]...)
			binary.LittleEndian.PutUint64(nb[8+8*7:], pctabOff+1+uint64(len(c.data)))
			tab, err := NewBytes(nb, Config{})
			if err != nil {
				t.Fatal(err)
			}
			g := f
			g.off = 0
			it := tab.PCTable(&g, 1)
			for it.Next() {
			}
			if it.Err() == nil || !strings.Contains(it.Err().Error(), c.want) {
				t.Errorf("err = %v, want %q", it.Err(), c.want)
			}
		})
	}
	// A table running past its function is clipped to it.
	var pt bytes.Buffer
	pt.WriteByte(0)
	pcTable(&pt, []run{{0, 4}, {8, 0x1000}})
	tab.pctab = region{0, uint64(pt.Len())}
	tab.src = memSource(pt.Bytes())
	it := tab.PCTable(&f, 1)
	var ends []uint64
	for it.Next() {
		ends = append(ends, it.End-f.Entry)
	}
	if it.Err() != nil || len(ends) != 2 || ends[1] != f.End-f.Entry {
		t.Errorf("clipped table: ends %x, err %v", ends, it.Err())
	}
}

// TestReaderSource checks that a Table read on demand (through a page
// cache smaller than the table) gives what an in-memory one does.
func TestReaderSource(t *testing.T) {
	st := synTab(Go118)
	mem, _ := NewBytes(st.pcln, Config{})
	pc := newPageCache(bytes.NewReader(st.pcln), int64(len(st.pcln)), 64, 128)
	rd, err := New(pc, uint64(len(st.pcln)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < mem.NumFuncs(); i++ {
		a, _ := mem.Func(i)
		b, _ := rd.Func(i)
		if a != b {
			t.Fatalf("func %d: %+v vs %+v", i, a, b)
		}
		na, _ := mem.FuncName(&a)
		nb, _ := rd.FuncName(&b)
		if na != nb {
			t.Fatalf("name %q vs %q", na, nb)
		}
		ia, ib := mem.PCTable(&a, a.PCLn), rd.PCTable(&b, b.PCLn)
		for ia.Next() {
			if !ib.Next() || ia.Start != ib.Start || ia.End != ib.End || ia.Value != ib.Value {
				t.Fatalf("pcln of %d differs", i)
			}
		}
		if ib.Next() {
			t.Fatalf("pcln of %d differs", i)
		}
	}
	if len(pc.pages) > 2 {
		t.Errorf("page cache holds %d pages, max 2", len(pc.pages))
	}
}
