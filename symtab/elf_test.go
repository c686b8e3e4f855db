package symtab

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const (
	fixturePath         = "testdata/fixture"
	fixtureStrippedPath = "testdata/fixture-stripped"
	libcPath            = "/lib/x86_64-linux-gnu/libc.so.6"
)

// rawSym finds a symbol by raw name with the standard library, as an
// independent source of truth for addresses.
func rawSym(t *testing.T, path, name string) elf.Symbol {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, _ := ef.Symbols()
	dyn, _ := ef.DynamicSymbols()
	for _, s := range append(syms, dyn...) {
		if s.Name == name && s.Section != elf.SHN_UNDEF {
			return s
		}
	}
	t.Fatalf("%s: no symbol %q", path, name)
	return elf.Symbol{}
}

func openT(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestLookupFixture(t *testing.T) {
	tests := []struct {
		raw, want string
		stripped  bool // also named by the stripped -rdynamic copy's .dynsym
	}{
		{"fx_leaf", "fx_leaf", true},      // global beats weak and local aliases
		{"fx_weak", "fx_weak", true},      // weak beats a shorter local alias
		{"fx_static", "fx_static", false}, // local, only in .symtab
		{"_ZN7fixture4spinEi", "fixture::spin(int)", true},
		{"_ZN7fixture5twiceIiEET_S1_", "int fixture::twice<int>(int)", true},
		{"main", "main", true},
	}
	for _, path := range []string{fixturePath, fixtureStrippedPath} {
		f := openT(t, path)
		for _, tt := range tests {
			if path == fixtureStrippedPath && !tt.stripped {
				continue
			}
			t.Run(filepath.Base(path)+"/"+tt.raw, func(t *testing.T) {
				s := rawSym(t, path, tt.raw)
				if s.Size == 0 {
					t.Fatalf("fixture symbol %s has no size", tt.raw)
				}
				for _, addr := range []uint64{s.Value, s.Value + s.Size/2, s.Value + s.Size - 1} {
					got, ok := f.Lookup(addr)
					want := Symbol{Name: tt.want, Start: s.Value, Size: s.Size}
					if !ok || got != want {
						t.Errorf("Lookup(%#x) = %+v, %v; want %+v", addr, got, ok, want)
					}
				}
				// -falign-functions=64 leaves padding after every small function.
				if got, ok := f.Lookup(s.Value + s.Size); ok && got.Name == tt.want {
					t.Errorf("Lookup(%#x) past the end = %+v", s.Value+s.Size, got)
				}
			})
		}
	}
}

func TestLookupBetweenFunctions(t *testing.T) {
	f := openT(t, fixturePath)
	leaf := rawSym(t, fixturePath, "fx_leaf")
	weak := rawSym(t, fixturePath, "fx_weak")
	for addr := leaf.Value + leaf.Size; addr < weak.Value; addr++ {
		if got, ok := f.Lookup(addr); ok {
			t.Fatalf("Lookup(%#x) in padding = %+v", addr, got)
		}
	}
	if got, ok := f.Lookup(0); ok {
		t.Errorf("Lookup(0) = %+v", got)
	}
	if got, ok := f.Lookup(^uint64(0)); ok {
		t.Errorf("Lookup(max) = %+v", got)
	}
}

// Addresses in an outer function past nested, sized symbols (OpenSSL's
// assembly has these) resolve to the outer function.
func TestLookupNested(t *testing.T) {
	names := []byte("outer\x00inner\x00inner2\x00deep\x00overlap\x00")
	index := []entry{
		{start: 0x100, size: 0x100, name: 0}, // outer [0x100,0x200)
		{start: 0x120, size: 0x10, name: 6},  // inner [0x120,0x130)
		{start: 0x140, size: 0x20, name: 12}, // inner2 [0x140,0x160)
		{start: 0x148, size: 0x4, name: 19},  // deep [0x148,0x14c)
		{start: 0x1f0, size: 0x40, name: 24}, // overlap [0x1f0,0x230)
	}
	f := &File{index: index, names: names, parent: nesting(index)}
	tests := []struct {
		addr uint64
		want string
	}{
		{0x100, "outer"}, {0x11f, "outer"}, {0x120, "inner"}, {0x12f, "inner"},
		{0x130, "outer"}, {0x148, "deep"}, {0x14c, "inner2"}, {0x15f, "inner2"},
		{0x160, "outer"}, {0x1ef, "outer"}, {0x1f0, "overlap"}, {0x200, "overlap"},
		{0x22f, "overlap"}, {0x230, ""}, {0xff, ""},
	}
	for _, tt := range tests {
		s, ok := f.Lookup(tt.addr)
		if ok != (tt.want != "") || s.Name != tt.want {
			t.Errorf("Lookup(%#x) = %+v, %v; want %q", tt.addr, s, ok, tt.want)
		}
	}
}

// An untyped, unsized label stops at its section's end, not at the next
// symbol in the next section.
func TestUnsizedStopsAtSectionEnd(t *testing.T) {
	for _, path := range []string{fixturePath, fixtureStrippedPath} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ef, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			sec := ef.Section("fixture_tail")
			ef.Close()
			if sec == nil {
				t.Fatal("fixture has no fixture_tail section")
			}
			f := openT(t, path)
			want := Symbol{Name: "fx_notype", Start: sec.Addr, Size: sec.Size}
			for _, addr := range []uint64{sec.Addr, sec.Addr + sec.Size - 1} {
				if got, ok := f.Lookup(addr); !ok || got != want {
					t.Errorf("Lookup(%#x) = %+v, %v; want %+v", addr, got, ok, want)
				}
			}
			if got, ok := f.Lookup(sec.Addr + sec.Size); ok && got.Name == "fx_notype" {
				t.Errorf("Lookup(section end) = %+v", got)
			}
		})
	}
}

