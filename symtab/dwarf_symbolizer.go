package symtab

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Options configures OpenSymbolizer.
type Options struct {
	// Path is where the file lives, as this process can open it (for a
	// process in a container, under /proc/PID/root). It is used to find
	// the debug file named by .gnu_debuglink; "" skips that search.
	Path string
	// DebugRoots are the directories searched for separate debug files:
	// <root>/.build-id/xx/yyyy.debug and <root>/<directory of Path>/<link>.
	// nil means {DefaultDebugRoot}; an empty slice searches none.
	DebugRoots []string
	// CacheBytes bounds the memory of a Symbolizer's caches: lookup
	// results (a quarter) and decoded DWARF; 0 means DefaultCacheBytes.
	// For Lines alone it bounds the decoded DWARF.
	CacheBytes int64
	// MaxSectionBytes bounds the size of one decompressed debug section;
	// 0 means 1 GiB.
	MaxSectionBytes int64
	// A compressed debug section (SHF_COMPRESSED or .zdebug) is
	// decompressed whole on its first use. One bigger than SpillBytes
	// (0 means 16 MiB; negative, never) goes to an unlinked temporary
	// file in SpillDir ("" means os.TempDir()) and is read from there;
	// smaller ones, or all when no temporary file can be made, are held
	// in memory.
	SpillDir   string
	SpillBytes int64
	// NoDebugFiles disables the search for separate debug files and
	// MiniDebugInfo.
	NoDebugFiles bool
}

// Symbolizer names addresses of one ELF file with everything the box has
// for it: its .symtab and .dynsym, the symbols of its separate debug file
// or of its MiniDebugInfo, and the DWARF of the debug file or of the file
// itself for inline chains and source lines. Its methods are safe for
// concurrent use.
type Symbolizer struct {
	syms      []*File // the file's symbols first, then supplements
	lines     *Lines  // nil without DWARF
	buildID   string
	debugPath string

	mu      sync.Mutex
	results lru[uint64, []Frame] // by address

	closeMu sync.Mutex
	debug   *os.File // the debug file, owned; nil once closed
	alt     *os.File // the supplementary (dwz) file, owned; nil once closed
}

// OpenSymbolizer prepares symbolization of the ELF file read through r.
// The Symbolizer reads r (and the debug file it opens) on demand, so r
// must stay usable until the Symbolizer is no longer used; Close closes
// only the debug file. The error is non-nil when r is not a readable ELF
// file (the Symbolizer is then nil), or wraps ErrNoSymbols when nothing
// names any of its functions (the Symbolizer is then valid, finds
// nothing, and must still be closed).
func OpenSymbolizer(r io.ReaderAt, opts Options) (s *Symbolizer, err error) {
	defer func() {
		if p := recover(); p != nil {
			if s != nil {
				s.Close()
			}
			s, err = nil, &FormatError{Off: -1, Msg: fmt.Sprintf("malformed elf: %v", p)}
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parse elf: %w", err)
	}
	s = &Symbolizer{buildID: findBuildID(ef)}
	cacheBytes := opts.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	cacheBytes = min(cacheBytes, 1<<40)
	s.results.init(int(cacheBytes / 4))
	opts.CacheBytes = cacheBytes - cacheBytes/4
	if f, err := NewFile(r); f != nil && err == nil {
		s.syms = append(s.syms, f)
	}

	var debugEF *elf.File
	if !opts.NoDebugFiles {
		if df, p := findDebugFile(ef, s.buildID, &opts); df != nil {
			s.debug, s.debugPath = df, p
			if f, err := NewFile(df); f != nil && err == nil {
				s.syms = append(s.syms, f)
			}
			debugEF, _ = elf.NewFile(df)
		} else if f, err := miniDebugInfo(ef); f != nil && err == nil {
			s.syms = append(s.syms, f)
		}
	}
	if debugEF != nil {
		s.lines, _ = newLines(debugEF, inputSize(s.debug), opts)
	}
	dwarfEF, dwarfDir := debugEF, filepath.Dir(s.debugPath)
	if s.lines == nil {
		s.lines, _ = newLines(ef, inputSize(r), opts)
		dwarfEF, dwarfDir = ef, ""
		if opts.Path != "" {
			dwarfDir = filepath.Dir(opts.Path)
		}
	}
	if s.lines != nil && !opts.NoDebugFiles {
		if af, _ := findAltFile(dwarfEF, dwarfDir, &opts); af != nil {
			s.alt = af
			if altEF, err := elf.NewFile(af); err == nil {
				s.lines.setAlt(altEF, inputSize(af))
			}
		}
	}
	if len(s.syms) == 0 && s.lines == nil {
		return s, fmt.Errorf("elf: %w", ErrNoSymbols)
	}
	return s, nil
}

// Close closes the debug files the Symbolizer opened. It is safe to call
// more than once. Lookups after Close still use what was read before.
func (s *Symbolizer) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	var errs []error
	if s.lines != nil {
		errs = append(errs, s.lines.Close())
	}
	for _, f := range []**os.File{&s.debug, &s.alt} {
		if *f != nil {
			errs = append(errs, (*f).Close())
			*f = nil
		}
	}
	return errors.Join(errs...)
}

// BuildID returns the file's GNU build ID as lower-case hex, or "".
func (s *Symbolizer) BuildID() string { return s.buildID }

// DebugFile returns the path of the separate debug file in use, or "".
func (s *Symbolizer) DebugFile() string { return s.debugPath }

// Lines returns the DWARF lookups in use, or nil without DWARF.
func (s *Symbolizer) Lines() *Lines { return s.lines }

// Symbol returns the function symbol that covers addr, an ELF virtual
// address. When several symbol tables cover it, the symbol that starts
// closest to addr wins, the file's own on a tie.
func (s *Symbolizer) Symbol(addr uint64) (Symbol, bool) {
	var best Symbol
	found := false
	for _, f := range s.syms {
		if sym, ok := f.Lookup(addr); ok && (!found || sym.Start > best.Start) {
			best, found = sym, true
		}
	}
	return best, found
}

// Lookup returns the frames at addr, an ELF virtual address (a return
// address minus one for callers' frames), innermost first: the calls
// inlined there, each with its position, then the function that holds
// them with its own. Without debug info it is that function alone, named
// from the symbol tables. It returns nil when nothing names addr. The
// outermost frame's Function is the DWARF name, or the symbol's name when
// the DWARF has none; an inlined frame's Function is "" when the DWARF
// does not name it. Results are cached; the returned slice is shared and
// must not be modified.
func (s *Symbolizer) Lookup(addr uint64) []Frame {
	s.mu.Lock()
	fr, ok := s.results.get(addr)
	s.mu.Unlock()
	if ok {
		return fr
	}
	fr = s.lookup(addr)
	// The strings are shared with Lines' caches and other results.
	size := 96 + 56*len(fr)
	s.mu.Lock()
	s.results.put(addr, fr, size)
	s.mu.Unlock()
	return fr
}

// lookup finds the frames at addr.
func (s *Symbolizer) lookup(addr uint64) []Frame {
	var frames []Frame
	if s.lines != nil {
		frames = s.lines.Lookup(addr)
	}
	if n := len(frames); n > 0 && frames[n-1].Function != "" {
		return frames
	}
	sym, ok := s.Symbol(addr)
	if !ok {
		return frames
	}
	if len(frames) == 0 {
		return []Frame{{Function: sym.Name}}
	}
	frames[len(frames)-1].Function = sym.Name
	return frames
}
