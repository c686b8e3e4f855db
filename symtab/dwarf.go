package symtab

import (
	"container/list"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"
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

// defaultSpillBytes is the size over which a decompressed section goes to
// a temporary file by default.
const defaultSpillBytes = 16 << 20

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
	skims    lru[int32, *cuSkim]
	details  lru[detailKey, any] // *fnInfo or *lineRows
	names    lru[strRef, string] // display names
	scratch  []byte              // a unit's or function's DIEs while they are decoded
	spill    *spiller
}

// detailKey names a function or a line sequence of a unit.
type detailKey struct {
	unit, i int32
	seq     bool
}

// NewLines prepares DWARF lookups for the ELF file read through r. It
// fails with ErrNoDWARF when the file has no .debug_info. The file is
// indexed on the first Lookup; opts.CacheBytes bounds the decoded units
// kept, and opts.SpillDir and SpillBytes say where big decompressed
// sections go. Close releases them.
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
	sp := &spiller{dir: opts.SpillDir, bytes: defaultSpillBytes}
	switch {
	case opts.SpillBytes > 0:
		sp.bytes = uint64(opts.SpillBytes)
	case opts.SpillBytes < 0:
		sp = nil
	}
	d, err := newDwarfData(ef, limit, size, sp)
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	l := &Lines{d: d, spill: sp}
	l.initCaches(opts.CacheBytes)
	return l, nil
}

// initCaches splits the cache bound: an eighth each for unit skims
// (small, and every lookup in a unit needs its skim), abbreviation tables
// and display names, the rest for decoded functions and line sequences.
func (l *Lines) initCaches(maxBytes int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	maxBytes = min(maxBytes, 1<<40)
	l.skims.init(int(maxBytes / 8))
	l.d.abbrevs.init(int(maxBytes / 8))
	l.names.init(int(maxBytes / 8))
	l.details.init(int(maxBytes - 3*(maxBytes/8)))
}

// setAlt adds the supplementary file (dwz's common debug info) that the
// file's DW_FORM_GNU_ref_alt/ref_sup and strp_alt/strp_sup forms refer
// to. Its reader must stay usable while l is.
func (l *Lines) setAlt(ef *elf.File, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := &dwarfData{order: ef.ByteOrder}
	d.abbrevs.init(abbrevCacheBytes)
	if alt, err := newDwarfData(ef, l.d.info.limit, size, l.spill); err == nil {
		d = alt
	} else {
		// A supplementary file may hold only strings.
		d.str = findSection(ef, "str", l.d.info.limit, size)
		d.info, d.abbrev = &dsection{name: ".debug_info"}, &dsection{name: ".debug_abbrev"}
	}
	d.unitsRead = false
	l.d.alt = d
}

// Close releases the temporary files holding decompressed sections.
// Lookups after Close find only what was decoded before. It is safe to
// call more than once.
func (l *Lines) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spill == nil {
		return nil
	}
	return l.spill.close()
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

// MemBytes returns an estimate of all the memory l holds: its caches, the
// index, the unit headers, and the sections or parts of sections read
// into memory.
func (l *Lines) MemBytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.skims.used + l.details.used + l.names.used + cap(l.scratch) + l.index.memBytes()
	for _, d := range []*dwarfData{l.d, l.d.alt} {
		if d == nil {
			continue
		}
		n += d.abbrevs.used + cap(d.units)*int(unsafe.Sizeof(unit{}))
		for _, s := range []*dsection{d.info, d.abbrev, d.str, d.lineStr, d.line, d.ranges, d.rnglists, d.addr, d.strOffsets, d.aranges} {
			if s != nil {
				n += s.memBytes()
			}
		}
	}
	return n
}

// CachedBytes returns an estimate of the memory the caches of decoded
// DWARF hold.
func (l *Lines) CachedBytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.skims.used + l.details.used + l.names.used + l.d.abbrevs.used
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
	tab, err := d.abbrevTable(u.abbrevOff)
	if err != nil {
		return nil
	}
	data, err := d.info.read(u.off, u.end-u.off)
	if err != nil {
		return nil
	}
	items, _ := d.walkFuncs(u, tab, data, &cuSkim{})
	out := make([]pcRange, len(items))
	for i, it := range items {
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
	sk := l.skim(ui)
	file, line := "", 0
	if si := sk.lines.seqs.find(addr); si >= 0 {
		if f, ln, ok := l.seqRows(ui, sk, si).find(addr); ok {
			file, line = sk.lines.file(f), ln
		}
	}
	fi := sk.funcs.find(addr)
	if fi < 0 {
		if file == "" && line == 0 {
			return nil
		}
		return []Frame{{File: file, Line: line}}
	}
	fn := l.fn(ui, sk, fi)
	n := max(fn.segs.find(addr), 0)
	depth := 0
	for m := n; m >= 0 && depth < maxInlineFrames; m = fn.nodes[m].parent {
		depth++
	}
	frames := make([]Frame, 0, depth)
	for range depth {
		node := &fn.nodes[n]
		name := ""
		if node.name >= 0 {
			name = l.name(fn.names[node.name])
		}
		frames = append(frames, Frame{Function: name, File: file, Line: line, Inlined: node.parent >= 0})
		file, line = sk.lines.file(node.callFile), int(node.callLine)
		n = node.parent
	}
	return frames
}