// The stripped copy has no .symtab, so local functions are gone.
func TestStrippedHasNoLocals(t *testing.T) {
	f := openT(t, fixtureStrippedPath)
	for i := range f.Len() {
		if n := f.name(i); n == "fx_static" || n == "fx_a" || n == "fx_leaf_local" {
			t.Errorf("stripped copy names local %q", n)
		}
	}
}

func TestBuildID(t *testing.T) {
	for _, path := range []string{fixturePath, fixtureStrippedPath, libcPath} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ef, err := elf.Open(path)
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s not present", path)
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := ef.Section(".note.gnu.build-id").Data()
			ef.Close()
			if err != nil || len(data) < 16 {
				t.Fatalf("no build-id note: %v", err)
			}
			want := hex.EncodeToString(data[16:]) // namesz, descsz, type, "GNU\0"
			if got := openT(t, path).BuildID(); got != want {
				t.Errorf("BuildID() = %q, want %q", got, want)
			}
		})
	}
}

// hideTables returns a copy of the ELF at path with its symbol tables
// retyped as PROGBITS.
func hideTables(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	shoff := ef.ByteOrder.Uint64(data[0x28:])
	shentsize := uint64(ef.ByteOrder.Uint16(data[0x3a:]))
	for i, s := range ef.Sections {
		if s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_DYNSYM {
			ef.ByteOrder.PutUint32(data[shoff+uint64(i)*shentsize+4:], uint32(elf.SHT_PROGBITS))
		}
	}
	return data
}

func TestNoSymbols(t *testing.T) {
	data := hideTables(t, fixtureStrippedPath)
	f, err := NewFile(bytes.NewReader(data))
	if !errors.Is(err, ErrNoSymbols) {
		t.Fatalf("NewFile error = %v, want ErrNoSymbols", err)
	}
	if f == nil {
		t.Fatal("NewFile returned no File with ErrNoSymbols")
	}
	defer f.Close()
	if f.BuildID() != openT(t, fixtureStrippedPath).BuildID() || f.BuildID() == "" {
		t.Errorf("BuildID() = %q after ErrNoSymbols", f.BuildID())
	}
	if s, ok := f.Lookup(0x900); ok {
		t.Errorf("Lookup = %+v with no tables", s)
	}

	path := filepath.Join(t.TempDir(), "nosyms")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	of, err := Open(path)
	if !errors.Is(err, ErrNoSymbols) || of == nil {
		t.Fatalf("Open = %v, %v; want a File and ErrNoSymbols", of, err)
	}
	if err := of.Close(); err != nil {
		t.Error(err)
	}
}

