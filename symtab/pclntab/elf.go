package pclntab

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// maxTableSize bounds the size of a pclntab (Go's own limit on offsets in
// it is 32 bits).
const maxTableSize = 1 << 32

// Options says how Open reads the table.
type Options struct {
	// Preload reads the whole pclntab into memory, for callers that walk
	// every function (stack-delta extraction). Otherwise the table is read
	// on demand through a page cache of at most CacheBytes.
	Preload bool
	// CacheBytes bounds the page cache; 0 means DefaultCacheBytes.
	CacheBytes int64
}

// DefaultCacheBytes is the page cache size Open uses by default.
const DefaultCacheBytes = 4 << 20

const pageSize = 16 << 10

// Module is what Open found about the executable besides the table.
type Module struct {
	Addr, Size uint64 // of the pclntab
	// ModuleData is the address of runtime.firstmoduledata, 0 when not
	// found; TextStart and GoFunc come from it when it was.
	ModuleData uint64
	GoFunc     uint64 // go:func.*, 0 when unknown
}

// Open finds and parses the pclntab of f. f's readers are used by the
// Table for as long as it is in use. The error wraps ErrNotFound when f
// has no pclntab and ErrUnsupportedVersion when it is older than Go 1.18.
func Open(f *elf.File, opt Options) (*Table, *Module, error) {
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	im := newImage(f)
	mod, r, scanned, err := locate(f, im)
	if err != nil {
		return nil, nil, err
	}
	var src source
	if opt.Preload {
		data, err := readAll(r, 0, mod.Size)
		if err != nil {
			return nil, nil, fmt.Errorf("read pclntab: %w", err)
		}
		src = memSource(data)
	} else {
		src = source{pc: newPageCache(r, int64(mod.Size), pageSize, opt.CacheBytes), size: mod.Size}
	}
	t, err := newTable(src, Config{})
	if err != nil {
		return nil, nil, err
	}

	headerText := t.TextStart
	md := findModuleData(f, im, t, mod.Addr)
	if md != nil {
		if end := md.pclnEnd; scanned && end > mod.Addr && end-mod.Addr < mod.Size {
			// Found by scanning: the table ends where moduledata says its
			// last part does, not at the end of the segment.
			mod.Size = end - mod.Addr
			t.src.size = mod.Size
		}
		mod.ModuleData = md.addr
		t.TextStart = md.text
		mod.GoFunc = md.gofunc
	} else {
		syms := symbolValues(f, "runtime.text", "go:func.*", "go.func.*")
		switch {
		case headerText != 0:
		case syms["runtime.text"] != 0:
			t.TextStart = syms["runtime.text"]
		default:
			return nil, nil, fmt.Errorf("pclntab at %#x: text start unknown (no moduledata, no runtime.text)", mod.Addr)
		}
		mod.GoFunc = max(syms["go:func.*"], syms["go.func.*"])
	}
	if g := mod.GoFunc; g != 0 {
		if g >= mod.Addr && g-mod.Addr < mod.Size {
			// Go 1.26 keeps go:func.* inside the pclntab.
			t.funcdata = t.src.sub(g - mod.Addr)
		} else if fr, n := im.reader(g); fr != nil {
			t.funcdata = source{pc: newPageCache(fr, int64(n), pageSize, max(pageSize, opt.CacheBytes/4)), size: n}
		}
	}
	return t, mod, nil
}

// locate finds the pclntab: by section, by the runtime.pclntab symbol, or,
// in files without section headers, by scanning the loaded segments for a
// valid header (scanned is then set, and the size runs to the end of the
// segment).
func locate(f *elf.File, im *image) (mod *Module, r io.ReaderAt, scanned bool, err error) {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		s := f.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS || s.Size == 0 {
			continue
		}
		if s.Size > maxTableSize {
			return nil, nil, false, fmt.Errorf("%s: %d bytes is too large", name, s.Size)
		}
		if s.Flags&elf.SHF_COMPRESSED != 0 {
			return nil, nil, false, fmt.Errorf("%s: compressed section", name)
		}
		return &Module{Addr: s.Addr, Size: s.Size}, s, false, nil
	}
	if len(f.Sections) > 0 {
		// Go's linkers always name the section. Symbols are read only
		// for files that say they are Go, so that other executables
		// cost no more than a look at their section names.
		if f.Section(".go.buildinfo") == nil && f.Section(".note.go.buildid") == nil {
			return nil, nil, false, ErrNotFound
		}
		syms := symbolValues(f, "runtime.pclntab", "runtime.epclntab")
		if a, e := syms["runtime.pclntab"], syms["runtime.epclntab"]; a != 0 && e > a && e-a <= maxTableSize {
			if r, n := im.reader(a); r != nil && n >= e-a {
				return &Module{Addr: a, Size: e - a}, r, false, nil
			}
		}
		return nil, nil, false, ErrNotFound
	}
	// No section headers (sstrip): scan for the header.
	if m, r := scanForHeader(im); m != nil {
		return m, r, true, nil
	}
	return nil, nil, false, ErrNotFound
}

