package deltas

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

var fixtures = []string{"prog", "prog-fp", "prog-debugframe"}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func extractBytes(t *testing.T, b []byte) *Table {
	t.Helper()
	tab, err := Extract(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkInvariants(t, tab)
	return tab
}

func TestFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			b := readFixture(t, name)
			tab := extractBytes(t, b)
			ef, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			checkStart(t, ef, tab)
			checkPLT(t, ef, tab)
			checkSymbols(t, ef, tab)
		})
	}
}

// prog's realign() has gcc's DRAP prologue.
func TestFixtureRealign(t *testing.T) {
	b := readFixture(t, "prog")
	tab := extractBytes(t, b)
	ef, _ := elf.NewFile(bytes.NewReader(b))
	syms, _ := ef.Symbols()
	var lo, hi uint64
	for _, s := range syms {
		if s.Name == "realign" {
			lo, hi = s.Value, s.Value+s.Size
		}
	}
	if lo == 0 {
		t.Fatal("no realign symbol")
	}
	var seen bool
	for _, d := range tab.Deltas {
		if d.Addr >= lo && d.Addr < hi && d.Rule.CFA == CFADerefRBP {
			seen = true
			if d.Rule.RBP != RBPAtRBP || d.Rule.RBPOffset != 0 {
				t.Errorf("%#x: %v, want rbp saved at [rbp+0]", d.Addr, d.Rule)
			}
		}
	}
	if !seen {
		t.Errorf("realign has no CFADerefRBP rule:\n%s", dump(tab))
	}
}

// prog-debugframe has main's CFI only in .debug_frame.
func TestFixtureDebugFrame(t *testing.T) {
	b := readFixture(t, "prog-debugframe")
	tab := extractBytes(t, b)
	ef, _ := elf.NewFile(bytes.NewReader(b))
	syms, _ := ef.Symbols()
	for _, s := range syms {
		if s.Name != "frame" && s.Name != "main" {
			continue
		}
		if r, _ := lookup(tab, s.Value); r != (Rule{CFA: CFARSP, CFAOffset: 8}) {
			t.Errorf("%s: %v, want rsp+8", s.Name, r)
		}
		if r, _ := lookup(tab, s.Value+s.Size-1); r.CFA != CFARSP {
			t.Errorf("%s end: %v, want rsp-based", s.Name, r)
		}
	}
}

// noSections overlays an ELF64 header whose section header table is gone.
type noSections struct {
	io.ReaderAt
	hdr [64]byte
}

func (r *noSections) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.ReaderAt.ReadAt(p, off)
	if off < int64(len(r.hdr)) {
		copy(p[:n], r.hdr[off:])
	}
	return n, err
}

