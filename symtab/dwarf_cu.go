package symtab

import (
	"fmt"
)

// The per-unit part of DWARF symbolization, decoded in two levels so that
// a lookup pays for the function it lands in, not for its whole unit.
//
// The first lookup in a unit skims it: one pass over its DIEs records
// where each function's DIE subtree lies and which addresses it covers,
// and one pass over its line program records where each sequence starts
// (see lineIndex). A lookup then decodes just the function holding the
// address (its tree of inlined calls, flattened for lookup, and its
// names) and the line sequence holding it. Skims and decoded functions and
// sequences are cached apart, each bounded in bytes.

// maxDIEDepth bounds the nesting of DIEs followed in one unit.
const maxDIEDepth = 1 << 12

// cuSkim is what the first lookup in a unit learns of it.
type cuSkim struct {
	funcs segments // address -> function
	spans []fnSpan // by function
	lines lineIndex
	err   error // a decoding error; what was decoded before it is kept
	size  int   // memory held, for the cache's bound
}

// fnSpan is where a function's DIE and its subtree lie in .debug_info:
// [off, end).
type fnSpan struct {
	off, end uint64
}

// fnInfo is one decoded function: the function itself (node 0) and the
// calls inlined into it.
type fnInfo struct {
	segs  segments  // address -> innermost inlined call; the function itself in gaps
	nodes []inlNode // node 0 is the function
	// names locates the raw names of the nodes; a name is read and
	// demangled only when a lookup returns it (see Lines.name).
	names []strRef
	err   error
	size  int
}

// inlNode is a function or an inlined call.
type inlNode struct {
	parent   int32 // the node this call was inlined into; -1 for the function
	name     int32 // index in names; -1 when unknown
	callFile uint32
	callLine uint32
}

// strRef locates a string in a section of the file or of its
// supplementary file.
type strRef struct {
	off uint64
	sec uint8
}

// Sections a strRef may point into.
const (
	refStr     = iota + 1 // .debug_str
	refLineStr            // .debug_line_str
	refInfo               // .debug_info (DW_FORM_string)
	refAltStr             // the supplementary file's .debug_str
	refAltInfo            // the supplementary file's .debug_info
)

// refString reads the string r locates; nil when it cannot.
func (d *dwarfData) refString(r strRef) []byte {
	var sec *dsection
	switch r.sec {
	case refStr:
		sec = d.str
	case refLineStr:
		sec = d.lineStr
	case refInfo:
		sec = d.info
	case refAltStr, refAltInfo:
		if d.alt == nil {
			return nil
		}
		sec = d.alt.str
		if r.sec == refAltInfo {
			sec = d.alt.info
		}
	}
	if sec == nil {
		return nil
	}
	s, err := sec.cstring(r.off)
	if err != nil {
		return nil
	}
	return s
}

// skimUnit walks the DIEs of unit u for its functions and indexes its
// line program. buf is scratch memory for the unit's bytes.
func (d *dwarfData) skimUnit(u *unit, buf *[]byte) *cuSkim {
	sk := &cuSkim{}
	var items []rangeItem
	tab, err := d.abbrevTable(u.abbrevOff)
	var data []byte
	if err == nil {
		data, err = d.info.readInto(buf, u.off, u.end-u.off)
	}
	if err == nil {
		items, err = d.walkFuncs(u, tab, data, sk)
	}
	sk.funcs = buildSegments(items)
	lines, lerr := d.indexLines(u)
	sk.lines = lines
	if err == nil {
		err = lerr
	}
	sk.err = err
	sk.size = 256 + sk.funcs.memBytes() + cap(sk.spans)*16 + sk.lines.memBytes()
	return sk
}

