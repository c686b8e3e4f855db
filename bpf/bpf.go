// Package bpf holds pftop's eBPF programs and their loader. It is the only
// package that touches the identifiers bpf2go generates: everything else
// uses the typed Objects and the exported layouts below.
//
// The programs: Sample (perf_event) records one stack per cpu-clock tick
// and tail-calls UnwindNative, which walks the user stack with the stack
// deltas user space publishes in the Deltas, DeltaPages and Rules maps;
// ProcessExit (raw tracepoint sched_process_exit) reports exits.
package bpf

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// Layouts shared with the programs (see types.h).
type (
	Trace      = pftopTrace
	Frame      = pftopFrame
	Event      = pftopEvent
	MappingKey = pftopMappingKey
	Mapping    = pftopMapping
	PageKey    = pftopPageKey
	PageVal    = pftopPageVal
	Rule       = pftopRule
	DeltaChunk = pftopDeltaChunk
)

// Limits compiled into the programs.
const (
	MaxUserFrames   = 384 // MAX_USTACK; Ustack also has room for the packed kernel stack
	MaxKernelFrames = len(pftopTrace{}.Kstack)
	DeltaPageBits   = 16
	DeltaSubBits    = 12 // as DELTA_SUB_BITS: page_val.sub indexes 4 KiB sub-pages
	DeltaChunkSize  = 2  // deltas per element, as DELTA_CHUNK in types.h
)

// Event kinds.
const (
	EventSync = uint32(pftopEventKindEVENT_SYNC)
	EventExit = uint32(pftopEventKindEVENT_EXIT)
)

// Mapping kinds.
const (
	MappingDeltas = uint32(pftopMappingKindMAPPING_DELTAS)
	MappingFP     = uint32(pftopMappingKindMAPPING_FP)
)

// Status says why a user stack ended (Trace.Status).
type Status uint32

const (
	StatusOK         = Status(pftopUnwindStatusSTATUS_OK)
	StatusNoUser     = Status(pftopUnwindStatusSTATUS_NO_USER)
	StatusNoMapping  = Status(pftopUnwindStatusSTATUS_NO_MAPPING)
	StatusNoUnwind   = Status(pftopUnwindStatusSTATUS_NO_UNWIND)
	StatusReadFailed = Status(pftopUnwindStatusSTATUS_READ_FAILED)
	StatusTruncated  = Status(pftopUnwindStatusSTATUS_TRUNCATED)
	StatusBadRegs    = Status(pftopUnwindStatusSTATUS_BAD_REGS)
	StatusBadRule    = Status(pftopUnwindStatusSTATUS_BAD_RULE)
	StatusTailCall   = Status(pftopUnwindStatusSTATUS_TAIL_CALL)
	statusLast       = StatusTailCall
)

// String names the status as error frames show it.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNoUser:
		return "no user stack"
	case StatusNoMapping:
		return "unknown mapping"
	case StatusNoUnwind:
		return "no unwind info"
	case StatusReadFailed:
		return "stack read failed"
	case StatusTruncated:
		return "truncated"
	case StatusBadRegs:
		return "no user registers"
	case StatusBadRule:
		return "bad unwind rule"
	case StatusTailCall:
		return "tail call failed"
	}
	return fmt.Sprintf("status %d", uint32(s))
}

// Complete reports whether a stack with this status reached its root.
func (s Status) Complete() bool { return s == StatusOK || s == StatusNoUser }

// Options are decided by the loader before the programs load.
type Options struct {
	// DeltaEntries sizes the shared stack-delta array (4 bytes each,
	// rounded up to whole chunks); 0 keeps the compiled-in default.
	DeltaEntries uint32
	// PIDs, when not empty, restricts sampling to these processes in the
	// kernel, so other processes cost no unwinding at all.
	PIDs []uint32
	// TimePhases makes the programs time their phases into the
	// CounterT* counters, at the cost of a clock read per timer.
	TimePhases bool
}

// Objects are the loaded programs and maps. Close releases them.
type Objects struct {
	pftopObjects
	interpMu sync.Mutex // serializes read-modify-writes of the interp_pids bitmap
	// Variant names the load-time choices made by probing, for `pftop check`.
	Variant string
	// DeltaCapacity is the number of deltas the Deltas map holds.
	DeltaCapacity uint32
}

// ErrNotSupported wraps load failures caused by a missing kernel feature.
var ErrNotSupported = ebpf.ErrNotSupported

