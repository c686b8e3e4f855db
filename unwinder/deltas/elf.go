package deltas

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxSectionSize bounds how much unwind data is read from one section.
// Offsets into a section are kept in 32 bits.
const maxSectionSize = 1 << 30

// Extract reads the ELF file in r and returns its stack deltas. It recovers
// from panics inside debug/elf, which is not hardened against hostile
// input.
func Extract(r io.ReaderAt) (t *Table, err error) {
	defer func() {
		if v := recover(); v != nil {
			t, err = nil, fmt.Errorf("extract deltas: panic while parsing: %v", v)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("extract deltas: %w", err)
	}
	return ExtractELF(f)
}

// ExtractELF returns the stack deltas described by f's .eh_frame and
// .debug_frame. When both describe an address, .eh_frame wins. Without
// section headers, .eh_frame is found through PT_GNU_EH_FRAME.
//
// Damaged unwind data is handled on a best-effort basis: an FDE whose
// instructions cannot be decoded is CFAInvalid from the failing instruction
// on, and a section whose structure breaks is used up to that point. An
// error is returned only when nothing usable was found; it wraps
// ErrNoUnwindInfo when the file has no unwind sections or no FDEs.
func ExtractELF(f *elf.File) (t *Table, err error) {
	defer func() {
		if v := recover(); v != nil {
			t, err = nil, fmt.Errorf("extract deltas: panic while parsing: %v", v)
		}
	}()
	if f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("extract deltas: machine %v: %w", f.Machine, errors.ErrUnsupported)
	}
	bases := ptrBases{addrSize: 8}
	if f.Class == elf.ELFCLASS32 {
		bases.addrSize = 4
	}
	if s := f.Section(".text"); s != nil {
		bases.text = s.Addr
	}
	if s := f.Section(".got"); s != nil {
		bases.data = s.Addr
	}

	var secs []*section
	var firstErr error
	for _, find := range []func(*elf.File, ptrBases) (*section, error){ehFrame, debugFrame} {
		s, err := find(f, bases)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if s != nil {
			secs = append(secs, s)
		}
	}

	t, err = extract(secs, execRanges(f))
	if err != nil && firstErr != nil && errors.Is(err, ErrNoUnwindInfo) {
		err = firstErr
	}
	if err != nil {
		return nil, fmt.Errorf("extract deltas: %w", err)
	}
	return t, nil
}

// extract parses the sections (.eh_frame first) and builds the table. exec,
// when not empty, are the sorted executable address ranges of the file.
func extract(secs []*section, exec []addrRange) (*Table, error) {
	p := newParser(secs, exec)
	// .eh_frame's FDEs first: build relies on that order.
	for _, eh := range []bool{true, false} {
		for i, s := range secs {
			if s.eh == eh {
				p.scan(i)
			}
		}
	}
	if len(p.fdes) == 0 {
		if p.err != nil {
			return nil, p.err
		}
		return nil, ErrNoUnwindInfo
	}
	return p.build(), nil
}

// readAt reads n bytes at off from r in chunks, so that a size taken from a
// hostile header costs no more memory than the data that is really there.
func readAt(r io.ReaderAt, off int64, n uint64) ([]byte, error) {
	if n > maxSectionSize {
		return nil, fmt.Errorf("section of %d bytes is too large", n)
	}
	const chunk = 1 << 20
	var buf []byte
	for uint64(len(buf)) < n {
		k := min(n-uint64(len(buf)), chunk)
		buf = slices.Grow(buf, int(k))
		got, err := r.ReadAt(buf[len(buf):len(buf)+int(k)], off+int64(len(buf)))
		buf = buf[:len(buf)+got]
		if err != nil && !(err == io.EOF && uint64(got) == k) {
			return nil, fmt.Errorf("read at %#x: %w", off, err)
		}
	}
	return buf, nil
}

