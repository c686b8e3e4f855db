package symtab

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const dwarfDir = "testdata/dwarf"

// The fixture's sources are compiled with their directory mapped to this
// prefix, so the paths in the DWARF do not depend on the checkout.
const fixtureSrc = "/pftop/dwarf/"

// markerLine returns the line of dwarfDir/file that contains marker.
func markerLine(t testing.TB, file, marker string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dwarfDir, file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("%s: no line with %q", file, marker)
	return 0
}

// openSym opens a Symbolizer for path; the file stays open for the test.
func openSym(t testing.TB, path string, opts Options) *Symbolizer {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := OpenSymbolizer(f, opts)
	if err != nil {
		t.Fatalf("OpenSymbolizer(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// elfSym finds a symbol by raw name in path's .symtab or .dynsym; ok is
// false when there is none.
func elfSym(t testing.TB, path, name string) (elf.Symbol, bool) {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, _ := ef.Symbols()
	dyn, _ := ef.DynamicSymbols()
	for _, s := range append(syms, dyn...) {
		if s.Name == name && s.Section != elf.SHN_UNDEF && s.Size > 0 {
			return s, true
		}
	}
	return elf.Symbol{}, false
}

func framesString(fr []Frame) string {
	var b strings.Builder
	for i, f := range fr {
		if i > 0 {
			b.WriteString(" <- ")
		}
		fmt.Fprintf(&b, "%s@%s:%d", f.Function, f.File, f.Line)
		if f.Inlined {
			b.WriteString("[i]")
		}
	}
	return b.String()
}

// chainsIn returns the distinct frame chains at every address of the
// function symbol name in path.
func chainsIn(t *testing.T, s *Symbolizer, path, name string) []string {
	t.Helper()
	sym, ok := elfSym(t, path, name)
	if !ok {
		// A stripped file: the symbols are in the debug file.
		sym, ok = elfSym(t, s.DebugFile(), name)
	}
	if !ok {
		t.Fatalf("%s: no symbol %s", path, name)
	}
	var out []string
	for a := sym.Value; a < sym.Value+sym.Size; a++ {
		fr := s.Lookup(a)
		if len(fr) == 0 {
			t.Errorf("%s: Lookup(%#x) in %s found nothing", path, a, name)
			continue
		}
		if out := fr[len(fr)-1]; out.Inlined || out.Function == "" {
			t.Errorf("%s: Lookup(%#x): outermost frame %+v", path, a, out)
		}
		if c := framesString(fr); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// wantChains checks that the fixture's inline chains are found in the
// file at path through s.
func wantChains(t *testing.T, s *Symbolizer, path string) {
	t.Helper()
	leaf := markerLine(t, "inline.h", "FX_LEAF_LINE")
	middleCall := markerLine(t, "inline.c", "FX_MIDDLE_CALL")
	outerCall := markerLine(t, "inline.c", "FX_OUTER_CALL")
	splitCall := markerLine(t, "inline.c", "FX_SPLIT_CALL")
	h, c := fixtureSrc+"inline.h", fixtureSrc+"inline.c"

	outer := chainsIn(t, s, path, "fx_outer")
	want := fmt.Sprintf("fx_leaf@%s:%d[i] <- fx_middle@%s:%d[i] <- fx_outer@%s:%d", h, leaf, c, middleCall, c, outerCall)
	if !slices.Contains(outer, want) {
		t.Errorf("%s: no address in fx_outer has the chain\n  %s\nchains:\n  %s", path, want, strings.Join(outer, "\n  "))
	}
	for _, ch := range outer {
		if fr := strings.Split(ch, " <- "); !strings.HasPrefix(fr[len(fr)-1], "fx_outer@") {
			t.Errorf("%s: chain in fx_outer does not end in fx_outer: %s", path, ch)
		}
	}
	split := chainsIn(t, s, path, "fx_split")
	want = fmt.Sprintf("fx_leaf@%s:%d[i] <- fx_split@%s:%d", h, leaf, c, splitCall)
	if !slices.Contains(split, want) {
		t.Errorf("%s: no address in fx_split has the chain\n  %s\nchains:\n  %s", path, want, strings.Join(split, "\n  "))
	}
	// GCC moves fx_split's unlikely path to fx_split.cold, so the DWARF
	// function has two ranges (a range list).
	if _, ok := elfSym(t, path, "fx_split.cold"); ok || strings.Contains(path, "stripped") {
		for _, ch := range chainsIn(t, s, path, "fx_split.cold") {
			if fr := strings.Split(ch, " <- "); !strings.HasPrefix(fr[len(fr)-1], "fx_split@") {
				t.Errorf("%s: fx_split.cold is not in fx_split: %s", path, ch)
			}
		}
	}
}

func TestDWARFInlineChains(t *testing.T) {
	tests := []struct {
		file    string
		version uint8
		check   func(t *testing.T, ef *elf.File, data []byte)
	}{
		{"inline-dwarf4", 4, nil},
		{"inline-dwarf5", 5, nil},
		{"inline-gz", 5, wantCompressed(".debug_info", elf.COMPRESS_ZLIB)},
		{"inline-zdebug", 4, func(t *testing.T, ef *elf.File, _ []byte) {
			if ef.Section(".zdebug_info") == nil {
				t.Fatal("fixture has no .zdebug_info")
			}
		}},
		{"inline-zstd", 5, wantCompressed(".debug_info", elf.COMPRESS_ZSTD)},
		{"inline-clang", 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dwarfDir, tt.file)
			if tt.check != nil {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				ef, err := elf.NewFile(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, ef, data)
			}
			s := openSym(t, path, Options{NoDebugFiles: true})
			if s.Lines() == nil {
				t.Fatal("no DWARF found")
			}
			if err := s.Lines().Index(); err != nil {
				t.Fatal(err)
			}
			for _, u := range s.Lines().d.units {
				if u.version != tt.version {
					t.Errorf("unit at %#x is DWARF %d, want %d", u.off, u.version, tt.version)
				}
			}
			wantChains(t, s, path)
		})
	}
}

func wantCompressed(name string, typ elf.CompressionType) func(*testing.T, *elf.File, []byte) {
	return func(t *testing.T, ef *elf.File, data []byte) {
		t.Helper()
		s := ef.Section(name)
		if s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
			t.Fatalf("fixture's %s is not compressed", name)
		}
		// The first word of the compression header is its type.
		if got := elf.CompressionType(ef.ByteOrder.Uint32(data[s.Offset:])); got != typ {
			t.Fatalf("%s compressed with %v, want %v", name, got, typ)
		}
	}
}

func TestDWARFCxxNames(t *testing.T) {
	path := filepath.Join(dwarfDir, "inline-cxx")
	s := openSym(t, path, Options{NoDebugFiles: true})
	add := markerLine(t, "inline.cc", "FX_ADD_LINE")
	call := markerLine(t, "inline.cc", "FX_RUN_CALL")
	src := fixtureSrc + "inline.cc"
	chains := chainsIn(t, s, path, "_ZN2fx3runEi")
	want := fmt.Sprintf("fx::Acc<int>::add(int)@%s:%d[i] <- fx::run(int)@%s:%d", src, add, src, call)
	if !slices.Contains(chains, want) {
		t.Errorf("no address in fx::run has the chain\n  %s\nchains:\n  %s", want, strings.Join(chains, "\n  "))
	}
}

// copyFile copies src to dst, making dst's directory.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileBuildID(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, ok := elfBuildID(f)
	if !ok || id == "" {
		t.Fatalf("%s: no build ID", path)
	}
	return id
}

// wantStrippedNamed checks that the stripped fixture is fully named
// through s: functions local to .symtab, inline chains and lines.
func wantStrippedNamed(t *testing.T, s *Symbolizer, debugPath string) {
	t.Helper()
	if s.DebugFile() != debugPath {
		t.Fatalf("debug file %q, want %q", s.DebugFile(), debugPath)
	}
	for _, name := range []string{"fx_outer", "fx_split", "fx_fail", "main"} {
		sym, ok := elfSym(t, debugPath, name)
		if !ok {
			t.Fatalf("debug file has no %s", name)
		}
		got, ok := s.Symbol(sym.Value)
		if !ok || got.Name != name {
			t.Errorf("Symbol(%#x) = %+v, %v; want %s", sym.Value, got, ok, name)
		}
		fr := s.Lookup(sym.Value)
		if len(fr) == 0 || fr[len(fr)-1].Function != name || fr[len(fr)-1].Line == 0 ||
			!strings.HasSuffix(fr[len(fr)-1].File, "inline.c") {
			t.Errorf("Lookup(%#x) = %s; want %s with its line", sym.Value, framesString(fr), name)
		}
	}
	wantChains(t, s, filepath.Join(dwarfDir, "inline-stripped"))
}

func TestStrippedBuildIDDir(t *testing.T) {
	stripped := filepath.Join(dwarfDir, "inline-stripped")
	id := fileBuildID(t, stripped)
	if got := fileBuildID(t, filepath.Join(dwarfDir, "inline.debug")); got != id {
		t.Fatalf("debug file build ID %s, stripped file %s", got, id)
	}
	root := t.TempDir()
	debugPath := filepath.Join(root, ".build-id", id[:2], id[2:]+".debug")
	copyFile(t, filepath.Join(dwarfDir, "inline.debug"), debugPath)

	// Without the debug file, the stripped file names nothing.
	bare := openSym(t, stripped, Options{DebugRoots: []string{}})
	if sym, ok := elfSym(t, debugPath, "fx_outer"); !ok {
		t.Fatal("debug file has no fx_outer")
	} else if fr := bare.Lookup(sym.Value); len(fr) != 0 {
		t.Fatalf("stripped file without debug file: Lookup = %s", framesString(fr))
	}

	// No Path: only the build ID can find it.
	s := openSym(t, stripped, Options{DebugRoots: []string{filepath.Join(root, "missing"), root}})
	wantStrippedNamed(t, s, debugPath)

	// A file at the build-ID path with another build ID is refused.
	copyFile(t, filepath.Join(dwarfDir, "inline-dwarf4"), debugPath)
	if s := openSym(t, stripped, Options{DebugRoots: []string{root}}); s.DebugFile() != "" {
		t.Errorf("debug file with another build ID used: %s", s.DebugFile())
	}
}

func TestStrippedDebuglink(t *testing.T) {
	name, _, ok := func() (string, uint32, bool) {
		ef, err := elf.Open(filepath.Join(dwarfDir, "inline-stripped"))
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		return debuglink(ef)
	}()
	if !ok || name != "inline.debug" {
		t.Fatalf("debuglink = %q, %v", name, ok)
	}
	for _, where := range []string{"same", ".debug", "root"} {
		t.Run(where, func(t *testing.T) {
			tmp := t.TempDir()
			bin := filepath.Join(tmp, "bin", "inline-stripped")
			copyFile(t, filepath.Join(dwarfDir, "inline-stripped"), bin)
			var debugPath string
			root := filepath.Join(tmp, "root")
			switch where {
			case "same":
				debugPath = filepath.Join(tmp, "bin", name)
			case ".debug":
				debugPath = filepath.Join(tmp, "bin", ".debug", name)
			case "root":
				debugPath = filepath.Join(root, tmp, "bin", name)
			}
			copyFile(t, filepath.Join(dwarfDir, "inline.debug"), debugPath)
			s := openSym(t, bin, Options{Path: bin, DebugRoots: []string{root}})
			wantStrippedNamed(t, s, debugPath)

			// A file of that name whose CRC does not match is refused.
			copyFile(t, filepath.Join(dwarfDir, "inline-dwarf5"), debugPath)
			if s := openSym(t, bin, Options{Path: bin, DebugRoots: []string{root}}); s.DebugFile() != "" {
				t.Errorf("debug file with a wrong CRC used: %s", s.DebugFile())
			}
		})
	}
}

func TestMiniDebugInfo(t *testing.T) {
	path := filepath.Join(dwarfDir, "inline-minidebug")
	s := openSym(t, path, Options{Path: path, DebugRoots: []string{}})
	if s.DebugFile() != "" || s.Lines() != nil {
		t.Fatalf("debug file %q, lines %v: want MiniDebugInfo only", s.DebugFile(), s.Lines() != nil)
	}
	if len(s.syms) < 2 {
		t.Fatal("no MiniDebugInfo symbols")
	}
	for _, name := range []string{"fx_outer", "fx_split", "fx_fail", "fx_split.cold", "main"} {
		sym, ok := elfSym(t, filepath.Join(dwarfDir, "inline.debug"), name)
		if !ok {
			t.Fatalf("no %s in the debug file", name)
		}
		fr := s.Lookup(sym.Value + sym.Size/2)
		if len(fr) != 1 || fr[0].Function != name {
			t.Errorf("Lookup(%s) = %s", name, framesString(fr))
		}
	}
}

func TestUnxzRejects(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dwarfDir, "inline-minidebug"))
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	comp, err := ef.Section(".gnu_debugdata").Data()
	if err != nil {
		t.Fatal(err)
	}
	out, err := unxz(comp, 1<<30)
	if err != nil || !bytes.HasPrefix(out, []byte(elf.ELFMAG)) {
		t.Fatalf("unxz: %v (%d bytes)", err, len(out))
	}
	if _, err := unxz(comp, len(out)-1); err == nil {
		t.Error("unxz exceeded its output limit")
	}
	for i := range comp {
		bad := slices.Clone(comp)
		bad[i] ^= 0xff
		unxz(bad, 1<<20) // must not panic
	}
	if _, err := unxz(comp[:len(comp)/2], 1<<30); err == nil {
		t.Error("unxz of a truncated stream succeeded")
	}
}

