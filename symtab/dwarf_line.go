package symtab

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"slices"
)

// The line-number program of one unit (.debug_line, DWARF 2 to 5), run
// into a sorted table of rows.

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

// lineTable maps addresses to positions: rows sorted by address, each
// valid up to the next. Sequences are disjoint.
type lineTable struct {
	addr  []uint64
	pos   []linePos
	files []string // by the unit's file number (0 is the primary file in DWARF 5, unused before)
	dirs  []string // include directories, while the program runs (DW_LNE_define_file)
	// pathBytes counts the bytes of names built, against maxPathBytes.
	pathBytes int
}

type linePos struct {
	file, line uint32
}

// find returns the file and line at addr.
func (t *lineTable) find(addr uint64) (string, int, bool) {
	i, _ := slices.BinarySearch(t.addr, addr+1)
	if i == 0 {
		return "", 0, false
	}
	p := t.pos[i-1]
	if p.file == noFile {
		return "", 0, false
	}
	return t.file(p.file), int(p.line), true
}

// file returns the name of file number i, or "".
func (t *lineTable) file(i uint32) string {
	if uint64(i) < uint64(len(t.files)) {
		return t.files[i]
	}
	return ""
}

func (t *lineTable) memBytes() int {
	n := cap(t.addr)*8 + cap(t.pos)*8 + cap(t.files)*16
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
	stdLengths  []uint8
}

// parseLines reads and runs the line program of unit u.
func (d *dwarfData) parseLines(u *unit) (lineTable, error) {
	var t lineTable
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
	h, _ := d.lineHeader(&b, u, &t)
	if b.err != nil {
		return t, b.err
	}
	d.runLineProgram(&b, &h, &t)
	t.dirs = nil
	return t, b.err
}

// lineHeader decodes the header at the start of b, filling t.files, and
// leaves b at the start of the program. The returned unit describes the
// program's own format (64-bit or not, address size) for decoding forms.
func (d *dwarfData) lineHeader(b *dbuf, u *unit, t *lineTable) (lineHeader, unit) {
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
func fileTableV4(b *dbuf, compDir string, t *lineTable) {
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
func (d *dwarfData) fileTableV5(b *dbuf, lu *unit, t *lineTable) {
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
				v := readAttr(b, lu, uint32(f[1]), 0)
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
func (t *lineTable) affords(n int) bool {
	if t.pathBytes+n > maxPathBytes {
		return false
	}
	t.pathBytes += n
	return true
}

// joinDir makes an include directory absolute against base.
func (t *lineTable) joinDir(base string, dir []byte) string {
	if !t.affords(len(base) + len(dir) + 1) {
		return ""
	}
	if len(dir) > 0 && dir[0] == '/' || base == "" {
		return string(dir)
	}
	return path.Join(base, string(dir))
}

// joinFile names file name in directory number dir.
func (t *lineTable) joinFile(dirs []string, dir uint64, name []byte) string {
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

// lineRow is a row of the line table being built.
type lineRow struct {
	addr uint64
	pos  linePos
}

// runLineProgram runs the program in b and fills t's rows.
func (d *dwarfData) runLineProgram(b *dbuf, h *lineHeader, t *lineTable) {
	var seqs [][]lineRow
	var seq []lineRow
	var addr uint64
	var opIndex uint64
	file, line := uint64(1), int64(1)
	reset := func() {
		addr, opIndex, file, line = 0, 0, 1, 1
	}
	emit := func(end bool) {
		p := linePos{file: uint32(min(file, noFile-1)), line: uint32(min(max(line, 0), math.MaxUint32))}
		if end {
			p.file = noFile
		}
		if n := len(seq); n > 0 {
			last := &seq[n-1]
			switch {
			case addr < last.addr:
				// Addresses must not decrease within a sequence; end it.
				seqs, seq = append(seqs, append(seq, lineRow{last.addr, linePos{file: noFile}})), nil
			case addr == last.addr:
				// The last row at an address wins.
				last.pos = p
				if n > 1 && seq[n-2].pos == p {
					seq = seq[:n-1]
				}
				return
			case last.pos == p:
				return
			}
		}
		seq = append(seq, lineRow{addr, p})
	}
	advance := func(opAdvance uint64) {
		if h.maxOps == 1 {
			addr += uint64(h.minInst) * opAdvance
			return
		}
		ops := opIndex + opAdvance
		addr += uint64(h.minInst) * (ops / uint64(h.maxOps))
		opIndex = ops % uint64(h.maxOps)
	}
	for b.err == nil && b.left() > 0 {
		op := b.u8()
		switch {
		case op >= h.opcodeBase:
			adj := uint64(op - h.opcodeBase)
			advance(adj / uint64(h.lineRange))
			line += int64(h.lineBase) + int64(adj%uint64(h.lineRange))
			emit(false)
		case op == 0:
			n := b.uleb()
			if n == 0 || n > uint64(b.left()) {
				b.fail("bad extended opcode length")
				break
			}
			start := b.off
			switch sub := b.u8(); sub {
			case lneEndSequence:
				emit(true)
				if len(seq) > 1 {
					seqs = append(seqs, seq)
				}
				seq = nil
				reset()
			case lneSetAddress:
				switch n - 1 {
				case 1, 2, 4, 8:
					addr, opIndex = b.sized(int(n-1)), 0
				}
			case lneDefineFile:
				name := b.cstr()
				dir := b.uleb()
				if len(t.files) < maxFileEntries {
					t.files = append(t.files, t.joinFile(t.dirs, dir, name))
				}
			}
			b.off = start + int(n)
			if b.off > len(b.data) {
				b.failEOF("extended opcode runs past the program")
			}
		case op == lnsCopy:
			emit(false)
		case op == lnsAdvancePC:
			advance(b.uleb())
		case op == lnsAdvanceLine:
			line += b.sleb()
		case op == lnsSetFile:
			file = b.uleb()
		case op == lnsConstAddPC:
			advance(uint64(255-h.opcodeBase) / uint64(h.lineRange))
		case op == lnsFixedAdvancePC:
			addr += uint64(b.u16())
			opIndex = 0
		default:
			// Skip the operands of other standard opcodes by count.
			if int(op)-1 < len(h.stdLengths) {
				for range h.stdLengths[op-1] {
					b.uleb()
				}
			}
		}
	}
	if b.err != nil && len(seqs) > 0 {
		// Keep the complete sequences of a program cut short.
		b.err, b.eof = nil, false
	}
	buildLineRows(seqs, t)
}

// buildLineRows sorts the sequences and joins them into t's rows. It drops
// sequences at address 0 (code of discarded sections) and any that
// overlap one that starts earlier.
func buildLineRows(seqs [][]lineRow, t *lineTable) {
	seqs = slices.DeleteFunc(seqs, func(s []lineRow) bool { return s[0].addr == 0 })
	slices.SortFunc(seqs, func(x, y []lineRow) int { return cmp.Compare(x[0].addr, y[0].addr) })
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	t.addr, t.pos = make([]uint64, 0, n), make([]linePos, 0, n)
	var end uint64
	for _, s := range seqs {
		if s[0].addr < end {
			continue
		}
		for _, r := range s {
			t.addr = append(t.addr, r.addr)
			t.pos = append(t.pos, r.pos)
		}
		end = s[len(s)-1].addr
	}
}