// readEntries reads CFI entries from r until a zero terminator, the end of
// r, or limit bytes, following the length fields so that only the
// entries (rounded up to a chunk) are read, not the rest of the segment.
func readEntries(r io.ReaderAt, limit uint64) ([]byte, error) {
	const chunk = 1 << 20
	var buf []byte
	eof := false
	// fill makes buf hold at least n bytes unless r or limit ends first.
	fill := func(n uint64) error {
		for !eof && uint64(len(buf)) < n && uint64(len(buf)) < limit {
			k := int(min(limit-uint64(len(buf)), chunk))
			buf = slices.Grow(buf, k)
			got, err := r.ReadAt(buf[len(buf):len(buf)+k], int64(len(buf)))
			buf = buf[:len(buf)+got]
			if err == io.EOF || (err == nil && got < k) {
				eof = true
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	var off uint64
	for {
		if err := fill(off + 12); err != nil {
			return nil, err
		}
		if uint64(len(buf)) < off+4 {
			return buf, nil
		}
		length := uint64(binary.LittleEndian.Uint32(buf[off:]))
		hdr := uint64(4)
		if length == 0 {
			return buf[:off+4], nil
		}
		if length == 0xffffffff {
			if uint64(len(buf)) < off+12 {
				return buf, nil
			}
			length, hdr = binary.LittleEndian.Uint64(buf[off+4:]), 12
		}
		next := off + hdr + length
		if next < off || next > limit {
			return buf, nil // the parser reports the bad length
		}
		off = next
	}
}

func sectionData(s *elf.Section) ([]byte, error) {
	if s.Size > maxSectionSize {
		return nil, fmt.Errorf("%s: %d bytes is too large", s.Name, s.Size)
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.Name, err)
	}
	return data, nil
}

func usable(s *elf.Section) bool {
	return s != nil && s.Type != elf.SHT_NOBITS && s.Size > 0
}

// ehFrame finds .eh_frame: by section header, else through the
// PT_GNU_EH_FRAME segment (.eh_frame_hdr). It returns nil, nil when there
// is none.
func ehFrame(f *elf.File, bases ptrBases) (*section, error) {
	if s := f.Section(".eh_frame"); usable(s) {
		data, err := sectionData(s)
		if err != nil {
			return nil, err
		}
		bases.vaddr = s.Addr
		return &section{name: ".eh_frame", data: data, eh: true, bases: bases}, nil
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_EH_FRAME {
			return ehFrameFromHdr(f, p, bases)
		}
	}
	return nil, nil
}

// ehFrameFromHdr decodes eh_frame_ptr from .eh_frame_hdr and reads
// .eh_frame from the PT_LOAD segment holding it, up to its zero terminator
// (or the segment's end).
func ehFrameFromHdr(f *elf.File, hdr *elf.Prog, bases ptrBases) (*section, error) {
	// version, eh_frame_ptr_enc, fde_count_enc, table_enc, eh_frame_ptr.
	raw, err := readAt(hdr, 0, min(hdr.Filesz, 4+16))
	if err != nil {
		return nil, fmt.Errorf("read .eh_frame_hdr: %w", err)
	}
	c := cursor{data: raw, name: ".eh_frame_hdr"}
	version := c.u8()
	enc := c.u8()
	c.u16()
	hb := bases
	hb.vaddr, hb.data = hdr.Vaddr, hdr.Vaddr
	ptr := c.pointer(enc, &hb, 0)
	if c.err != nil {
		return nil, c.err
	}
	if version != 1 {
		return nil, &FormatError{Section: ".eh_frame_hdr", Msg: "unsupported version"}
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || ptr < p.Vaddr || ptr-p.Vaddr >= p.Filesz {
			continue
		}
		delta := ptr - p.Vaddr
		data, err := readEntries(io.NewSectionReader(p, int64(delta), int64(p.Filesz-delta)), min(p.Filesz-delta, maxSectionSize))
		if err != nil {
			return nil, fmt.Errorf("read .eh_frame: %w", err)
		}
		bases.vaddr = ptr
		return &section{name: ".eh_frame", data: data, eh: true, bases: bases}, nil
	}
	return nil, &FormatError{Section: ".eh_frame_hdr", Msg: "eh_frame_ptr outside any PT_LOAD"}
}

// debugFrame reads .debug_frame (or the older compressed .zdebug_frame).
func debugFrame(f *elf.File, bases ptrBases) (*section, error) {
	s := f.Section(".debug_frame")
	if !usable(s) {
		s = f.Section(".zdebug_frame")
	}
	if !usable(s) {
		return nil, nil
	}
	data, err := sectionData(s)
	if err != nil {
		return nil, err
	}
	bases.vaddr = s.Addr
	return &section{name: ".debug_frame", data: data, bases: bases}, nil
}

// execRanges returns the sorted, merged address ranges of the executable
// PT_LOAD segments.
func execRanges(f *elf.File) []addrRange {
	var rs []addrRange
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Memsz > 0 && p.Vaddr+p.Memsz > p.Vaddr {
			rs = append(rs, addrRange{p.Vaddr, p.Vaddr + p.Memsz})
		}
	}
	slices.SortFunc(rs, func(a, b addrRange) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}