// scanForHeader looks for a pclntab header in the non-executable loaded
// segments, keeping the first whose function table parses.
func scanForHeader(im *image) (*Module, io.ReaderAt) {
	for _, sg := range im.segs {
		if sg.flags&elf.PF_X != 0 {
			continue
		}
		var found *Module
		var fr io.ReaderAt
		scanSegment(sg, 4, func(off uint64, b []byte) bool {
			m := binary.LittleEndian.Uint32(b)
			if (m != magic118 && m != magic120) || len(b) < 8 || b[4] != 0 || b[5] != 0 {
				return false
			}
			r := io.NewSectionReader(sg.r, int64(off), int64(sg.filesz-off))
			if _, err := New(r, min(sg.filesz-off, maxTableSize), Config{}); err != nil {
				return false
			}
			found = &Module{Addr: sg.vaddr + off, Size: min(sg.filesz-off, maxTableSize)}
			fr = r
			return true
		})
		if found != nil {
			return found, fr
		}
	}
	return nil, nil
}

// scanSegment calls fn for every offset of sg's file data aligned to
// align, with the bytes from there to the end of the chunk being scanned
// (at least 16 unless the data ends), until fn returns true.
func scanSegment(sg segment, align uint64, fn func(off uint64, b []byte) bool) {
	const chunk = 1 << 20
	const overlap = 64
	buf := make([]byte, chunk+overlap)
	for base := uint64(0); base < sg.filesz; base += chunk {
		n := min(uint64(len(buf)), sg.filesz-base)
		got, _ := sg.r.ReadAt(buf[:n], int64(base))
		b := buf[:got]
		for i := uint64(0); i < uint64(len(b)) && i < chunk; i += align {
			if len(b)-int(i) < 4 {
				break
			}
			if fn(base+i, b[i:]) {
				return
			}
		}
		if uint64(got) < n {
			return
		}
	}
}

// symbolValues returns the values of the named symbols of .symtab (those
// absent are missing from the map). debug/elf's panics on malformed symbol
// tables count as no symbols.
func symbolValues(f *elf.File, names ...string) (out map[string]uint64) {
	out = map[string]uint64{}
	defer func() {
		if recover() != nil {
			out = map[string]uint64{}
		}
	}()
	syms, err := f.Symbols()
	if err != nil {
		return out
	}
	for _, s := range syms {
		for _, n := range names {
			if s.Name == n {
				out[n] = s.Value
			}
		}
	}
	return out
}

// segment is a PT_LOAD segment.
type segment struct {
	vaddr, filesz uint64
	flags         elf.ProgFlag
	r             io.ReaderAt
}

// image reads an ELF file by virtual address.
type image struct {
	f    *elf.File
	segs []segment
}

func newImage(f *elf.File) *image {
	im := &image{f: f}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Filesz > 0 && p.Vaddr+p.Filesz > p.Vaddr {
			im.segs = append(im.segs, segment{p.Vaddr, p.Filesz, p.Flags, p})
		}
	}
	return im
}

// reader returns a reader of the file data from addr to the end of its
// segment, and that size.
func (im *image) reader(addr uint64) (io.ReaderAt, uint64) {
	for _, sg := range im.segs {
		if addr >= sg.vaddr && addr-sg.vaddr < sg.filesz {
			off := addr - sg.vaddr
			return io.NewSectionReader(sg.r, int64(off), int64(sg.filesz-off)), sg.filesz - off
		}
	}
	return nil, 0
}

// read reads len(p) bytes at addr.
func (im *image) read(p []byte, addr uint64) bool {
	r, n := im.reader(addr)
	if r == nil || n < uint64(len(p)) {
		return false
	}
	got, _ := r.ReadAt(p, 0)
	return got == len(p)
}

// moduleData is what is used of runtime.moduledata.
type moduleData struct {
	addr, text, gofunc uint64
	pclnEnd            uint64 // end of the pclntable slice
}

// Word indexes in runtime.moduledata (Go 1.18 and later): pcHeader, the
// slices funcnametab, cutab, filetab, pctab, pclntable and ftab (three
// words each), findfunctab, minpc, maxpc, text, etext, then data segment
// bounds; covctrs and ecovctrs (Go 1.20) come before end, gcdata, gcbss,
// types, etypes, rodata and gofunc.
const (
	mdPCHeader    = 0
	mdFuncnametab = 1
	mdPclntable   = 13
	mdPclntabLen  = 14
	mdFtabLen     = 17
	mdMinPC       = 20
	mdMaxPC       = 21
	mdText        = 22
	mdGoFunc118   = 38
	mdGoFunc120   = 40
	mdWords       = 41
)

