package symtab

import (
	"bufio"
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// symReadBuf is the read-ahead used to stream a symbol or string table.
const symReadBuf = 64 << 10

// builder collects function symbols from one file's tables and turns them
// into the sorted index. Everything it holds is proportional to the bytes
// it read.
type builder struct {
	order binary.ByteOrder
	class elf.Class
	size  int64 // input size in bytes, or -1 when the reader cannot tell
	secs  []secInfo
	cands []cand
	arena []byte // NUL-terminated names of cands
	rd    *bufio.Reader
}

// secInfo is what symbol filtering needs to know about a section.
type secInfo struct {
	start, end  uint64
	alloc, exec bool
}

// cand is a function symbol read from a table, before deduplication.
type cand struct {
	value, size uint64
	name        uint32 // string-table offset, then arena offset once read
	nlen        uint32 // name length in the arena; 0 when unreadable
	shndx       uint16
	info        uint8
}

func newBuilder(ef *elf.File, size int64) *builder {
	b := &builder{order: ef.ByteOrder, class: ef.Class, size: size, secs: make([]secInfo, len(ef.Sections))}
	for i, s := range ef.Sections {
		end := s.Addr + s.Size
		if end < s.Addr {
			end = math.MaxUint64
		}
		b.secs[i] = secInfo{
			start: s.Addr,
			end:   end,
			alloc: s.Flags&elf.SHF_ALLOC != 0,
			exec:  s.Flags&elf.SHF_EXECINSTR != 0,
		}
	}
	return b
}

// addTable streams one symbol table and its string table into b.
func (b *builder) addTable(ef *elf.File, sec *elf.Section) error {
	if sec.Flags&elf.SHF_COMPRESSED != 0 {
		return &FormatError{Off: int64(sec.Offset), Msg: "compressed symbol table not supported"}
	}
	link := int(sec.Link)
	if link <= 0 || link >= len(ef.Sections) {
		return &FormatError{Off: int64(sec.Offset), Msg: fmt.Sprintf("string table index %d out of range", sec.Link)}
	}
	strtab := ef.Sections[link]
	if strtab.Type == elf.SHT_NOBITS || strtab.Flags&elf.SHF_COMPRESSED != 0 {
		return &FormatError{Off: int64(strtab.Offset), Msg: "string table has no readable data"}
	}
	first := len(b.cands)
	if err := b.readSyms(sec); err != nil {
		return err
	}
	return b.readNames(strtab, b.cands[first:])
}

// readSyms appends the function symbols of sec to b.cands.
func (b *builder) readSyms(sec *elf.Section) error {
	entSize := elf.Sym64Size
	if b.class == elf.ELFCLASS32 {
		entSize = elf.Sym32Size
	}
	n := sec.Size / uint64(entSize)
	if avail := b.avail(sec); avail >= 0 {
		// Most entries are functions; reserve room for the entries the
		// input can actually hold, never what the header claims.
		b.cands = slices.Grow(b.cands, int(min(n, uint64(avail)/uint64(entSize))))
	}
	rd := b.reader(sec)
	var buf [elf.Sym64Size]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(rd, buf[:entSize]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if i == 0 {
					return &FormatError{Off: int64(sec.Offset), Msg: "symbol table truncated"}
				}
				return nil // keep what a truncated table held
			}
			return fmt.Errorf("read symbols: %w", err)
		}
		if i == 0 {
			continue // the reserved null symbol
		}
		var c cand
		if b.class == elf.ELFCLASS32 {
			c.name = b.order.Uint32(buf[0:4])
			c.value = uint64(b.order.Uint32(buf[4:8]))
			c.size = uint64(b.order.Uint32(buf[8:12]))
			c.info = buf[12]
			c.shndx = b.order.Uint16(buf[14:16])
		} else {
			c.name = b.order.Uint32(buf[0:4])
			c.info = buf[4]
			c.shndx = b.order.Uint16(buf[6:8])
			c.value = b.order.Uint64(buf[8:16])
			c.size = b.order.Uint64(buf[16:24])
		}
		if b.wanted(&c) {
			b.cands = append(b.cands, c)
		}
	}
	return nil
}

// avail returns how many bytes of sec the input holds, or -1 if unknown.
func (b *builder) avail(sec *elf.Section) int64 {
	if b.size < 0 {
		return -1
	}
	if sec.Offset >= uint64(b.size) {
		return 0
	}
	return int64(min(sec.Size, uint64(b.size)-sec.Offset))
}

// reader returns the builder's one read-ahead buffer, reset to read sec.
// The buffer is sized to the section, between 4 KiB and symReadBuf.
func (b *builder) reader(sec *elf.Section) *bufio.Reader {
	size := int(min(max(sec.Size, 4<<10), symReadBuf))
	if b.rd == nil || b.rd.Size() < size {
		b.rd = bufio.NewReaderSize(sec.Open(), size)
	} else {
		b.rd.Reset(sec.Open())
	}
	return b.rd
}

