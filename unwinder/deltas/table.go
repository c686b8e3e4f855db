package deltas

import (
	"cmp"
	"slices"
)

// builder appends rows to the table in address order.
type builder struct {
	out    []Delta
	lo, hi uint64 // window of the FDE being emitted
	signal bool
}

// begin starts an FDE window at lo: everything from lo on that an earlier
// FDE wrote (its end marker, or its tail when they overlap) is dropped.
func (b *builder) begin(lo, hi uint64, signal bool) {
	n := len(b.out)
	for n > 0 && b.out[n-1].Addr >= lo {
		n--
	}
	b.out = b.out[:n]
	b.lo, b.hi, b.signal = lo, hi, signal
}

// span records that st is in force over [start, end), clipped to the
// window.
func (b *builder) span(start, end uint64, st *state) {
	start, end = max(start, b.lo), min(end, b.hi)
	if start >= end {
		return
	}
	b.add(start, st.rule(b.signal))
}

func (b *builder) add(addr uint64, r Rule) {
	if n := len(b.out); n > 0 && b.out[n-1].Rule == r {
		return
	}
	b.out = append(b.out, Delta{Addr: addr, Rule: r})
}

// invalidFrom marks [addr, window end) as having no usable rule.
func (b *builder) invalidFrom(addr uint64) {
	if addr = max(addr, b.lo); addr < b.hi {
		b.add(addr, invalidRule)
	}
}

// end closes the window with an invalid rule; the next FDE removes it when
// it starts exactly there.
func (b *builder) end() { b.add(b.hi, invalidRule) }

// clipToGaps replaces the .debug_frame FDEs in dbg by the parts of their
// ranges that no .eh_frame FDE covers (eh sorted by lo): .eh_frame wins.
func clipToGaps(eh, dbg []fde) []fde {
	if len(eh) == 0 || len(dbg) == 0 {
		return dbg
	}
	// Union of the .eh_frame ranges.
	var cover []addrRange
	for _, f := range eh {
		if n := len(cover); n > 0 && f.lo <= cover[n-1].hi {
			cover[n-1].hi = max(cover[n-1].hi, f.hi)
			continue
		}
		cover = append(cover, addrRange{f.lo, f.hi})
	}
	var out []fde
	for _, f := range dbg {
		// First covered range that ends after f.lo.
		i, _ := slices.BinarySearchFunc(cover, f.lo, func(r addrRange, a uint64) int {
			if r.hi <= a {
				return -1
			}
			return 1
		})
		lo := f.lo
		for ; i < len(cover) && cover[i].lo < f.hi && lo < f.hi; i++ {
			if cover[i].lo > lo {
				g := f
				g.lo, g.hi = lo, cover[i].lo
				out = append(out, g)
			}
			lo = max(lo, cover[i].hi)
		}
		if lo < f.hi {
			g := f
			g.lo = lo
			out = append(out, g)
		}
	}
	return out
}

// build interprets every FDE in address order and returns the table.
func (p *parser) build() *Table {
	// FDEs are in section order, .eh_frame's first.
	all := p.fdes
	p.fdes = nil
	nEH := 0
	for nEH < len(all) && p.secs[all[nEH].sec].eh {
		nEH++
	}
	eh, dbg := all[:nEH], all[nEH:]
	byLo := func(a, b fde) int { return cmp.Compare(a.lo, b.lo) }
	slices.SortStableFunc(eh, byLo)
	if len(dbg) > 0 {
		slices.SortStableFunc(dbg, byLo)
		all = append(eh[:len(eh):len(eh)], clipToGaps(eh, dbg)...)
		slices.SortStableFunc(all, byLo)
	}

	b := builder{out: make([]Delta, 0, len(all)*4)}
	m := &p.m
	for i := range all {
		f := &all[i]
		s := p.secs[f.sec]
		ci := &p.cies[f.cie]
		m.cie, m.bases, m.st, m.stack = ci, s.bases, ci.init, m.stack[:0]
		c := cursor{data: s.data[:f.insEnd], off: int(f.insOff), name: s.name}
		b.begin(f.lo, f.hi, ci.signal)
		loc := m.run(&c, f.begin, f.hi, &b)
		if c.err != nil {
			p.note(c.err)
			b.invalidFrom(loc) // unknown from here on
		} else {
			b.span(loc, f.hi, &m.st)
		}
		b.end()
	}
	out := b.out
	if cap(out) > len(out)+len(out)/4 {
		out = slices.Clone(out)
	}
	return &Table{Deltas: out}
}
