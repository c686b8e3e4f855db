package pclntab

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNoFuncData is wrapped when funcdata is needed but the go:func.*
// region was not found (Config.FuncData is nil).
var ErrNoFuncData = errors.New("funcdata region unknown")

// InlinedCall is one entry of a function's inline tree: a call that the
// compiler inlined into it.
type InlinedCall struct {
	FuncID  uint8
	NameOff int32 // of the inlined function, in the function name table
	// ParentPC is an offset from the outer function's entry of an
	// instruction that stands for the call site: pc-value tables at that
	// pc give the caller's file, line and inline-tree index.
	ParentPC int32
	// StartLine is the line of the inlined function's declaration (Go
	// 1.20 and later).
	StartLine int32
	// Go 1.18 only: index of the parent entry (-1 for the outer
	// function), and the call site's file number and line.
	Parent int16
	File   int32
	Line   int32
}

// inlinedCallSize is the size of an inline tree entry.
func (t *Table) inlinedCallSize() uint64 {
	if t.Version >= Go120 {
		return 16 // funcID, 3 pad, nameOff, parentPc, startLine
	}
	return 20 // parent, funcID, pad, file, line, nameOff, parentPc
}

// InlinedCall returns entry ix of f's inline tree (funcdata
// FuncDataInlTree), ix being a value of f's PCDataInlTreeIndex table.
func (t *Table) InlinedCall(f *Func, ix int32) (InlinedCall, error) {
	if ix < 0 || ix >= maxInlIndex {
		return InlinedCall{}, fmt.Errorf("inline tree index %d out of range", ix)
	}
	tree, ok, err := t.FuncData(f, FuncDataInlTree)
	if err != nil {
		return InlinedCall{}, err
	}
	if !ok {
		return InlinedCall{}, formatErr(f.off, "function %d has inline indexes but no inline tree", f.Index)
	}
	if t.funcdata.size == 0 {
		return InlinedCall{}, ErrNoFuncData
	}
	sz := t.inlinedCallSize()
	off := uint64(tree) + uint64(ix)*sz
	var b [20]byte
	rec := b[:sz]
	if !t.funcdata.readFull(rec, off, t.funcdata.size) {
		return InlinedCall{}, fmt.Errorf("inline tree entry %d of function %d at go:func.*+%#x: out of bounds", ix, f.Index, off)
	}
	le := binary.LittleEndian
	if t.Version >= Go120 {
		return InlinedCall{
			FuncID:    rec[0],
			NameOff:   int32(le.Uint32(rec[4:])),
			ParentPC:  int32(le.Uint32(rec[8:])),
			StartLine: int32(le.Uint32(rec[12:])),
			Parent:    -1,
		}, nil
	}
	return InlinedCall{
		Parent:   int16(le.Uint16(rec[0:])),
		FuncID:   rec[2],
		File:     int32(le.Uint32(rec[4:])),
		Line:     int32(le.Uint32(rec[8:])),
		NameOff:  int32(le.Uint32(rec[12:])),
		ParentPC: int32(le.Uint32(rec[16:])),
	}, nil
}
