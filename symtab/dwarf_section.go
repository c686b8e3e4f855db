package symtab

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// DWARF sections are read in one of two ways. A compressed section
// (SHF_COMPRESSED with zlib or zstd, or a legacy .zdebug_ section) cannot
// be read at an offset, so it is decompressed into memory on its first
// use. An uncompressed section stays in the file: small ones are read
// whole on first use, big ones (.debug_info, .debug_line, .debug_str of a
// large binary) are read on demand, the small reads through a bounded
// direct-mapped block cache. So indexing a big binary reads only unit
// headers, and a lookup reads only the units it needs.

const (
	// wholeSectionBytes is the size up to which an uncompressed section is
	// read whole on first use.
	wholeSectionBytes = 256 << 10
	// blockBytes and blockSlots size a section's block cache: at most
	// 4 MiB per section read on demand.
	blockBytes = 16 << 10
	blockSlots = 256
	// maxRatio bounds how much memory is reserved up front for a
	// compressed section per compressed byte (zlib cannot exceed ~1032);
	// more is allocated only as the decompressor actually produces it.
	maxRatio = 1100
	// maxStringBytes bounds one string read from a string section.
	maxStringBytes = 64 << 10
)

// dsection is one DWARF section of an ELF file. Its methods are not safe
// for concurrent use; Lines serializes them.
type dsection struct {
	name  string
	sec   *elf.Section // nil when the file lacks the section
	limit uint64       // bound on the decompressed size
	// fileMax is how many bytes of the section the file holds (a hostile
	// header may claim more), or -1 when the reader cannot tell.
	fileMax int64

	loaded bool
	data   []byte // the whole section, once loaded
	err    error  // why loading failed
	direct bool   // read on demand through ra
	ra     io.ReaderAt
	size   uint64 // bytes readable, once loaded or known to be direct
	// spill, when set, holds decompressed sections bigger than
	// spill.bytes in unlinked temporary files instead of in memory.
	spill  *spiller
	blocks [blockSlots]cacheBlock
}

type cacheBlock struct {
	idx  uint64 // block number + 1; 0 when empty
	data []byte // never modified once filled, so slices of it stay valid
}

// findSection returns the named DWARF section ("info" for .debug_info or
// .zdebug_info) of ef, or one with sec nil when absent or without data.
// size is the size of the file, or -1 when unknown.
func findSection(ef *elf.File, name string, limit uint64, size int64) *dsection {
	s := &dsection{name: ".debug_" + name, limit: limit, fileMax: -1}
	for _, sec := range ef.Sections {
		if sec.Name == ".debug_"+name || sec.Name == ".zdebug_"+name {
			if sec.Type != elf.SHT_NOBITS && sec.Type != elf.SHT_NULL {
				s.sec = sec
			}
			break
		}
	}
	if s.sec != nil && size >= 0 {
		s.fileMax = 0
		if s.sec.Offset < uint64(size) {
			s.fileMax = int64(min(s.sec.FileSize, uint64(size)-s.sec.Offset))
		}
	}
	return s
}

// memSection returns a section held in memory.
func memSection(name string, data []byte) *dsection {
	return &dsection{name: name, loaded: true, data: data, size: uint64(len(data))}
}

// present reports whether the file has the section.
func (s *dsection) present() bool { return s.sec != nil || (s.loaded && s.err == nil) }

// load prepares the section for reading: decompresses it or reads it
// whole, or sets it up for reads on demand.
func (s *dsection) load() error {
	if s.loaded {
		return s.err
	}
	s.loaded = true
	if s.sec == nil {
		s.err = fmt.Errorf("%s: %w", s.name, errMissingSection)
		return s.err
	}
	sec := s.sec
	compressed := sec.Flags&elf.SHF_COMPRESSED != 0 || strings.HasPrefix(sec.Name, ".zdebug")
	fileSize := sec.FileSize
	if s.fileMax >= 0 {
		fileSize = min(fileSize, uint64(s.fileMax))
	}
	if !compressed && fileSize > wholeSectionBytes && sec.ReaderAt != nil {
		s.direct, s.ra, s.size = true, sec.ReaderAt, fileSize
		return nil
	}
	rd := sec.Open()
	// For .zdebug sections debug/elf learns the size only in Open.
	want := sec.Size
	if want > s.limit {
		s.err = &FormatError{Off: int64(sec.Offset), Msg: fmt.Sprintf("%s: %d bytes, over the %d-byte limit", s.name, want, s.limit)}
		return s.err
	}
	if compressed && s.spill != nil && want > s.spill.bytes {
		if f, n, err := s.spill.write(io.LimitReader(rd, int64(want))); err == nil {
			s.direct, s.ra, s.size, s.fileMax = true, f, uint64(n), n
			return nil
		}
		rd = sec.Open() // no temporary file: start over, in memory
	}
	// Reserve what the section will decompress to, but no more than its
	// compressed bytes can expand to (zlib's bound), nor 64 MiB when the
	// file's size is unknown; beyond that the buffer grows as data comes.
	reserve := min(want, fileSize)
	if compressed {
		reserve = want
		if fileSize < s.limit/maxRatio {
			reserve = min(want, fileSize*maxRatio)
		}
	}
	if s.fileMax < 0 {
		reserve = min(reserve, 64<<20)
	}
	buf := bytes.NewBuffer(make([]byte, 0, int(min(reserve, s.limit))))
	n, err := io.Copy(buf, io.LimitReader(rd, int64(want)))
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = fmt.Errorf("read %s: %w", s.name, err)
		return s.err
	}
	if uint64(n) < want && !compressed {
		s.err = &FormatError{Off: int64(sec.Offset), Msg: fmt.Sprintf("%s truncated: %d of %d bytes", s.name, n, want)}
		return s.err
	}
	s.data = buf.Bytes()
	s.size = uint64(len(s.data))
	return nil
}

