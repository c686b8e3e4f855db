package python

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pftop/pftop/unwinder"
)

// Process is a CPython process found by Detect.
type Process struct {
	PID     int
	Version Version
	// Path is the file that holds the interpreter (python executable or
	// libpython*.so), as mapped.
	Path    string
	Offsets Offsets
	// InterpHead is the absolute address in the process of the
	// PyInterpreterState* of the first (main) interpreter:
	// &_PyRuntime.interpreters.head (3.7+), &interp_head (2.7, 3.6).
	InterpHead uint64
	// EvalStart, EvalEnd: absolute [start, end) of the eval loop,
	// PyEval_EvalFrameEx (2.7), _PyEval_EvalFrameDefault (3.6+).
	EvalStart, EvalEnd uint64

	memFile   *os.File
	obj       objReader
	cache     *codeCache
	closeOnce sync.Once
	closeErr  error
}

var (
	libpythonRE = regexp.MustCompile(`^libpython([23])\.(\d+)[a-z]*\.so`)
	pythonExeRE = regexp.MustCompile(`^python([23])\.(\d+)`)
)

// Detect returns (nil, nil) when pid runs no CPython; an error only when it
// does but cannot be supported (the error says why), or when the process
// could not be read (it exited, or permission was denied).
func Detect(pid int) (*Process, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("python: pid %d: %w", pid, err)
	}
	maps, err := unwinder.ParseMaps(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("python: pid %d: %w", pid, err)
	}
	return DetectIn(pid, maps)
}

// DetectIn is Detect with the process's mappings already read (all of
// them, as unwinder.ParseMaps returns them).
func DetectIn(pid int, maps []unwinder.Mapping) (*Process, error) {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)) // kernel threads have none
	return detect(pid, maps, exe)
}

// detect finds the interpreter among the mapped files: a libpython, or
// else the executable itself when it defines the eval loop (static builds).
func detect(pid int, maps []unwinder.Mapping, exe string) (*Process, error) {
	var lib, self []unwinder.Mapping
	for _, m := range maps {
		base := filepath.Base(strings.TrimSuffix(m.Path, " (deleted)"))
		switch {
		case libpythonRE.MatchString(base):
			if len(lib) == 0 || lib[0].Path == m.Path {
				lib = append(lib, m)
			}
		case exe != "" && m.Path == exe:
			self = append(self, m)
		}
	}
	if len(lib) > 0 {
		p, err := newProcess(pid, lib)
		if err != nil {
			return nil, fmt.Errorf("python: pid %d: %s: %w", pid, lib[0].Path, err)
		}
		return p, nil
	}
	if len(self) == 0 {
		return nil, nil
	}
	p, err := newProcess(pid, self)
	if errors.Is(err, errNotPython) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("python: pid %d: %s: %w", pid, self[0].Path, err)
	}
	return p, nil
}

var errNotPython = errors.New("no CPython eval loop defined")

// openMapped opens the file behind a mapping the way the process sees it:
// map_files works for deleted files and across mount namespaces, root/
// when map_files is not permitted.
func openMapped(pid int, m unwinder.Mapping) (*os.File, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/map_files/%x-%x", pid, m.Start, m.End))
	if err == nil {
		return f, nil
	}
	f, err2 := os.Open(fmt.Sprintf("/proc/%d/root%s", pid, strings.TrimSuffix(m.Path, " (deleted)")))
	if err2 != nil {
		return nil, fmt.Errorf("open mapped file: %w; %w", err, err2)
	}
	return f, nil
}

// loadBias is what to add to the file's virtual addresses to get the
// process's, from the file's lowest mapping.
func loadBias(f *elf.File, maps []unwinder.Mapping) (uint64, error) {
	m := maps[0]
	for _, x := range maps[1:] {
		if x.Offset < m.Offset {
			m = x
		}
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if lo := p.Off &^ 0xfff; m.Offset >= lo && m.Offset < p.Off+p.Filesz {
			return m.Start - m.Offset + p.Off - p.Vaddr, nil
		}
	}
	return 0, fmt.Errorf("no loadable segment at file offset %#x", m.Offset)
}

