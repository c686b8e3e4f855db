package unwinder

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/unwinder/deltas"
)

// This file is the executable side of the manager: identifying the file
// behind a mapping, extracting its stack deltas once, publishing them, and
// the load bias that maps its PCs to file addresses.

type executable struct {
	id    FileID
	path  string // as the first process mapped it
	file  *os.File
	image []byte // the vDSO's bytes, which have no file
	loads []elf.ProgHeader
	refs  int

	ready  chan struct{} // closed once loaded
	kind   uint32        // bpf.MappingDeltas or bpf.MappingFP
	start  uint32        // first chunk in the delta array
	chunks uint32
	n      uint32 // deltas
	pages  []bpf.PageKey
}

// executable returns the loaded executable behind a file mapping, loading
// it the first time any process maps it. The caller gets a reference only
// through addMappingLocked.
func (m *Manager) executable(pid uint32, mp Mapping) (*executable, error) {
	// map_files works for deleted files and across mount namespaces;
	// root/ is the fallback where map_files is not readable.
	paths := []string{
		m.procPath(pid, "map_files", fmt.Sprintf("%x-%x", mp.Start, mp.End)),
		m.procPath(pid, "root", mp.Path),
	}
	var f *os.File
	var err error
	for _, p := range paths {
		if f, err = os.Open(p); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s of %d: %w", mp.Path, pid, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", mp.Path, err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	var sk statKey
	if sys != nil {
		sk = statKey{dev: sys.Dev, ino: sys.Ino, size: st.Size(), mtimeNanos: st.ModTime().UnixNano()}
	}
	m.mu.Lock()
	id, known := m.ids[sk]
	m.mu.Unlock()
	if !known || sys == nil {
		if id, err = ComputeFileID(f, st.Size()); err != nil {
			f.Close()
			return nil, err
		}
		m.mu.Lock()
		m.ids[sk] = id
		m.mu.Unlock()
	}

	m.mu.Lock()
	exe := m.exes[id]
	if exe != nil {
		m.mu.Unlock()
		f.Close()
		<-exe.ready
		return exe, nil
	}
	exe = &executable{id: id, path: mp.Path, file: f, ready: make(chan struct{})}
	m.exes[id] = exe
	m.byShort[id.Short()] = exe
	m.mu.Unlock()

	m.load(exe)
	close(exe.ready)
	return exe, nil
}

// vdsoExecutable returns the vDSO as an executable. Every process on a
// kernel maps the same vDSO image, so pftop reads its own copy once.
func (m *Manager) vdsoExecutable() *executable {
	m.vdsoOnce.Do(func() {
		image, err := readOwnVDSO()
		if err != nil {
			return
		}
		id, err := ComputeFileID(bytes.NewReader(image), int64(len(image)))
		if err != nil {
			return
		}
		exe := &executable{id: id, path: "[vdso]", image: image, ready: make(chan struct{})}
		m.mu.Lock()
		m.byShort[id.Short()] = exe
		m.mu.Unlock()
		m.load(exe)
		close(exe.ready)
		m.vdso = exe
	})
	return m.vdso
}

// readOwnVDSO copies this process's [vdso] mapping.
func readOwnVDSO() ([]byte, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	maps, err := ParseMaps(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	for _, mp := range maps {
		if mp.Path != "[vdso]" {
			continue
		}
		if mp.End-mp.Start > 1<<20 {
			return nil, fmt.Errorf("vdso of %d bytes", mp.End-mp.Start)
		}
		mem, err := os.Open("/proc/self/mem")
		if err != nil {
			return nil, err
		}
		defer mem.Close()
		image := make([]byte, mp.End-mp.Start)
		if _, err := mem.ReadAt(image, int64(mp.Start)); err != nil {
			return nil, fmt.Errorf("read vdso: %w", err)
		}
		return image, nil
	}
	return nil, errors.New("no [vdso] mapping")
}

// reader gives the executable's bytes for parsing.
func (exe *executable) reader() io.ReaderAt {
	if exe.image != nil {
		return bytes.NewReader(exe.image)
	}
	return exe.file
}

// load extracts and publishes exe's stack deltas. Failures leave the
// executable on frame pointers and are counted.
func (m *Manager) load(exe *executable) {
	exe.kind = bpf.MappingFP
	ef, err := openELF(exe.reader())
	if err != nil {
		m.countNoUnwind()
		return
	}
	exe.loads = loadSegments(ef)
	t0 := time.Now()
	table, err := deltas.ExtractAuto(ef)
	took := time.Since(t0)
	if err != nil || len(table.Deltas) == 0 {
		m.countNoUnwind()
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.ExtractionTime += took
	if err := m.publishLocked(exe, table); err != nil {
		m.stats.TableErrors++
		m.stats.LastSyncError = fmt.Sprintf("%s: %v", exe.path, err)
		return
	}
	exe.kind = bpf.MappingDeltas
}

func (m *Manager) countNoUnwind() {
	m.mu.Lock()
	m.stats.NoUnwindInfo++
	m.mu.Unlock()
}

// openELF parses the headers of f, recovering from panics in debug/elf,
// which is not hardened against hostile files.
func openELF(f io.ReaderAt) (ef *elf.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			ef, err = nil, fmt.Errorf("parse elf: %v", r)
		}
	}()
	return elf.NewFile(f)
}

func loadSegments(ef *elf.File) []elf.ProgHeader {
	var out []elf.ProgHeader
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			out = append(out, p.ProgHeader)
		}
	}
	return out
}

