package symtab

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Address ranges: DW_AT_low_pc/high_pc, DWARF 2-4 .debug_ranges, DWARF 5
// .debug_rnglists, .debug_aranges, and the flattening of nested ranges
// into a sorted list of disjoint segments for binary search.

// maxListEntries bounds the entries decoded from one range list.
const maxListEntries = 1 << 20

// pcRange is the half-open address range [lo, hi).
type pcRange struct{ lo, hi uint64 }

// DWARF 5 range list entry kinds.
const (
	rleEndOfList    = 0
	rleBaseAddressx = 1
	rleStartxEndx   = 2
	rleStartxLength = 3
	rleOffsetPair   = 4
	rleBaseAddress  = 5
	rleStartEnd     = 6
	rleStartLength  = 7
)

// pcAttrs is what a DIE says about its code addresses.
type pcAttrs struct {
	low, high, ranges attrVal
}

// dieRanges appends the ranges a DIE covers to out, decoding at most
// maxEntries range list entries.
func (d *dwarfData) dieRanges(u *unit, a *pcAttrs, out []pcRange, maxEntries int) ([]pcRange, error) {
	if a.ranges.cls != clsNone {
		return d.rangeList(u, a.ranges, out, min(maxEntries, maxListEntries))
	}
	if a.low.cls == clsNone || a.high.cls == clsNone {
		return out, nil
	}
	lo, err := d.address(u, a.low)
	if err != nil {
		return out, err
	}
	hi := a.high.u
	switch a.high.cls {
	case clsConst:
		hi = lo + a.high.u
		if hi < lo {
			hi = math.MaxUint64
		}
	case clsAddr, clsAddrx:
		if hi, err = d.address(u, a.high); err != nil {
			return out, err
		}
	default:
		return out, nil
	}
	return appendRange(out, lo, hi), nil
}

// appendRange appends [lo, hi) unless it is empty or at address 0, where
// linkers put the code of discarded sections.
func appendRange(out []pcRange, lo, hi uint64) []pcRange {
	if lo >= hi || lo == 0 || lo >= math.MaxUint64-1 {
		return out
	}
	return append(out, pcRange{lo, hi})
}

// address resolves an address attribute: DW_FORM_addr or an index into
// .debug_addr.
func (d *dwarfData) address(u *unit, v attrVal) (uint64, error) {
	switch v.cls {
	case clsAddr:
		return v.u, nil
	case clsAddrx:
		size := uint64(u.asize)
		if v.u > math.MaxUint64/size-u.addrBase/size-1 {
			return 0, &FormatError{Off: -1, Msg: fmt.Sprintf("address index %d out of range", v.u)}
		}
		data, err := d.addr.read(u.addrBase+v.u*size, size)
		if err != nil {
			return 0, err
		}
		b := newDbuf(d.addr.name, 0, data, d.order)
		return b.sized(int(size)), b.err
	}
	return 0, &FormatError{Off: -1, Msg: "address attribute of unexpected form"}
}

// rangeList appends the ranges of a DW_AT_ranges value to out.
func (d *dwarfData) rangeList(u *unit, v attrVal, out []pcRange, maxEntries int) ([]pcRange, error) {
	if u.version < 5 {
		if v.cls != clsSecOffset && v.cls != clsConst {
			return out, nil
		}
		return d.rangesV4(u, v.u, out, maxEntries)
	}
	off := v.u
	switch v.cls {
	case clsSecOffset, clsConst:
	case clsRnglistx:
		size := uint64(u.offSize())
		if v.u > (math.MaxUint64-u.rngBase)/size-1 {
			return out, &FormatError{Off: -1, Msg: fmt.Sprintf("range list index %d out of range", v.u)}
		}
		data, err := d.rnglists.read(u.rngBase+v.u*size, size)
		if err != nil {
			return out, err
		}
		b := newDbuf(d.rnglists.name, 0, data, d.order)
		off = u.rngBase + b.sized(int(size))
		if b.err != nil {
			return out, b.err
		}
	default:
		return out, nil
	}
	return d.rangesV5(u, off, out, maxEntries)
}