// libcDebugFile returns the path of libc's debug file from libc6-dbg, or
// skips the test.
func libcDebugFile(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(libcPath); err != nil {
		t.Skipf("%s not present: %v", libcPath, err)
	}
	f, err := os.Open(libcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, _ := elfBuildID(f)
	p := filepath.Join(DefaultDebugRoot, ".build-id", id[:2], id[2:]+".debug")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("libc's debug file is not installed (apt-get install libc6-dbg): %v", err)
	}
	return p
}

func TestLibcInternalFunctions(t *testing.T) {
	debugPath := libcDebugFile(t)
	s := openSym(t, libcPath, Options{Path: libcPath})
	if s.DebugFile() != debugPath {
		t.Fatalf("debug file %q, want %q", s.DebugFile(), debugPath)
	}
	tests := []struct {
		sym   string   // in the debug file's .symtab
		names []string // acceptable names of the outermost frame
		file  string   // suffix of its file
	}{
		{"__libc_start_call_main", []string{"__libc_start_call_main"}, "libc_start_call_main.h"},
		{"msort_with_tmp.part.0", []string{"msort_with_tmp"}, "msort.c"},
		{"__clone3", []string{"__clone3", "clone3"}, "clone3.S"},
		{"start_thread", []string{"start_thread"}, "pthread_create.c"},
	}
	for _, tt := range tests {
		sym, ok := elfSym(t, debugPath, tt.sym)
		if !ok {
			t.Errorf("debug file has no %s", tt.sym)
			continue
		}
		// The symbol tables name it too, from the debug file's .symtab.
		if got, ok := s.Symbol(sym.Value); !ok || (got.Name != tt.sym && !slices.Contains(tt.names, got.Name)) {
			t.Errorf("Symbol(%#x) = %+v, %v; want %s", sym.Value, got, ok, tt.sym)
		}
		named := false
		for a := sym.Value; a < sym.Value+sym.Size; a++ {
			fr := s.Lookup(a)
			if len(fr) == 0 {
				t.Errorf("%s+%#x: nothing found", tt.sym, a-sym.Value)
				continue
			}
			last := fr[len(fr)-1]
			if !slices.Contains(tt.names, last.Function) {
				t.Errorf("%s+%#x: outermost frame %s", tt.sym, a-sym.Value, framesString(fr))
				break
			}
			for _, f := range fr {
				if f.File == "" || f.Line == 0 || f.Function == "" {
					t.Errorf("%s+%#x: frame without name or position: %s", tt.sym, a-sym.Value, framesString(fr))
					break
				}
			}
			named = named || strings.HasSuffix(fr[0].File, tt.file) || strings.HasSuffix(last.File, tt.file)
		}
		if !named {
			t.Errorf("%s: no address in %s", tt.sym, tt.file)
		}
	}
}

