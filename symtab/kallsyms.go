package symtab

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

const (
	// kallsymsPath is where the kernel publishes its symbols.
	kallsymsPath = "/proc/kallsyms"

	// maxKsymSpan bounds how far past its start the last symbol of a
	// module (or of the kernel image) may match, since nothing follows it
	// to mark its end.
	maxKsymSpan = 64 << 10

	// maxKsymName caps a stored kernel symbol name (the kernel's own limit,
	// KSYM_NAME_LEN, is 512); the top two bits of ksym.meta hold the rank.
	maxKsymName = 1<<14 - 1

	// maxModules is how many distinct [module] names fit ksym.mod.
	maxModules = math.MaxUint16

	// nameChunk is the size of one block of names: names are stored in
	// fixed blocks so parsing never copies them to grow a buffer. A name
	// never spans blocks, and ksym.name is block<<16 | offset.
	nameChunk = 1 << 16

	// symChunk is how many symbols are collected per block while parsing.
	symChunk = 4096
)

// Kallsyms is the kernel's text symbol table from /proc/kallsyms. It is
// read-only after parsing and safe for concurrent use.
type Kallsyms struct {
	syms    []ksym   // sorted by address, one per address
	names   []string // blocks of names back to back, see nameChunk
	modules []string // modules[0] is "" (the kernel image)
}

// ksym is one kernel text symbol; 16 bytes.
type ksym struct {
	addr uint64
	name uint32 // block<<16 | offset in Kallsyms.names
	meta uint16 // name length in the low 14 bits, rank in the top 2
	mod  uint16 // index in Kallsyms.modules
}

func (s ksym) nameLen() int { return int(s.meta & maxKsymName) }
func (s ksym) rank() int    { return int(s.meta >> 14) }

// nameOf returns the name of s, sharing the table's memory.
func (k *Kallsyms) nameOf(s ksym) string {
	off := int(s.name & (nameChunk - 1))
	return k.names[s.name>>16][off : off+s.nameLen()]
}

// LoadKallsyms reads /proc/kallsyms. When the kernel hides addresses the
// error wraps ErrKallsymsHidden.
func LoadKallsyms() (*Kallsyms, error) {
	f, err := os.Open(kallsymsPath)
	if err != nil {
		return nil, fmt.Errorf("open kallsyms: %w", err)
	}
	defer f.Close()
	return ParseKallsyms(f)
}

// ParseKallsyms reads text in the /proc/kallsyms format ("ADDR TYPE NAME
// [MODULE]" per line) and keeps the text symbols (types t, T, w and W).
// Lines for other symbols cost no allocation. It returns an error wrapping
// ErrKallsymsHidden when every address is zero, and one wrapping
// ErrNoSymbols when there is no text symbol.
func ParseKallsyms(r io.Reader) (*Kallsyms, error) {
	p := kparser{k: &Kallsyms{modules: []string{""}}, mods: map[string]uint16{}}
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("parse kallsyms: %w", &FormatError{Off: off, Msg: fmt.Sprintf("line %d too long", lineNo)})
		}
		if perr := p.line(line); perr != nil {
			return nil, fmt.Errorf("parse kallsyms: %w", &FormatError{Off: off, Msg: fmt.Sprintf("line %d: %s", lineNo, perr)})
		}
		off += int64(len(line))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse kallsyms: %w", err)
		}
	}
	if p.lines > 0 && !p.nonzero {
		return nil, fmt.Errorf("parse kallsyms: %w", ErrKallsymsHidden)
	}
	if p.count == 0 {
		return nil, fmt.Errorf("parse kallsyms: no text symbols: %w", ErrNoSymbols)
	}
	return p.finish(), nil
}

// kparser is ParseKallsyms's state.
type kparser struct {
	k       *Kallsyms
	mods    map[string]uint16
	syms    [][]ksym        // blocks of up to symChunk symbols
	count   int             // symbols in syms
	names   strings.Builder // the block of names being filled
	lines   int
	nonzero bool
}

