package pclntab

import (
	"bytes"
	"encoding/binary"
)

// Hand-built pclntabs for unit tests and fuzz seeds, written from the
// format's description in table.go and pcvalue.go.

// run is a value in force over n bytes of code.
type run struct {
	val int32
	n   uint32
}

type synInl struct {
	name      string
	parentPC  int32
	startLine int32
	// Go 1.18 only.
	parent     int16
	file, line int32
}

type synFunc struct {
	name       string
	size       uint32
	startLine  int32
	flag       uint8
	pcsp       []run
	pcfile     []run
	pcln       []run
	inl        []run // pcdata PCDataInlTreeIndex; nil for none
	tree       []synInl
	noFuncData bool
}

type synTable struct {
	pcln     []byte // the pclntab
	funcdata []byte // go:func.*
	entries  []uint32
}

func uvarint(b *bytes.Buffer, v uint32) {
	for v >= 0x80 {
		b.WriteByte(byte(v) | 0x80)
		v >>= 7
	}
	b.WriteByte(byte(v))
}

// pcTable encodes runs as a pc-value table; consecutive runs must differ.
func pcTable(b *bytes.Buffer, runs []run) uint32 {
	if len(runs) == 0 {
		return 0
	}
	off := uint32(b.Len())
	prev := int32(-1)
	for _, r := range runs {
		d := r.val - prev
		zz := uint32(d) << 1
		if d < 0 {
			zz = uint32(^d)<<1 | 1
		}
		uvarint(b, zz)
		uvarint(b, r.n)
		prev = r.val
	}
	b.WriteByte(0)
	return off
}

func cstr(b *bytes.Buffer, s string) uint32 {
	off := uint32(b.Len())
	b.WriteString(s)
	b.WriteByte(0)
	return off
}

// buildSyn lays out a pclntab of version v (pointer size 8, quantum 1)
// with the functions placed one after another from text offset 0x100.
func buildSyn(v Version, textStart uint64, files []string, funcs []synFunc) synTable {
	le := binary.LittleEndian
	var names, cutab, filetab, pctab, fd bytes.Buffer
	pctab.WriteByte(0) // offset 0 means "no table"
	fileOffs := map[string]uint32{}
	for _, f := range files {
		fileOffs[f] = cstr(&filetab, f)
		cutab.Write(le.AppendUint32(nil, fileOffs[f]))
	}
	cutab.Write(le.AppendUint32(nil, ^uint32(0))) // a file with no name
	nameOff := func(s string) uint32 { return cstr(&names, s) }

	n := len(funcs)
	funcSize := 40
	if v >= Go120 {
		funcSize = 44
	}
	var recs bytes.Buffer
	ftab := make([]byte, 8*(n+1))
	var st synTable
	entry := uint32(0x100)
	for i, f := range funcs {
		for recs.Len()%8 != 0 {
			recs.WriteByte(0)
		}
		funcoff := uint32(len(ftab) + recs.Len())
		le.PutUint32(ftab[8*i:], entry)
		le.PutUint32(ftab[8*i+4:], funcoff)
		st.entries = append(st.entries, entry)

		var inlOff uint32
		npcdata := uint32(0)
		if f.inl != nil {
			inlOff = pcTable(&pctab, f.inl)
			npcdata = PCDataInlTreeIndex + 1
		}
		var treeOff = ^uint32(0)
		if len(f.tree) > 0 {
			treeOff = uint32(fd.Len())
			for _, c := range f.tree {
				if v >= Go120 {
					fd.Write([]byte{0, 0, 0, 0})
					fd.Write(le.AppendUint32(nil, nameOff(c.name)))
					fd.Write(le.AppendUint32(nil, uint32(c.parentPC)))
					fd.Write(le.AppendUint32(nil, uint32(c.startLine)))
				} else {
					fd.Write(le.AppendUint16(nil, uint16(c.parent)))
					fd.Write([]byte{0, 0})
					fd.Write(le.AppendUint32(nil, uint32(c.file)))
					fd.Write(le.AppendUint32(nil, uint32(c.line)))
					fd.Write(le.AppendUint32(nil, nameOff(c.name)))
					fd.Write(le.AppendUint32(nil, uint32(c.parentPC)))
				}
			}
		}
		rec := make([]byte, funcSize)
		w := func(k int, x uint32) { le.PutUint32(rec[4*k:], x) }
		w(0, entry)
		w(1, nameOff(f.name))
		w(4, pcTable(&pctab, f.pcsp))
		w(5, pcTable(&pctab, f.pcfile))
		w(6, pcTable(&pctab, f.pcln))
		w(7, npcdata)
		w(8, 0) // cuOffset
		tail := rec[36:]
		if v >= Go120 {
			w(9, uint32(f.startLine))
			tail = rec[40:]
		}
		nfd := byte(FuncDataInlTree + 1)
		if f.noFuncData {
			nfd = 0
		}
		tail[0], tail[1], tail[3] = 0, f.flag, nfd
		recs.Write(rec)
		for k := uint32(0); k < npcdata; k++ {
			x := uint32(0)
			if k == PCDataInlTreeIndex {
				x = inlOff
			}
			recs.Write(le.AppendUint32(nil, x))
		}
		for k := byte(0); k < nfd; k++ {
			x := ^uint32(0)
			if k == FuncDataInlTree {
				x = treeOff
			}
			recs.Write(le.AppendUint32(nil, x))
		}
		entry += f.size
	}
	le.PutUint32(ftab[8*n:], entry)
	st.entries = append(st.entries, entry)

	hdr := make([]byte, 72)
	magic := uint32(magic118)
	if v >= Go120 {
		magic = magic120
	}
	le.PutUint32(hdr, magic)
	hdr[6], hdr[7] = 1, 8
	off := uint64(len(hdr))
	put := func(k int, x uint64) { le.PutUint64(hdr[8+8*k:], x) }
	put(0, uint64(n))
	put(1, uint64(len(files)))
	put(2, textStart)
	var out bytes.Buffer
	out.Write(hdr)
	for k, b := range []*bytes.Buffer{&names, &cutab, &filetab, &pctab} {
		put(3+k, off)
		out.Write(b.Bytes())
		off += uint64(b.Len())
	}
	put(7, off)
	out.Write(ftab)
	out.Write(recs.Bytes())
	st.pcln = out.Bytes()
	copy(st.pcln, hdr)
	st.funcdata = fd.Bytes()
	return st
}