// addr2line runs binutils' addr2line -i -f -C over addrs in path and
// returns each address's frames, innermost first.
func addr2line(t *testing.T, path string, addrs []uint64) [][]Frame {
	t.Helper()
	bin, err := exec.LookPath("addr2line")
	if err != nil {
		t.Skipf("addr2line not installed (binutils): %v", err)
	}
	var in bytes.Buffer
	for _, a := range addrs {
		fmt.Fprintf(&in, "%#x\n", a)
	}
	cmd := exec.Command(bin, "-a", "-i", "-f", "-C", "-e", path)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("addr2line: %v", err)
	}
	var res [][]Frame
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "0x") {
			t.Fatalf("addr2line: unexpected line %q", lines[i])
		}
		i++
		var fr []Frame
		for i+1 < len(lines) && !strings.HasPrefix(lines[i], "0x") {
			fn, pos := lines[i], lines[i+1]
			i += 2
			if j := strings.Index(pos, " (discriminator"); j >= 0 {
				pos = pos[:j]
			}
			file, line, _ := strings.Cut(pos, ":")
			n := 0
			fmt.Sscanf(line, "%d", &n)
			if file == "??" {
				file = ""
			}
			if fn == "??" {
				fn = ""
			}
			fr = append(fr, Frame{Function: fn, File: file, Line: n, Inlined: true})
		}
		if len(fr) > 0 {
			fr[len(fr)-1].Inlined = false
		}
		res = append(res, fr)
	}
	if len(res) != len(addrs) {
		t.Fatalf("addr2line answered %d addresses of %d", len(res), len(addrs))
	}
	return res
}

