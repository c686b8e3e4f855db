// Package unwinder is pftop's process manager: it reads each process's
// executable mappings, identifies the files behind them, extracts their
// stack deltas once per file, and publishes mappings and deltas to the BPF
// unwinder through Maps. Tables are shared by every process mapping the
// same file and reference counted; a process exit releases its share.
//
// /proc is racy by nature: a process may exit between any two reads. Such
// failures are classified and counted (Stats), never fatal.
package unwinder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/unwinder/deltas"
)

// Config configures a Manager.
type Config struct {
	Maps Maps
	// DeltaCapacity is the number of entries of the shared delta array.
	DeltaCapacity uint32
	// ProcRoot is where procfs is mounted ("/proc").
	ProcRoot string
	// Workers bounds concurrent syncs.
	Workers int
	// Self is pftop's own PID: its mappings are synced like any other.
	Self int
	// Synced, when set, is called after each sync that found mappings,
	// with all of the process's mappings as read, outside the manager's
	// lock: interpreters detect their runtimes there without reading
	// /proc/PID/maps again.
	Synced func(pid uint32, mappings []Mapping)
	// Reaped, when set, is called for each process ReapGone forgot (gone
	// without an exit event), outside the manager's lock.
	Reaped func(pid uint32)
}

// Stats are the manager's counters and gauges.
type Stats struct {
	Processes      int
	Executables    int    // with published tables
	Mappings       int    // LPM entries in the kernel
	Pages          int    // delta pages in the kernel
	DeltasUsed     uint32 // deltas published
	DeltaCapacity  uint32
	Rules          int
	Syncs          uint64
	SyncGone       uint64 // process exited during a sync
	SyncDenied     uint64 // permission denied
	SyncFailed     uint64 // other errors
	NoUnwindInfo   uint64 // executables without usable unwind info
	TableErrors    uint64 // executables whose tables could not be published
	Reaped         uint64 // processes found gone without an exit event
	LastSyncError  string
	ExtractionTime time.Duration
}

// BPFMemoryInUse estimates the kernel memory the published entries take:
// LPM entries (key, value and trie node), delta pages (hash entry), the
// deltas themselves and the rules.
func (s Stats) BPFMemoryInUse() uint64 {
	return uint64(s.Mappings)*(16+24+48) + uint64(s.Pages)*(16+8+48) +
		uint64(s.DeltasUsed)*4 + uint64(s.Rules)*12
}

// Manager tracks processes and executables. Its methods are safe for
// concurrent use.
type Manager struct {
	cfg Config

	mu      sync.Mutex // guards everything below
	procs   map[uint32]*process
	exes    map[FileID]*executable
	byShort map[uint64]*executable
	ids     map[statKey]FileID
	rules   *ruleSet
	alloc   *rangeAlloc
	stats   Stats

	queue   chan uint32
	pending map[uint32]bool

	// A sync reads /proc before it publishes: when the process exits in
	// between, its Exit finds nothing to drop and the sync would publish
	// a dead process for good. syncing counts the syncs in flight per
	// PID; Exit marks such a PID in exitedSyncing and the last sync to
	// finish drops what was published (see Sync).
	syncing       map[uint32]int
	exitedSyncing map[uint32]bool

	vdsoOnce sync.Once
	vdso     *executable // nil when the vDSO could not be read

	retired []*executable // oldest first, see retireLocked
}

type process struct {
	maps map[Mapping]*procMapping
}

type procMapping struct {
	exe  *executable // nil for anonymous or special mappings
	keys []bpf.MappingKey
}

// statKey identifies a file cheaply so that its content is hashed only
// once however many processes map it.
type statKey struct {
	dev, ino   uint64
	size       int64
	mtimeNanos int64
}

