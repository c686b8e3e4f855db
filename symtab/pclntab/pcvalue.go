package pclntab

// PCIter walks a pc-value table: a run of (value delta, pc delta) pairs of
// unsigned varints, the value delta zig-zag encoded and the pc delta in
// instruction quanta, starting from value -1 at the function's entry, and
// ended by a zero value delta after the first pair. Each pair says that
// the value holds from the previous pc up to the new one.
//
//	it := t.PCTable(&f, f.PCSP)
//	for it.Next() {
//		use(it.Start, it.End, it.Value)
//	}
//	if err := it.Err(); err != nil { ... }
type PCIter struct {
	// The current range [Start, End) and its value.
	Start, End uint64
	Value      int32

	t      *Table
	pos    uint64 // next byte of the table, in the pclntab
	limit  uint64 // the function's end address
	first  bool
	done   bool
	err    error
	win    []byte // unread bytes of the table at pos
	quanta uint64
	steps  uint64 // pairs left before the table is too long
}

// MaxPairs bounds the pairs of one pc-value table: the largest functions
// of real programs have a few thousand. It bounds the cost of a decode
// when a hostile file claims a huge function.
const MaxPairs = 1 << 20

// PCTable returns an iterator over f's pc-value table at tab, an offset
// into pctab (f.PCSP, f.PCFile, f.PCLn or a PCData result). A zero tab has
// no ranges. Ranges are clipped to f's extent [f.Entry, f.End).
func (t *Table) PCTable(f *Func, tab uint32) PCIter {
	it := PCIter{t: t, End: f.Entry, Value: -1, limit: f.End, first: true, quanta: uint64(t.Quantum)}
	// Every pair but the last advances the pc: a table has at most one
	// pair per instruction quantum of its function. The slack admits
	// empty runs; more than that is hostile and would make every decode
	// read the whole of pctab.
	it.steps = min((f.End-f.Entry)/max(it.quanta, 1)+16, MaxPairs)
	if tab == 0 {
		it.done = true
		return it
	}
	if uint64(tab) >= t.pctab.end-t.pctab.off {
		it.done = true
		it.err = formatErr(t.pctab.off, "pc-value table offset %#x out of bounds", tab)
		return it
	}
	it.pos = t.pctab.off + uint64(tab)
	return it
}

// Next advances to the next range with a non-empty extent. It returns
// false at the end of the table or on an error.
func (it *PCIter) Next() bool {
	for !it.done {
		if it.steps == 0 {
			it.fail("pc-value table longer than its function")
			return false
		}
		it.steps--
		vd, ok := it.uvarint()
		if !ok {
			return false
		}
		if vd == 0 && !it.first {
			it.done = true
			return false
		}
		it.first = false
		// zig-zag: the low bit is the sign.
		delta := int32(vd >> 1)
		if vd&1 != 0 {
			delta = ^delta
		}
		pd, ok := it.uvarint()
		if !ok {
			return false
		}
		it.Value += delta
		start := it.End
		end := start + uint64(pd)*it.quanta
		if end >= it.limit || end < start {
			// A table that runs past its function: keep what is inside.
			end, it.done = it.limit, true
		}
		if end > start {
			it.Start, it.End = start, end
			return true
		}
	}
	return false
}

// Err returns the error that ended the walk, if any.
func (it *PCIter) Err() error { return it.err }

// uvarint decodes a 32-bit unsigned varint from the table.
func (it *PCIter) uvarint() (uint32, bool) {
	var v uint32
	for shift := uint(0); ; shift += 7 {
		if len(it.win) == 0 {
			it.win = it.t.src.at(it.pos, 64, it.t.pctab.end)
			if len(it.win) == 0 {
				it.fail("pc-value table runs past pctab")
				return 0, false
			}
		}
		c := it.win[0]
		it.win = it.win[1:]
		it.pos++
		if shift == 28 && c > 0xf {
			it.fail("pc-value varint overflows 32 bits")
			return 0, false
		}
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v, true
		}
	}
}

func (it *PCIter) fail(msg string) {
	it.done = true
	it.err = formatErr(it.pos, "%s", msg)
}

// PCValue returns the value of f's table tab at pc, and false when pc is
// outside the table (or tab is 0: the runtime's default, -1, applies).
func (t *Table) PCValue(f *Func, tab uint32, pc uint64) (int32, bool, error) {
	it := t.PCTable(f, tab)
	for it.Next() {
		if pc < it.Start {
			break
		}
		if pc < it.End {
			return it.Value, true, nil
		}
	}
	return -1, false, it.Err()
}
