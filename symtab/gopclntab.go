package symtab

import (
	"debug/elf"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/pftop/pftop/symtab/pclntab"
)

// Go symbolization from .gopclntab: the runtime's own function table,
// present in every Go executable, stripped ones included. It names Go
// functions, gives file:line, and expands inlined calls into frames of
// their own, the way the runtime's tracebacks and runtime.CallersFrames do.

var (
	// ErrNoGoPclntab is wrapped by OpenGo and NewGoTable when the file is
	// not a Go executable (it has no pclntab).
	ErrNoGoPclntab = pclntab.ErrNotFound
	// ErrGoVersion is wrapped when the pclntab predates Go 1.18.
	ErrGoVersion = pclntab.ErrUnsupportedVersion
)

// GoFrame is one frame at a pc: a function, inlined or not, with its
// position.
type GoFrame struct {
	// Function is the name as Go prints it: "main.(*T).m", with the type
	// arguments of generic functions elided ("main.f[...]").
	Function string
	File     string // "" when the table has no file for the pc
	Line     int    // 0 when unknown
	// StartLine is the line of the function's declaration (Go 1.20 and
	// later; 0 before).
	StartLine int
	// Entry is the function's entry address; 0 for inlined frames.
	Entry uint64
	// Inlined is set on frames of calls the compiler inlined into the next
	// frame of the list.
	Inlined bool
}

// Bounds of GoTable's caches.
const (
	goPCCacheSize   = 1 << 16 // lookup results
	goNameCacheSize = 1 << 14 // function names, by name offset
	goFileCacheSize = 1 << 12 // file names, by (compilation unit, file)
	// goMaxInlineDepth bounds the inline chain followed at one pc.
	goMaxInlineDepth = 64
)

// GoTable symbolizes the Go functions of one executable. It keeps the
// function index in memory and reads the rest of the pclntab on demand
// through a bounded page cache, so the reader it was made from must stay
// usable while the GoTable is. Lookup results, function names and file
// names are cached, each cache bounded. Its methods are safe for
// concurrent use.
type GoTable struct {
	t *pclntab.Table

	mu    sync.Mutex
	pcs   genCache[uint64, []GoFrame]
	names genCache[int32, string]
	files genCache[uint64, string]
}

// OpenGo reads the ELF file in r and opens its pclntab. It recovers from
// panics in debug/elf. The GoTable reads r on lookups and does not own
// it. The error wraps ErrNoGoPclntab when the file has no pclntab and
// ErrGoVersion for Go older than 1.18.
func OpenGo(r io.ReaderAt) (g *GoTable, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, &FormatError{Off: -1, Msg: fmt.Sprintf("malformed elf: %v", p)}
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parse elf: %w", err)
	}
	return NewGoTable(ef)
}

// NewGoTable opens the pclntab of f, which must stay usable (its reader
// open) while the GoTable is.
func NewGoTable(f *elf.File) (g *GoTable, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, &FormatError{Off: -1, Msg: fmt.Sprintf("malformed elf: %v", p)}
		}
	}()
	t, _, err := pclntab.Open(f, pclntab.Options{})
	if err != nil {
		return nil, fmt.Errorf("go pclntab: %w", err)
	}
	g = &GoTable{t: t}
	g.pcs.init(goPCCacheSize)
	g.names.init(goNameCacheSize)
	g.files.init(goFileCacheSize)
	return g, nil
}

// Version returns the pclntab format.
func (g *GoTable) Version() pclntab.Version { return g.t.Version }

// Len returns the number of functions in the table.
func (g *GoTable) Len() int { return g.t.NumFuncs() }

// Lookup returns the frames at pc, an ELF virtual address of an
// instruction (a return address minus one for callers' frames),
// innermost first: the calls inlined at pc, then the function that
// contains it. It returns false when pc is in no Go function (between
// functions, or in C code of a cgo executable). The returned slice is
// shared with the cache and must not be modified.
func (g *GoTable) Lookup(pc uint64) ([]GoFrame, bool) {
	g.mu.Lock()
	fr, ok := g.pcs.get(pc)
	g.mu.Unlock()
	if ok {
		return fr, fr != nil
	}
	fr = g.lookup(pc)
	g.mu.Lock()
	g.pcs.put(pc, fr)
	g.mu.Unlock()
	return fr, fr != nil
}

