package symtab

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Limits on what one file's DWARF may make this package hold or do.
const (
	// defaultMaxSectionBytes bounds one decompressed debug section.
	defaultMaxSectionBytes = 1 << 30
	// maxUnits bounds the units indexed in one file.
	maxUnits = 1 << 22
	// abbrevCacheBytes bounds the decoded abbreviation tables kept, until
	// Lines sets its own bound.
	abbrevCacheBytes = 8 << 20
	// maxRefDepth bounds the DW_AT_abstract_origin/specification chain
	// followed to name a function.
	maxRefDepth = 8
)

// dwarfData is the DWARF of one ELF file: its sections, read lazily, and
// the headers of its units. Its methods are not safe for concurrent use.
type dwarfData struct {
	order binary.ByteOrder

	// The sections, read on first use.
	info, abbrev, str, lineStr, line, ranges, rnglists, addr, strOffsets, aranges *dsection

	units []unit // sorted by offset

	abbrevs    lru[uint64, *abbrevTable]
	abbrevWork uint64 // bytes of abbreviations decoded

	alt       *dwarfData // the supplementary (dwz) file's DWARF, or nil
	unitsRead bool       // readUnits has run
}

// newDwarfData finds the DWARF sections of ef, a file of size bytes (-1
// when unknown). It fails with ErrNoDWARF when the file has no
// .debug_info.
func newDwarfData(ef *elf.File, limit uint64, size int64, spill *spiller) (*dwarfData, error) {
	d := &dwarfData{order: ef.ByteOrder}
	d.abbrevs.init(abbrevCacheBytes)
	for _, s := range []struct {
		p    **dsection
		name string
	}{
		{&d.info, "info"}, {&d.abbrev, "abbrev"}, {&d.str, "str"}, {&d.lineStr, "line_str"},
		{&d.line, "line"}, {&d.ranges, "ranges"}, {&d.rnglists, "rnglists"}, {&d.addr, "addr"},
		{&d.strOffsets, "str_offsets"}, {&d.aranges, "aranges"},
	} {
		*s.p = findSection(ef, s.name, limit, size)
		(*s.p).spill = spill
	}
	if !d.info.present() || !d.abbrev.present() {
		return nil, ErrNoDWARF
	}
	return d, nil
}

// ensureUnits reads the unit headers of a supplementary file on its
// first use.
func (d *dwarfData) ensureUnits() {
	if !d.unitsRead {
		d.unitsRead = true
		d.readUnits(nil) // the units before a malformed one are used
	}
}

// abbrevTable returns the abbreviation table at off, decoding it on first
// use.
func (d *dwarfData) abbrevTable(off uint64) (*abbrevTable, error) {
	if t, ok := d.abbrevs.get(off); ok {
		return t, nil
	}
	var t *abbrevTable
	err := d.parseGrowing(d.abbrev, off, 4<<10, func(b *dbuf) {
		t = parseAbbrevs(b)
		d.abbrevWork += uint64(b.off)
	})
	if err != nil {
		return nil, err
	}
	d.abbrevs.put(off, t, t.bytes)
	return t, nil
}

// readUnits decodes every unit header and root DIE of .debug_info into
// d.units, calling visit with each unit's index and the root DIE's
// address attributes. On a malformed unit it keeps the units before it
// and returns the error.
func (d *dwarfData) readUnits(visit func(i int, u *unit, a *pcAttrs)) error {
	d.unitsRead = true
	if err := d.info.load(); err != nil {
		return err
	}
	size := d.info.size
	dirs := make(map[string]string) // interns compilation directories
	// Units can point into one abbreviation table at many offsets; bound
	// the decoding that costs while indexing.
	if err := d.abbrev.load(); err != nil {
		return err
	}
	maxAbbrevWork := 16<<20 + 4*min(d.abbrev.size, 1<<40)
	for off := uint64(0); off < size && len(d.units) < maxUnits; {
		if d.abbrevWork > maxAbbrevWork {
			return &FormatError{Off: -1, Msg: "abbreviation tables decoded too often"}
		}
		hdr, err := d.info.readUpTo(off, 64)
		if err != nil {
			return err
		}
		b := newDbuf(d.info.name, off, hdr, d.order)
		u := parseUnitHeader(&b)
		if b.err != nil {
			return b.err
		}
		u.end = min(u.end, size)
		next := u.end
		if u.utype == utType || u.utype == utSplitType {
			off = next
			continue
		}
		a, err := d.readRootDIE(&u, dirs)
		if err != nil {
			return err
		}
		d.units = append(d.units, u)
		if visit != nil {
			visit(len(d.units)-1, &d.units[len(d.units)-1], &a)
		}
		off = next
	}
	return nil
}

