package deltas

import "slices"

// section is one .eh_frame or .debug_frame, already read into memory.
type section struct {
	name string
	data []byte
	// eh selects the .eh_frame conventions: CIE id 0, FDEs point back to
	// their CIE relative to the pointer's own position, a zero length ends
	// the section.
	eh    bool
	bases ptrBases
}

// cie is a parsed Common Information Entry.
type cie struct {
	codeAlign uint64
	dataAlign int64
	fdeEnc    uint8
	addrSize  int
	segSize   int
	aug       bool // 'z': FDEs carry augmentation data
	signal    bool // 'S': signal trampoline
	init      state
	err       *FormatError // set when the CIE is unusable
}

// fde is a parsed FDE header: where its instructions are and which part of
// its address range it describes in the final table.
type fde struct {
	lo, hi         uint64 // the window this FDE fills in the table
	begin          uint64 // initial location
	insOff, insEnd uint32 // instructions, as offsets in the section
	cie            uint32 // index into parser.cies
	sec            uint8  // index into parser.secs
}

type cieKey struct {
	sec uint8
	off uint64
}

// addrRange is a half-open address range [lo, hi).
type addrRange struct{ lo, hi uint64 }

// parser collects CIEs and FDEs from every section of one file.
type parser struct {
	secs  []*section
	cies  []cie
	byOff map[cieKey]uint32
	fdes  []fde
	// exec, when not empty, are the executable PT_LOAD ranges: FDEs that
	// start outside them (discarded functions, garbage) are dropped.
	exec []addrRange
	// err is the first problem found; entries after it in the same section
	// may be lost, but everything parsed so far is kept.
	err error
	m   machine
}

func newParser(secs []*section, exec []addrRange) *parser {
	return &parser{secs: secs, exec: exec, byOff: make(map[cieKey]uint32)}
}

func (p *parser) note(err *FormatError) {
	if p.err == nil && err != nil {
		p.err = err
	}
}

// entryHeader reads an entry's length and CIE id (or CIE pointer). It
// returns a cursor limited to the entry, the offset of the id field, the
// id, whether the entry uses 64-bit DWARF and the offset where the entry
// ends. A zero-length entry has end == idOff. Errors are left in c.
func entryHeader(c *cursor) (body cursor, idOff int, id uint64, is64 bool, end int) {
	length := uint64(c.u32())
	if length == 0xffffffff {
		length = c.u64()
		is64 = true
	}
	if c.err != nil {
		return cursor{}, 0, 0, false, len(c.data)
	}
	if length > uint64(c.remaining()) {
		c.fail("entry length past end of section")
		return cursor{}, 0, 0, false, len(c.data)
	}
	end = c.off + int(length)
	body = cursor{data: c.data[:end], off: c.off, name: c.name}
	idOff = body.off
	if length == 0 {
		return body, idOff, 0, is64, end
	}
	if is64 {
		id = body.u64()
	} else {
		id = uint64(body.u32())
	}
	return body, idOff, id, is64, end
}

func isCIE(s *section, id uint64, is64 bool) bool {
	if s.eh {
		return id == 0
	}
	if is64 {
		return id == ^uint64(0)
	}
	return id == 0xffffffff
}

// scan walks one section and records its FDEs.
func (p *parser) scan(si int) {
	s := p.secs[si]
	// Typical FDEs take 20 to 50 bytes: size the list once.
	p.fdes = slices.Grow(p.fdes, len(s.data)/32)
	c := cursor{data: s.data, name: s.name}
	for c.err == nil && c.remaining() > 0 {
		start := c.off
		body, idOff, id, is64, end := entryHeader(&c)
		if c.err != nil {
			break
		}
		if end == idOff { // zero length
			if s.eh {
				return // terminator
			}
			continue
		}
		c.off = end
		if body.err != nil {
			p.note(body.err)
			continue
		}
		if isCIE(s, id, is64) {
			continue // parsed when an FDE refers to it
		}
		cieOff := id
		if s.eh {
			if id > uint64(idOff) {
				p.note(&FormatError{Section: s.name, Off: uint64(start), Msg: "CIE pointer before section start"})
				continue
			}
			cieOff = uint64(idOff) - id
		}
		p.parseFDE(si, &body, cieOff)
	}
	p.note(c.err)
}

// cieAt returns the index of the CIE at off in section si, parsing it the
// first time. ok is false when it is unusable.
func (p *parser) cieAt(si int, off uint64) (uint32, bool) {
	key := cieKey{uint8(si), off}
	if i, ok := p.byOff[key]; ok {
		return i, p.cies[i].err == nil
	}
	ci := p.parseCIE(si, off)
	p.cies = append(p.cies, ci)
	i := uint32(len(p.cies) - 1)
	p.byOff[key] = i
	if ci.err != nil {
		p.note(ci.err)
		return i, false
	}
	return i, true
}