// lookup decodes the frames at pc; nil when there are none.
func (g *GoTable) lookup(pc uint64) []GoFrame {
	t := g.t
	i, ok := t.FindFunc(pc)
	if !ok {
		return nil
	}
	fn, err := t.Func(i)
	if err != nil {
		return nil
	}
	line, ok, _ := t.PCValue(&fn, fn.PCLn, pc)
	if !ok {
		return nil // past the function's code: padding, or C code
	}
	file, _, _ := t.PCValue(&fn, fn.PCFile, pc)
	inlTab, _ := t.PCData(&fn, pclntab.PCDataInlTreeIndex)

	var out []GoFrame
	ix, _, _ := t.PCValue(&fn, inlTab, pc)
	for depth := 0; ix >= 0 && depth < goMaxInlineDepth; depth++ {
		call, err := t.InlinedCall(&fn, ix)
		if err != nil {
			break
		}
		out = append(out, GoFrame{
			Function:  g.name(call.NameOff),
			File:      g.file(&fn, file),
			Line:      int(line),
			StartLine: int(call.StartLine),
			Inlined:   true,
		})
		// The caller's position and inline index are those of the
		// instruction standing for the call site.
		ppc := fn.Entry + uint64(uint32(call.ParentPC))
		if ppc < fn.Entry || ppc >= fn.End {
			break
		}
		line, _, _ = t.PCValue(&fn, fn.PCLn, ppc)
		file, _, _ = t.PCValue(&fn, fn.PCFile, ppc)
		next, _, _ := t.PCValue(&fn, inlTab, ppc)
		if next == ix {
			break // a call site inside its own inlined body: malformed
		}
		ix = next
	}
	return append(out, GoFrame{
		Function:  g.name(fn.NameOff),
		File:      g.file(&fn, file),
		Line:      int(max(line, 0)),
		StartLine: int(fn.StartLine),
		Entry:     fn.Entry,
	})
}

// name returns the printable name at nameOff, cached.
func (g *GoTable) name(off int32) string {
	g.mu.Lock()
	s, ok := g.names.get(off)
	g.mu.Unlock()
	if ok {
		return s
	}
	raw, err := g.t.Name(off)
	if err != nil {
		raw = "?"
	}
	s = goPrintName(raw)
	g.mu.Lock()
	g.names.put(off, s)
	g.mu.Unlock()
	return s
}

// file returns the name of file number fileno of fn's compilation unit,
// cached.
func (g *GoTable) file(fn *pclntab.Func, fileno int32) string {
	if fileno < 0 {
		return ""
	}
	key := uint64(fn.CUOffset)<<32 | uint64(uint32(fileno))
	g.mu.Lock()
	s, ok := g.files.get(key)
	g.mu.Unlock()
	if ok {
		return s
	}
	s, err := g.t.FileName(fn, fileno)
	if err != nil {
		s = ""
	}
	g.mu.Lock()
	g.files.put(key, s)
	g.mu.Unlock()
	return s
}

// goPrintName elides the type arguments of a generic function's name the
// way Go's tracebacks print it: everything from the first '[' to the last
// ']' becomes "[...]" ("main.F[go.shape.int].func1" -> "main.F[...].func1").
func goPrintName(name string) string {
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return name
	}
	j := strings.LastIndexByte(name, ']')
	if j <= i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}

// genCache is a bounded map: when the current generation is full it
// becomes the old one and the older is dropped; entries found in the old
// generation move to the current one. At most 2*size entries are held.
// It is not safe for concurrent use.
type genCache[K comparable, V any] struct {
	size     int
	cur, old map[K]V
}

func (c *genCache[K, V]) init(size int) {
	c.size = size
	c.cur = make(map[K]V)
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.put(k, v)
	}
	return v, ok
}

func (c *genCache[K, V]) put(k K, v V) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[K]V, c.size)
	}
	c.cur[k] = v
}