// New makes a Manager. Close releases its files.
func New(cfg Config) (*Manager, error) {
	if cfg.Maps == nil {
		return nil, errors.New("unwinder: no maps")
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	m := &Manager{
		cfg:     cfg,
		procs:   map[uint32]*process{},
		exes:    map[FileID]*executable{},
		byShort: map[uint64]*executable{},
		ids:     map[statKey]FileID{},
		rules:   newRuleSet(),
		alloc:   newRangeAlloc(cfg.DeltaCapacity / bpf.DeltaChunkSize),
		queue:   make(chan uint32, 4096),
		pending: map[uint32]bool{},

		syncing:       map[uint32]int{},
		exitedSyncing: map[uint32]bool{},
	}
	m.stats.DeltaCapacity = cfg.DeltaCapacity
	if err := cfg.Maps.PutRule(0, bpfRule(deltas.Rule{})); err != nil {
		return nil, fmt.Errorf("write invalid rule: %w", err)
	}
	return m, nil
}

// Stats returns a copy of the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Processes = len(m.procs)
	s.Rules = len(m.rules.list)
	return s
}

// SyncAll syncs every process in /proc, workers at a time (0: the
// configured Workers). Callers keep it below Workers so that the syncs
// the BPF side requests for busy processes (Run) are served first.
func (m *Manager) SyncAll(ctx context.Context, workers int) error {
	if workers <= 0 {
		workers = m.cfg.Workers
	}
	ents, err := os.ReadDir(m.cfg.ProcRoot)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	pids := make(chan uint32)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pid := range pids {
				m.Sync(pid)
			}
		}()
	}
	for _, e := range ents {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || !e.IsDir() {
			continue
		}
		select {
		case pids <- uint32(pid):
		case <-ctx.Done():
		}
	}
	close(pids)
	wg.Wait()
	return ctx.Err()
}

// Request queues a sync of pid for Run; duplicates collapse.
func (m *Manager) Request(pid uint32) {
	m.mu.Lock()
	if m.pending[pid] {
		m.mu.Unlock()
		return
	}
	m.pending[pid] = true
	m.mu.Unlock()
	select {
	case m.queue <- pid:
	default:
		// The queue is full: the BPF side asks again after its rate
		// limit, so dropping here loses nothing for long.
		m.mu.Lock()
		delete(m.pending, pid)
		m.mu.Unlock()
	}
}

// reapInterval is how often Run looks for tracked processes that are
// gone without an exit event.
const reapInterval = 10 * time.Second

// Run serves Requests until ctx is done, and every reapInterval forgets
// the processes that are gone.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(reapInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.ReapGone()
			}
		}
	}()
	for range m.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case pid := <-m.queue:
					m.mu.Lock()
					delete(m.pending, pid)
					m.mu.Unlock()
					m.Sync(pid)
				}
			}
		}()
	}
	wg.Wait()
}