// llvmSymbolizer runs llvm-symbolizer over addrs in path and returns
// each address's frames, innermost first; nil when it is not installed.
func llvmSymbolizer(t *testing.T, path string, addrs []uint64) [][]Frame {
	t.Helper()
	bin, err := exec.LookPath("llvm-symbolizer")
	if err != nil || len(addrs) == 0 {
		return nil
	}
	var in bytes.Buffer
	for _, a := range addrs {
		fmt.Fprintf(&in, "%#x\n", a)
	}
	cmd := exec.Command(bin, "--inlines", "--functions=linkage", "--demangle", "--obj="+path)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llvm-symbolizer: %v", err)
	}
	var res [][]Frame
	var fr []Frame
	lines := strings.Split(string(out), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			if fr != nil {
				fr[len(fr)-1].Inlined = false
				res = append(res, fr)
				fr = nil
			}
			continue
		}
		if i+1 >= len(lines) {
			break
		}
		fn, pos := lines[i], lines[i+1]
		i++
		parts := strings.Split(pos, ":")
		f := Frame{Function: fn, File: parts[0], Inlined: true}
		if len(parts) > 1 {
			fmt.Sscanf(parts[1], "%d", &f.Line)
		}
		if f.File == "??" {
			f.File = ""
		}
		fr = append(fr, f)
	}
	if len(res) != len(addrs) {
		t.Fatalf("llvm-symbolizer answered %d addresses of %d", len(res), len(addrs))
	}
	return res
}

