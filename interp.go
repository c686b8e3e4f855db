package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/interpreters/python"
	"github.com/pftop/pftop/unwinder"
)

// interpreters tracks the processes that run a runtime whose frames the
// BPF walker records (CPython): it detects them when the unwinder syncs
// them, publishes their layout, names their frames as traces arrive (the
// process's memory is only readable while it lives) and forgets them when
// they exit.
type interpreters struct {
	objs *bpf.Objects

	mu    sync.Mutex
	py    map[uint32]pyProcess
	tried map[uint32]string // the interpreter file a failed detection saw

	// Python frames are interned by what they name, so equal frames of
	// different processes (or code objects) aggregate as one.
	namesMu sync.RWMutex
	ids     map[aggregate.Location]uint64
	names   []aggregate.Location // by ID-1

	detected, failed, stale atomic.Int64
}

// pyProcess is a detected CPython process and the interpreter-looking
// file it was detected with (another one means an exec).
type pyProcess struct {
	proc *python.Process
	file string
}

// maxPythonNames bounds the interned Python frames; past it new ones are
// named by a placeholder rather than let pftop grow without end.
const maxPythonNames = 1 << 20

func newInterpreters(objs *bpf.Objects) *interpreters {
	return &interpreters{
		objs:  objs,
		py:    map[uint32]pyProcess{},
		tried: map[uint32]string{},
		ids:   map[aggregate.Location]uint64{},
	}
}

// pythonFile returns the mapped file that looks like a CPython interpreter.
func pythonFile(mappings []unwinder.Mapping) string {
	for _, m := range mappings {
		base := filepath.Base(m.Path)
		if strings.HasPrefix(base, "libpython") || strings.HasPrefix(base, "python") {
			return m.Path
		}
	}
	return ""
}

// synced is the unwinder's Synced hook.
func (in *interpreters) synced(pid uint32, mappings []unwinder.Mapping) {
	file := pythonFile(mappings)
	if file == "" {
		// The process exec'd something else: its old layout must not
		// be applied to the new program's addresses.
		in.exit(pid)
		return
	}
	in.mu.Lock()
	cur, known := in.py[pid]
	replaced := known && cur.file != file // an exec of another Python
	triedFile, tried := in.tried[pid]
	in.mu.Unlock()
	if replaced {
		in.exit(pid)
		known, tried = false, false
	}
	// A failed detection is retried only when the process maps another
	// interpreter file (an exec, or libpython loaded late).
	if known || (tried && triedFile == file) {
		return
	}
	proc, err := python.DetectIn(int(pid), mappings)
	if err != nil || proc == nil {
		if err != nil {
			in.failed.Add(1)
			if os.Getenv("PFTOP_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "pftop: python %d: %v\n", pid, err)
			}
		}
		in.mu.Lock()
		in.tried[pid] = file
		in.mu.Unlock()
		return
	}
	o := proc.Offsets
	layout := bpf.PyProc{
		InterpHead:         proc.InterpHead,
		EvalStart:          proc.EvalStart,
		EvalEnd:            proc.EvalEnd,
		Version:            uint32(proc.Version.Major<<8 | proc.Version.Minor),
		InterpThreadsHead:  o.InterpThreadsHead,
		TstateNext:         o.TstateNext,
		TstateThreadId:     o.TstateThreadID,
		TstateFrame:        o.TstateFrame,
		CframeCurrentFrame: o.CFrameCurrentFrame,
		FrameBack:          o.FrameBack,
		FrameCode:          o.FrameCode,
		FrameLasti:         o.FrameLasti,
		FrameOwner:         o.FrameOwner,
		CodeFirstlineno:    o.CodeFirstLineNo,
		CodeAdaptive:       o.CodeAdaptive,
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.py[pid]; ok {
		proc.Close() // a concurrent sync got there first
		return
	}
	if err := in.objs.SetPython(pid, layout); err != nil {
		proc.Close()
		in.failed.Add(1)
		in.tried[pid] = file
		return
	}
	in.py[pid] = pyProcess{proc, file}
	delete(in.tried, pid)
	in.detected.Add(1)
}

// exit forgets pid.
func (in *interpreters) exit(pid uint32) {
	in.mu.Lock()
	proc := in.py[pid].proc
	delete(in.py, pid)
	delete(in.tried, pid)
	in.mu.Unlock()
	if proc != nil {
		in.objs.ClearPython(pid)
		proc.Close()
	}
}

// close releases every process's memory reader.
func (in *interpreters) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for pid, p := range in.py {
		p.proc.Close()
		delete(in.py, pid)
	}
}

// process returns pid's detected CPython, nil if none: looked up once per
// trace, for all of its Python frames.
func (in *interpreters) process(pid uint32) *python.Process {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.py[pid].proc
}

// pythonFrame turns a frame the walker recorded in proc (nil: no longer
// known) into an aggregate frame, naming it now, while the process and
// its code objects live.
func (in *interpreters) pythonFrame(proc *python.Process, check uint32, lasti int32, code uint64) aggregate.Frame {
	loc := aggregate.Location{Function: "[unknown python frame]", Module: "[python]"}
	if proc != nil {
		if fr, err := proc.Symbolize(code, int64(lasti), check); err == nil {
			loc = aggregate.Location{Function: fr.Function, Module: filepath.Base(fr.File), File: fr.File, Line: fr.Line}
		} else {
			in.stale.Add(1)
		}
	}
	return aggregate.Frame{Kind: aggregate.KindPython, FileID: in.intern(loc)}
}

func (in *interpreters) intern(loc aggregate.Location) uint64 {
	in.namesMu.RLock()
	id, ok := in.ids[loc]
	in.namesMu.RUnlock()
	if ok {
		return id
	}
	in.namesMu.Lock()
	defer in.namesMu.Unlock()
	if id, ok := in.ids[loc]; ok {
		return id
	}
	if len(in.names) >= maxPythonNames {
		loc = aggregate.Location{Function: "[python: too many distinct frames]", Module: "[python]"}
		if id, ok := in.ids[loc]; ok {
			return id
		}
	}
	in.names = append(in.names, loc)
	id = uint64(len(in.names))
	in.ids[loc] = id
	return id
}

// location names an interned Python frame.
func (in *interpreters) location(id uint64) (aggregate.Location, bool) {
	in.namesMu.RLock()
	defer in.namesMu.RUnlock()
	if id == 0 || id > uint64(len(in.names)) {
		return aggregate.Location{}, false
	}
	return in.names[id-1], true
}

// stats is the line `--stats` prints.
func (in *interpreters) stats() string {
	in.mu.Lock()
	n := len(in.py)
	in.mu.Unlock()
	in.namesMu.RLock()
	names := len(in.names)
	in.namesMu.RUnlock()
	return fmt.Sprintf("python: processes=%d detected=%d failed=%d frames_named=%d stale_code=%d", n, in.detected.Load(), in.failed.Load(), names, in.stale.Load())
}