// walkFuncs records the span of every function of the unit in data that
// has code, and returns the functions' ranges; functions nested in
// others (GNU C nested functions) are deeper, so they win where they
// overlap.
func (d *dwarfData) walkFuncs(u *unit, tab *abbrevTable, data []byte, sk *cuSkim) ([]rangeItem, error) {
	b := newDbuf(d.info.name, u.off, data, d.order)
	b.off = int(u.dieOff - u.off)
	// Range lists can be shared by many DIEs: bound the ranges decoded by
	// the unit's size.
	maxItems := 1<<16 + len(data)
	var items []rangeItem
	var ranges []pcRange
	// open[i] is the function whose subtree the DIEs at depth i+1 close,
	// or -1.
	open := make([]int32, 0, 64)
	for b.err == nil && b.left() > 0 {
		start := b.pos()
		code := b.uleb()
		if code == 0 {
			if n := len(open); n > 0 {
				if f := open[n-1]; f >= 0 {
					sk.spans[f].end = b.pos()
				}
				open = open[:n-1]
			}
			continue
		}
		a := tab.get(code)
		if a == nil {
			b.fail(fmt.Sprintf("unknown abbreviation code %d", code))
			break
		}
		fn := int32(-1)
		if a.tag == tagSubprogram {
			var pa pcAttrs
			for _, sp := range a.specs {
				switch sp.attr {
				case atLowPC:
					pa.low = readAttr(&b, u, sp.form, sp.implicit)
				case atHighPC:
					pa.high = readAttr(&b, u, sp.form, sp.implicit)
				case atRanges:
					pa.ranges = readAttr(&b, u, sp.form, sp.implicit)
				default:
					skipAttr(&b, u, sp.form)
				}
			}
			var err error
			ranges, err = d.dieRanges(u, &pa, ranges[:0], maxItems-len(items))
			if len(items)+len(ranges) >= maxItems {
				b.fail("too many address ranges")
				break
			}
			if err == nil && len(ranges) > 0 && len(sk.spans) < 1<<30 {
				fn = int32(len(sk.spans))
				sk.spans = append(sk.spans, fnSpan{off: start, end: b.pos()})
				for _, r := range ranges {
					items = append(items, rangeItem{pcRange: r, id: fn, depth: int32(len(open))})
				}
			}
		} else {
			for _, sp := range a.specs {
				skipAttr(&b, u, sp.form)
			}
		}
		if a.children {
			if len(open) >= maxDIEDepth {
				b.fail("DIEs nested too deeply")
				break
			}
			open = append(open, fn)
		}
	}
	return items, b.err
}

// funcParser holds the state of decoding one function.
type funcParser struct {
	d     *dwarfData
	u     *unit
	tab   *abbrevTable
	data  []byte // the function's DIEs
	base  uint64 // .debug_info offset of data[0]
	f     *fnInfo
	items []rangeItem
	// memo maps a DIE offset (the high bit set for the supplementary
	// file) to its name.
	memo   map[uint64]refName
	byRef  map[strRef]int32
	depths []int32 // by node: how many inlined calls enclose it
}

// refName is where a function's name is and whether it is a linkage
// (mangled, qualified) name.
type refName struct {
	ref     strRef
	linkage bool
	ok      bool
}

// dieAttrs is what the decoder keeps of a function or inlined-call DIE.
type dieAttrs struct {
	pcAttrs
	dieNames
	callFile, callLine uint64
}

// decodeFunc decodes the function whose DIEs lie in span of unit u. buf
// is scratch memory for them.
func (d *dwarfData) decodeFunc(u *unit, span fnSpan, buf *[]byte) *fnInfo {
	f := &fnInfo{}
	p := &funcParser{d: d, u: u, f: f, base: span.off, memo: make(map[uint64]refName), byRef: make(map[strRef]int32)}
	var err error
	if span.off < u.dieOff || span.end > u.end || span.off >= span.end {
		err = &FormatError{Off: -1, Msg: fmt.Sprintf("function DIEs at %#x outside their unit", span.off)}
	} else if p.tab, err = d.abbrevTable(u.abbrevOff); err == nil {
		if p.data, err = d.info.readInto(buf, span.off, span.end-span.off); err == nil {
			err = p.walk()
		}
	}
	if len(f.nodes) == 0 {
		f.nodes = []inlNode{{parent: -1, name: -1}}
	}
	f.segs = buildSegments(p.items)
	f.err = err
	f.size = 128 + f.segs.memBytes() + cap(f.nodes)*16 + cap(f.names)*16
	return f
}