func (p *parser) parseCIE(si int, off uint64) cie {
	s := p.secs[si]
	ci := cie{addrSize: s.bases.addrSize, fdeEnc: peAbsptr}
	if off >= uint64(len(s.data)) {
		ci.err = &FormatError{Section: s.name, Off: off, Msg: "CIE pointer out of range"}
		return ci
	}
	c := cursor{data: s.data, off: int(off), name: s.name}
	body, idOff, id, is64, end := entryHeader(&c)
	if c.err != nil {
		ci.err = c.err
		return ci
	}
	if end == idOff || !isCIE(s, id, is64) {
		ci.err = &FormatError{Section: s.name, Off: off, Msg: "FDE points to an entry that is not a CIE"}
		return ci
	}
	version := body.u8()
	if version != 1 && version != 3 && version != 4 {
		body.fail("unsupported CIE version")
	}
	augStr := body.cstring()
	if len(augStr) >= 2 && augStr[0] == 'e' && augStr[1] == 'h' {
		body.bytes(uint64(ci.addrSize)) // old GCC "eh": eh_data pointer
		augStr = augStr[2:]
	}
	if version >= 4 {
		ci.addrSize = int(body.u8())
		ci.segSize = int(body.u8())
	}
	if ci.addrSize != 4 && ci.addrSize != 8 {
		body.fail("unsupported address size")
	}
	ci.codeAlign = body.uleb()
	ci.dataAlign = body.sleb()
	var ra uint64
	if version == 1 {
		ra = uint64(body.u8())
	} else {
		ra = body.uleb()
	}
	if ra != regRA && body.err == nil {
		body.fail("return address column is not 16")
	}
	switch {
	case len(augStr) > 0 && augStr[0] == 'z':
		ci.aug = true
		p.parseAug(&ci, &body, augStr[1:], s)
	default:
		// Without 'z' only letters that carry no data can be skipped; gas
		// writes "S" in .debug_frame for signal frames.
		for _, l := range augStr {
			switch l {
			case 'S':
				ci.signal = true
			case 'B', 'G':
			default:
				body.fail("unknown augmentation")
			}
		}
	}
	if body.err != nil {
		ci.err = body.err
		return ci
	}
	// Initial instructions: no row is emitted, advances are meaningless.
	p.m.cie = &ci
	p.m.bases = s.bases
	p.m.st = state{}
	p.m.stack = p.m.stack[:0]
	ci.init = state{} // restore before any rule is set means unspecified
	p.m.run(&body, 0, ^uint64(0), nil)
	if body.err != nil {
		ci.err = body.err
		return ci
	}
	ci.init = p.m.st
	return ci
}

// parseAug reads the augmentation data of a "z" CIE. Unknown letters stop
// the parse; the length prefix lets the rest be skipped.
func (p *parser) parseAug(ci *cie, body *cursor, letters []byte, s *section) {
	n := body.uleb()
	data := body.bytes(n)
	if body.err != nil {
		return
	}
	base := body.off - len(data) // offset of data in the section
	c := cursor{data: s.data[:base+len(data)], off: base, name: s.name}
	b := s.bases
	b.addrSize = ci.addrSize
	for _, l := range letters {
		switch l {
		case 'R':
			ci.fdeEnc = c.u8()
		case 'P':
			c.pointer(c.u8(), &b, 0)
		case 'L':
			c.u8()
		case 'S':
			ci.signal = true
		case 'B', 'G':
			// AArch64 BTI / MTE markers: no data.
		default:
			return
		}
	}
	if c.err != nil {
		body.fail("bad augmentation data: " + c.err.Msg)
	}
}

// parseFDE reads an FDE header and records it when it is usable.
func (p *parser) parseFDE(si int, body *cursor, cieOff uint64) {
	s := p.secs[si]
	ciIdx, ok := p.cieAt(si, cieOff)
	if !ok {
		return
	}
	ci := &p.cies[ciIdx]
	b := s.bases
	b.addrSize = ci.addrSize
	if ci.segSize > 0 {
		body.bytes(uint64(ci.segSize))
	}
	begin := body.pointer(ci.fdeEnc, &b, 0)
	size := b.mask(body.encValue(ci.fdeEnc, ci.addrSize))
	if ci.aug {
		body.bytes(body.uleb())
	}
	if body.err != nil {
		p.note(body.err)
		return
	}
	end := begin + size
	if size == 0 || end < begin || (b.addrSize == 4 && end > 0xffffffff) {
		return
	}
	if len(p.exec) > 0 {
		r, ok := findRange(p.exec, begin)
		if !ok {
			return
		}
		end = min(end, r.hi)
	}
	p.fdes = append(p.fdes, fde{
		lo: begin, hi: end, begin: begin,
		insOff: uint32(body.off), insEnd: uint32(len(body.data)),
		cie: ciIdx, sec: uint8(si),
	})
}

// findRange returns the range in rs (sorted, disjoint) that contains a.
func findRange(rs []addrRange, a uint64) (addrRange, bool) {
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if rs[mid].hi <= a {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(rs) && rs[lo].lo <= a {
		return rs[lo], true
	}
	return addrRange{}, false
}