// synFuncs is a small program: a frameless leaf, a function with a frame
// and a call into an inlined function that calls another inlined one, a
// top frame and an SP-writing function.
func synFuncs(v Version) ([]string, []synFunc) {
	files := []string{"/src/main.go", "/src/inl.go"}
	tree := []synInl{
		{name: "main.inl1", parentPC: 0x10, startLine: 40, parent: -1, file: 0, line: 21},
		{name: "main.inl2[go.shape.int]", parentPC: 0x14, startLine: 50, parent: 0, file: 1, line: 42},
	}
	return files, []synFunc{
		{
			name: "main.leaf", size: 0x10, startLine: 10,
			pcsp: []run{{0, 0x9}}, pcfile: []run{{0, 0x9}}, pcln: []run{{11, 0x9}},
		},
		{
			name: "main.(*T).outer", size: 0x40, startLine: 20,
			pcsp:   []run{{0, 4}, {8, 4}, {0x28, 0x30}, {8, 1}, {0, 3}},
			pcfile: []run{{0, 0x10}, {1, 0x8}, {0, 0x1c}},
			pcln:   []run{{20, 0x10}, {42, 0x4}, {51, 0x4}, {22, 0x1c}},
			inl:    []run{{-1, 0x10}, {0, 0x4}, {1, 0x4}, {-1, 0x1c}},
			tree:   tree,
		},
		{
			name: "runtime.goexit", size: 0x10, flag: FlagTopFrame,
			pcsp: []run{{0, 7}}, pcfile: []run{{0, 7}}, pcln: []run{{100, 7}},
		},
		{
			name: "runtime.systemstack", size: 0x20, flag: FlagSPWrite,
			pcsp: []run{{0, 1}, {8, 0x1f}}, pcfile: []run{{2, 0x20}}, pcln: []run{{200, 0x20}},
			noFuncData: true,
		},
	}
}

func synTab(v Version) synTable {
	files, funcs := synFuncs(v)
	return buildSyn(v, 0x401000, files, funcs)
}
