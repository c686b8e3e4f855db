package symtab

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// maxNested is how many enclosing symbols Lookup tries when the closest
// one ends before the address (an address in an outer function past a
// nested, sized symbol, as OpenSSL's assembly has). Deeper nesting only
// occurs in hostile files, where it bounds the cost of a lookup.
const maxNested = 16

// Symbol is a function found in a File.
type Symbol struct {
	// Name is demangled when the raw name was a C++ or Rust (legacy or v0)
	// mangled name; otherwise it is the raw name.
	Name string
	// Start is the ELF virtual address of the symbol, before any load bias.
	Start uint64
	// Size is the number of bytes the symbol covers. An unsized symbol
	// extends to the next symbol, but not past the end of its section.
	Size uint64
}

// File is the symbol index of one ELF file. Its methods are safe for
// concurrent use.
type File struct {
	closeMu sync.Mutex
	osf     *os.File // owned when the File came from Open; nil once closed

	buildID string
	index   []entry // sorted by start, one per start
	names   []byte  // NUL-terminated raw names, referenced by entry.name
	// parent maps an entry to the closest earlier entry that contains its
	// start, for the few entries nested in another; nil when none are.
	parent map[uint32]uint32

	// cache holds each entry's display name once looked up; the slice is
	// made on the first lookup, so an unused File does not pay for it.
	cache atomic.Pointer[[]atomic.Pointer[string]]
}

// entry is one function in the index; 16 bytes.
type entry struct {
	start uint64
	size  uint32
	name  uint32 // offset of the NUL-terminated raw name in File.names
}

// Open opens the ELF file at path and indexes its symbols. The File owns the
// open file until Close. When the file has no symbol table the error wraps
// ErrNoSymbols and the returned File is still valid and must be closed.
func Open(path string) (*File, error) {
	// O_NONBLOCK keeps a FIFO at path from blocking the open; regular
	// files ignore it.
	osf, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open elf: %w", err)
	}
	if fi, err := osf.Stat(); err != nil || !fi.Mode().IsRegular() {
		osf.Close()
		if err == nil {
			err = fmt.Errorf("%s: not a regular file", path)
		}
		return nil, fmt.Errorf("open elf: %w", err)
	}
	f, err := NewFile(osf)
	if f == nil {
		osf.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f.osf = osf
	if err != nil {
		err = fmt.Errorf("read %s: %w", path, err)
	}
	return f, err
}

// NewFile indexes the symbols of the ELF file read through r. The File does
// not own r: Close leaves it open. Nothing is read from r after NewFile
// returns. When the file has no symbol table the error wraps ErrNoSymbols
// and the returned File is still valid (BuildID works, Lookup finds
// nothing). A file whose .symtab and .dynsym are both unreadable is an
// error; one good table is enough.
func NewFile(r io.ReaderAt) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = &FormatError{Off: -1, Msg: fmt.Sprintf("malformed elf: %v", p)}
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parse elf: %w", err)
	}
	f = &File{buildID: findBuildID(ef)}

	b := newBuilder(ef, inputSize(r))
	var tables, good int
	var errs []error
	for _, typ := range []elf.SectionType{elf.SHT_SYMTAB, elf.SHT_DYNSYM} {
		sec := ef.SectionByType(typ)
		if sec == nil {
			continue
		}
		tables++
		if err := b.addTable(ef, sec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sec.Name, err))
			continue
		}
		good++
	}
	if tables == 0 {
		return f, fmt.Errorf("elf: %w", ErrNoSymbols)
	}
	if good == 0 {
		return nil, errors.Join(errs...)
	}
	f.index, f.names = b.build()
	f.parent = nesting(f.index)
	return f, nil
}

// Close releases the file opened by Open. It is safe to call more than
// once; later calls return nil. The index stays usable after Close.
func (f *File) Close() error {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	if f.osf == nil {
		return nil
	}
	err := f.osf.Close()
	f.osf = nil
	return err
}

// BuildID returns the NT_GNU_BUILD_ID note as lower-case hex, or "" when
// the file has none.
func (f *File) BuildID() string {
	return f.buildID
}

// Len returns the number of functions in the index.
func (f *File) Len() int {
	return len(f.index)
}

// Lookup returns the function that covers addr, an ELF virtual address
// (a PC minus the mapping's load bias). It is a binary search over the
// index; the name is demangled on first use and cached.
func (f *File) Lookup(addr uint64) (Symbol, bool) {
	idx := f.index
	lo, hi := 0, len(idx)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if idx[m].start <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i, n := lo-1, 0; i >= 0 && n < maxNested; n++ {
		e := &idx[i]
		if addr-e.start < uint64(e.size) {
			return Symbol{Name: f.name(i), Start: e.start, Size: uint64(e.size)}, true
		}
		p, ok := f.parent[uint32(i)]
		if !ok {
			break
		}
		i = int(p)
	}
	return Symbol{}, false
}

// name returns the display name of index entry i, demangling it once.
// Goroutines racing on a new name may both compute it; either result is
// the same string.
func (f *File) name(i int) string {
	c := f.cache.Load()
	if c == nil {
		fresh := make([]atomic.Pointer[string], len(f.index))
		if f.cache.CompareAndSwap(nil, &fresh) {
			c = &fresh
		} else {
			c = f.cache.Load()
		}
	}
	slot := &(*c)[i]
	if p := slot.Load(); p != nil {
		return *p
	}
	s := displayName(cString(f.names, f.index[i].name))
	slot.Store(&s)
	return s
}
