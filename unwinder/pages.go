package unwinder

import (
	"errors"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/unwinder/deltas"
)

// pageShift is the size of a delta page: the BPF side finds a page by hash
// and binary-searches within it, so a page holds at most 65536 deltas and
// each delta needs only a 16-bit offset.
const pageShift = bpf.DeltaPageBits

// ErrRulesFull is returned when the shared rule table has no room left.
var ErrRulesFull = errors.New("unwind rule table full")

// ruleSet deduplicates rules across every executable: real programs use a
// few hundred distinct rules, so one shared table of 65536 is plenty.
// Index 0 is the invalid rule (frame-pointer fallback).
type ruleSet struct {
	index map[deltas.Rule]uint16
	list  []deltas.Rule
}

func newRuleSet() *ruleSet {
	rs := &ruleSet{index: map[deltas.Rule]uint16{}}
	rs.intern(deltas.Rule{})
	return rs
}

func (rs *ruleSet) intern(r deltas.Rule) (idx uint16, added bool, err error) {
	if r.CFA == deltas.CFAInvalid {
		r = deltas.Rule{}
	}
	if i, ok := rs.index[r]; ok {
		return i, false, nil
	}
	if len(rs.list) >= 1<<16 {
		return 0, false, ErrRulesFull
	}
	i := uint16(len(rs.list))
	rs.index[r] = i
	rs.list = append(rs.list, r)
	return i, true, nil
}

// bpfRule converts a rule to the BPF layout.
func bpfRule(r deltas.Rule) bpf.Rule {
	return bpf.Rule{CfaKind: uint8(r.CFA), RbpKind: uint8(r.RBP), CfaOff: r.CFAOffset, RbpOff: r.RBPOffset}
}

// pagedTable is an executable's deltas laid out as the BPF side reads
// them: Entries in page order, and per page its slice of Entries.
type pagedTable struct {
	Pages   []uint64 // page numbers, ascending
	Starts  []uint32 // index of each page's first entry in Entries
	Counts  []uint32
	Subs    [][subPages]uint16 // per page: its entries below each sub-page
	Entries []uint32           // (offset in page << 16) | rule index
}

// subPages is how many sub-pages index a page (bpf page_val.sub).
const subPages = 1 << (pageShift - bpf.DeltaSubBits)

// errPageFull is returned for a page with more deltas than its 16-bit
// sub-page counts can index; real code has a few thousand at most.
var errPageFull = errors.New("more than 65535 unwind deltas in one 64 KiB page")

// pageTable lays t out in pages. A rule that continues across a page
// boundary is repeated at offset 0 of the next page, so every page can be
// searched on its own; stretches without unwind info get no pages at all.
func pageTable(t *deltas.Table, rs *ruleSet) (*pagedTable, []uint16, error) {
	pt := &pagedTable{}
	var newRules []uint16
	const pageMask = 1<<pageShift - 1
	emit := func(page uint64, off uint32, rule uint16) {
		if n := len(pt.Pages); n == 0 || pt.Pages[n-1] != page {
			pt.Pages = append(pt.Pages, page)
			pt.Starts = append(pt.Starts, uint32(len(pt.Entries)))
			pt.Counts = append(pt.Counts, 0)
		}
		pt.Entries = append(pt.Entries, off<<16|uint32(rule))
		pt.Counts[len(pt.Counts)-1]++
	}
	ds := t.Deltas
	for i, d := range ds {
		idx, added, err := rs.intern(d.Rule)
		if err != nil {
			return nil, newRules, err
		}
		if added {
			newRules = append(newRules, idx)
		}
		page := d.Addr >> pageShift
		emit(page, uint32(d.Addr&pageMask), idx)
		if idx == 0 || i+1 == len(ds) {
			continue
		}
		last := (ds[i+1].Addr - 1) >> pageShift
		for p := page + 1; p <= last; p++ {
			emit(p, 0, idx)
		}
	}
	pt.Subs = make([][subPages]uint16, len(pt.Pages))
	for i := range pt.Pages {
		if pt.Counts[i] > 0xffff {
			return nil, newRules, errPageFull
		}
		// Entries are sorted by offset: count those below each sub-page.
		es := pt.Entries[pt.Starts[i] : pt.Starts[i]+pt.Counts[i]]
		j := 0
		for k := range subPages {
			for j < len(es) && es[j]>>16 < uint32(k)<<bpf.DeltaSubBits {
				j++
			}
			pt.Subs[i][k] = uint16(j)
		}
	}
	return pt, newRules, nil
}
