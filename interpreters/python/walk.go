package python

import (
	"encoding/binary"
	"fmt"
)

// Limits of Threads, so that a corrupt or cyclic list ends.
const (
	maxWalkThreads = 4096
	maxWalkFrames  = 1024
)

// Thread is one Python thread's stack as the in-kernel walker sees it.
type Thread struct {
	// ThreadID is PyThreadState.thread_id: the thread's pthread_self(),
	// which on x86-64 equals the fs base the kernel keeps for the task.
	ThreadID uint64
	State    uint64     // the PyThreadState's address
	Frames   []RawFrame // innermost first
}

// RawFrame is what the walker records for one Python frame.
type RawFrame struct {
	Code  uint64
	Lasti int64
	Check uint32
	// Entry marks the outermost frame of one _PyEval_EvalFrameDefault
	// call (3.11: is_entry; 3.12+: the frame under an owner == 3 C-stack
	// frame). Before 3.11 every frame is one call, and Entry is always
	// true.
	Entry bool
}

// Threads walks every thread of the main interpreter using only Offsets,
// InterpHead and reads of the process's memory: the in-kernel walker's
// algorithm, in Go, for tests and diagnostics. It is not for the sampling
// path (it stops the world of nothing and races with the process: a stack
// may change under it, which shows as stale or odd frames, never a panic).
func (p *Process) Threads() ([]Thread, error) {
	m := p.obj.m
	o := &p.Offsets
	interp, err := m.u64(p.InterpHead)
	if err != nil {
		return nil, fmt.Errorf("python: interpreter: %w", err)
	}
	if interp == 0 {
		return nil, nil // not initialized yet, or finalized
	}
	tstate, err := m.u64(interp + uint64(o.InterpThreadsHead))
	if err != nil {
		return nil, fmt.Errorf("python: thread list: %w", err)
	}
	var out []Thread
	for ; tstate != 0 && len(out) < maxWalkThreads; tstate, err = m.u64(tstate + uint64(o.TstateNext)) {
		if err != nil {
			return out, fmt.Errorf("python: next thread: %w", err)
		}
		id, err := m.u64(tstate + uint64(o.TstateThreadID))
		if err != nil {
			return out, fmt.Errorf("python: thread id: %w", err)
		}
		frames, err := p.walkFrames(tstate)
		out = append(out, Thread{ThreadID: id, State: tstate, Frames: frames})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (p *Process) walkFrames(tstate uint64) ([]RawFrame, error) {
	m := p.obj.m
	o := &p.Offsets
	v := p.Version
	frame, err := m.u64(tstate + uint64(o.TstateFrame))
	if err != nil {
		return nil, fmt.Errorf("python: current frame: %w", err)
	}
	if v.atLeast(3, 11) && !v.atLeast(3, 13) && frame != 0 {
		if frame, err = m.u64(frame + uint64(o.CFrameCurrentFrame)); err != nil {
			return nil, fmt.Errorf("python: cframe: %w", err)
		}
	}
	var out []RawFrame
	for ; frame != 0 && len(out) < maxWalkFrames; frame, err = m.u64(frame + uint64(o.FrameBack)) {
		if err != nil {
			return out, fmt.Errorf("python: previous frame: %w", err)
		}
		f := RawFrame{Entry: true}
		if v.atLeast(3, 11) {
			b, err := m.read(frame+uint64(o.FrameOwner), 1)
			if err != nil {
				return out, fmt.Errorf("python: frame owner: %w", err)
			}
			if v.atLeast(3, 12) {
				if b[0] == FrameOwnedByCStack {
					if len(out) > 0 {
						out[len(out)-1].Entry = true
					}
					continue
				}
				f.Entry = false
			} else {
				f.Entry = b[0] != 0
			}
		}
		if f.Code, err = m.u64(frame + uint64(o.FrameCode)); err != nil {
			return out, fmt.Errorf("python: frame code: %w", err)
		}
		b, err := m.read(frame+uint64(o.FrameLasti), 8)
		if err != nil {
			return out, fmt.Errorf("python: frame lasti: %w", err)
		}
		if v.atLeast(3, 11) {
			f.Lasti = int64(binary.LittleEndian.Uint64(b) - (f.Code + uint64(o.CodeAdaptive)))
		} else {
			f.Lasti = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		cb, err := m.read(f.Code+uint64(o.CodeFirstLineNo), 4)
		if err != nil {
			return out, fmt.Errorf("python: code first line: %w", err)
		}
		f.Check = binary.LittleEndian.Uint32(cb)
		out = append(out, f)
	}
	return out, nil
}