// walk decodes the function at the start of p.data and the calls inlined
// into it.
func (p *funcParser) walk() error {
	u := p.u
	b := newDbuf(p.d.info.name, p.base, p.data, p.d.order)
	// Range lists can be shared by many DIEs: bound the ranges decoded by
	// the function's size.
	maxItems := 1<<16 + len(p.data)
	// parents[i] is the node that DIEs at depth i+1 belong to; -2 inside
	// a nested function, whose calls are its own.
	parents := make([]int32, 0, 64)
	var ranges []pcRange
	for b.err == nil && b.left() > 0 {
		code := b.uleb()
		if code == 0 {
			if len(parents) > 0 {
				parents = parents[:len(parents)-1]
			}
			if len(parents) == 0 {
				break // the end of the function's children
			}
			continue
		}
		a := p.tab.get(code)
		if a == nil {
			b.fail(fmt.Sprintf("unknown abbreviation code %d", code))
			break
		}
		first := len(p.f.nodes) == 0
		parent := int32(-1)
		if len(parents) > 0 {
			parent = parents[len(parents)-1]
		}
		child := parent
		switch {
		case first:
			da := readFuncAttrs(&b, u, a)
			child = p.addNode(-1, &da, nil)
		case a.tag == tagSubprogram:
			for _, sp := range a.specs {
				skipAttr(&b, u, sp.form)
			}
			child = -2
		case a.tag == tagInlinedSubroutine && parent >= 0:
			da := readFuncAttrs(&b, u, a)
			if b.err != nil {
				break
			}
			var err error
			ranges, err = p.d.dieRanges(u, &da.pcAttrs, ranges[:0], maxItems-len(p.items))
			if len(p.items)+len(ranges) >= maxItems {
				b.fail("too many address ranges")
				break
			}
			if err == nil && len(ranges) > 0 && len(p.f.nodes) < 1<<30 {
				child = p.addNode(parent, &da, ranges)
			}
		default:
			for _, sp := range a.specs {
				skipAttr(&b, u, sp.form)
			}
		}
		if first && !a.children {
			break
		}
		if a.children {
			if len(parents) >= maxDIEDepth {
				b.fail("DIEs nested too deeply")
				break
			}
			parents = append(parents, child)
		}
	}
	return b.err
}

// readFuncAttrs decodes the attributes of a function or inlined call.
func readFuncAttrs(b *dbuf, u *unit, a *abbrev) dieAttrs {
	var da dieAttrs
	for _, sp := range a.specs {
		switch sp.attr {
		case atLowPC:
			da.low = readAttr(b, u, sp.form, sp.implicit)
		case atHighPC:
			da.high = readAttr(b, u, sp.form, sp.implicit)
		case atRanges:
			da.ranges = readAttr(b, u, sp.form, sp.implicit)
		case atName:
			da.name = readAttr(b, u, sp.form, sp.implicit)
		case atLinkageName, atMIPSLinkageName:
			da.linkage = readAttr(b, u, sp.form, sp.implicit)
		case atAbstractOrigin:
			da.origin = readAttr(b, u, sp.form, sp.implicit)
		case atSpecification:
			da.spec = readAttr(b, u, sp.form, sp.implicit)
		case atCallFile:
			da.callFile = readAttr(b, u, sp.form, sp.implicit).u
		case atCallLine:
			da.callLine = readAttr(b, u, sp.form, sp.implicit).u
		default:
			skipAttr(b, u, sp.form)
		}
	}
	return da
}

