package pclntab

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Version is the pclntab format.
type Version uint8

const (
	// Go118 is the format of Go 1.18 and 1.19 (magic 0xfffffff0).
	Go118 Version = iota + 1
	// Go120 is the format of Go 1.20 and later (magic 0xfffffff1).
	Go120
)

func (v Version) String() string {
	switch v {
	case Go118:
		return "go1.18"
	case Go120:
		return "go1.20"
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// Header magics. The ones before Go 1.18 are recognized only to say so.
const (
	magic12  = 0xfffffffb
	magic116 = 0xfffffffa
	magic118 = 0xfffffff0
	magic120 = 0xfffffff1
)

// headerSize is the header's size for ptrSize: 8 bytes of magic, padding,
// quantum and pointer size, then eight words (nfunc, nfiles, textStart and
// the offsets of funcnametab, cutab, filetab, pctab and pclntable).
func headerSize(ptrSize uint64) uint64 { return 8 + 8*ptrSize }

// Flag bits of Func.Flag.
const (
	// FlagTopFrame marks a function at the outermost end of a stack
	// (runtime.goexit, runtime.mstart, runtime.rt0_go): unwinding stops.
	FlagTopFrame = 1 << 0
	// FlagSPWrite marks a function that writes SP other than by constant
	// adjustments (stack switches): its pcsp table does not describe the
	// stack after the write.
	FlagSPWrite = 1 << 1
	// FlagAsm marks an assembly function (Go 1.21 and later).
	FlagAsm = 1 << 2
)

// Indexes of per-PC data tables and of funcdata.
const (
	PCDataUnsafePoint   = 0
	PCDataStackMapIndex = 1
	PCDataInlTreeIndex  = 2
	FuncDataInlTree     = 3
)

// maxIndex bounds npcdata-style indexes and inline-tree indexes read from
// the input; the runtime's own tables use a handful of pcdata tables and
// inline trees of at most tens of thousands of entries.
const maxInlIndex = 1 << 20

// Config gives New what the pclntab itself does not record.
type Config struct {
	// TextStart is the address of runtime.text, which entry offsets are
	// relative to. When zero, the header's textStart is used (Go 1.18 to
	// 1.25 record it there; later versions leave it zero).
	TextStart uint64
	// FuncData reads the go:func.* region (moduledata.gofunc), which
	// funcdata offsets are relative to, up to FuncDataSize bytes. When nil,
	// funcdata (and so inline trees) are unavailable.
	FuncData     io.ReaderAt
	FuncDataSize uint64
}

// region is [off, end) of the pclntab.
type region struct{ off, end uint64 }

// Table is a parsed pclntab. Its function index is in memory; everything
// else is read from its source on use. Its methods are safe for concurrent
// use.
type Table struct {
	Version   Version
	Quantum   uint8  // instruction size quantum: 1 on x86
	PtrSize   uint8  // 4 or 8
	TextStart uint64 // address entry offsets are relative to
	NumFiles  uint64 // number of files named in the file table

	src      source
	funcdata source // go:func.*; size 0 when unknown

	funcnames, cutab, filetab, pctab, pcln region
	funcSize                               uint64 // size of a _func record before its pcdata

	// entries holds each function's entry offset, plus the end of the
	// last function; funcOffs each function's _func offset in pcln.
	entries  []uint32
	funcOffs []uint32
}

// NewBytes parses the pclntab in data.
func NewBytes(data []byte, cfg Config) (*Table, error) {
	return newTable(memSource(data), cfg)
}

// New parses the pclntab of size bytes read through r. r is read again by
// the Table's methods, which may be called concurrently: it must allow
// that (os.File and io.SectionReader do).
func New(r io.ReaderAt, size uint64, cfg Config) (*Table, error) {
	return newTable(source{r: r, size: size}, cfg)
}

func newTable(src source, cfg Config) (*Table, error) {
	t := &Table{src: src}
	var hdr [8 + 8*8]byte
	if !src.readFull(hdr[:8], 0, src.size) {
		return nil, fmt.Errorf("header: %w", ErrNotFound)
	}
	magic := binary.LittleEndian.Uint32(hdr[:])
	switch magic {
	case magic118:
		t.Version, t.funcSize = Go118, 40
	case magic120:
		t.Version, t.funcSize = Go120, 44
	case magic12, magic116:
		return nil, fmt.Errorf("pclntab of Go 1.17 or older (magic %#x): %w", magic, ErrUnsupportedVersion)
	default:
		if magic&^0xf == 0xfffffff0 {
			return nil, fmt.Errorf("pclntab magic %#x: %w", magic, ErrUnsupportedVersion)
		}
		return nil, fmt.Errorf("bad magic %#x: %w", magic, ErrNotFound)
	}
	if hdr[4] != 0 || hdr[5] != 0 {
		return nil, formatErr(4, "nonzero header padding")
	}
	t.Quantum, t.PtrSize = hdr[6], hdr[7]
	if q := t.Quantum; q != 1 && q != 2 && q != 4 {
		return nil, formatErr(6, "bad instruction quantum %d", q)
	}
	if t.PtrSize != 4 && t.PtrSize != 8 {
		return nil, formatErr(7, "bad pointer size %d", t.PtrSize)
	}
	ps := uint64(t.PtrSize)
	if !src.readFull(hdr[:headerSize(ps)], 0, src.size) {
		return nil, formatErr(0, "truncated header")
	}
	word := func(i uint64) uint64 {
		if ps == 4 {
			return uint64(binary.LittleEndian.Uint32(hdr[8+4*i:]))
		}
		return binary.LittleEndian.Uint64(hdr[8+8*i:])
	}
	nfunc := word(0)
	t.NumFiles = word(1)
	t.TextStart = word(2)
	if cfg.TextStart != 0 {
		t.TextStart = cfg.TextStart
	}
	offs := [...]uint64{headerSize(ps), word(3), word(4), word(5), word(6), word(7), src.size}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return nil, formatErr(8+ps*(2+uint64(i)), "table offset %#x out of order", offs[i])
		}
	}
	t.funcnames = region{offs[1], offs[2]}
	t.cutab = region{offs[2], offs[3]}
	t.filetab = region{offs[3], offs[4]}
	t.pctab = region{offs[4], offs[5]}
	t.pcln = region{offs[5], offs[6]}
	if err := t.readFuncTab(nfunc); err != nil {
		return nil, err
	}
	if cfg.FuncData != nil {
		t.funcdata = source{r: cfg.FuncData, size: cfg.FuncDataSize}
	}
	return t, nil
}

