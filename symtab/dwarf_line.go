package symtab

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"slices"
)

// The line-number program of one unit (.debug_line, DWARF 2 to 5). The
// first lookup in a unit runs the whole program once to index its
// sequences: each is a run of rows that starts from a reset state, so it
// can be run again alone. A lookup then runs only the sequence holding
// its address, into rows sorted by address.

// Standard and extended line-number opcodes, and DWARF 5 entry content
// types.
const (
	lnsCopy             = 1
	lnsAdvancePC        = 2
	lnsAdvanceLine      = 3
	lnsSetFile          = 4
	lnsConstAddPC       = 8
	lnsFixedAdvancePC   = 9
	lneEndSequence      = 1
	lneSetAddress       = 2
	lneDefineFile       = 3
	lnctPath            = 1
	lnctDirectoryIndex  = 2
	maxLineHeaderFormat = 64      // entry format pairs in a DWARF 5 header
	maxFileEntries      = 1 << 20 // directories or files in one header
)

// noFile marks a row that ends a sequence: no line is known from its
// address on.
const noFile = math.MaxUint32

// lineIndex is a unit's line program: its file names, its header, and
// where each of its sequences lies.
type lineIndex struct {
	files []string // by the unit's file number (0 is the primary file in DWARF 5, unused before)
	hdr   lineHeader
	seqs  segments  // address -> sequence
	spans []seqSpan // by sequence

	dirs      []string // include directories, while the program runs (DW_LNE_define_file)
	pathBytes int      // bytes of names built, against maxPathBytes
}

// seqSpan is where a sequence's opcodes lie in .debug_line: [off, end).
type seqSpan struct {
	off, end uint64
}

// lineRows is one sequence run into rows sorted by address, each valid up
// to the next; the last ends the sequence.
type lineRows struct {
	addr []uint64
	pos  []linePos
	size int
}

type linePos struct {
	file, line uint32
}

// find returns the file number and line at addr.
func (r *lineRows) find(addr uint64) (uint32, int, bool) {
	i, _ := slices.BinarySearch(r.addr, addr+1)
	if i == 0 {
		return 0, 0, false
	}
	p := r.pos[i-1]
	if p.file == noFile {
		return 0, 0, false
	}
	return p.file, int(p.line), true
}

// file returns the name of file number i, or "".
func (t *lineIndex) file(i uint32) string {
	if uint64(i) < uint64(len(t.files)) {
		return t.files[i]
	}
	return ""
}

func (t *lineIndex) memBytes() int {
	n := cap(t.files)*16 + t.seqs.memBytes() + cap(t.spans)*16 + len(t.hdr.stdLengths)
	for _, f := range t.files {
		n += len(f)
	}
	return n
}

// lineHeader is the part of a line program header the program needs.
type lineHeader struct {
	version     uint16
	minInst     uint8
	maxOps      uint8
	defaultStmt bool
	lineBase    int8
	lineRange   uint8
	opcodeBase  uint8
	stdLengths  []uint8 // a copy, not the section's bytes
}

// indexLines reads unit u's line program header and runs the program to
// find its sequences.
func (d *dwarfData) indexLines(u *unit) (lineIndex, error) {
	var t lineIndex
	if !u.hasLine {
		return t, nil
	}
	hdr, err := d.line.readUpTo(u.lineOff, 12)
	if err != nil {
		return t, err
	}
	b := newDbuf(d.line.name, u.lineOff, hdr, d.order)
	length, _ := b.unitLength()
	if b.err != nil {
		return t, b.err
	}
	end := b.pos() + length
	if end < b.pos() || end > d.line.size {
		return t, &FormatError{Off: -1, Msg: fmt.Sprintf("%s+%#x: line program runs past the section", d.line.name, u.lineOff)}
	}
	data, err := d.line.read(u.lineOff, end-u.lineOff)
	if err != nil {
		return t, err
	}
	b = newDbuf(d.line.name, u.lineOff, data, d.order)
	t.hdr, _ = d.lineHeader(&b, u, &t)
	if b.err != nil {
		return t, b.err
	}
	t.hdr.stdLengths = slices.Clone(t.hdr.stdLengths)
	t.indexSequences(&b)
	t.dirs = nil
	return t, b.err
}

