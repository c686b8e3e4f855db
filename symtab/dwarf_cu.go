package symtab

import (
	"fmt"
)

// The per-unit part of DWARF symbolization: a unit's tree of functions
// and inlined calls, flattened for lookup, with its line table. A unit is
// decoded on the first lookup of an address in it.

// maxDIEDepth bounds the nesting of DIEs followed in one unit.
const maxDIEDepth = 1 << 12

// cuInfo is one decoded unit.
type cuInfo struct {
	segs  segments  // address -> innermost node
	nodes []inlNode // functions (roots) and inlined calls
	names []string  // raw names by index, display names once computed
	shown []bool    // names[i] has been made a display name
	lines lineTable
	err   error // a decoding error; what was decoded before it is kept
	size  int   // memory held, for the cache's bound
}

// inlNode is a function or an inlined call.
type inlNode struct {
	parent   int32 // the node this call was inlined into; -1 for a function
	name     int32 // index in names; -1 when unknown
	callFile uint32
	callLine uint32
}

// name returns the display name of node n, demangling it on first use.
func (c *cuInfo) name(n int32) string {
	i := c.nodes[n].name
	if i < 0 {
		return ""
	}
	if !c.shown[i] {
		c.names[i] = displayName([]byte(c.names[i]))
		c.shown[i] = true
	}
	return c.names[i]
}

// cuParser holds the state of decoding one unit.
type cuParser struct {
	d     *dwarfData
	u     *unit
	tab   *abbrevTable
	data  []byte // the whole unit
	c     *cuInfo
	items []rangeItem
	// memo maps a DIE offset (the high bit set for the supplementary
	// file) to its name.
	memo   map[uint64]refName
	byName map[string]int32
	depths []int32 // by node: how many inlined calls enclose it
	// rangesOnly makes the walk only collect the ranges of functions, for
	// indexing a unit whose root DIE has none.
	rangesOnly bool
	// maxItems bounds the ranges decoded and nameBytes counts the bytes of
	// names read, against maxNameBytes: range lists and strings can be
	// shared by many DIEs, so a small hostile unit could otherwise cost
	// far more than its size.
	maxItems     int
	nameBytes    int
	maxNameBytes int
}

// refName is a resolved function name and whether it is a linkage
// (mangled, qualified) name.
type refName struct {
	name    string
	linkage bool
	ok      bool
}

// parseCU decodes the functions, inlined calls and line table of u.
func (d *dwarfData) parseCU(u *unit) *cuInfo {
	c := &cuInfo{}
	p := &cuParser{d: d, u: u, c: c, memo: make(map[uint64]refName), byName: make(map[string]int32)}
	var err error
	if p.tab, err = d.abbrevTable(u.abbrevOff); err == nil {
		if p.data, err = d.info.read(u.off, u.end-u.off); err == nil {
			p.setBudget()
			err = p.walk()
		}
	}
	c.segs = buildSegments(p.items)
	lines, lerr := d.parseLines(u)
	c.lines = lines
	if err == nil {
		err = lerr
	}
	c.err = err
	c.shown = make([]bool, len(c.names))
	c.size = 256 + c.segs.memBytes() + cap(c.nodes)*16 + cap(c.names)*17 + c.lines.memBytes()
	for _, s := range c.names {
		c.size += len(s)
	}
	return c
}

// setBudget sets the bounds of decoding the unit in p.data.
func (p *cuParser) setBudget() {
	p.maxItems = 1<<16 + len(p.data)
	p.maxNameBytes = 16<<20 + 4*len(p.data)
}

// dieAttrs is what the walk keeps of a function or inlined-call DIE.
type dieAttrs struct {
	pcAttrs
	dieNames
	callFile, callLine uint64
}