func TestBadInput(t *testing.T) {
	good, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not an elf file at all"),
		"header":    good[:64],
		"truncated": good[:len(good)/2],
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := NewFile(bytes.NewReader(data))
			if err == nil && f.Len() > 0 {
				return // a truncated file may still hold a usable table
			}
			if err == nil {
				t.Fatal("no error and no symbols")
			}
			if f != nil && !errors.Is(err, ErrNoSymbols) {
				t.Errorf("File returned with error %v", err)
			}
		})
	}
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	if f, err := Open(dir); err == nil {
		f.Close()
		t.Error("Open(directory) succeeded")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		if f, err := Open(fifo); err == nil { // must not block
			f.Close()
			t.Error("Open(fifo) succeeded")
		}
	}
}

// panicReader panics on every read, standing in for a debug/elf bug.
type panicReader struct{}

func (panicReader) ReadAt([]byte, int64) (int, error) { panic("boom") }

func TestNewFileRecovers(t *testing.T) {
	f, err := NewFile(panicReader{})
	var fe *FormatError
	if f != nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("NewFile(panicking reader) = %v, %v; want a FormatError", f, err)
	}
}

// compressTables returns a copy of the ELF at path with its symbol tables
// flagged SHF_COMPRESSED.
func compressTables(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	shoff := ef.ByteOrder.Uint64(data[0x28:])
	shentsize := uint64(ef.ByteOrder.Uint16(data[0x3a:]))
	for i, s := range ef.Sections {
		if s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_DYNSYM {
			flags := data[shoff+uint64(i)*shentsize+8:]
			ef.ByteOrder.PutUint64(flags, uint64(s.Flags|elf.SHF_COMPRESSED))
		}
	}
	return data
}

// Compressed symbol tables are refused; a file with no readable table is
// an error, not ErrNoSymbols.
func TestCompressedTables(t *testing.T) {
	f, err := NewFile(bytes.NewReader(compressTables(t, fixtureStrippedPath)))
	var fe *FormatError
	if f != nil || !errors.As(err, &fe) || errors.Is(err, ErrNoSymbols) {
		t.Fatalf("NewFile = %v, %v; want a FormatError", f, err)
	}
}