// readFuncTab loads the function table: nfunc pairs of (entry offset,
// _func offset) and the end offset, at the start of pcln.
func (t *Table) readFuncTab(nfunc uint64) error {
	avail := t.pcln.end - t.pcln.off
	if nfunc >= avail/8 {
		return formatErr(8, "%d functions do not fit in %d bytes", nfunc, avail)
	}
	n := int(nfunc)
	t.entries = make([]uint32, n+1)
	t.funcOffs = make([]uint32, n)
	var buf [8 * 512]byte
	off := t.pcln.off
	for i := 0; i <= n; {
		k := min(n+1-i, len(buf)/8)
		if i+k > n { // the end entry has only its offset
			if !t.src.readFull(buf[:8*k-4], off, t.pcln.end) {
				return formatErr(off, "truncated function table")
			}
		} else if !t.src.readFull(buf[:8*k], off, t.pcln.end) {
			return formatErr(off, "truncated function table")
		}
		for j := 0; j < k; j++ {
			t.entries[i+j] = binary.LittleEndian.Uint32(buf[8*j:])
			if i+j < n {
				t.funcOffs[i+j] = binary.LittleEndian.Uint32(buf[8*j+4:])
			}
		}
		i += k
		off += uint64(8 * k)
	}
	for i := 1; i <= n; i++ {
		if t.entries[i] < t.entries[i-1] {
			return formatErr(t.pcln.off+8*uint64(i), "function table not sorted")
		}
	}
	return nil
}

// NumFuncs returns the number of functions.
func (t *Table) NumFuncs() int { return len(t.funcOffs) }

// TextEnd returns the end address of the last function.
func (t *Table) TextEnd() uint64 {
	return t.TextStart + uint64(t.entries[len(t.entries)-1])
}

// Entry returns the entry address of function i.
func (t *Table) Entry(i int) uint64 { return t.TextStart + uint64(t.entries[i]) }

// FindFunc returns the index of the function whose range [entry, next
// entry) holds pc.
func (t *Table) FindFunc(pc uint64) (int, bool) {
	if pc < t.TextStart || pc-t.TextStart >= uint64(t.entries[len(t.entries)-1]) {
		return 0, false
	}
	off := uint32(pc - t.TextStart)
	// The first entry after off, minus one.
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i] > off }) - 1
	if i < 0 || i >= len(t.funcOffs) {
		return 0, false
	}
	return i, true
}

// Func is a function's _func record.
type Func struct {
	Index      int
	Entry, End uint64 // End is the next function's entry
	NameOff    int32
	Args       int32
	PCSP       uint32 // pc-value table offsets into pctab; 0 when absent
	PCFile     uint32
	PCLn       uint32
	NPCData    uint32
	CUOffset   uint32
	StartLine  int32 // Go 1.20 and later
	FuncID     uint8
	Flag       uint8
	NFuncData  uint8

	off uint64 // of the _func record in the pclntab
}

