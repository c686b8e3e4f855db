package symtab

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds every file in testdata to f's corpus.
func seedFiles(f *testing.F) {
	paths, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // directories
		}
		f.Add(data)
	}
}

// FuzzNewFile calls every accessor on arbitrary input; only a panic or a
// broken index invariant fails it.
func FuzzNewFile(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewFile(bytes.NewReader(data))
		if file == nil {
			if err == nil {
				t.Fatal("nil File without error")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrNoSymbols) {
			t.Fatalf("File returned with error %v", err)
		}
		_ = file.BuildID()
		if len(file.names) > len(data) {
			t.Fatalf("name arena %d bytes from %d bytes of input", len(file.names), len(data))
		}
		for i, e := range file.index {
			if e.size == 0 || (i > 0 && file.index[i-1].start >= e.start) {
				t.Fatalf("bad index entry %d: %+v", i, e)
			}
			if s, ok := file.Lookup(e.start); !ok || s.Name == "" || s.Start != e.start {
				t.Fatalf("Lookup(%#x) = %+v, %v at entry %d", e.start, s, ok, i)
			}
			file.Lookup(e.start + uint64(e.size) - 1)
		}
		for _, a := range []uint64{0, 1, 0x400000, 1 << 63, ^uint64(0)} {
			file.Lookup(a)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseKallsyms(f *testing.F) {
	seedFiles(f)
	f.Add([]byte("0000000000000000 T hidden\n"))
	f.Add([]byte("ffffffff81000000 T a\nffffffff81000000 t b\t[m]\nffffffff81000010 W c\t[m]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKallsyms(bytes.NewReader(data))
		if err != nil {
			if k != nil {
				t.Fatal("Kallsyms returned with an error")
			}
			return
		}
		for i, s := range k.syms {
			if i > 0 && k.syms[i-1].addr >= s.addr {
				t.Fatalf("symbols not strictly sorted at %d", i)
			}
			if name, _, ok := k.Lookup(s.addr); !ok || name == "" {
				t.Fatalf("Lookup(%#x) = %q, %v", s.addr, name, ok)
			}
		}
		for _, a := range []uint64{0, 1 << 63, ^uint64(0)} {
			k.Lookup(a)
		}
	})
}