// line parses one line; blank lines are skipped.
func (p *kparser) line(line []byte) error {
	addrTok, rest := nextField(line)
	if len(addrTok) == 0 {
		return nil
	}
	typTok, rest := nextField(rest)
	name, rest := nextField(rest)
	mod, _ := nextField(rest)
	if len(typTok) != 1 || len(name) == 0 {
		return errors.New("want ADDR TYPE NAME [MODULE]")
	}
	addr, ok := parseHex(addrTok)
	if !ok {
		return fmt.Errorf("bad address %q", addrTok)
	}
	p.lines++
	p.nonzero = p.nonzero || addr != 0
	var rank uint16
	switch typTok[0] {
	case 'T':
	case 'W', 'w':
		rank = 1
	case 't':
		rank = 2
	default:
		return nil
	}
	modIdx, err := p.module(mod)
	if err != nil {
		return err
	}
	name = name[:min(len(name), maxKsymName)]
	if p.names.Cap() == 0 || p.names.Len()+len(name) > nameChunk {
		if err := p.newNameBlock(); err != nil {
			return err
		}
	}
	block := uint32(len(p.k.names))
	s := ksym{addr: addr, name: block<<16 | uint32(p.names.Len()), meta: uint16(len(name)) | rank<<14, mod: modIdx}
	p.names.Write(name)
	if n := len(p.syms); n == 0 || len(p.syms[n-1]) == symChunk {
		p.syms = append(p.syms, make([]ksym, 0, symChunk))
	}
	p.syms[len(p.syms)-1] = append(p.syms[len(p.syms)-1], s)
	p.count++
	return nil
}

// newNameBlock files the current block of names and starts an empty one.
func (p *kparser) newNameBlock() error {
	if p.names.Cap() > 0 {
		if len(p.k.names) >= math.MaxUint16 {
			return errors.New("too many symbol names")
		}
		p.k.names = append(p.k.names, p.names.String())
	}
	p.names = strings.Builder{}
	p.names.Grow(nameChunk)
	return nil
}

// module interns a "[name]" module column; an empty one is the kernel.
func (p *kparser) module(tok []byte) (uint16, error) {
	tok = bytes.TrimPrefix(tok, []byte("["))
	tok = bytes.TrimSuffix(tok, []byte("]"))
	if len(tok) == 0 {
		return 0, nil
	}
	if i, ok := p.mods[string(tok)]; ok {
		return i, nil
	}
	if len(p.k.modules) >= maxModules {
		return 0, errors.New("too many modules")
	}
	i := uint16(len(p.k.modules))
	name := string(tok)
	p.k.modules = append(p.k.modules, name)
	p.mods[name] = i
	return i, nil
}

// finish sorts, keeps the best name at each address and trims memory.
func (p *kparser) finish() *Kallsyms {
	k := p.k
	// The last block is trimmed to what it holds.
	k.names = append(k.names, strings.Clone(p.names.String()))
	syms := make([]ksym, 0, p.count)
	for _, block := range p.syms {
		syms = append(syms, block...)
	}
	p.syms = nil
	name := k.nameOf
	slices.SortFunc(syms, func(x, y ksym) int {
		if c := cmp.Compare(x.addr, y.addr); c != 0 {
			return c
		}
		if c := cmp.Compare(x.rank(), y.rank()); c != 0 {
			return c
		}
		xn, yn := name(x), name(y)
		if c := cmp.Compare(underscores(xn), underscores(yn)); c != 0 {
			return c
		}
		if c := cmp.Compare(len(xn), len(yn)); c != 0 {
			return c
		}
		return strings.Compare(xn, yn)
	})
	k.syms = slices.CompactFunc(syms, func(x, y ksym) bool { return x.addr == y.addr })
	return k
}

// Len returns the number of kernel text symbols kept.
func (k *Kallsyms) Len() int {
	return len(k.syms)
}

// Lookup returns the kernel text symbol covering addr and its module (""
// for the kernel image). A symbol ends where the next one starts; the last
// symbol of a module matches at most 64 KiB past its start. The returned
// strings share the table's memory.
func (k *Kallsyms) Lookup(addr uint64) (name, module string, ok bool) {
	syms := k.syms
	lo, hi := 0, len(syms)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if syms[m].addr <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return "", "", false
	}
	s := syms[lo-1]
	if addr-s.addr >= maxKsymSpan && (lo == len(syms) || syms[lo].mod != s.mod) {
		return "", "", false
	}
	return k.nameOf(s), k.modules[s.mod], true
}

// nextField returns the first space- or tab-separated field of b and the
// rest after it, ignoring a trailing newline.
func nextField(b []byte) (field, rest []byte) {
	isSep := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	i := 0
	for i < len(b) && isSep(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSep(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

// parseHex parses up to 16 hex digits without allocating.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}
