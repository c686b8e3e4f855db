package symtab

import (
	"container/list"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sync"
)

// DWARF symbolization: for an address, the chain of inlined calls and the
// function that holds them, innermost first, each with its file and line,
// from .debug_info and .debug_line (DWARF 2 to 5, compressed or not).
//
// This package decodes DWARF itself rather than through debug/dwarf, so
// that it can read a big binary's debug info a unit at a time, bound
// every allocation by the input, and never panic on hostile input.
//
// The first lookup indexes the file: it reads each unit's header and root
// DIE and keeps the sorted address ranges of the units (from
// DW_AT_low_pc/high_pc or DW_AT_ranges, else .debug_aranges, else the
// unit's functions). A lookup in a unit decodes that unit's function and
// inline tree and its line program, and keeps them in a cache bounded in
// bytes, least recently used first out.

// ErrNoDWARF is wrapped when a file has no DWARF debug info.
var ErrNoDWARF = errors.New("no DWARF debug info")

// DefaultCacheBytes is the default bound on the decoded units a Lines
// keeps.
const DefaultCacheBytes = 64 << 20

// maxInlineFrames bounds the frames returned for one address.
const maxInlineFrames = 256

// Frame is one function at an address: an inlined call or the function
// that holds the address.
type Frame struct {
	// Function is the demangled name; "" when the debug info has none
	// (Symbolizer then names the outermost frame from the symbol table).
	Function string
	File     string // source file, "" when unknown
	Line     int    // source line, 0 when unknown
	// Inlined is set on every frame but the last: it is a call that the
	// compiler inlined into the next frame.
	Inlined bool
}

// Lines maps addresses of one ELF file to inline chains and source lines
// from its DWARF. It reads the file on demand, so the reader it was made
// from must stay usable while the Lines is. Its methods are safe for
// concurrent use.
type Lines struct {
	mu       sync.Mutex
	d        *dwarfData
	indexed  bool
	indexErr error
	index    segments // address -> unit
	cache    cuCache
}

// NewLines prepares DWARF lookups for the ELF file read through r. It
// fails with ErrNoDWARF when the file has no .debug_info. The file is
// indexed on the first Lookup; opts.CacheBytes bounds the decoded units
// kept.
func NewLines(r io.ReaderAt, opts Options) (l *Lines, err error) {
	defer func() {
		if p := recover(); p != nil {
			l, err = nil, &FormatError{Off: -1, Msg: fmt.Sprintf("malformed elf: %v", p)}
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parse elf: %w", err)
	}
	return newLines(ef, inputSize(r), opts)
}

// newLines prepares DWARF lookups for ef, a file of size bytes (-1 when
// unknown) whose reader must stay usable.
func newLines(ef *elf.File, size int64, opts Options) (*Lines, error) {
	limit := uint64(defaultMaxSectionBytes)
	if opts.MaxSectionBytes > 0 {
		limit = uint64(opts.MaxSectionBytes)
	}
	d, err := newDwarfData(ef, limit, size)
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	l := &Lines{d: d}
	l.cache.init(opts.CacheBytes)
	return l, nil
}

// setAlt adds the supplementary file (dwz's common debug info) that the
// file's DW_FORM_GNU_ref_alt/ref_sup and strp_alt/strp_sup forms refer
// to. Its reader must stay usable while l is.
func (l *Lines) setAlt(ef *elf.File, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := &dwarfData{order: ef.ByteOrder, abbrevs: make(map[uint64]*abbrevTable)}
	if alt, err := newDwarfData(ef, l.d.info.limit, size); err == nil {
		d = alt
	} else {
		// A supplementary file may hold only strings.
		d.str = findSection(ef, "str", l.d.info.limit, size)
		d.info, d.abbrev = &dsection{name: ".debug_info"}, &dsection{name: ".debug_abbrev"}
	}
	d.unitsRead = false
	l.d.alt = d
}

// Index builds the address index now instead of on the first Lookup, and
// returns the error that stopped it early, if any: the units indexed
// before a malformed one are still used.
func (l *Lines) Index() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ensureIndex()
	return l.indexErr
}

// Units returns the number of units indexed.
func (l *Lines) Units() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ensureIndex()
	return len(l.d.units)
}

// CachedBytes returns an estimate of the memory the decoded units in the
// cache hold.
func (l *Lines) CachedBytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache.used
}

func (l *Lines) ensureIndex() {
	if l.indexed {
		return
	}
	l.indexed = true
	func() {
		defer func() {
			if p := recover(); p != nil {
				l.indexErr = &recoveredPanic{p}
			}
		}()
		l.indexErr = l.buildIndex()
	}()
	if l.indexErr != nil {
		l.indexErr = fmt.Errorf("index dwarf: %w", l.indexErr)
	}
}