// inputSize returns the size of r when it can tell, else -1.
func inputSize(r io.ReaderAt) int64 {
	switch r := r.(type) {
	case interface{ Size() int64 }:
		return r.Size()
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := r.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return -1
}

// wanted reports whether a symbol names code: a defined function or
// indirect function in an allocated section, or an untyped label with a
// nonzero value in an executable section.
func (b *builder) wanted(c *cand) bool {
	if c.name == 0 || c.shndx == uint16(elf.SHN_UNDEF) || c.shndx >= uint16(elf.SHN_LORESERVE) ||
		int(c.shndx) >= len(b.secs) {
		return false
	}
	s := b.secs[c.shndx]
	switch elf.SymType(c.info & 0xf) {
	case elf.STT_FUNC, elf.STT_GNU_IFUNC:
		return s.alloc
	case elf.STT_NOTYPE:
		return s.alloc && s.exec && c.value != 0
	}
	return false
}

// build sorts and deduplicates the candidates, sizes unsized symbols, and
// returns the index with a compacted name arena.
func (b *builder) build() ([]entry, []byte) {
	cands := slices.DeleteFunc(b.cands, func(c cand) bool { return c.nlen == 0 })
	slices.SortFunc(cands, b.compare)

	// One winner per address; a group's size is the largest of its sizes.
	win := cands[:0]
	for i := 0; i < len(cands); {
		j, size := i+1, cands[i].size
		for ; j < len(cands) && cands[j].value == cands[i].value; j++ {
			size = max(size, cands[j].size)
		}
		w := cands[i]
		w.size = size
		win = append(win, w)
		i = j
	}

	// Unsized symbols reach the next symbol, but not past their section.
	for i := range win {
		w := &win[i]
		if w.size != 0 {
			continue
		}
		end := b.secs[w.shndx].end
		if i+1 < len(win) {
			end = min(end, win[i+1].value)
		}
		if end > w.value {
			w.size = end - w.value
		}
	}
	win = slices.DeleteFunc(win, func(c cand) bool { return c.size == 0 })

	// Copy only the names the winners use, keeping shared suffixes shared.
	// Sorting by arena offset makes every overlap one with the previous span.
	order := make([]int32, len(win))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return cmp.Compare(win[x].name, win[y].name) })
	var total, spanEnd uint64
	for _, i := range order {
		o, e := uint64(win[i].name), uint64(win[i].name)+uint64(win[i].nlen)+1
		if o >= spanEnd {
			total += e - o
		} else if e > spanEnd {
			total += e - spanEnd
		}
		spanEnd = max(spanEnd, e)
	}
	names := make([]byte, 0, total)
	index := make([]entry, len(win))
	var spanStart, spanBase uint64
	spanEnd = 0
	for _, i := range order {
		o, e := uint64(win[i].name), uint64(win[i].name)+uint64(win[i].nlen)+1
		if o >= spanEnd {
			spanStart, spanEnd, spanBase = o, e, uint64(len(names))
			names = append(names, b.arena[o:e]...)
		} else if e > spanEnd {
			names = append(names, b.arena[spanEnd:e]...)
			spanEnd = e
		}
		index[i] = entry{
			start: win[i].value,
			size:  uint32(min(win[i].size, math.MaxUint32)),
			name:  uint32(spanBase + o - spanStart),
		}
	}
	b.cands, b.arena = nil, nil
	return index, names
}

// nesting returns, for each entry whose start lies inside an earlier
// entry, the closest such entry. Following these links from the last entry
// starting at or before an address visits every entry that contains it,
// innermost first.
func nesting(index []entry) map[uint32]uint32 {
	var parent map[uint32]uint32
	var open []uint32 // entries that may still contain later starts
	for i, e := range index {
		for len(open) > 0 {
			top := index[open[len(open)-1]]
			if e.start-top.start < uint64(top.size) {
				break
			}
			open = open[:len(open)-1]
		}
		if len(open) > 0 {
			if parent == nil {
				parent = make(map[uint32]uint32)
			}
			parent[uint32(i)] = open[len(open)-1]
		}
		open = append(open, uint32(i))
	}
	return parent
}

// compare orders candidates by address and, at one address, best name
// first: global over weak over local, typed over untyped, sized over
// unsized, fewer leading underscores, shorter, then bytewise.
func (b *builder) compare(x, y cand) int {
	if c := cmp.Compare(x.value, y.value); c != 0 {
		return c
	}
	if c := cmp.Compare(bindRank(x.info), bindRank(y.info)); c != 0 {
		return c
	}
	if c := cmp.Compare(typeRank(x.info), typeRank(y.info)); c != 0 {
		return c
	}
	if c := cmp.Compare(sizeRank(x.size), sizeRank(y.size)); c != 0 {
		return c
	}
	xn, yn := b.nameOf(x), b.nameOf(y)
	if c := cmp.Compare(underscores(xn), underscores(yn)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(xn), len(yn)); c != 0 {
		return c
	}
	return bytes.Compare(xn, yn)
}

func (b *builder) nameOf(c cand) []byte {
	return b.arena[c.name : c.name+c.nlen]
}

// stbGNUUnique is STB_GNU_UNIQUE, a global binding debug/elf does not name.
const stbGNUUnique = elf.SymBind(10)

func bindRank(info uint8) int {
	switch elf.SymBind(info >> 4) {
	case elf.STB_GLOBAL, stbGNUUnique:
		return 0
	case elf.STB_WEAK:
		return 1
	}
	return 2
}

func typeRank(info uint8) int {
	if elf.SymType(info&0xf) == elf.STT_NOTYPE {
		return 1
	}
	return 0
}

func sizeRank(size uint64) int {
	if size == 0 {
		return 1
	}
	return 0
}

func underscores[S ~string | ~[]byte](name S) int {
	n := 0
	for n < len(name) && name[n] == '_' {
		n++
	}
	return n
}

// cString returns the NUL-terminated string at off in b.
func cString(b []byte, off uint32) []byte {
	if int(off) >= len(b) {
		return nil
	}
	s := b[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}