// name returns the display name of the raw name at r, reading and
// demangling it on first use. Display names are cached by where the raw
// name is, so a function inlined in many places is demangled once.
func (l *Lines) name(r strRef) string {
	if s, ok := l.names.get(r); ok {
		return s
	}
	s := displayName(l.d.refString(r))
	l.names.put(r, s, len(s)+96)
	return s
}

// skim returns the skim of unit i, from the cache or made now.
func (l *Lines) skim(i int32) *cuSkim {
	if sk, ok := l.skims.get(i); ok {
		return sk
	}
	var sk *cuSkim
	func() {
		defer func() {
			if p := recover(); p != nil {
				sk = &cuSkim{err: &recoveredPanic{p}}
			}
		}()
		sk = l.d.skimUnit(&l.d.units[i], &l.scratch)
	}()
	l.skims.put(i, sk, sk.size)
	return sk
}

// fn returns function fi of unit ui, from the cache or decoded now.
func (l *Lines) fn(ui int32, sk *cuSkim, fi int32) *fnInfo {
	key := detailKey{unit: ui, i: fi}
	if f, ok := l.details.get(key); ok {
		return f.(*fnInfo)
	}
	var f *fnInfo
	func() {
		defer func() {
			if p := recover(); p != nil {
				f = &fnInfo{nodes: []inlNode{{parent: -1, name: -1}}, err: &recoveredPanic{p}}
			}
		}()
		f = l.d.decodeFunc(&l.d.units[ui], sk.spans[fi], &l.scratch)
	}()
	l.details.put(key, f, f.size)
	return f
}

// seqRows returns line sequence si of unit ui, from the cache or run now.
func (l *Lines) seqRows(ui int32, sk *cuSkim, si int32) *lineRows {
	key := detailKey{unit: ui, i: si, seq: true}
	if r, ok := l.details.get(key); ok {
		return r.(*lineRows)
	}
	var r *lineRows
	func() {
		defer func() {
			if p := recover(); p != nil {
				r = &lineRows{size: 64}
			}
		}()
		r = l.d.seqRows(&sk.lines, si)
	}()
	l.details.put(key, r, r.size)
	return r
}

// recoveredPanic is the error of a panic recovered while decoding DWARF:
// a bug, since the decoder checks its input, but one that costs only the
// file or unit it happened in.
type recoveredPanic struct{ v any }

func (e *recoveredPanic) Error() string { return fmt.Sprintf("malformed dwarf: panic: %v", e.v) }

// lru keeps values up to a bound on their total size, evicting the least
// recently used. The most recent value is never evicted, so one value
// bigger than the bound is still kept until the next.
type lru[K comparable, V any] struct {
	max  int
	used int
	m    map[K]*list.Element
	l    list.List // of *lruEntry[K, V], most recent first
}

type lruEntry[K comparable, V any] struct {
	key  K
	val  V
	size int
}

func (c *lru[K, V]) init(maxBytes int) {
	c.max = maxBytes
	c.m = make(map[K]*list.Element)
}

func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.l.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).val, true
}

func (c *lru[K, V]) put(k K, v V, size int) {
	if e, ok := c.m[k]; ok {
		c.used -= e.Value.(*lruEntry[K, V]).size
		c.l.Remove(e)
	}
	c.m[k] = c.l.PushFront(&lruEntry[K, V]{key: k, val: v, size: size})
	c.used += size
	c.shrink()
}

// grow adds n bytes to the size of k's value.
func (c *lru[K, V]) grow(k K, n int) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruEntry[K, V]).size += n
		c.used += n
		c.shrink()
	}
}

// shrink evicts the least recently used values until the cache is within
// its bound or holds only the most recent one.
func (c *lru[K, V]) shrink() {
	for c.used > c.max && c.l.Len() > 1 {
		e := c.l.Back()
		old := e.Value.(*lruEntry[K, V])
		c.l.Remove(e)
		delete(c.m, old.key)
		c.used -= old.size
	}
}

// each calls f with every cached value, most recent first.
func (c *lru[K, V]) each(f func(V)) {
	for e := c.l.Front(); e != nil; e = e.Next() {
		f(e.Value.(*lruEntry[K, V]).val)
	}
}

// len returns the number of cached values.
func (c *lru[K, V]) len() int { return c.l.Len() }