// rangesV4 decodes the .debug_ranges list at off.
func (d *dwarfData) rangesV4(u *unit, off uint64, out []pcRange, maxEntries int) ([]pcRange, error) {
	size := int(u.asize)
	maxAddr := uint64(math.MaxUint64) >> (64 - 8*size)
	first := len(out)
	err := d.parseGrowing(d.ranges, off, 16*uint64(size), func(b *dbuf) {
		out = out[:first]
		base := u.lowPC
		for n := 0; b.err == nil; n++ {
			if n >= maxEntries {
				b.fail("range list too long")
				return
			}
			lo, hi := b.sized(size), b.sized(size)
			switch {
			case lo == 0 && hi == 0:
				return
			case lo == maxAddr:
				base = hi
			default:
				out = appendRange(out, base+lo, base+hi)
			}
		}
	})
	return out, err
}

// rangesV5 decodes the .debug_rnglists list at off.
func (d *dwarfData) rangesV5(u *unit, off uint64, out []pcRange, maxEntries int) ([]pcRange, error) {
	size := int(u.asize)
	first := len(out)
	var addrErr error
	addrx := func(i uint64) uint64 {
		a, err := d.address(u, attrVal{cls: clsAddrx, u: i})
		if err != nil && addrErr == nil {
			addrErr = err
		}
		return a
	}
	err := d.parseGrowing(d.rnglists, off, 64, func(b *dbuf) {
		out, addrErr = out[:first], nil
		base := u.lowPC
		for n := 0; b.err == nil; n++ {
			if n >= maxEntries {
				b.fail("range list too long")
				return
			}
			switch kind := b.u8(); kind {
			case rleEndOfList:
				return
			case rleBaseAddressx:
				base = addrx(b.uleb())
			case rleStartxEndx:
				lo := addrx(b.uleb())
				out = appendRange(out, lo, addrx(b.uleb()))
			case rleStartxLength:
				lo := addrx(b.uleb())
				out = appendRange(out, lo, lo+b.uleb())
			case rleOffsetPair:
				lo, hi := b.uleb(), b.uleb()
				out = appendRange(out, base+lo, base+hi)
			case rleBaseAddress:
				base = b.sized(size)
			case rleStartEnd:
				lo := b.sized(size)
				out = appendRange(out, lo, b.sized(size))
			case rleStartLength:
				lo := b.sized(size)
				out = appendRange(out, lo, lo+b.uleb())
			default:
				b.fail(fmt.Sprintf("unknown range list entry kind %d", kind))
			}
		}
	})
	if err == nil {
		err = addrErr
	}
	return out, err
}

// parseGrowing runs parse over a window of sec starting at off, first
// bytes long, and again over a window four times as large while parse
// ran out of data before the end of the section.
func (d *dwarfData) parseGrowing(sec *dsection, off, first uint64, parse func(b *dbuf)) error {
	return d.parseGrowingTo(sec, off, math.MaxUint64, first, parse)
}

// parseGrowingTo is parseGrowing with windows that end at limit at most.
func (d *dwarfData) parseGrowingTo(sec *dsection, off, limit, first uint64, parse func(b *dbuf)) error {
	if err := sec.load(); err != nil {
		return err
	}
	limit = min(limit, sec.size)
	if off > limit {
		return &FormatError{Off: -1, Msg: fmt.Sprintf("%s: offset %#x past the end (%#x)", sec.name, off, limit)}
	}
	for n := max(first, 16); ; n *= 4 {
		want := min(n, limit-off)
		data, err := sec.read(off, want)
		if err != nil {
			return err
		}
		b := newDbuf(sec.name, off, data, d.order)
		parse(&b)
		if b.err == nil || !b.eof || want == limit-off {
			return b.err
		}
	}
}

