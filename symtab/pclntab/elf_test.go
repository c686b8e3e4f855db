package pclntab_test

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
	"github.com/pftop/pftop/symtab/pclntab"
	"github.com/pftop/pftop/symtab/pclntab/pclntabtest"
)

func openELF(t testing.TB, path string) *elf.File {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func open(t testing.TB, f *elf.File, opt pclntab.Options) (*pclntab.Table, *pclntab.Module) {
	t.Helper()
	tab, mod, err := pclntab.Open(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tab, mod
}

// crossCheck compares every function's entry and name, and every line
// and file of its pcln and pcfile tables, with debug/gosym's reading of
// the same section.
func crossCheck(t *testing.T, f *elf.File, tab *pclntab.Table) {
	t.Helper()
	s := f.Section(".gopclntab")
	if s == nil {
		s = f.Section(".data.rel.ro.gopclntab") // PIE before Go 1.26
	}
	if s == nil {
		t.Fatal("no .gopclntab section")
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	gt, err := gosym.NewTable(nil, gosym.NewLineTable(data, tab.TextStart))
	if err != nil {
		t.Fatal(err)
	}
	if len(gt.Funcs) != tab.NumFuncs() {
		t.Errorf("%d functions, gosym has %d", tab.NumFuncs(), len(gt.Funcs))
	}
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i := 0; i < tab.NumFuncs(); i++ {
		fn, err := tab.Func(i)
		if err != nil {
			fail("func %d: %v", i, err)
			continue
		}
		name, err := tab.FuncName(&fn)
		g := gt.PCToFunc(fn.Entry)
		if err != nil || g == nil || g.Name != name || g.Entry != fn.Entry || g.End != fn.End {
			fail("func %d %q [%#x,%#x) %v; gosym %+v", i, name, fn.Entry, fn.End, err, g)
			continue
		}
		files := tab.PCTable(&fn, fn.PCFile)
		for it := tab.PCTable(&fn, fn.PCLn); it.Next(); {
			for files.End <= it.Start && files.Next() {
			}
			file, err := tab.FileName(&fn, files.Value)
			gfile, gline, _ := gt.PCToLine(it.Start)
			if err != nil || gline != int(it.Value) || gfile != file {
				fail("%s at %#x: %s:%d (%v); gosym %s:%d", name, it.Start, file, it.Value, err, gfile, gline)
			}
		}
	}
}

// symbols returns the values of the named ELF symbols.
func symbols(t *testing.T, f *elf.File, names ...string) map[string]uint64 {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, s := range syms {
		for _, n := range names {
			if s.Name == n {
				out[n] = s.Value
			}
		}
	}
	return out
}

func funcByName(t *testing.T, tab *pclntab.Table, name string) pclntab.Func {
	t.Helper()
	for i := 0; i < tab.NumFuncs(); i++ {
		fn, err := tab.Func(i)
		if err != nil {
			continue
		}
		if n, _ := tab.FuncName(&fn); n == name {
			return fn
		}
	}
	t.Fatalf("no function %s", name)
	return pclntab.Func{}
}

func TestFixtures(t *testing.T) {
	for _, path := range pclntabtest.Fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := openELF(t, path)
			for _, preload := range []bool{false, true} {
				tab, mod := open(t, f, pclntab.Options{Preload: preload})
				want := pclntab.Go120
				if filepath.Base(path) == "go1.18" {
					want = pclntab.Go118
				}
				if tab.Version != want || tab.TextStart != 0x401000 || mod.ModuleData == 0 || mod.GoFunc == 0 {
					t.Fatalf("version %v text %#x module %+v", tab.Version, tab.TextStart, mod)
				}
				crossCheck(t, f, tab)
				for name, flag := range map[string]uint8{
					"runtime.goexit": pclntab.FlagTopFrame, "runtime.mstart": pclntab.FlagTopFrame,
					"runtime.rt0_go": pclntab.FlagTopFrame | pclntab.FlagSPWrite, "runtime.systemstack": pclntab.FlagSPWrite,
				} {
					if fn := funcByName(t, tab, name); fn.Flag&flag != flag {
						t.Errorf("%s: flag %#x, want %#x set", name, fn.Flag, flag)
					}
				}
				// Go 1.18 to 1.20 store generic names elided.
				shape := "main.gen[go.shape.int]"
				if tab.Version == pclntab.Go118 {
					shape = "main.gen[...]"
				}
				funcByName(t, tab, shape)
				wantWrapper := uint8(23)
				if tab.Version == pclntab.Go118 {
					wantWrapper = 21
				}
				if id, ok := tab.WrapperFuncID(); !ok || id != wantWrapper {
					t.Errorf("WrapperFuncID = %d, %v; want %d", id, ok, wantWrapper)
				}
				// add is inlined into mid: some pc of mid has an inline index
				// whose entry names main.add.
				mid := funcByName(t, tab, "main.(*T).mid")
				inl, err := tab.PCData(&mid, pclntab.PCDataInlTreeIndex)
				if err != nil || inl == 0 {
					t.Fatalf("mid has no inline index table: %v", err)
				}
				found := false
				for it := tab.PCTable(&mid, inl); it.Next(); {
					if it.Value < 0 {
						continue
					}
					c, err := tab.InlinedCall(&mid, it.Value)
					if err != nil {
						t.Fatal(err)
					}
					name, _ := tab.Name(c.NameOff)
					pline, _, _ := tab.PCValue(&mid, mid.PCLn, mid.Entry+uint64(c.ParentPC))
					if name == "main.add" && pline == 13 {
						found = true
					}
				}
				if !found {
					t.Error("main.add not found inlined at line 13 of mid")
				}
			}
		})
	}
}