// findModuleData finds runtime.firstmoduledata, the moduledata whose
// pcHeader is the table at addr: in its own section (Go 1.26), by symbol,
// or by scanning the writable segments for a pointer to the table (raw, or
// as the addend of a relative relocation in PIE executables).
func findModuleData(f *elf.File, im *image, t *Table, addr uint64) *moduleData {
	rel := newRelocs(f, im)
	check := func(a uint64) *moduleData { return checkModuleData(im, rel, t, addr, a) }
	if s := f.Section(".go.module"); s != nil {
		if md := check(s.Addr); md != nil {
			return md
		}
	}
	ps := uint64(t.PtrSize)
	for _, sg := range im.segs {
		if sg.flags&elf.PF_W == 0 {
			continue
		}
		var md *moduleData
		scanSegment(sg, ps, func(off uint64, b []byte) bool {
			if len(b) >= int(ps) && word(b, ps) == addr {
				md = check(sg.vaddr + off)
			}
			return md != nil
		})
		if md != nil {
			return md
		}
	}
	for _, a := range rel.withAddend(addr) {
		if md := check(a); md != nil {
			return md
		}
	}
	if a := symbolValues(f, "runtime.firstmoduledata")["runtime.firstmoduledata"]; a != 0 {
		return check(a)
	}
	return nil
}

func word(b []byte, ps uint64) uint64 {
	if ps == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// checkModuleData reads a moduledata candidate at a and returns it when
// it describes the table t at addr.
func checkModuleData(im *image, rel *relocs, t *Table, addr, a uint64) *moduleData {
	ps := uint64(t.PtrSize)
	buf := make([]byte, mdWords*ps)
	if !im.read(buf, a) {
		return nil
	}
	w := make([]uint64, mdWords)
	for i := range w {
		w[i] = word(buf[uint64(i)*ps:], ps)
		if v, ok := rel.at(a + uint64(i)*ps); ok {
			w[i] = v
		}
	}
	n := uint64(t.NumFuncs())
	text := w[mdText]
	if w[mdPCHeader] != addr || w[mdFuncnametab] != addr+t.funcnames.off ||
		w[mdPclntable] != addr+t.pcln.off || w[mdFtabLen] != n+1 ||
		w[mdMinPC] != text+uint64(t.entries[0]) || w[mdMaxPC] != text+uint64(t.entries[n]) {
		return nil
	}
	md := &moduleData{addr: a, text: text, pclnEnd: w[mdPclntable] + w[mdPclntabLen]}
	gf := mdGoFunc118
	if t.Version >= Go120 {
		gf = mdGoFunc120
	}
	if g := w[gf]; g != 0 && w[gf-1] != 0 && g >= w[gf-1] {
		// gofunc follows rodata, which it cannot precede.
		md.gofunc = g
	}
	return md
}

// relocs reads the R_X86_64_RELATIVE relocations of a PIE executable,
// whose addends are the link-time values of pointers left zero in the
// file.
type relocs struct {
	loaded bool
	f      *elf.File
	im     *image
	byOff  map[uint64]uint64
}

func newRelocs(f *elf.File, im *image) *relocs { return &relocs{f: f, im: im} }

const rX86_64Relative = 8

func (r *relocs) load() {
	if r.loaded {
		return
	}
	r.loaded = true
	if r.f.Type != elf.ET_DYN || r.f.Machine != elf.EM_X86_64 || r.f.Class != elf.ELFCLASS64 {
		return
	}
	r.byOff = map[uint64]uint64{}
	add := func(data []byte) {
		for i := 0; i+24 <= len(data); i += 24 {
			off := binary.LittleEndian.Uint64(data[i:])
			info := binary.LittleEndian.Uint64(data[i+8:])
			if uint32(info) == rX86_64Relative {
				r.byOff[off] = binary.LittleEndian.Uint64(data[i+16:])
			}
		}
	}
	found := false
	for _, s := range r.f.Sections {
		if s.Type != elf.SHT_RELA || s.Flags&elf.SHF_ALLOC == 0 || s.Size > maxTableSize {
			continue
		}
		if data, err := readAll(s, 0, s.Size); err == nil {
			add(data)
			found = true
		}
	}
	if found {
		return
	}
	// No section headers: DT_RELA and DT_RELASZ from the dynamic segment.
	for _, p := range r.f.Progs {
		if p.Type != elf.PT_DYNAMIC || p.Filesz > 1<<20 {
			continue
		}
		dyn, err := readAll(p, 0, p.Filesz)
		if err != nil {
			return
		}
		var rela, relasz uint64
		for i := 0; i+16 <= len(dyn); i += 16 {
			switch elf.DynTag(binary.LittleEndian.Uint64(dyn[i:])) {
			case elf.DT_RELA:
				rela = binary.LittleEndian.Uint64(dyn[i+8:])
			case elf.DT_RELASZ:
				relasz = binary.LittleEndian.Uint64(dyn[i+8:])
			}
		}
		if rr, n := r.im.reader(rela); rr != nil && relasz <= n && relasz <= maxTableSize {
			if data, err := readAll(rr, 0, relasz); err == nil {
				add(data)
			}
		}
	}
}

// at returns the addend of the relative relocation at off.
func (r *relocs) at(off uint64) (uint64, bool) {
	r.load()
	v, ok := r.byOff[off]
	return v, ok
}

// withAddend returns the sorted offsets of the relative relocations whose
// addend is v.
func (r *relocs) withAddend(v uint64) []uint64 {
	r.load()
	var out []uint64
	for off, a := range r.byOff {
		if a == v {
			out = append(out, off)
		}
	}
	slices.Sort(out)
	return out
}