// Func reads function i's record.
func (t *Table) Func(i int) (Func, error) {
	if i < 0 || i >= len(t.funcOffs) {
		return Func{}, fmt.Errorf("function index %d out of range", i)
	}
	off := t.pcln.off + uint64(t.funcOffs[i])
	var b [44]byte
	rec := b[:t.funcSize]
	if !t.src.readFull(rec, off, t.pcln.end) {
		return Func{}, formatErr(off, "_func of function %d out of bounds", i)
	}
	le := binary.LittleEndian
	u := func(k int) uint32 { return le.Uint32(rec[4*k:]) }
	f := Func{
		Index: i, Entry: t.Entry(i), End: t.Entry(i + 1),
		NameOff: int32(u(1)), Args: int32(u(2)),
		PCSP: u(4), PCFile: u(5), PCLn: u(6), NPCData: u(7), CUOffset: u(8),
		off: off,
	}
	tail := rec[36:]
	if t.Version >= Go120 {
		f.StartLine = int32(u(9))
		tail = rec[40:]
	}
	f.FuncID, f.Flag, f.NFuncData = tail[0], tail[1], tail[3]
	if u(0) != t.entries[i] {
		return Func{}, formatErr(off, "_func entry %#x differs from function table's %#x", u(0), t.entries[i])
	}
	if f.NPCData > maxInlIndex {
		return Func{}, formatErr(off+28, "%d pcdata tables", f.NPCData)
	}
	return f, nil
}

// Name returns the function name at nameOff in the function name table.
func (t *Table) Name(nameOff int32) (string, error) {
	if nameOff < 0 {
		return "", formatErr(t.funcnames.off, "negative name offset %d", nameOff)
	}
	return t.cstring(t.funcnames, uint64(nameOff))
}

// FuncName returns f's name.
func (t *Table) FuncName(f *Func) (string, error) { return t.Name(f.NameOff) }

// FileName returns the name of file number fileno of f's compilation
// unit (a pcfile value).
func (t *Table) FileName(f *Func, fileno int32) (string, error) {
	if fileno < 0 {
		return "", formatErr(f.off, "negative file number %d", fileno)
	}
	idx := uint64(f.CUOffset) + uint64(fileno)
	off := t.cutab.off + 4*idx
	var b [4]byte
	if !t.src.readFull(b[:], off, t.cutab.end) {
		return "", formatErr(off, "file index %d out of bounds", idx)
	}
	fo := binary.LittleEndian.Uint32(b[:])
	if fo == ^uint32(0) {
		return "", formatErr(off, "file %d of function %d has no name", fileno, f.Index)
	}
	return t.cstring(t.filetab, uint64(fo))
}

// cstring reads the NUL-terminated string at off in r.
func (t *Table) cstring(r region, off uint64) (string, error) {
	start := r.off + off
	if off >= r.end-r.off {
		return "", formatErr(r.off, "string offset %#x out of bounds", off)
	}
	var out []byte
	for pos := start; ; {
		b := t.src.at(pos, 256, r.end)
		if len(b) == 0 {
			return "", formatErr(start, "unterminated string")
		}
		for i, c := range b {
			if c == 0 {
				if out == nil {
					return string(b[:i]), nil
				}
				return string(append(out, b[:i]...)), nil
			}
		}
		out = append(out, b...)
		pos += uint64(len(b))
	}
}

// PCData returns the offset in pctab of f's pcdata table idx, 0 when f
// has none.
func (t *Table) PCData(f *Func, idx int) (uint32, error) {
	if idx < 0 || uint64(idx) >= uint64(f.NPCData) {
		return 0, nil
	}
	off := f.off + t.funcSize + 4*uint64(idx)
	var b [4]byte
	if !t.src.readFull(b[:], off, t.pcln.end) {
		return 0, formatErr(off, "pcdata %d of function %d out of bounds", idx, f.Index)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// FuncData returns the offset from go:func.* of f's funcdata idx and
// whether f has it.
func (t *Table) FuncData(f *Func, idx int) (uint32, bool, error) {
	if idx < 0 || idx >= int(f.NFuncData) {
		return 0, false, nil
	}
	off := f.off + t.funcSize + 4*uint64(f.NPCData) + 4*uint64(idx)
	var b [4]byte
	if !t.src.readFull(b[:], off, t.pcln.end) {
		return 0, false, formatErr(off, "funcdata %d of function %d out of bounds", idx, f.Index)
	}
	v := binary.LittleEndian.Uint32(b[:])
	return v, v != ^uint32(0), nil
}

// WrapperFuncID returns the funcID of autogenerated functions (method and
// go-statement wrappers, equality and hash functions), which the runtime's
// tracebacks and runtime.CallersFrames leave out. Its value differs
// between Go versions (21 in Go 1.18 and 1.20, 22 in 1.22, 23 in 1.26), so
// it is inferred: it is the only funcID that more than one function
// carries, every other non-zero funcID naming one runtime function. The
// functions are read in order until two share one. ok is false when none
// do.
func (t *Table) WrapperFuncID() (id uint8, ok bool) {
	var seen [256]bool
	for i := range t.funcOffs {
		f, err := t.Func(i)
		if err != nil || f.FuncID == 0 {
			continue
		}
		if seen[f.FuncID] {
			return f.FuncID, true
		}
		seen[f.FuncID] = true
	}
	return 0, false
}