// addNode adds the function (parent -1) or a call inlined into node
// parent, covering ranges.
func (p *funcParser) addNode(parent int32, da *dieAttrs, ranges []pcRange) int32 {
	depth := int32(0)
	if parent >= 0 {
		depth = p.depths[parent] + 1
	}
	n := inlNode{
		parent:   parent,
		name:     -1,
		callFile: uint32(min(da.callFile, noFile-1)),
		callLine: uint32(min(da.callLine, 1<<31)),
	}
	if r := p.nameOf(p.d, p.u, &da.dieNames, 0); r.ok {
		n.name = p.intern(r.ref)
	}
	id := int32(len(p.f.nodes))
	p.f.nodes = append(p.f.nodes, n)
	p.depths = append(p.depths, depth)
	for _, r := range ranges {
		p.items = append(p.items, rangeItem{pcRange: r, id: id, depth: depth})
	}
	return id
}

func (p *funcParser) intern(r strRef) int32 {
	if i, ok := p.byRef[r]; ok {
		return i
	}
	i := int32(len(p.f.names))
	p.f.names = append(p.f.names, r)
	p.byRef[r] = i
	return i
}

// nameOf names a function from the naming attributes of one of its DIEs:
// its linkage name if the DIE or the DIEs it refers to
// (DW_AT_abstract_origin, DW_AT_specification) have one, else the first
// plain name met.
func (p *funcParser) nameOf(d *dwarfData, u *unit, n *dieNames, depth int) refName {
	if r, ok := p.strRef(d, u, n.linkage); ok {
		return refName{ref: r, linkage: true, ok: true}
	}
	var own refName
	if r, ok := p.strRef(d, u, n.name); ok {
		own = refName{ref: r, ok: true}
	}
	for _, ref := range []attrVal{n.origin, n.spec} {
		if ref.cls != clsRef && ref.cls != clsRefAlt {
			continue
		}
		r := p.follow(d, ref, depth+1)
		if r.linkage || (r.ok && !own.ok) {
			return r
		}
	}
	return own
}

// strRef locates the string of attribute v of a DIE of unit u in d,
// which is p's file or its supplementary file.
func (p *funcParser) strRef(d *dwarfData, u *unit, v attrVal) (strRef, bool) {
	alt := d != p.d
	switch v.cls {
	case clsStr:
		if alt {
			return strRef{sec: refAltInfo, off: v.u}, true
		}
		return strRef{sec: refInfo, off: v.u}, true
	case clsStrp:
		if alt {
			return strRef{sec: refAltStr, off: v.u}, true
		}
		return strRef{sec: refStr, off: v.u}, true
	case clsLineStrp:
		if !alt {
			return strRef{sec: refLineStr, off: v.u}, true
		}
	case clsStrAlt:
		if !alt {
			return strRef{sec: refAltStr, off: v.u}, true
		}
	case clsStrx:
		off, err := d.strxOffset(u, v.u)
		if err != nil {
			return strRef{}, false
		}
		if alt {
			return strRef{sec: refAltStr, off: off}, true
		}
		return strRef{sec: refStr, off: off}, true
	}
	return strRef{}, false
}

// follow names the DIE a reference attribute points to.
func (p *funcParser) follow(d *dwarfData, ref attrVal, depth int) refName {
	if depth > maxRefDepth {
		return refName{}
	}
	if ref.cls == clsRefAlt {
		if d.alt == nil {
			return refName{}
		}
		d = d.alt
		d.ensureUnits()
	}
	key := ref.u &^ (1 << 63)
	if d != p.d {
		key |= 1 << 63
	}
	if r, ok := p.memo[key]; ok {
		return r
	}
	p.memo[key] = refName{} // breaks reference cycles
	var n dieNames
	var u *unit
	if d == p.d && ref.u >= p.base && ref.u-p.base < uint64(len(p.data)) {
		u = p.u
		b := newDbuf(d.info.name, p.base, p.data, d.order)
		b.off = int(ref.u - p.base)
		n = readNames(&b, u, p.tab)
		if b.err != nil {
			return refName{}
		}
	} else {
		var err error
		if n, u, err = d.namesAt(ref.u); err != nil {
			return refName{}
		}
	}
	r := p.nameOf(d, u, &n, depth)
	p.memo[key] = r
	return r
}