// lineHeader decodes the header at the start of b, filling t.files, and
// leaves b at the start of the program. The returned unit describes the
// program's own format (64-bit or not, address size) for decoding forms.
func (d *dwarfData) lineHeader(b *dbuf, u *unit, t *lineIndex) (lineHeader, unit) {
	var h lineHeader
	lu := *u
	_, lu.dwarf64 = b.unitLength()
	h.version = b.u16()
	if h.version < 2 || h.version > 5 {
		b.fail(fmt.Sprintf("unsupported line table version %d", h.version))
		return h, lu
	}
	if h.version >= 5 {
		lu.asize = b.u8()
		b.u8() // segment selector size
		switch lu.asize {
		case 1, 2, 4, 8:
		default:
			b.fail(fmt.Sprintf("unsupported address size %d", lu.asize))
			return h, lu
		}
	}
	hlen := b.offset(lu.dwarf64)
	progStart := uint64(b.off) + hlen
	if hlen > uint64(b.left()) {
		b.failEOF("line header longer than the program")
		return h, lu
	}
	h.minInst = b.u8()
	h.maxOps = 1
	if h.version >= 4 {
		h.maxOps = b.u8()
	}
	h.defaultStmt = b.u8() != 0
	h.lineBase = int8(b.u8())
	h.lineRange = b.u8()
	h.opcodeBase = b.u8()
	if h.lineRange == 0 || h.maxOps == 0 {
		b.fail("line_range or maximum_operations_per_instruction is zero")
		return h, lu
	}
	if h.opcodeBase > 0 {
		h.stdLengths = b.bytes(uint64(h.opcodeBase - 1))
	}
	if h.version >= 5 {
		d.fileTableV5(b, &lu, t)
	} else {
		fileTableV4(b, u.compDir, t)
	}
	if b.err == nil {
		b.off = int(progStart)
	}
	return h, lu
}

// fileTableV4 decodes the include_directories and file_names of a DWARF
// 2-4 header. Directory 0 is the compilation directory; file numbers
// start at 1.
func fileTableV4(b *dbuf, compDir string, t *lineIndex) {
	dirs := []string{compDir}
	for b.err == nil && len(dirs) < maxFileEntries {
		s := b.cstr()
		if len(s) == 0 {
			break
		}
		dirs = append(dirs, t.joinDir(compDir, s))
	}
	t.files = append(t.files[:0], "")
	for b.err == nil && len(t.files) < maxFileEntries {
		name := b.cstr()
		if len(name) == 0 {
			break
		}
		dir := b.uleb()
		b.uleb() // modification time
		b.uleb() // length
		t.files = append(t.files, t.joinFile(dirs, dir, name))
	}
	t.files = slices.Clip(t.files)
	t.dirs = dirs // DW_LNE_define_file may add files
}

// fileTableV5 decodes the directory and file name tables of a DWARF 5
// header, whose entries are described by format lists.
func (d *dwarfData) fileTableV5(b *dbuf, lu *unit, t *lineIndex) {
	var dirs []string
	readTable := func(isFile bool) {
		nfmt := int(b.u8())
		if nfmt > maxLineHeaderFormat {
			b.fail("too many entry formats")
			return
		}
		fmts := make([][2]uint64, nfmt)
		for i := range fmts {
			fmts[i] = [2]uint64{b.uleb(), b.uleb()}
		}
		n := b.uleb()
		if n > maxFileEntries || n > uint64(b.left()) {
			b.fail("too many directory or file entries")
			return
		}
		for range n {
			var name []byte
			var dir uint64
			for _, f := range fmts {
				v := readAttr(b, lu, uint16(min(f[1], 0xffff)), 0)
				switch f[0] {
				case lnctPath:
					if s, err := d.attrString(lu, v); err == nil {
						name = s
					}
				case lnctDirectoryIndex:
					dir = v.u
				}
			}
			if b.err != nil {
				return
			}
			if isFile {
				t.files = append(t.files, t.joinFile(dirs, dir, name))
			} else if len(dirs) == 0 {
				// Directory 0 is the compilation directory itself.
				dirs = append(dirs, t.joinDir("", name))
			} else {
				dirs = append(dirs, t.joinDir(dirs[0], name))
			}
		}
	}
	readTable(false)
	readTable(true)
	t.files = slices.Clip(t.files)
}