// Load probes the kernel, loads every program and map, and wires the
// tail-call table. The caller must Close the result.
func Load(opts Options) (_ *Objects, err error) {
	spec, err := loadPftop()
	if err != nil {
		return nil, fmt.Errorf("parse bpf object: %w", err)
	}
	o := &Objects{Variant: "pt_regs from the kernel stack"}

	taskPtRegs := features.HaveProgramHelper(ebpf.PerfEvent, asm.FnTaskPtRegs) == nil &&
		features.HaveProgramHelper(ebpf.PerfEvent, asm.FnGetCurrentTaskBtf) == nil
	if taskPtRegs {
		o.Variant = "bpf_task_pt_regs"
	}
	if err := spec.Variables["have_task_pt_regs"].Set(taskPtRegs); err != nil {
		return nil, fmt.Errorf("set have_task_pt_regs: %w", err)
	}
	if opts.DeltaEntries > 0 {
		spec.Maps["deltas"].MaxEntries = (opts.DeltaEntries + DeltaChunkSize - 1) / DeltaChunkSize
	}
	o.DeltaCapacity = spec.Maps["deltas"].MaxEntries * DeltaChunkSize
	if uint32(len(opts.PIDs)) > spec.Maps["pid_filter"].MaxEntries {
		return nil, fmt.Errorf("at most %d processes can be filtered", spec.Maps["pid_filter"].MaxEntries)
	}
	if err := spec.Variables["filter_pids"].Set(len(opts.PIDs) > 0); err != nil {
		return nil, fmt.Errorf("set filter_pids: %w", err)
	}
	if err := spec.Variables["time_phases"].Set(opts.TimePhases); err != nil {
		return nil, fmt.Errorf("set time_phases: %w", err)
	}

	if err := spec.LoadAndAssign(&o.pftopObjects, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load bpf programs: %+v", ve)
		}
		return nil, fmt.Errorf("load bpf programs: %w", err)
	}
	defer func() {
		if err != nil {
			o.Close()
		}
	}()
	if err := o.Progs.Put(uint32(pftopProgSlotPROG_UNWIND_NATIVE), o.UnwindNative); err != nil {
		return nil, fmt.Errorf("install tail call: %w", err)
	}
	for _, pid := range opts.PIDs {
		if err := o.PidFilter.Put(pid, uint8(1)); err != nil {
			return nil, fmt.Errorf("set pid filter: %w", err)
		}
	}
	return o, nil
}

// Close releases every program and map. It is safe to call twice.
func (o *Objects) Close() error {
	if o == nil {
		return nil
	}
	return o.pftopObjects.Close()
}

// Counter indexes the per-CPU counters.
type Counter int

const (
	CounterSamples      = Counter(pftopCounterC_SAMPLES)
	CounterIdle         = Counter(pftopCounterC_IDLE)
	CounterTracesSent   = Counter(pftopCounterC_TRACES_SENT)
	CounterRingFull     = Counter(pftopCounterC_RING_FULL)
	CounterKernelOnly   = Counter(pftopCounterC_KERNEL_ONLY)
	CounterNoMapping    = Counter(pftopCounterC_ERR_NO_MAPPING)
	CounterNoUnwind     = Counter(pftopCounterC_ERR_NO_UNWIND)
	CounterReadFailed   = Counter(pftopCounterC_ERR_READ)
	CounterTruncated    = Counter(pftopCounterC_ERR_TRUNCATED)
	CounterBadRegs      = Counter(pftopCounterC_ERR_BAD_REGS)
	CounterBadRule      = Counter(pftopCounterC_ERR_BAD_RULE)
	CounterTailCall     = Counter(pftopCounterC_ERR_TAIL_CALL)
	CounterFPFrames     = Counter(pftopCounterC_FP_FRAMES)
	CounterDeltaFrames  = Counter(pftopCounterC_DELTA_FRAMES)
	CounterSignalFrames = Counter(pftopCounterC_SIGNAL_FRAMES)
	CounterSyncSent     = Counter(pftopCounterC_SYNC_SENT)
	CounterSyncLimited  = Counter(pftopCounterC_SYNC_LIMITED)
	CounterEventsFull   = Counter(pftopCounterC_EVENTS_FULL)
	CounterExits        = Counter(pftopCounterC_EXITS)
	CounterFiltered     = Counter(pftopCounterC_FILTERED)
	CounterPyFrames     = Counter(pftopCounterC_PY_FRAMES)
	CounterPyNoThread   = Counter(pftopCounterC_PY_NO_THREAD)
	CounterPyRead       = Counter(pftopCounterC_PY_READ)
	CounterUnwindNS     = Counter(pftopCounterC_UNWIND_NS)
	CounterRuleSearches = Counter(pftopCounterC_RULE_SEARCHES)
	CounterStackReads   = Counter(pftopCounterC_STACK_READS)
	CounterTPrologue    = Counter(pftopCounterC_T_PROLOGUE)
	CounterTRuleSearch  = Counter(pftopCounterC_T_RULE_SEARCH)
	CounterTStackRead   = Counter(pftopCounterC_T_STACK_READ)
	CounterTPyThread    = Counter(pftopCounterC_T_PY_THREAD)
	CounterTPyWalk      = Counter(pftopCounterC_T_PY_WALK)
	CounterTSend        = Counter(pftopCounterC_T_SEND)
	NumCounters         = int(pftopCounterC_COUNTERS)
)