func TestCloseTwice(t *testing.T) {
	f, err := Open(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	nf, err := NewFile(bytes.NewReader(nil))
	if err == nil || nf != nil {
		t.Fatalf("NewFile(empty) = %v, %v", nf, err)
	}
}

func TestConcurrentLookup(t *testing.T) {
	f := openT(t, fixturePath)
	spin := rawSym(t, fixturePath, "_ZN7fixture4spinEi")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				s, ok := f.Lookup(spin.Value + uint64(i)%spin.Size)
				if !ok || s.Name != "fixture::spin(int)" {
					t.Errorf("Lookup = %+v, %v", s, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDisplayName(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"main", "main"},
		{"_ZN7fixture4spinEi", "fixture::spin(int)"},
		{"_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write"},
		{"_ZN4core3fmt5write17h0123456789abcdefE.llvm.42", "core::fmt::write"},
		{"_RNvCs15kBYyAo9fc_7mycrate4main", "mycrate::main"},
		{"_ZN2ns5Outer6methodEi.cold", "ns::Outer::method(int) [clone .cold]"},
		{"_Z", "_Z"},                     // not demanglable: raw name kept
		{"_Rubbish", "_Rubbish"},         // likewise
		{"_ZNotMangled", "_ZNotMangled"}, // likewise
	}
	for _, tt := range tests {
		if got := displayName([]byte(tt.raw)); got != tt.want {
			t.Errorf("displayName(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestUnknown(t *testing.T) {
	tests := []struct {
		module string
		off    uint64
		want   string
	}{
		{"libc.so.6", 0x1a2b, "libc.so.6+0x1a2b"},
		{"a.out", 0, "a.out+0x0"},
		{"[kernel]", ^uint64(0), "[kernel]+0xffffffffffffffff"},
	}
	for _, tt := range tests {
		if got := Unknown(tt.module, tt.off); got != tt.want {
			t.Errorf("Unknown(%q, %#x) = %q, want %q", tt.module, tt.off, got, tt.want)
		}
	}
}

// nmDefined returns the address of each defined dynamic symbol of path as
// nm -D prints it, keyed by name without its version.
func nmDefined(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	nm, err := exec.LookPath("nm")
	if err != nil {
		t.Skip("nm (binutils) not installed")
	}
	out, err := exec.Command(nm, "-D", "--defined-only", path).Output()
	if err != nil {
		t.Fatalf("nm -D %s: %v", path, err)
	}
	addrs := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		name, _, _ := strings.Cut(fields[2], "@")
		if a, err := strconv.ParseUint(fields[0], 16, 64); err == nil && strings.Contains(fields[2], "@@") {
			addrs[name] = a
		} else if _, seen := addrs[name]; !seen && err == nil {
			addrs[name] = a
		}
	}
	return addrs
}

func TestLibc(t *testing.T) {
	if _, err := os.Stat(libcPath); err != nil {
		t.Skipf("%s not present: %v", libcPath, err)
	}
	addrs := nmDefined(t, libcPath)
	f := openT(t, libcPath)
	if f.Len() < 1000 {
		t.Errorf("libc index has only %d functions", f.Len())
	}
	for _, name := range []string{"qsort", "malloc"} {
		addr, ok := addrs[name]
		if !ok {
			t.Fatalf("nm -D shows no %s", name)
		}
		for _, a := range []uint64{addr, addr + 1} {
			s, ok := f.Lookup(a)
			if !ok || s.Name != name || s.Start != addr {
				t.Errorf("Lookup(%#x) = %+v, %v; want %s at %#x", a, s, ok, name, addr)
			}
		}
	}
}

// TestRust compiles a tiny Rust program with both manglings and checks the
// demangled name of a non-inlined function carries no hash.
func TestRust(t *testing.T) {
	rustc, err := exec.LookPath("rustc")
	if err != nil {
		t.Skip("rustc not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.rs")
	const prog = `#[inline(never)]
fn pftop_spin(n: u64) -> u64 {
    let mut a = 0u64;
    for i in 0..n {
        a = a.wrapping_mul(31).wrapping_add(i);
    }
    a
}

fn main() {
    let n = std::env::args().count() as u64;
    println!("{}", pftop_spin(n * 1000));
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	// Stable rustc mangles legacy style by default; v0 needs a flag.
	for _, mangling := range []string{"default", "v0"} {
		t.Run(mangling, func(t *testing.T) {
			bin := filepath.Join(dir, "pftopfx-"+mangling)
			args := []string{"--crate-name", "pftopfx", "-C", "opt-level=1", "-o", bin, src}
			if mangling != "default" {
				args = append(args, "-C", "symbol-mangling-version="+mangling)
			}
			if out, err := exec.Command(rustc, args...).CombinedOutput(); err != nil {
				if mangling != "default" {
					t.Skipf("this rustc cannot emit %s names: %v\n%s", mangling, err, out)
				}
				t.Fatalf("rustc: %v\n%s", err, out)
			}
			ef, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			syms, _ := ef.Symbols()
			ef.Close()
			var raw elf.Symbol
			for _, s := range syms {
				if strings.Contains(s.Name, "pftop_spin") && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
					raw = s
				}
			}
			if raw.Name == "" {
				t.Fatal("no pftop_spin symbol in the Rust binary")
			}
			t.Logf("raw name %s", raw.Name)
			f := openT(t, bin)
			s, ok := f.Lookup(raw.Value)
			if !ok || s.Name != "pftopfx::pftop_spin" {
				t.Errorf("Lookup(%s) = %+v, %v; want pftopfx::pftop_spin", raw.Name, s, ok)
			}
		})
	}
}