// crossCheck compares s.Lookup with addr2line on path for addrs: every
// frame's name, line and file base name. binutils 2.40's addr2line
// misreads some DWARF 5 (file numbers of some line tables, range list
// indexes), so where it disagrees llvm-symbolizer, when installed, gets
// a say: an address is wrong only when both disagree. It returns how
// many addresses addr2line had a line for, how many differ from it, and
// how many of those llvm-symbolizer did not settle.
func crossCheck(t *testing.T, s *Symbolizer, path string, addrs []uint64, maxReport int) (checked, differ, bad int) {
	t.Helper()
	want := addr2line(t, path, addrs)
	var odd []uint64
	var oddGot, oddWant [][]Frame
	for i, a := range addrs {
		w := want[i]
		if len(w) == 0 || w[0].File == "" || w[0].Line == 0 {
			continue // addr2line knows no line
		}
		checked++
		if got := s.Lookup(a); !sameFrames(got, w, true) {
			odd, oddGot, oddWant = append(odd, a), append(oddGot, got), append(oddWant, w)
		}
	}
	llvm := llvmSymbolizer(t, path, odd)
	for i, a := range odd {
		if llvm != nil && sameFrames(oddGot[i], llvm[i], false) {
			continue
		}
		bad++
		if bad <= maxReport {
			t.Logf("%#x:\n  got      %s\n  addr2line %s", a, framesString(oddGot[i]), framesString(oddWant[i]))
			if llvm != nil {
				t.Logf("  llvm     %s", framesString(llvm[i]))
			}
		}
	}
	return checked, len(odd), bad
}