// buildIndex reads the unit headers and builds the unit address index.
func (l *Lines) buildIndex() error {
	d := l.d
	var items []rangeItem
	// Bound the ranges decoded, as range lists can be shared by many DIEs.
	maxItems := 1<<16 + int(min(d.info.size, 1<<40))
	missing := make(map[uint64]bool)
	var rngErr error
	err := d.readUnits(func(i int, u *unit, a *pcAttrs) {
		if u.tag != tagCompileUnit && u.tag != tagSkeletonUnit {
			return
		}
		n := len(items)
		rs, err := d.dieRanges(u, a, nil, maxItems-len(items))
		if err != nil && rngErr == nil {
			rngErr = err
		}
		for _, r := range rs {
			items = append(items, rangeItem{pcRange: r, id: int32(i)})
		}
		if len(items) == n {
			missing[u.off] = true
		}
	})
	if len(missing) > 0 {
		ar, _ := d.arangesByUnit(missing)
		for i := range d.units {
			u := &d.units[i]
			if !missing[u.off] {
				continue
			}
			rs := ar[u.off]
			if len(rs) == 0 {
				rs = d.scanUnitRanges(u)
			}
			if len(items)+len(rs) > maxItems {
				break
			}
			for _, r := range rs {
				items = append(items, rangeItem{pcRange: r, id: int32(i)})
			}
		}
	}
	l.index = buildSegments(items)
	if err == nil {
		err = rngErr
	}
	return err
}

// scanUnitRanges returns the ranges of the functions of a unit whose root
// DIE gives none.
func (d *dwarfData) scanUnitRanges(u *unit) []pcRange {
	p := &cuParser{d: d, u: u, c: &cuInfo{}, rangesOnly: true}
	var err error
	if p.tab, err = d.abbrevTable(u.abbrevOff); err != nil {
		return nil
	}
	if p.data, err = d.info.read(u.off, u.end-u.off); err != nil {
		return nil
	}
	p.setBudget()
	p.walk()
	out := make([]pcRange, len(p.items))
	for i, it := range p.items {
		out[i] = it.pcRange
	}
	return out
}

// Lookup returns the frames at addr, an ELF virtual address, innermost
// first: the inlined calls, then the function that holds them. It
// returns nil when the debug info does not cover addr. A frame's Function
// may be "" when the debug info does not name it (assembly, for one);
// File and Line may be empty when the line table does not cover addr.
func (l *Lines) Lookup(addr uint64) []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ensureIndex()
	ui := l.index.find(addr)
	if ui < 0 {
		return nil
	}
	c := l.unit(ui)
	n := c.segs.find(addr)
	file, line, ok := c.lines.find(addr)
	if n < 0 {
		if !ok {
			return nil
		}
		return []Frame{{File: file, Line: line}}
	}
	depth := 0
	for m := n; m >= 0 && depth < maxInlineFrames; m = c.nodes[m].parent {
		depth++
	}
	frames := make([]Frame, 0, depth)
	for range depth {
		node := &c.nodes[n]
		frames = append(frames, Frame{Function: c.name(n), File: file, Line: line, Inlined: node.parent >= 0})
		file, line = c.lines.file(node.callFile), int(node.callLine)
		n = node.parent
	}
	return frames
}

// unit returns decoded unit i, from the cache or decoded now. A unit that
// fails to decode is cached with what was decoded before the failure.
func (l *Lines) unit(i int32) *cuInfo {
	if c := l.cache.get(i); c != nil {
		return c
	}
	var c *cuInfo
	func() {
		defer func() {
			if p := recover(); p != nil {
				c = &cuInfo{err: &recoveredPanic{p}}
			}
		}()
		c = l.d.parseCU(&l.d.units[i])
	}()
	l.cache.put(i, c)
	return c
}

// recoveredPanic is the error of a panic recovered while decoding DWARF:
// a bug, since the decoder checks its input, but one that costs only the
// file or unit it happened in.
type recoveredPanic struct{ v any }

func (e *recoveredPanic) Error() string { return fmt.Sprintf("malformed dwarf: panic: %v", e.v) }

// cuCache keeps decoded units up to a bound on their estimated memory,
// evicting the least recently used. The unit in use is never evicted, so
// one unit bigger than the bound is still decoded once per use.
type cuCache struct {
	max  int
	used int
	m    map[int32]*list.Element
	l    list.List // of *cuEntry, most recent first
}

type cuEntry struct {
	unit int32
	c    *cuInfo
}

func (cc *cuCache) init(maxBytes int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	cc.max = int(min(maxBytes, 1<<40))
	cc.m = make(map[int32]*list.Element)
}

func (cc *cuCache) get(i int32) *cuInfo {
	e, ok := cc.m[i]
	if !ok {
		return nil
	}
	cc.l.MoveToFront(e)
	return e.Value.(*cuEntry).c
}

func (cc *cuCache) put(i int32, c *cuInfo) {
	for cc.used+c.size > cc.max && cc.l.Len() > 0 {
		e := cc.l.Back()
		old := e.Value.(*cuEntry)
		cc.l.Remove(e)
		delete(cc.m, old.unit)
		cc.used -= old.c.size
	}
	cc.m[i] = cc.l.PushFront(&cuEntry{unit: i, c: c})
	cc.used += c.size
}