// maxPathBytes bounds the bytes of directory and file names one line
// table builds: names are joined from shared strings, so a small hostile
// header could otherwise make huge ones.
const maxPathBytes = 16 << 20

// affords charges n bytes of names to t, reporting false once over the
// bound.
func (t *lineIndex) affords(n int) bool {
	if t.pathBytes+n > maxPathBytes {
		return false
	}
	t.pathBytes += n
	return true
}

// joinDir makes an include directory absolute against base.
func (t *lineIndex) joinDir(base string, dir []byte) string {
	if !t.affords(len(base) + len(dir) + 1) {
		return ""
	}
	if len(dir) > 0 && dir[0] == '/' || base == "" {
		return string(dir)
	}
	return path.Join(base, string(dir))
}

// joinFile names file name in directory number dir.
func (t *lineIndex) joinFile(dirs []string, dir uint64, name []byte) string {
	d := ""
	if dir < uint64(len(dirs)) {
		d = dirs[dir]
	}
	if len(name) == 0 || !t.affords(len(d)+len(name)+1) {
		return ""
	}
	if len(name) > 0 && name[0] == '/' || d == "" {
		return path.Clean(string(name))
	}
	return path.Join(d, string(name))
}

// maxSeqRows bounds the rows kept of one sequence.
const maxSeqRows = 1 << 24

// lineRow is a row of a sequence being run.
type lineRow struct {
	addr uint64
	pos  linePos
}

// lineState is the line-number state machine.
type lineState struct {
	h          *lineHeader
	addr       uint64
	opIndex    uint64
	file, line int64
}

func (s *lineState) reset() {
	s.addr, s.opIndex, s.file, s.line = 0, 0, 1, 1
}

func (s *lineState) advance(opAdvance uint64) {
	h := s.h
	if h.maxOps == 1 {
		s.addr += uint64(h.minInst) * opAdvance
		return
	}
	ops := s.opIndex + opAdvance
	s.addr += uint64(h.minInst) * (ops / uint64(h.maxOps))
	s.opIndex = ops % uint64(h.maxOps)
}

// runSequence runs opcodes from b until the end of a sequence or of the
// data, calling row for each row (end set for the one ending the
// sequence). It returns whether the sequence ended. When t is not nil,
// DW_LNE_define_file adds to its files.
func runSequence(b *dbuf, h *lineHeader, t *lineIndex, row func(addr uint64, file, line int64, end bool)) bool {
	s := lineState{h: h}
	s.reset()
	for b.err == nil && b.left() > 0 {
		op := b.u8()
		switch {
		case op >= h.opcodeBase:
			adj := uint64(op - h.opcodeBase)
			s.advance(adj / uint64(h.lineRange))
			s.line += int64(h.lineBase) + int64(adj%uint64(h.lineRange))
			row(s.addr, s.file, s.line, false)
		case op == 0:
			n := b.uleb()
			if n == 0 || n > uint64(b.left()) {
				b.fail("bad extended opcode length")
				return false
			}
			start := b.off
			switch sub := b.u8(); sub {
			case lneEndSequence:
				row(s.addr, s.file, s.line, true)
				b.off = start + int(n)
				return true
			case lneSetAddress:
				switch n - 1 {
				case 1, 2, 4, 8:
					s.addr, s.opIndex = b.sized(int(n-1)), 0
				}
			case lneDefineFile:
				name := b.cstr()
				dir := b.uleb()
				if t != nil && len(t.files) < maxFileEntries {
					t.files = append(t.files, t.joinFile(t.dirs, dir, name))
				}
			}
			b.off = start + int(n)
		case op == lnsCopy:
			row(s.addr, s.file, s.line, false)
		case op == lnsAdvancePC:
			s.advance(b.uleb())
		case op == lnsAdvanceLine:
			s.line += b.sleb()
		case op == lnsSetFile:
			s.file = int64(min(b.uleb(), math.MaxInt64))
		case op == lnsConstAddPC:
			s.advance(uint64(255-h.opcodeBase) / uint64(h.lineRange))
		case op == lnsFixedAdvancePC:
			s.addr += uint64(b.u16())
			s.opIndex = 0
		default:
			// Skip the operands of other standard opcodes by count.
			if int(op)-1 < len(h.stdLengths) {
				for range h.stdLengths[op-1] {
					b.uleb()
				}
			}
		}
	}
	return false
}