// errMissingSection is wrapped when a needed section is absent.
var errMissingSection = errors.New("section missing")

// read returns n bytes at off. The result may share memory with the
// section and must not be modified.
func (s *dsection) read(off, n uint64) ([]byte, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	if off > s.size || n > s.size-off {
		return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("%s: read of %d bytes at %#x past the end (%#x)", s.name, n, off, s.size)}
	}
	if !s.direct {
		return s.data[off : off+n : off+n], nil
	}
	if first, last := off/blockBytes, (off+n-1)/blockBytes; n > 0 && first == last {
		b, err := s.block(first)
		if err != nil {
			return nil, err
		}
		o := off - first*blockBytes
		return b[o : o+n : o+n], nil
	}
	if s.fileMax < 0 && n > blockBytes {
		return s.readGrowing(off, n)
	}
	buf := make([]byte, n)
	if err := s.readAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// readGrowing reads n bytes at off in chunks, so that a section whose
// size the file cannot confirm costs memory only for what is there.
func (s *dsection) readGrowing(off, n uint64) ([]byte, error) {
	const chunk = 1 << 20
	var buf []byte
	for uint64(len(buf)) < n {
		c := int(min(chunk, n-uint64(len(buf))))
		buf = slices.Grow(buf, c)
		if err := s.readAt(buf[len(buf):len(buf)+c], off+uint64(len(buf))); err != nil {
			return nil, err
		}
		buf = buf[:len(buf)+c]
	}
	return buf, nil
}

// readInto is read, using *buf as the destination when the bytes must be
// copied out of the file. The result may alias *buf, which stays valid
// until the next readInto with the same buf.
func (s *dsection) readInto(buf *[]byte, off, n uint64) ([]byte, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	if !s.direct || n <= blockBytes || s.fileMax < 0 || off > s.size || n > s.size-off {
		return s.read(off, n)
	}
	if uint64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if err := s.readAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// readUpTo returns up to n bytes at off, fewer at the end of the section.
func (s *dsection) readUpTo(off, n uint64) ([]byte, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	if off > s.size {
		return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("%s: offset %#x past the end (%#x)", s.name, off, s.size)}
	}
	return s.read(off, min(n, s.size-off))
}

// block returns block number i through the cache.
func (s *dsection) block(i uint64) ([]byte, error) {
	slot := &s.blocks[i%blockSlots]
	if slot.idx == i+1 {
		return slot.data, nil
	}
	start := i * blockBytes
	buf := make([]byte, min(blockBytes, s.size-start))
	if err := s.readAt(buf, start); err != nil {
		return nil, err
	}
	slot.idx, slot.data = i+1, buf
	return buf, nil
}

func (s *dsection) readAt(buf []byte, off uint64) error {
	n, err := s.ra.ReadAt(buf, int64(off))
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %s at %#x: %w", s.name, off, err)
}

// cstring returns the NUL-terminated string at off.
func (s *dsection) cstring(off uint64) ([]byte, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	if !s.direct {
		if off >= s.size {
			return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("%s: string offset %#x past the end (%#x)", s.name, off, s.size)}
		}
		d := s.data[off:]
		i := bytes.IndexByte(d[:min(len(d), maxStringBytes)], 0)
		if i < 0 {
			return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("%s: unterminated string at %#x", s.name, off)}
		}
		return d[:i:i], nil
	}
	var out []byte
	for n := uint64(0); n < maxStringBytes; {
		if off+n >= s.size {
			break
		}
		bi := (off + n) / blockBytes
		b, err := s.block(bi)
		if err != nil {
			return nil, err
		}
		chunk := b[off+n-bi*blockBytes:]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			if out == nil {
				return chunk[:i:i], nil
			}
			return append(out, chunk[:i]...), nil
		}
		out = append(out, chunk...)
		n += uint64(len(chunk))
	}
	return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("%s: unterminated string at %#x", s.name, off)}
}

// spiller writes decompressed sections to unlinked temporary files.
type spiller struct {
	dir   string // "" for os.TempDir()
	bytes uint64 // sections bigger than this are spilled
	files []*os.File
}

// write copies r to a new unlinked temporary file.
func (sp *spiller) write(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(sp.dir, "pftop-debug-*")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name()) // the data lives until the file is closed
	n, err := io.Copy(f, r)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, 0, err
	}
	sp.files = append(sp.files, f)
	return f, n, nil
}

// close closes the temporary files, which frees their space.
func (sp *spiller) close() error {
	var errs []error
	for _, f := range sp.files {
		errs = append(errs, f.Close())
	}
	sp.files = nil
	return errors.Join(errs...)
}

// memBytes returns the memory the section holds.
func (s *dsection) memBytes() int {
	n := cap(s.data)
	for i := range s.blocks {
		n += cap(s.blocks[i].data)
	}
	return n
}