func stripSectionHeaders(t *testing.T, r io.ReaderAt) io.ReaderAt {
	t.Helper()
	s := &noSections{ReaderAt: r}
	if _, err := r.ReadAt(s.hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(s.hdr[0x28:], 0) // e_shoff
	binary.LittleEndian.PutUint16(s.hdr[0x3c:], 0) // e_shnum
	binary.LittleEndian.PutUint16(s.hdr[0x3e:], 0) // e_shstrndx
	ef, err := elf.NewFile(s)
	if err != nil || len(ef.Sections) != 0 {
		t.Fatalf("stripping section headers: %v, %d sections", err, len(ef.Sections))
	}
	return s
}

// Without section headers, .eh_frame is found through PT_GNU_EH_FRAME and
// gives the same table.
func TestNoSectionHeaders(t *testing.T) {
	paths := []string{filepath.Join("testdata", "prog"), filepath.Join("testdata", "prog-fp"), libcPath}
	if node, err := exec.LookPath("node"); err == nil && !testing.Short() {
		paths = append(paths, node)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Logf("skipping %s: %v", path, err)
			continue
		}
		defer f.Close()
		want, err := Extract(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Extract(stripSectionHeaders(t, f))
		if err != nil {
			t.Fatalf("%s without section headers: %v", path, err)
		}
		checkInvariants(t, got)
		if !slices.Equal(got.Deltas, want.Deltas) {
			t.Errorf("%s: %d deltas without section headers, %d with", path, len(got.Deltas), len(want.Deltas))
		}
	}
}

// ehFrameHdrTable decodes the binary search table of .eh_frame_hdr.
func ehFrameHdrTable(t *testing.T, ef *elf.File) []uint64 {
	t.Helper()
	s := ef.Section(".eh_frame_hdr")
	if s == nil {
		t.Fatal("no .eh_frame_hdr")
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	b := ptrBases{vaddr: s.Addr, data: s.Addr, addrSize: 8}
	c := cursor{data: data, name: ".eh_frame_hdr"}
	if c.u8() != 1 {
		t.Fatal("version")
	}
	ptrEnc, countEnc, tableEnc := c.u8(), c.u8(), c.u8()
	c.pointer(ptrEnc, &b, 0)
	n := c.pointer(countEnc, &b, 0)
	var locs []uint64
	for i := uint64(0); i < n && c.err == nil; i++ {
		locs = append(locs, c.pointer(tableEnc, &b, 0))
		c.pointer(tableEnc, &b, 0)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	return locs
}

// Cross-check with .eh_frame_hdr: the linker's table lists the same FDEs.
func TestEHFrameHdrAgrees(t *testing.T) {
	paths := []string{filepath.Join("testdata", "prog"), filepath.Join("testdata", "prog-fp")}
	if _, err := os.Stat(libcPath); err == nil {
		paths = append(paths, libcPath)
	}
	for _, path := range paths {
		ef, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		locs := ehFrameHdrTable(t, ef)
		eh, err := ehFrame(ef, ptrBases{addrSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		p := newParser([]*section{eh}, nil)
		p.scan(0)
		if p.err != nil {
			t.Errorf("%s: %v", path, p.err)
		}
		var begins []uint64
		for _, f := range p.fdes {
			begins = append(begins, f.begin)
		}
		slices.Sort(begins)
		if !slices.Equal(begins, locs) {
			t.Errorf("%s: %d FDEs parsed, .eh_frame_hdr lists %d", path, len(begins), len(locs))
		}
	}
}

// testSection is a section of a synthesized ELF file.
type testSection struct {
	name string
	addr uint64
	data []byte
}

// buildELF writes a minimal ELF64 x86-64 shared object whose only segment
// is an executable PT_LOAD of the whole file at vaddr 0, with sections at
// the addresses given (data placed in the file at the same offset).
func buildELF(secs ...testSection) []byte {
	const ehsize, phsize, shsize = 64, 56, 64
	var le = binary.LittleEndian
	size := uint64(ehsize + phsize)
	for _, s := range secs {
		size = max(size, s.addr+uint64(len(s.data)))
	}
	shstr := []byte{0}
	names := make([]uint32, len(secs)+1)
	for i, s := range secs {
		names[i] = uint32(len(shstr))
		shstr = append(append(shstr, s.name...), 0)
	}
	names[len(secs)] = uint32(len(shstr))
	shstr = append(append(shstr, ".shstrtab"...), 0)
	shstrOff := size
	shoff := (shstrOff + uint64(len(shstr)) + 7) &^ 7
	shnum := len(secs) + 2
	out := make([]byte, shoff+uint64(shnum*shsize))
	copy(out, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(out[16:], uint16(elf.ET_DYN))
	le.PutUint16(out[18:], uint16(elf.EM_X86_64))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[32:], ehsize) // e_phoff
	le.PutUint64(out[40:], shoff)
	le.PutUint16(out[52:], ehsize)
	le.PutUint16(out[54:], phsize)
	le.PutUint16(out[56:], 1)
	le.PutUint16(out[58:], shsize)
	le.PutUint16(out[60:], uint16(shnum))
	le.PutUint16(out[62:], uint16(shnum-1))
	ph := out[ehsize:]
	le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
	le.PutUint64(ph[32:], size) // filesz
	le.PutUint64(ph[40:], size) // memsz
	le.PutUint64(ph[48:], 0x1000)
	for _, s := range secs {
		copy(out[s.addr:], s.data)
	}
	copy(out[shstrOff:], shstr)
	sh := func(i int, name uint32, typ elf.SectionType, flags elf.SectionFlag, addr, off, size uint64) {
		h := out[shoff+uint64(i*shsize):]
		le.PutUint32(h[0:], name)
		le.PutUint32(h[4:], uint32(typ))
		le.PutUint64(h[8:], uint64(flags))
		le.PutUint64(h[16:], addr)
		le.PutUint64(h[24:], off)
		le.PutUint64(h[32:], size)
		le.PutUint64(h[48:], 1)
	}
	for i, s := range secs {
		sh(i+1, names[i], elf.SHT_PROGBITS, elf.SHF_ALLOC, s.addr, s.addr, uint64(len(s.data)))
	}
	sh(shnum-1, names[len(secs)], elf.SHT_STRTAB, 0, 0, shstrOff, uint64(len(shstr)))
	return out
}

// ehELF wraps hand-written .eh_frame bytes in an ELF file.
func ehELF(w *cfiWriter) []byte {
	return buildELF(
		testSection{".text", 0x1000, make([]byte, 0x100)},
		testSection{".eh_frame", w.vaddr, w.buf.Bytes()},
	)
}

func TestExtractSynthesized(t *testing.T) {
	w := newEH(0x2000)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x40, cat(advance(1), cfaOffset(16)))
	w.terminate()
	tab := extractBytes(t, ehELF(w))
	expect(t, tab, `
		0x1000 rsp+8
		0x1001 rsp+16
		0x1040 invalid
	`)
}

func TestErrNoUnwindInfo(t *testing.T) {
	b := buildELF(testSection{".text", 0x1000, make([]byte, 16)})
	_, err := Extract(bytes.NewReader(b))
	if !errors.Is(err, ErrNoUnwindInfo) {
		t.Errorf("err = %v, want ErrNoUnwindInfo", err)
	}
	// An .eh_frame with only a terminator describes nothing either.
	b = buildELF(testSection{".text", 0x1000, make([]byte, 16)}, testSection{".eh_frame", 0x2000, make([]byte, 4)})
	if _, err := Extract(bytes.NewReader(b)); !errors.Is(err, ErrNoUnwindInfo) {
		t.Errorf("empty .eh_frame: err = %v, want ErrNoUnwindInfo", err)
	}
}

func TestExtractErrors(t *testing.T) {
	if _, err := Extract(bytes.NewReader([]byte("not an ELF file"))); err == nil {
		t.Error("garbage: no error")
	}
	b := buildELF(testSection{".text", 0x1000, make([]byte, 16)})
	binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_AARCH64))
	if _, err := Extract(bytes.NewReader(b)); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("aarch64: err = %v, want ErrUnsupported", err)
	}
	// A section whose header claims more than the file holds.
	w := newEH(0x2000)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x40, nil)
	b = ehELF(w)
	ef, _ := elf.NewFile(bytes.NewReader(b))
	hdrOff := binary.LittleEndian.Uint64(b[40:]) + uint64(2*64) // .eh_frame's header
	binary.LittleEndian.PutUint64(b[hdrOff+32:], 1<<29)
	if ef.Sections[2].Name != ".eh_frame" {
		t.Fatal("layout")
	}
	if _, err := Extract(bytes.NewReader(b)); err == nil {
		t.Error("oversized section: no error")
	}
}