var counterNames = [NumCounters]string{
	"samples", "idle", "traces_sent", "ring_full", "kernel_only",
	"err_no_mapping", "err_no_unwind", "err_read", "err_truncated",
	"err_bad_regs", "err_bad_rule", "err_tail_call", "fp_frames",
	"delta_frames", "signal_frames", "sync_sent", "sync_limited",
	"events_full", "exits", "filtered", "py_frames", "py_no_thread",
	"py_read", "unwind_ns", "rule_searches", "stack_reads",
	"t_prologue_ns", "t_rule_search_ns", "t_stack_read_ns", "t_py_thread_ns",
	"t_py_walk_ns", "t_send_ns",
}

// String gives the counter's name as `--stats` prints it.
func (c Counter) String() string {
	if c < 0 || int(c) >= NumCounters {
		return fmt.Sprintf("counter%d", int(c))
	}
	return counterNames[c]
}

// ReadCounters sums the per-CPU counters.
func (o *Objects) ReadCounters() ([NumCounters]uint64, error) {
	var out [NumCounters]uint64
	var perCPU []uint64
	for i := 0; i < NumCounters; i++ {
		if err := o.pftopObjects.Counters.Lookup(uint32(i), &perCPU); err != nil {
			return out, fmt.Errorf("read counter %s: %w", Counter(i), err)
		}
		for _, v := range perCPU {
			out[i] += v
		}
	}
	return out, nil
}

// PyProc is what the BPF walker needs of a CPython process.
type PyProc = pftopPyProc

// InterpreterFrameTag is the top byte of the file ID of a frame recorded by
// an interpreter walker; native file IDs never have it.
const InterpreterFrameTag = 0xFE

// PyFrameBlock bounds the frame offsets of a PyProc: the walker reads this
// many bytes of each frame.
const PyFrameBlock = 128

// PyTstateBlock bounds the thread-state offsets of a PyProc: the walker
// reads this many bytes of a thread state at once.
const PyTstateBlock = 192

// PythonFrame decodes a user frame's file ID: whether a CPython walker
// recorded it, the low 24 bits of its code object's co_firstlineno, and
// its instruction offset (see interpreters/python.Process.Symbolize).
func PythonFrame(fileID uint64) (ok bool, check uint32, lasti int32) {
	if fileID>>56 != InterpreterFrameTag {
		return false, 0, 0
	}
	return true, uint32(fileID>>32) & 0xffffff, int32(uint32(fileID))
}

// SetPython makes the walker record pid's Python frames.
func (o *Objects) SetPython(pid uint32, p PyProc) error {
	for _, off := range []uint32{p.FrameBack, p.FrameCode, p.FrameLasti, p.FrameOwner} {
		if off+8 > PyFrameBlock {
			return fmt.Errorf("python walker for %d: frame offset %d beyond the %d bytes read", pid, off, PyFrameBlock)
		}
	}
	for _, off := range []uint32{p.TstateNext, p.TstateThreadId, p.TstateFrame} {
		if off+8 > PyTstateBlock {
			return fmt.Errorf("python walker for %d: thread-state offset %d beyond the %d bytes read", pid, off, PyTstateBlock)
		}
	}
	if err := o.PyProcs.Put(pid, &p); err != nil {
		return fmt.Errorf("python walker for %d: %w", pid, err)
	}
	return o.setInterpBit(pid, true)
}

// ClearPython forgets pid's Python layout; unknown PIDs are no error.
func (o *Objects) ClearPython(pid uint32) error {
	if err := o.setInterpBit(pid, false); err != nil {
		return err
	}
	if err := o.PyProcs.Delete(pid); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("forget python process %d: %w", pid, err)
	}
	return nil
}

func (o *Objects) setInterpBit(pid uint32, on bool) error {
	o.interpMu.Lock()
	defer o.interpMu.Unlock()
	word := pid / 64
	var bits uint64
	if err := o.InterpPids.Lookup(word, &bits); err != nil {
		return fmt.Errorf("interpreter pid %d: %w", pid, err)
	}
	if on {
		bits |= 1 << (pid % 64)
	} else {
		bits &^= 1 << (pid % 64)
	}
	if err := o.InterpPids.Update(word, bits, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("interpreter pid %d: %w", pid, err)
	}
	return nil
}
