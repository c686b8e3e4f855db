package pclntab

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// fixtureFiles returns the committed fixture binaries.
func fixtureFiles(tb testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "go1*"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// walk calls every accessor on up to maxFuncs functions of t and checks
// what the types promise. Errors are expected; only panics and broken
// promises fail.
func walk(tb testing.TB, t *Table, maxFuncs int) {
	n := t.NumFuncs()
	if len(t.entries) != n+1 {
		tb.Fatalf("%d entries for %d functions", len(t.entries), n)
	}
	for i := 0; i < n && i < maxFuncs; i++ {
		f, err := t.Func(i)
		if err != nil {
			continue
		}
		if f.Entry > f.End {
			tb.Fatalf("func %d: entry %#x after end %#x", i, f.Entry, f.End)
		}
		if f.Entry < f.End {
			if j, ok := t.FindFunc(f.Entry); !ok || t.Entry(j) != f.Entry {
				tb.Fatalf("FindFunc(%#x) = %d, %v", f.Entry, j, ok)
			}
		}
		t.FuncName(&f)
		inl, _ := t.PCData(&f, PCDataInlTreeIndex)
		for _, tab := range []uint32{f.PCSP, f.PCFile, f.PCLn, inl} {
			it := t.PCTable(&f, tab)
			prev := f.Entry
			for k := 0; it.Next(); k++ {
				if it.Start != prev || it.End <= it.Start || it.End > f.End {
					tb.Fatalf("func %d: range [%#x,%#x) after %#x, function [%#x,%#x)", i, it.Start, it.End, prev, f.Entry, f.End)
				}
				prev = it.End
				if k < 64 {
					switch tab {
					case f.PCFile:
						t.FileName(&f, it.Value)
					case inl:
						if c, err := t.InlinedCall(&f, it.Value); err == nil {
							t.Name(c.NameOff)
							t.PCValue(&f, f.PCLn, f.Entry+uint64(uint32(c.ParentPC)))
						}
					}
				}
			}
		}
		t.FuncData(&f, FuncDataInlTree)
	}
	for _, pc := range []uint64{0, t.TextStart, t.TextEnd(), t.TextEnd() - 1, ^uint64(0)} {
		t.FindFunc(pc)
	}
}

func FuzzNewBytes(f *testing.F) {
	for _, v := range []Version{Go118, Go120} {
		st := synTab(v)
		f.Add(append(st.pcln, st.funcdata...), uint32(len(st.pcln)))
	}
	for _, b := range fixtureFiles(f) {
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			f.Fatal(err)
		}
		if s := ef.Section(".gopclntab"); s != nil {
			data, _ := s.Data()
			f.Add(data, uint32(len(data)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint32) {
		// The first split bytes are the pclntab, the rest go:func.*.
		split = min(split, uint32(len(data)))
		fd := data[split:]
		for _, mem := range []bool{true, false} {
			cfg := Config{FuncData: bytes.NewReader(fd), FuncDataSize: uint64(len(fd))}
			var tab *Table
			var err error
			if mem {
				tab, err = NewBytes(data[:split], cfg)
			} else {
				tab, err = New(bytes.NewReader(data[:split]), uint64(split), cfg)
			}
			if err == nil {
				walk(t, tab, 256)
			}
		}
	})
}

func FuzzOpen(f *testing.F) {
	for _, b := range fixtureFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := func() (ef *elf.File, err error) {
			defer func() {
				if recover() != nil {
					ef = nil // debug/elf is not hardened
				}
			}()
			return elf.NewFile(bytes.NewReader(data))
		}()
		if err != nil || ef == nil {
			return
		}
		for _, preload := range []bool{false, true} {
			if tab, _, err := Open(ef, Options{Preload: preload, CacheBytes: 64 << 10}); err == nil {
				walk(t, tab, 64)
			}
		}
	})
}