// walk decodes the unit's DIEs, adding a node for every function and
// inlined call that has code.
func (p *cuParser) walk() error {
	u := p.u
	b := newDbuf(p.d.info.name, u.off, p.data, p.d.order)
	b.off = int(u.dieOff - u.off)
	// parents[i] is the node that DIEs at depth i+1 belong to.
	parents := make([]int32, 1, 64)
	parents[0] = -1
	var ranges []pcRange
	for b.err == nil && b.left() > 0 {
		code := b.uleb()
		if code == 0 {
			if len(parents) > 1 {
				parents = parents[:len(parents)-1]
			}
			continue
		}
		a := p.tab.get(code)
		if a == nil {
			b.fail(fmt.Sprintf("unknown abbreviation code %d", code))
			break
		}
		parent := parents[len(parents)-1]
		if a.tag != tagSubprogram && a.tag != tagInlinedSubroutine {
			for _, sp := range a.specs {
				skipAttr(&b, u, sp.form)
			}
			if a.children {
				if len(parents) >= maxDIEDepth {
					b.fail("DIEs nested too deeply")
					break
				}
				parents = append(parents, parent)
			}
			continue
		}
		da := readFuncAttrs(&b, u, a)
		if b.err != nil {
			break
		}
		var err error
		ranges, err = p.d.dieRanges(u, &da.pcAttrs, ranges[:0], p.maxItems-len(p.items))
		if len(p.items)+len(ranges) >= p.maxItems {
			b.fail("too many address ranges")
			break
		}
		node := int32(-1)
		if err == nil && len(ranges) > 0 && len(p.c.nodes) < 1<<30 {
			node = p.addNode(a.tag, parent, &da, ranges)
		}
		if a.children {
			if len(parents) >= maxDIEDepth {
				b.fail("DIEs nested too deeply")
				break
			}
			parents = append(parents, node)
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

// addNode adds a function (a subprogram, which never has a parent: a
// nested function is not an inlined call) or an inlined call.
func (p *cuParser) addNode(tag uint32, parent int32, da *dieAttrs, ranges []pcRange) int32 {
	if p.rangesOnly {
		if tag == tagSubprogram && len(p.items) < maxListEntries {
			for _, r := range ranges {
				p.items = append(p.items, rangeItem{pcRange: r})
			}
		}
		return -1
	}
	depth := int32(0)
	if tag == tagSubprogram {
		parent = -1
	} else if parent >= 0 {
		depth = p.depths[parent] + 1
	}
	n := inlNode{
		parent:   parent,
		name:     -1,
		callFile: uint32(min(da.callFile, noFile-1)),
		callLine: uint32(min(da.callLine, 1<<31)),
	}
	if r := p.nameOf(p.d, p.u, &da.dieNames, 0); r.ok {
		n.name = p.intern(r.name)
	}
	id := int32(len(p.c.nodes))
	p.c.nodes = append(p.c.nodes, n)
	p.depths = append(p.depths, depth)
	for _, r := range ranges {
		p.items = append(p.items, rangeItem{pcRange: r, id: id, depth: depth})
	}
	return id
}

func (p *cuParser) intern(s string) int32 {
	if i, ok := p.byName[s]; ok {
		return i
	}
	i := int32(len(p.c.names))
	p.c.names = append(p.c.names, s)
	p.byName[s] = i
	return i
}

// nameOf names a function from the naming attributes of one of its DIEs:
// its linkage name if the DIE or the DIEs it refers to
// (DW_AT_abstract_origin, DW_AT_specification) have one, else the first
// plain name met.
func (p *cuParser) nameOf(d *dwarfData, u *unit, n *dieNames, depth int) refName {
	if n.linkage.cls != clsNone {
		if s := p.str(d, u, n.linkage); len(s) > 0 {
			return refName{name: string(s), linkage: true, ok: true}
		}
	}
	var own refName
	if n.name.cls != clsNone {
		if s := p.str(d, u, n.name); len(s) > 0 {
			own = refName{name: string(s), ok: true}
		}
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

// str reads a name string, charging it to the unit's budget; nil once the
// budget is spent.
func (p *cuParser) str(d *dwarfData, u *unit, v attrVal) []byte {
	if p.nameBytes > p.maxNameBytes {
		return nil
	}
	s, err := d.attrString(u, v)
	if err != nil {
		return nil
	}
	p.nameBytes += len(s) + 16
	return s
}

// follow names the DIE a reference attribute points to.
func (p *cuParser) follow(d *dwarfData, ref attrVal, depth int) refName {
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
	if d == p.d && ref.u >= p.u.dieOff && ref.u < p.u.end {
		u = p.u
		b := newDbuf(d.info.name, p.u.off, p.data, d.order)
		b.off = int(ref.u - p.u.off)
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