func newProcess(pid int, maps []unwinder.Mapping) (*Process, error) {
	file, err := openMapped(pid, maps[0])
	if err != nil {
		return nil, err
	}
	defer file.Close()
	ef, err := elf.NewFile(file)
	if err != nil {
		return nil, fmt.Errorf("elf: %w", err)
	}
	base := filepath.Base(maps[0].Path)
	syms := readSyms(ef, libpythonRE.MatchString(base) || pythonExeRE.MatchString(base))
	eval, ok := syms.evalSymbol()
	if !ok {
		return nil, errNotPython
	}
	if eval.Size == 0 {
		return nil, fmt.Errorf("%s has no size", eval.Name)
	}
	bias, err := loadBias(ef, maps)
	if err != nil {
		return nil, err
	}
	v, err := fileVersion(ef, syms)
	if err != nil {
		// The file name still says major.minor.
		mm := libpythonRE.FindStringSubmatch(base)
		if mm == nil {
			mm = pythonExeRE.FindStringSubmatch(base)
		}
		if mm == nil {
			return nil, fmt.Errorf("unknown version: %w", err)
		}
		v.Major, _ = strconv.Atoi(mm[1])
		v.Minor, _ = strconv.Atoi(mm[2])
	}
	l, ok := layoutFor(v)
	if !ok {
		return nil, fmt.Errorf("CPython %v is not supported (2.7 and 3.6 through 3.13 are)", v)
	}
	p := &Process{
		PID:       pid,
		Version:   v,
		Path:      maps[0].Path,
		EvalStart: bias + eval.Value,
		EvalEnd:   bias + eval.Value + eval.Size,
	}
	types, err := typeAddresses(syms, v, bias)
	if err != nil {
		return nil, err
	}
	memFile, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, fmt.Errorf("open memory: %w", err)
	}
	m := mem{memFile}
	if err := p.findInterpreter(ef, syms, bias, m, &l); err != nil {
		memFile.Close()
		return nil, err
	}
	// Reading the head proves the process is still there and readable.
	if _, err := m.u64(p.InterpHead); err != nil {
		memFile.Close()
		return nil, fmt.Errorf("read interpreter head: %w", err)
	}
	p.Offsets = l.Offsets
	p.memFile = memFile
	p.obj = objReader{m: m, l: &l, types: types, py2: v.Major == 2}
	p.cache = newCodeCache(defaultCacheBytes)
	return p, nil
}

func typeAddresses(syms elfSyms, v Version, bias uint64) (typeAddrs, error) {
	names := [3]string{"PyCode_Type", "PyUnicode_Type", "PyBytes_Type"}
	if v.Major == 2 {
		names = [3]string{"PyCode_Type", "PyString_Type", "PyString_Type"}
	}
	var addr [3]uint64
	for i, n := range names {
		s, ok := syms[n]
		if !ok {
			return typeAddrs{}, fmt.Errorf("symbol %s missing", n)
		}
		addr[i] = bias + s.Value
	}
	return typeAddrs{code: addr[0], str: addr[1], bytes: addr[2]}, nil
}

// findInterpreter sets InterpHead the way the runtime finds its own
// interpreters, and on 3.13+ replaces l with the runtime's published debug
// offsets.
func (p *Process) findInterpreter(ef *elf.File, syms elfSyms, bias uint64, m mem, l *layout) error {
	if !p.Version.atLeast(3, 7) {
		if s, ok := syms["interp_head"]; ok {
			p.InterpHead = bias + s.Value
			return nil
		}
		fn, ok := syms["PyInterpreterState_Head"]
		if !ok {
			return errors.New("neither interp_head nor PyInterpreterState_Head defined")
		}
		va, err := decodeLoadGlobal(ef, fn)
		if err != nil {
			return fmt.Errorf("find interp_head: %w", err)
		}
		p.InterpHead = bias + va
		return nil
	}
	rt, ok := syms["_PyRuntime"]
	if !ok {
		return errors.New("symbol _PyRuntime missing")
	}
	runtime := bias + rt.Value
	if p.Version.atLeast(3, 13) {
		b, err := m.read(runtime, dbgSize313)
		if err != nil {
			return fmt.Errorf("read debug offsets: %w", err)
		}
		dl, err := parseDebugOffsets(b, p.Version)
		if err != nil {
			return err
		}
		*l = dl
	}
	p.InterpHead = runtime + uint64(l.RuntimeInterpHead)
	return nil
}

// Close releases the process's memory reader. It is safe to call more than
// once.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		if p.memFile != nil {
			p.closeErr = p.memFile.Close()
		}
	})
	return p.closeErr
}