// readRootDIE fills u's fields from its root DIE and returns the DIE's
// address attributes.
func (d *dwarfData) readRootDIE(u *unit, dirs map[string]string) (pcAttrs, error) {
	var pa pcAttrs
	tab, err := d.abbrevTable(u.abbrevOff)
	if err != nil {
		return pa, err
	}
	var compDir attrVal
	var gotStrBase, gotAddrBase, gotRngBase bool
	err = d.parseGrowingTo(d.info, u.dieOff, u.end, 256, func(b *dbuf) {
		pa, compDir = pcAttrs{}, attrVal{}
		a := tab.get(b.uleb())
		if a == nil {
			if b.err == nil {
				b.fail("unknown abbreviation code")
			}
			return
		}
		u.tag = a.tag
		for _, sp := range a.specs {
			v := readAttr(b, u, sp.form, sp.implicit)
			switch sp.attr {
			case atLowPC:
				pa.low = v
			case atHighPC:
				pa.high = v
			case atRanges:
				pa.ranges = v
			case atStmtList:
				if v.cls == clsSecOffset || v.cls == clsConst {
					u.lineOff, u.hasLine = v.u, true
				}
			case atCompDir:
				compDir = v
			case atStrOffsetsBase:
				u.strOffBase, gotStrBase = v.u, true
			case atAddrBase, atGNUAddrBase:
				u.addrBase, gotAddrBase = v.u, true
			case atRnglistsBase:
				u.rngBase, gotRngBase = v.u, true
			}
		}
	})
	if err != nil {
		return pa, err
	}
	// The bases DWARF 5 producers omit point just past the header of the
	// unit's contribution.
	hdr := uint64(8)
	if u.dwarf64 {
		hdr = 16
	}
	if !gotStrBase && u.version >= 5 {
		u.strOffBase = hdr
	}
	if !gotAddrBase && u.version >= 5 {
		u.addrBase = hdr
	}
	if !gotRngBase && u.version >= 5 {
		u.rngBase = hdr + 4
	}
	if pa.low.cls != clsNone {
		u.lowPC, _ = d.address(u, pa.low) // a bad base only spoils ranges
	}
	if compDir.cls != clsNone {
		if s, err := d.attrString(u, compDir); err == nil {
			dir, ok := dirs[string(s)]
			if !ok {
				dir = string(s)
				dirs[dir] = dir
			}
			u.compDir = dir
		}
	}
	return pa, nil
}

// unitAt returns the unit holding the .debug_info offset off.
func (d *dwarfData) unitAt(off uint64) *unit {
	i := sort.Search(len(d.units), func(i int) bool { return d.units[i].off > off }) - 1
	if i < 0 || off >= d.units[i].end || off < d.units[i].dieOff {
		return nil
	}
	return &d.units[i]
}

// attrString resolves a string attribute of a DIE of unit u.
func (d *dwarfData) attrString(u *unit, v attrVal) ([]byte, error) {
	switch v.cls {
	case clsStr:
		return v.s, nil
	case clsStrp:
		return d.str.cstring(v.u)
	case clsLineStrp:
		return d.lineStr.cstring(v.u)
	case clsStrAlt:
		if d.alt == nil {
			return nil, errNoAlt
		}
		return d.alt.str.cstring(v.u)
	case clsStrx:
		off, err := d.strxOffset(u, v.u)
		if err != nil {
			return nil, err
		}
		return d.str.cstring(off)
	}
	return nil, &FormatError{Off: -1, Msg: "string attribute of unexpected form"}
}

// strxOffset returns the .debug_str offset of string index i of unit u.
func (d *dwarfData) strxOffset(u *unit, i uint64) (uint64, error) {
	size := uint64(u.offSize())
	if i > (1<<62)/size {
		return 0, &FormatError{Off: -1, Msg: fmt.Sprintf("string index %d out of range", i)}
	}
	data, err := d.strOffsets.read(u.strOffBase+i*size, size)
	if err != nil {
		return 0, err
	}
	b := newDbuf(d.strOffsets.name, 0, data, d.order)
	off := b.sized(int(size))
	return off, b.err
}

// errNoAlt is returned for references into a supplementary file that was
// not found.
var errNoAlt = errors.New("supplementary debug file not available")

// dieNames is what naming a function needs from one DIE.
type dieNames struct {
	name, linkage attrVal
	origin, spec  attrVal
}

// readNames decodes the naming attributes of the DIE at the start of b.
func readNames(b *dbuf, u *unit, tab *abbrevTable) dieNames {
	var n dieNames
	a := tab.get(b.uleb())
	if a == nil {
		if b.err == nil {
			b.fail("unknown abbreviation code")
		}
		return n
	}
	for _, sp := range a.specs {
		switch sp.attr {
		case atName:
			n.name = readAttr(b, u, sp.form, sp.implicit)
		case atLinkageName, atMIPSLinkageName:
			n.linkage = readAttr(b, u, sp.form, sp.implicit)
		case atAbstractOrigin:
			n.origin = readAttr(b, u, sp.form, sp.implicit)
		case atSpecification:
			n.spec = readAttr(b, u, sp.form, sp.implicit)
		default:
			skipAttr(b, u, sp.form)
		}
	}
	return n
}

// namesAt decodes the naming attributes of the DIE at the .debug_info
// offset off, in whichever unit holds it.
func (d *dwarfData) namesAt(off uint64) (dieNames, *unit, error) {
	u := d.unitAt(off)
	if u == nil {
		return dieNames{}, nil, &FormatError{Off: -1, Msg: fmt.Sprintf("reference to %#x outside every unit", off)}
	}
	tab, err := d.abbrevTable(u.abbrevOff)
	if err != nil {
		return dieNames{}, nil, err
	}
	var n dieNames
	err = d.parseGrowingTo(d.info, off, u.end, 256, func(b *dbuf) { n = readNames(b, u, tab) })
	return n, u, err
}