// sameFrames compares frames by line, file base name and, when names is
// set, function name; without it the outermost name is not compared
// (llvm-symbolizer names it from the symbol table) and inner ones are.
func sameFrames(got, want []Frame, names bool) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Line != w.Line || filepath.Base(g.File) != filepath.Base(w.File) || g.Inlined != w.Inlined {
			return false
		}
		if (names || i < len(got)-1) && g.Function != w.Function {
			return false
		}
	}
	return true
}

// funcAddrs returns every address of every sized function in path's
// .symtab, or a sample of n spread over them when n > 0.
func funcAddrs(t testing.TB, path string, n int) []uint64 {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var fns []elf.Symbol
	var total uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 && s.Section != elf.SHN_UNDEF {
			fns = append(fns, s)
			total += s.Size
		}
	}
	slices.SortFunc(fns, func(a, b elf.Symbol) int { return int(a.Value>>1) - int(b.Value>>1) })
	var out []uint64
	if n <= 0 || uint64(n) >= total {
		for _, s := range fns {
			for a := s.Value; a < s.Value+s.Size; a++ {
				out = append(out, a)
			}
		}
		return out
	}
	// A deterministic spread: every function, then strided offsets.
	step := total / uint64(n)
	var acc uint64
	for _, s := range fns {
		for a := s.Value + (acc % max(step, 1)); a < s.Value+s.Size && len(out) < n; a += max(step, 1) {
			out = append(out, a)
		}
		acc += s.Size
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestDWARFMatchesAddr2line(t *testing.T) {
	// Not inline-dwz: binutils 2.40 and LLVM 19 both misname functions
	// whose DIEs dwz moved to the supplementary file.
	for _, file := range []string{"inline-dwarf4", "inline-dwarf5", "inline-gz", "inline-zdebug", "inline-clang", "inline-cxx"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(dwarfDir, file)
			s := openSym(t, path, Options{Path: path, DebugRoots: []string{}})
			addrs := funcAddrs(t, path, 0)
			checked, differ, bad := crossCheck(t, s, path, addrs, 10)
			t.Logf("%d addresses, %d with a line; %d differ from addr2line, %d of them from llvm-symbolizer too",
				len(addrs), checked, differ, bad)
			if checked == 0 || bad > 0 {
				t.Errorf("%d of %d addresses are wrong", bad, checked)
			}
		})
	}
}

func TestLibcMatchesAddr2line(t *testing.T) {
	debugPath := libcDebugFile(t)
	s := openSym(t, libcPath, Options{Path: libcPath})
	addrs := funcAddrs(t, debugPath, 20000)
	checked, differ, bad := crossCheck(t, s, debugPath, addrs, 20)
	t.Logf("%d addresses, %d with a line; %d differ from addr2line, %d of them from llvm-symbolizer too",
		len(addrs), checked, differ, bad)
	// The tools name a function at an address with several symbols
	// differently (xdr_uint32_t or __GI_xdr_uint32_t); allow 0.1%.
	if checked < len(addrs)/2 || bad*1000 > checked {
		t.Errorf("%d of %d addresses are wrong", bad, checked)
	}
}

func TestLinesCacheBound(t *testing.T) {
	debugPath := libcDebugFile(t)
	addrs := funcAddrs(t, debugPath, 5000)
	big := openSym(t, libcPath, Options{Path: libcPath})
	const bound = 256 << 10
	small := openSym(t, libcPath, Options{Path: libcPath, CacheBytes: bound})
	for _, a := range addrs {
		w, g := big.Lookup(a), small.Lookup(a)
		if !slices.Equal(w, g) {
			t.Fatalf("%#x: %s with a small cache, %s with a big one", a, framesString(g), framesString(w))
		}
		l := small.Lines()
		for _, c := range []struct{ used, max, n int }{
			{l.skims.used, l.skims.max, l.skims.len()},
			{l.details.used, l.details.max, l.details.len()},
		} {
			// Only one value bigger than the bound may exceed it.
			if c.used > c.max && c.n > 1 {
				t.Fatalf("cache holds %d bytes in %d values, over its %d-byte bound", c.used, c.n, c.max)
			}
		}
	}
}