func (m *Manager) publishLocked(exe *executable, table *deltas.Table) error {
	pt, newRules, err := pageTable(table, m.rules)
	for _, idx := range newRules {
		if err := m.cfg.Maps.PutRule(idx, bpfRule(m.rules.list[idx])); err != nil {
			return fmt.Errorf("write rule: %w", err)
		}
	}
	if err != nil {
		return err
	}
	// The array is allocated in whole chunks, so tables never share one.
	chunks := (uint32(len(pt.Entries)) + bpf.DeltaChunkSize - 1) / bpf.DeltaChunkSize
	first, err := m.alloc.alloc(chunks)
	if err != nil {
		return err
	}
	start := first * bpf.DeltaChunkSize
	if err := m.cfg.Maps.PutDeltas(start, pt.Entries); err != nil {
		m.alloc.release(first, chunks)
		return err
	}
	keys := make([]bpf.PageKey, len(pt.Pages))
	vals := make([]bpf.PageVal, len(pt.Pages))
	for i, p := range pt.Pages {
		keys[i] = bpf.PageKey{FileId: exe.id.Short(), Page: p}
		vals[i] = bpf.PageVal{Start: start + pt.Starts[i], Count: pt.Counts[i], Sub: pt.Subs[i]}
	}
	if err := m.cfg.Maps.PutPages(keys, vals); err != nil {
		m.cfg.Maps.DeletePages(keys)
		m.alloc.release(first, chunks)
		return err
	}
	exe.start, exe.n, exe.chunks, exe.pages = first, uint32(len(pt.Entries)), chunks, keys
	m.stats.DeltasUsed += exe.n
	m.stats.Executables++
	m.stats.Pages += len(keys)
	return nil
}

// bias returns the value to subtract from a PC in mp to get the ELF
// virtual address: the segment holding mp's file offset maps file offsets
// to addresses with a constant difference.
func bias(exe *executable, mp Mapping) uint64 {
	for _, p := range exe.loads {
		if p.Flags&elf.PF_X == 0 {
			continue
		}
		lo := p.Off &^ (max(p.Align, 1) - 1)
		if mp.Offset >= lo && mp.Offset < p.Off+p.Filesz {
			return mp.Start - mp.Offset - (p.Vaddr - p.Off)
		}
	}
	return mp.Start - mp.Offset
}