// arangesByUnit decodes .debug_aranges into the ranges of each unit,
// keyed by the unit's .debug_info offset. Only units in want are kept.
func (d *dwarfData) arangesByUnit(want map[uint64]bool) (map[uint64][]pcRange, error) {
	if !d.aranges.present() || len(want) == 0 {
		return nil, nil
	}
	if err := d.aranges.load(); err != nil {
		return nil, err
	}
	out := make(map[uint64][]pcRange)
	for off := uint64(0); off < d.aranges.size; {
		hdr, err := d.aranges.readUpTo(off, 12)
		if err != nil {
			return out, err
		}
		b := newDbuf(d.aranges.name, off, hdr, d.order)
		length, _ := b.unitLength()
		end := b.pos() + length
		if b.err != nil || end < b.pos() || end > d.aranges.size {
			return out, b.err
		}
		if set, err := d.aranges.read(off, end-off); err == nil {
			b := newDbuf(d.aranges.name, off, set, d.order)
			_, dwarf64 := b.unitLength()
			b.u16() // version
			unitOff := b.offset(dwarf64)
			size := int(b.u8())
			b.u8() // segment selector size
			if want[unitOff] && (size == 4 || size == 8) {
				// Tuples are aligned to twice the address size from the
				// start of the set.
				if rem := b.off % (2 * size); rem != 0 {
					b.skip(uint64(2*size - rem))
				}
				for b.err == nil && b.left() >= 2*size {
					lo, n := b.sized(size), b.sized(size)
					if lo == 0 && n == 0 {
						break
					}
					out[unitOff] = appendRange(out[unitOff], lo, lo+n)
				}
			}
		}
		off = end
	}
	return out, nil
}

// segments maps addresses to the innermost of a set of nested ranges: a
// sorted list of segment starts, each with the item it belongs to (-1 in
// the gaps). A segment ends where the next begins.
type segments struct {
	lo []uint64
	id []int32
}

// rangeItem is one range of an item at a nesting depth.
type rangeItem struct {
	pcRange
	id    int32
	depth int32
}

// buildSegments flattens items into segments. Properly nested ranges map
// each address to the deepest range holding it; ranges that overlap
// without nesting resolve to the one that started last.
func buildSegments(items []rangeItem) segments {
	slices.SortFunc(items, func(x, y rangeItem) int {
		if c := cmp.Compare(x.lo, y.lo); c != 0 {
			return c
		}
		if c := cmp.Compare(x.depth, y.depth); c != 0 {
			return c
		}
		return cmp.Compare(y.hi, x.hi)
	})
	var s segments
	emit := func(pos uint64, id int32) {
		n := len(s.lo)
		if n > 0 && s.lo[n-1] == pos {
			s.id[n-1] = id
			if n > 1 && s.id[n-2] == id {
				s.lo, s.id = s.lo[:n-1], s.id[:n-1]
			}
			return
		}
		if n > 0 && s.id[n-1] == id {
			return
		}
		if n == 0 && id < 0 {
			return
		}
		s.lo, s.id = append(s.lo, pos), append(s.id, id)
	}
	var stack []rangeItem
	closeUntil := func(x uint64) {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.hi > x {
				return
			}
			stack = stack[:len(stack)-1]
			for len(stack) > 0 && stack[len(stack)-1].hi <= top.hi {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				emit(top.hi, -1)
			} else {
				emit(top.hi, stack[len(stack)-1].id)
			}
		}
	}
	for _, it := range items {
		if it.lo >= it.hi {
			continue
		}
		closeUntil(it.lo)
		stack = append(stack, it)
		emit(it.lo, it.id)
	}
	closeUntil(math.MaxUint64)
	s.lo, s.id = slices.Clip(s.lo), slices.Clip(s.id)
	return s
}

// find returns the item holding addr, or -1.
func (s *segments) find(addr uint64) int32 {
	lo, hi := 0, len(s.lo)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.lo[m] <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return -1
	}
	return s.id[lo-1]
}

func (s *segments) memBytes() int { return cap(s.lo)*8 + cap(s.id)*4 }