// indexSequences runs the program in b and records its sequences. It
// drops sequences at address 0 (code of discarded sections), sequences
// whose addresses decrease, and any that overlap one that starts
// earlier.
func (t *lineIndex) indexSequences(b *dbuf) {
	type seq struct {
		span     seqSpan
		lo, hi   uint64
		rows     int
		disorder bool
	}
	var seqs []seq
	for b.err == nil && b.left() > 0 {
		sq := seq{span: seqSpan{off: b.pos()}}
		first, last := true, uint64(0)
		ended := runSequence(b, &t.hdr, t, func(addr uint64, _, _ int64, end bool) {
			if first {
				sq.lo, first = addr, false
			}
			if addr < last {
				sq.disorder = true
			}
			last = addr
			sq.rows++
		})
		if !ended {
			break
		}
		sq.span.end, sq.hi = b.pos(), last
		if sq.rows > 1 && sq.lo != 0 && sq.lo < sq.hi && !sq.disorder {
			seqs = append(seqs, sq)
		}
	}
	if b.err != nil && len(seqs) > 0 {
		// Keep the complete sequences of a program cut short.
		b.err, b.eof = nil, false
	}
	slices.SortFunc(seqs, func(x, y seq) int { return cmp.Compare(x.lo, y.lo) })
	items := make([]rangeItem, 0, len(seqs))
	var end uint64
	for _, sq := range seqs {
		if sq.lo < end {
			continue
		}
		items = append(items, rangeItem{pcRange: pcRange{sq.lo, sq.hi}, id: int32(len(t.spans))})
		t.spans = append(t.spans, sq.span)
		end = sq.hi
	}
	t.spans = slices.Clip(t.spans)
	t.seqs = buildSegments(items)
}

// seqRows runs sequence i of unit u's line program into rows: the last
// row at an address wins, and rows that repeat the position before them
// are dropped.
func (d *dwarfData) seqRows(t *lineIndex, i int32) *lineRows {
	r := &lineRows{}
	span := t.spans[i]
	data, err := d.line.read(span.off, span.end-span.off)
	if err != nil {
		r.size = 64
		return r
	}
	b := newDbuf(d.line.name, span.off, data, d.order)
	var rows []lineRow
	runSequence(&b, &t.hdr, nil, func(addr uint64, file, line int64, end bool) {
		p := linePos{file: uint32(min(max(file, 0), noFile-1)), line: uint32(min(max(line, 0), math.MaxUint32))}
		if end {
			p.file = noFile
		}
		if n := len(rows); n > 0 {
			last := &rows[n-1]
			switch {
			case addr == last.addr:
				last.pos = p
				if n > 1 && rows[n-2].pos == p {
					rows = rows[:n-1]
				}
				return
			case last.pos == p:
				return
			}
		}
		if len(rows) < maxSeqRows {
			rows = append(rows, lineRow{addr, p})
		}
	})
	r.addr, r.pos = make([]uint64, len(rows)), make([]linePos, len(rows))
	for j, row := range rows {
		r.addr[j], r.pos[j] = row.addr, row.pos
	}
	r.size = 64 + len(rows)*16
	return r
}