// Sync reads pid's mappings and publishes what changed.
func (m *Manager) Sync(pid uint32) error {
	m.mu.Lock()
	m.syncing[pid]++
	m.mu.Unlock()
	all, err := m.sync(pid)
	if err == nil && len(all) > 0 && m.cfg.Synced != nil {
		m.cfg.Synced(pid, all)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syncing[pid]--; m.syncing[pid] == 0 {
		delete(m.syncing, pid)
		if m.exitedSyncing[pid] {
			// The process exited while this sync read it. Were the PID
			// reused meanwhile, the new process loses its entries until
			// its next sample asks again, which costs one sync.
			delete(m.exitedSyncing, pid)
			m.exitLocked(pid)
		}
	}
	m.stats.Syncs++
	switch {
	case err == nil:
	case isGone(err):
		m.stats.SyncGone++
		m.exitLocked(pid)
	case errors.Is(err, fs.ErrPermission):
		m.stats.SyncDenied++
	default:
		m.stats.SyncFailed++
		m.stats.LastSyncError = err.Error()
	}
	return err
}

func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

func (m *Manager) procPath(pid uint32, parts ...string) string {
	return filepath.Join(append([]string{m.cfg.ProcRoot, strconv.FormatUint(uint64(pid), 10)}, parts...)...)
}

// sync publishes pid's mappings and returns all of them.
func (m *Manager) sync(pid uint32) ([]Mapping, error) {
	f, err := os.Open(m.procPath(pid, "maps"))
	if err != nil {
		return nil, fmt.Errorf("sync %d: %w", pid, err)
	}
	all, err := ParseMaps(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("sync %d: %w", pid, err)
	}
	if len(all) == 0 {
		return nil, nil // a kernel thread, or a zombie
	}
	want := map[Mapping]*executable{}
	for _, mp := range all {
		if !mp.Executable() || mp.Path == "[vsyscall]" {
			continue
		}
		var exe *executable
		if mp.Path == "[vdso]" {
			exe = m.vdsoExecutable()
		} else if mp.FileBacked() {
			exe, err = m.executable(pid, mp)
			if isGone(err) {
				// The file vanished or the process exited: if the
				// process is still there, publish what we can.
				exe = nil
			} else if err != nil {
				return nil, err
			}
		}
		want[mp] = exe
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.procs[pid]
	if p == nil {
		p = &process{maps: map[Mapping]*procMapping{}}
		m.procs[pid] = p
	}
	dropped := false
	for mp, pm := range p.maps {
		if exe, ok := want[mp]; ok && exe == pm.exe {
			delete(want, mp)
			continue
		}
		m.dropMappingLocked(pm)
		delete(p.maps, mp)
		dropped = true
	}
	if dropped {
		// The process lives on: BPF must not keep unwinding with the
		// mappings it cached from before.
		if err := m.cfg.Maps.MappingsDropped(); err != nil {
			return nil, fmt.Errorf("sync %d: %w", pid, err)
		}
	}
	for mp, exe := range want {
		pm, err := m.addMappingLocked(pid, mp, exe)
		if err != nil {
			return nil, err
		}
		p.maps[mp] = pm
	}
	return all, nil
}

func (m *Manager) addMappingLocked(pid uint32, mp Mapping, exe *executable) (*procMapping, error) {
	v := bpf.Mapping{Kind: bpf.MappingFP}
	if exe != nil {
		v = bpf.Mapping{FileId: exe.id.Short(), Bias: bias(exe, mp), Kind: exe.kind}
	}
	v.Start, v.End = mp.Start, mp.End
	pm := &procMapping{exe: exe, keys: lpmKeys(pid, mp.Start, mp.End)}
	for i, k := range pm.keys {
		if err := m.cfg.Maps.PutMapping(k, v); err != nil {
			pm.keys = pm.keys[:i]
			m.dropMappingLocked(pm)
			return nil, fmt.Errorf("publish mapping %s of %d: %w", mp.Path, pid, err)
		}
	}
	m.stats.Mappings += len(pm.keys)
	if exe != nil {
		exe.refs++
	}
	return pm, nil
}

func (m *Manager) dropMappingLocked(pm *procMapping) {
	for _, k := range pm.keys {
		m.cfg.Maps.DeleteMapping(k)
	}
	m.stats.Mappings -= len(pm.keys)
	pm.keys = nil
	if pm.exe == nil {
		return
	}
	pm.exe.refs--
	if pm.exe.refs == 0 && pm.exe != m.vdso {
		m.retireLocked(pm.exe)
	}
}

// retireLocked unpublishes an executable no process maps any more. Its
// file stays registered so frames already sampled can still be named.
func (m *Manager) retireLocked(exe *executable) {
	if exe.pages != nil {
		m.cfg.Maps.DeletePages(exe.pages)
		m.alloc.release(exe.start, exe.chunks)
		m.stats.DeltasUsed -= exe.n
		m.stats.Executables--
		m.stats.Pages -= len(exe.pages)
		exe.pages, exe.n = nil, 0
	}
	delete(m.exes, exe.id)
	// Keep the most recent retired files open so their frames can still
	// be named; close the oldest beyond that, so processes coming and
	// going by the thousand do not pile up descriptors.
	m.retired = append(m.retired, exe)
	if len(m.retired) > maxRetired {
		old := m.retired[0]
		m.retired = m.retired[1:]
		if m.byShort[old.id.Short()] == old {
			delete(m.byShort, old.id.Short())
		}
		if old.file != nil && m.exes[old.id] != old {
			old.file.Close()
			old.file = nil
		}
	}
}

// maxRetired bounds the executables kept open after their last process
// exited.
const maxRetired = 256

// ReapGone forgets the tracked processes that no longer exist. Exit events
// can be missed: the event ring may be full, and the kernel reports a
// process's exit when its main thread exits, which may be before the last
// thread does (after which a sample would publish the process again).
// It returns how many it forgot.
func (m *Manager) ReapGone() int {
	m.mu.Lock()
	pids := make([]uint32, 0, len(m.procs))
	for pid := range m.procs {
		pids = append(pids, pid)
	}
	m.mu.Unlock()
	n := 0
	for _, pid := range pids {
		// A PID reused since loses its entries until its next sample
		// asks for a sync.
		if _, err := os.Stat(m.procPath(pid)); isGone(err) {
			m.mu.Lock()
			reaped := m.procs[pid] != nil
			if reaped {
				m.exitLocked(pid)
				m.stats.Reaped++
				n++
			}
			m.mu.Unlock()
			if reaped && m.cfg.Reaped != nil {
				m.cfg.Reaped(pid)
			}
		}
	}
	return n
}

// Exit forgets pid and releases its share of every table.
func (m *Manager) Exit(pid uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syncing[pid] > 0 {
		m.exitedSyncing[pid] = true
	}
	m.exitLocked(pid)
}

func (m *Manager) exitLocked(pid uint32) {
	p := m.procs[pid]
	if p == nil {
		return
	}
	for _, pm := range p.maps {
		m.dropMappingLocked(pm)
	}
	delete(m.procs, pid)
}

// lpmKeys covers [start, end) of pid with the fewest aligned power-of-two
// blocks, each one LPM trie key.
func lpmKeys(pid uint32, start, end uint64) []bpf.MappingKey {
	var keys []bpf.MappingKey
	for start < end {
		k := bits.TrailingZeros64(start)
		if start == 0 {
			k = 63
		}
		for k > 0 && (uint64(1)<<k > end-start) {
			k--
		}
		keys = append(keys, bpf.MappingKey{
			Prefixlen: uint32(32 + 64 - k),
			Pid:       bits.ReverseBytes32(pid),
			Addr:      bits.ReverseBytes64(start),
		})
		start += 1 << k
	}
	return keys
}

// File describes an executable for symbolization.
type File struct {
	ID     FileID
	Path   string      // the path the process mapped, or "[vdso]"
	Reader io.ReaderAt // the content; nil once the manager is closed
}

// Lookup finds an executable by the short ID the BPF frames carry.
func (m *Manager) Lookup(short uint64) (File, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exe := m.byShort[short]
	if exe == nil {
		return File{}, false
	}
	f := File{ID: exe.id, Path: exe.path}
	if exe.image != nil || exe.file != nil {
		f.Reader = exe.reader()
	}
	return f, true
}

// Close releases every file the manager holds. It does not clear the BPF
// maps: they go away with the BPF objects.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, exe := range m.byShort {
		if exe.file != nil {
			exe.file.Close()
			exe.file = nil
		}
	}
	return nil
}

// Resolve maps a PC of pid to its executable's short ID and file address,
// when one of pid's published file mappings holds it. The BPF side sends a
// bare PC for frames it sampled before the process was synced; this names
// them once the sync has happened.
func (m *Manager) Resolve(pid uint32, pc uint64) (short, addr uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.procs[pid]
	if p == nil {
		return 0, 0, false
	}
	for mp, pm := range p.maps {
		if pm.exe != nil && pc >= mp.Start && pc < mp.End {
			return pm.exe.id.Short(), pc - bias(pm.exe, mp), true
		}
	}
	return 0, 0, false
}