func TestSymbolizerConcurrent(t *testing.T) {
	path := filepath.Join(dwarfDir, "inline-dwarf5")
	s := openSym(t, path, Options{NoDebugFiles: true, CacheBytes: 1})
	addrs := funcAddrs(t, path, 0)
	want := make([][]Frame, len(addrs))
	ref := openSym(t, path, Options{NoDebugFiles: true})
	for i, a := range addrs {
		want[i] = ref.Lookup(a)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range addrs {
				j := (i + g*37) % len(addrs)
				if got := s.Lookup(addrs[j]); !slices.Equal(got, want[j]) {
					t.Errorf("%#x: %s, want %s", addrs[j], framesString(got), framesString(want[j]))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNoDWARF(t *testing.T) {
	f, err := os.Open(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := NewLines(f, Options{}); !errors.Is(err, ErrNoDWARF) {
		t.Fatalf("NewLines on a file without DWARF: %v", err)
	}
	s, err := OpenSymbolizer(f, Options{NoDebugFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sym := rawSym(t, fixturePath, "fx_leaf")
	if fr := s.Lookup(sym.Value); len(fr) != 1 || fr[0].Function != "fx_leaf" || fr[0].File != "" {
		t.Fatalf("Lookup = %s", framesString(fr))
	}
	if _, err := OpenSymbolizer(bytes.NewReader([]byte("not elf")), Options{}); err == nil {
		t.Fatal("OpenSymbolizer accepted a non-ELF file")
	}
}

func TestDWZSupplementaryFile(t *testing.T) {
	path := filepath.Join(dwarfDir, "inline-dwz")
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	name, id, ok := altlink(ef)
	ef.Close()
	if !ok || name != "inline-dwz.alt" {
		t.Fatalf("altlink = %q, %q, %v", name, id, ok)
	}

	t.Run("next to the file", func(t *testing.T) {
		s := openSym(t, path, Options{Path: path, DebugRoots: []string{}})
		if s.alt == nil {
			t.Fatal("supplementary file not found")
		}
		wantChains(t, s, path)
	})
	t.Run("by build ID", func(t *testing.T) {
		root := t.TempDir()
		copyFile(t, filepath.Join(dwarfDir, "inline-dwz.alt"), filepath.Join(root, ".build-id", id[:2], id[2:]+".debug"))
		s := openSym(t, path, Options{DebugRoots: []string{root}})
		if s.alt == nil {
			t.Fatal("supplementary file not found")
		}
		wantChains(t, s, path)
	})
	t.Run("missing", func(t *testing.T) {
		// Without it, the names that moved there are unknown; the chains
		// and lines are still found, and outermost frames still named.
		s := openSym(t, path, Options{DebugRoots: []string{}})
		sym, _ := elfSym(t, path, "fx_outer")
		deepest := 0
		for a := sym.Value; a < sym.Value+sym.Size; a++ {
			fr := s.Lookup(a)
			if len(fr) == 0 || fr[len(fr)-1].Function == "" || fr[0].Line == 0 {
				t.Fatalf("%#x: %s", a, framesString(fr))
			}
			deepest = max(deepest, len(fr))
		}
		if deepest != 3 {
			t.Errorf("deepest chain has %d frames, want 3", deepest)
		}
	})
}

func TestSpillCompressedSections(t *testing.T) {
	for _, file := range []string{"inline-gz", "inline-zdebug", "inline-zstd"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(dwarfDir, file)
			dir := t.TempDir()
			s := openSym(t, path, Options{NoDebugFiles: true, SpillDir: dir, SpillBytes: 1})
			wantChains(t, s, path)
			d := s.Lines().d
			if !d.info.direct || d.info.spill == nil || len(d.info.spill.files) == 0 {
				t.Fatal(".debug_info not spilled to a file")
			}
			if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
				t.Fatalf("spill directory holds %d files (%v): want them unlinked", len(ents), err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if len(d.info.spill.files) != 0 {
				t.Fatal("spill files not closed")
			}
		})
	}
	// Where no temporary file can be made, sections stay in memory.
	path := filepath.Join(dwarfDir, "inline-gz")
	s := openSym(t, path, Options{NoDebugFiles: true, SpillDir: filepath.Join(t.TempDir(), "missing"), SpillBytes: 1})
	wantChains(t, s, path)
	if s.Lines().d.info.direct {
		t.Fatal(".debug_info read from a file that cannot exist")
	}
}
