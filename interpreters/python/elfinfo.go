package python

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// elfSyms are the symbols Detect needs, as file virtual addresses.
type elfSyms map[string]elf.Symbol

// wantedSyms are the names Detect looks up; everything else in the tables
// is dropped while reading.
var wantedSyms = []string{
	"_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx", "_PyRuntime", "interp_head",
	"PyInterpreterState_Head", "PyCode_Type", "PyUnicode_Type", "PyString_Type",
	"PyBytes_Type", "Py_Version", "Py_GetVersion",
}

// readSyms collects wantedSyms from .dynsym, then .symtab (which adds
// statics such as interp_head). Only defined symbols count: an executable
// linked against libpython imports the same names undefined. Unless full,
// .symtab is read only when .dynsym shows an eval loop: it is big, and
// most executables Detect looks at are not Python.
func readSyms(f *elf.File, full bool) elfSyms {
	out := elfSyms{}
	want := map[string]bool{}
	for _, n := range wantedSyms {
		want[n] = true
	}
	add := func(syms []elf.Symbol) {
		for _, s := range syms {
			if want[s.Name] && s.Section != elf.SHN_UNDEF && s.Value != 0 {
				if _, ok := out[s.Name]; !ok {
					out[s.Name] = s
				}
			}
		}
	}
	if syms, err := f.DynamicSymbols(); err == nil {
		add(syms)
	}
	if _, ok := out.evalSymbol(); !ok && !full {
		return out
	}
	if syms, err := f.Symbols(); err == nil {
		add(syms)
	}
	return out
}

// evalSymbol is the function whose frames run Python code: one call per
// Python frame up to 3.10, one per entry into the interpreter from C after.
func (s elfSyms) evalSymbol() (elf.Symbol, bool) {
	if sym, ok := s["_PyEval_EvalFrameDefault"]; ok {
		return sym, true
	}
	// 2.7 has no _PyEval_EvalFrameDefault; 3.6+ has both, where
	// PyEval_EvalFrameEx is a thin wrapper.
	sym, ok := s["PyEval_EvalFrameEx"]
	return sym, ok
}

// readAt reads n bytes at file virtual address va from the loadable
// segment that holds it.
func readVA(f *elf.File, va uint64, n int) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || va < p.Vaddr || va-p.Vaddr+uint64(n) > p.Filesz {
			continue
		}
		buf := make([]byte, n)
		if _, err := p.ReadAt(buf, int64(va-p.Vaddr)); err != nil {
			return nil, fmt.Errorf("read %d bytes at %#x: %w", n, va, err)
		}
		return buf, nil
	}
	return nil, fmt.Errorf("address %#x not in the file's loaded data", va)
}

var versionRE = regexp.MustCompile(`^([23])\.(\d{1,2})\.(\d{1,3})`)

func parseVersion(s string) (Version, bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, false
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, true
}

// fileVersion finds the version a CPython ELF file was built as:
// Py_Version (3.11+) holds PY_VERSION_HEX; older ones only have the
// PY_VERSION string, which Py_GetVersion passes to snprintf, so the string
// a RIP-relative lea in it points at is the version.
func fileVersion(f *elf.File, syms elfSyms) (Version, error) {
	if s, ok := syms["Py_Version"]; ok {
		b, err := readVA(f, s.Value, 4)
		if err != nil {
			return Version{}, fmt.Errorf("Py_Version: %w", err)
		}
		hex := binary.LittleEndian.Uint32(b)
		return Version{int(hex >> 24), int(hex >> 16 & 0xff), int(hex >> 8 & 0xff)}, nil
	}
	s, ok := syms["Py_GetVersion"]
	if !ok {
		return Version{}, errors.New("neither Py_Version nor Py_GetVersion defined")
	}
	n := min(int(s.Size), 256)
	if n == 0 {
		n = 64
	}
	code, err := readVA(f, s.Value, n)
	if err != nil {
		return Version{}, fmt.Errorf("Py_GetVersion: %w", err)
	}
	for i := 0; i+7 <= len(code); i++ {
		// lea r64, [rip+disp32]: REX.W(+R) 8d, ModRM with mod=00 rm=101.
		if code[i]&0xfb != 0x48 || code[i+1] != 0x8d || code[i+2]&0xc7 != 0x05 {
			continue
		}
		disp := int32(binary.LittleEndian.Uint32(code[i+3:]))
		target := s.Value + uint64(i+7) + uint64(int64(disp))
		str, err := readVA(f, target, 16)
		if err != nil {
			continue
		}
		if end := bytes.IndexByte(str, 0); end >= 0 {
			str = str[:end]
		}
		if v, ok := parseVersion(string(str)); ok {
			return v, nil
		}
	}
	return Version{}, errors.New("no version string found in Py_GetVersion")
}

// decodeLoadGlobal decodes a function that is `mov rax, [rip+disp32]; ret`
// (optionally after endbr64), as PyInterpreterState_Head is, and returns
// the global's address: how stripped 2.7 and 3.6 builds reveal interp_head.
func decodeLoadGlobal(f *elf.File, fn elf.Symbol) (uint64, error) {
	code, err := readVA(f, fn.Value, 12)
	if err != nil {
		return 0, err
	}
	off := 0
	if bytes.HasPrefix(code, []byte{0xf3, 0x0f, 0x1e, 0xfa}) {
		off = 4
	}
	c := code[off:]
	if c[0] != 0x48 || c[1] != 0x8b || c[2] != 0x05 || c[7] != 0xc3 {
		return 0, fmt.Errorf("%s is not mov rax,[rip+d]; ret: % x", fn.Name, c[:8])
	}
	disp := int32(binary.LittleEndian.Uint32(c[3:]))
	return fn.Value + uint64(off+7) + uint64(int64(disp)), nil
}
