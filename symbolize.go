package main

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/symtab"
	"github.com/pftop/pftop/unwinder"
)

// frameSymbolizer names frames: native ones from the symbol tables of the
// executables the unwinder registered, kernel ones from kallsyms, error
// frames from their status. Each distinct frame is named once.
type frameSymbolizer struct {
	mgr   *unwinder.Manager
	ksyms *symtab.Kallsyms // nil when kallsyms is hidden

	mu    sync.Mutex
	cache map[aggregate.Frame][]aggregate.Location
	files map[uint64]*symFile
}

type symFile struct {
	module string
	syms   *symtab.File // nil when the file has no usable symbols
}

func newFrameSymbolizer(mgr *unwinder.Manager, ksyms *symtab.Kallsyms) *frameSymbolizer {
	return &frameSymbolizer{
		mgr:   mgr,
		ksyms: ksyms,
		cache: map[aggregate.Frame][]aggregate.Location{},
		files: map[uint64]*symFile{},
	}
}

// Symbolize implements aggregate.Symbolizer.
func (s *frameSymbolizer) Symbolize(f aggregate.Frame) []aggregate.Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	if locs, ok := s.cache[f]; ok {
		return locs
	}
	loc := s.symbolizeLocked(f)
	locs := []aggregate.Location{loc}
	s.cache[f] = locs
	return locs
}

func (s *frameSymbolizer) symbolizeLocked(f aggregate.Frame) aggregate.Location {
	switch f.Kind {
	case aggregate.KindError:
		return aggregate.Location{Function: "[unwind error: " + bpf.Status(f.Addr).String() + "]", Module: "[pftop]"}
	case aggregate.KindKernel:
		if s.ksyms != nil {
			if name, mod, ok := s.ksyms.Lookup(f.Addr); ok {
				if mod == "" {
					mod = "[kernel]"
				}
				return aggregate.Location{Function: name, Module: mod}
			}
		}
		return aggregate.Location{Function: symtab.Unknown("[kernel]", f.Addr), Module: "[kernel]"}
	}
	if f.FileID == 0 {
		return aggregate.Location{Function: symtab.Unknown("[anon]", f.Addr), Module: "[anon]"}
	}
	sf := s.fileLocked(f.FileID)
	if sf.syms != nil {
		if sym, ok := sf.syms.Lookup(f.Addr); ok {
			return aggregate.Location{Function: sym.Name, Module: sf.module}
		}
	}
	return aggregate.Location{Function: symtab.Unknown(sf.module, f.Addr), Module: sf.module}
}

func (s *frameSymbolizer) fileLocked(id uint64) *symFile {
	if sf, ok := s.files[id]; ok {
		return sf
	}
	sf := &symFile{module: "[unknown]"}
	if exe, ok := s.mgr.Lookup(id); ok {
		sf.module = filepath.Base(strings.TrimSuffix(exe.Path, " (deleted)"))
		if exe.Reader != nil {
			if syms, err := symtab.NewFile(exe.Reader); err == nil {
				sf.syms = syms
			}
		}
	}
	s.files[id] = sf
	return sf
}