// A compressed .debug_frame (SHF_COMPRESSED) gives the same table.
func TestCompressedDebugFrame(t *testing.T) {
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("objcopy (binutils) not installed")
	}
	in := filepath.Join("testdata", "prog-debugframe")
	out := filepath.Join(t.TempDir(), "z")
	if b, err := exec.Command(objcopy, "--compress-debug-sections=zlib", in, out).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, b)
	}
	ef, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	if s := ef.Section(".debug_frame"); s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
		t.Fatal("objcopy did not compress .debug_frame")
	}
	got, err := ExtractELF(ef)
	if err != nil {
		t.Fatal(err)
	}
	want := extractBytes(t, readFixture(t, "prog-debugframe"))
	if !slices.Equal(got.Deltas, want.Deltas) {
		t.Errorf("compressed:\n%s\nuncompressed:\n%s", dump(got), dump(want))
	}
}

// A panic below ExtractELF (here: a hand-made elf.File whose section has
// no reader, which debug/elf does not expect) becomes an error.
func TestExtractELFRecovers(t *testing.T) {
	f := &elf.File{
		FileHeader: elf.FileHeader{Class: elf.ELFCLASS64, Machine: elf.EM_X86_64},
		Sections: []*elf.Section{{SectionHeader: elf.SectionHeader{
			Name: ".eh_frame", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Size: 64,
		}}},
	}
	tab, err := ExtractELF(f)
	if err == nil || tab != nil {
		t.Fatalf("ExtractELF = %v, %v; want an error", tab, err)
	}
	t.Log(err)
}