// withoutSections returns a copy of the ELF file at path with its
// section headers removed, as sstrip leaves files.
func withoutSections(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[0x28:], 0) // e_shoff
	binary.LittleEndian.PutUint16(b[0x3c:], 0) // e_shnum
	binary.LittleEndian.PutUint16(b[0x3e:], 0) // e_shstrndx
	out := filepath.Join(t.TempDir(), filepath.Base(path)+"-noshdr")
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNoSectionHeaders(t *testing.T) {
	for _, path := range pclntabtest.Fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, wmod := open(t, openELF(t, path), pclntab.Options{})
			f := openELF(t, withoutSections(t, path))
			if len(f.Sections) != 0 {
				t.Fatal("sections left")
			}
			got, gmod := open(t, f, pclntab.Options{})
			// The size differs: without sections it ends where the
			// moduledata says the function table ends.
			gm, wm := *gmod, *wmod
			gm.Size, wm.Size = 0, 0
			if gm != wm || gmod.Size > wmod.Size || got.NumFuncs() != want.NumFuncs() || got.TextStart != want.TextStart {
				t.Errorf("without section headers: %+v, %d funcs, text %#x; with: %+v, %d, %#x",
					gmod, got.NumFuncs(), got.TextStart, wmod, want.NumFuncs(), want.TextStart)
			}
		})
	}
}

// TestToolchains checks the test program built by every toolchain, plain,
// stripped and as PIE, against debug/gosym and the symbol table.
func TestToolchains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	for _, tc := range pclntabtest.Toolchains {
		t.Run(tc, func(t *testing.T) {
			plain := openELF(t, pclntabtest.BuildProg(t, tc))
			syms := symbols(t, plain, "runtime.text", "go:func.*", "go.func.*", "runtime.firstmoduledata")
			for _, variant := range []struct {
				name string
				args []string
			}{{"plain", nil}, {"stripped", []string{"-ldflags=-s -w"}}, {"pie", []string{"-buildmode=pie"}}, {"pie-stripped", []string{"-buildmode=pie", "-ldflags=-s -w"}}} {
				t.Run(variant.name, func(t *testing.T) {
					f := plain
					if variant.args != nil {
						f = openELF(t, pclntabtest.BuildProg(t, tc, variant.args...))
					}
					tab, mod := open(t, f, pclntab.Options{})
					crossCheck(t, f, tab)
					if variant.name == "plain" {
						gofunc := max(syms["go:func.*"], syms["go.func.*"])
						if tab.TextStart != syms["runtime.text"] || mod.GoFunc != gofunc || mod.ModuleData != syms["runtime.firstmoduledata"] {
							t.Errorf("text %#x gofunc %#x moduledata %#x; symbols say %#x %#x %#x",
								tab.TextStart, mod.GoFunc, mod.ModuleData, syms["runtime.text"], gofunc, syms["runtime.firstmoduledata"])
						}
					}
					if mod.ModuleData == 0 || mod.GoFunc == 0 {
						t.Errorf("module %+v", mod)
					}
					if f.Type == elf.ET_DYN && strings.HasPrefix(variant.name, "pie") {
						// The pointers are relocations: found through their addends.
						t.Logf("PIE module %+v", mod)
					}
				})
			}
		})
	}
}

func TestGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("large binary")
	}
	f := openELF(t, testutil.GoCommand(t))
	tab, mod := open(t, f, pclntab.Options{CacheBytes: 256 << 10})
	t.Logf("%s: %v, %d functions, pclntab %d bytes, %+v", f.Section(".gopclntab").Name, tab.Version, tab.NumFuncs(), mod.Size, mod)
	crossCheck(t, f, tab)
}

func TestNotGo(t *testing.T) {
	for _, path := range []string{"/bin/sh", "/usr/bin/true"} {
		f, err := elf.Open(path)
		if err != nil {
			continue
		}
		defer f.Close()
		if _, _, err := pclntab.Open(f, pclntab.Options{}); !errors.Is(err, pclntab.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", path, err)
		}
		return
	}
	t.Skip("no non-Go executable found")
}

func TestOpenSmallCache(t *testing.T) {
	path := pclntabtest.Fixtures(t)[0]
	f := openELF(t, path)
	small, _ := open(t, f, pclntab.Options{CacheBytes: 1})
	big, _ := open(t, f, pclntab.Options{Preload: true})
	for i := 0; i < big.NumFuncs(); i += 7 {
		a, _ := small.Func(i)
		b, _ := big.Func(i)
		na, _ := small.FuncName(&a)
		nb, _ := big.FuncName(&b)
		if na != nb || !bytes.Equal([]byte(na), []byte(nb)) {
			t.Fatalf("func %d: %q vs %q", i, na, nb)
		}
	}
}
