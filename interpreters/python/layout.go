package python

import "fmt"

// Version of a CPython runtime.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// atLeast reports whether v is major.minor or newer.
func (v Version) atLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Offsets are the byte offsets the in-kernel walker reads, for one version.
type Offsets struct {
	InterpThreadsHead  uint32 // PyInterpreterState: first PyThreadState* (tstate_head; threads.head in 3.12+)
	TstateNext         uint32 // PyThreadState.next
	TstateThreadID     uint32 // PyThreadState.thread_id (the thread's pthread_self())
	TstateFrame        uint32 // <=3.10: frame (PyFrameObject*); 3.11, 3.12: cframe (_PyCFrame*); 3.13+: current_frame
	CFrameCurrentFrame uint32 // 3.11, 3.12: _PyCFrame.current_frame; otherwise 0
	FrameBack          uint32 // <=3.10: PyFrameObject.f_back; 3.11+: _PyInterpreterFrame.previous
	FrameCode          uint32 // f_code; 3.13+: f_executable
	FrameLasti         uint32 // <=3.10: f_lasti (int); 3.11, 3.12: prev_instr; 3.13+: instr_ptr
	FrameOwner         uint32 // 3.11: is_entry (bool); 3.12+: owner (char); <=3.10: 0
	CodeFirstLineNo    uint32 // PyCodeObject.co_firstlineno (int)
	CodeAdaptive       uint32 // 3.11+: offset of co_code_adaptive in PyCodeObject; <=3.10: 0
}

// FrameOwnedByCStack is the owner value (3.12+) of the entry frame that
// _PyEval_EvalFrameDefault pushes for itself: it belongs to the C stack and
// holds no Python code, so walkers skip it.
const FrameOwnedByCStack = 3

// layout is everything this package reads for one minor version: the
// walker's Offsets plus what symbolization and detection need.
type layout struct {
	Offsets
	// RuntimeInterpHead is _PyRuntimeState.interpreters.head (3.7+).
	RuntimeInterpHead uint32
	// Code object members (pointers to str/unicode/bytes objects).
	CodeName      uint32
	CodeQualname  uint32 // 3.11+; 0 before
	CodeFilename  uint32
	CodeLineTable uint32 // co_lnotab (<=3.9), co_linetable (3.10+)
	// BytesData is the offset of ob_sval in PyBytesObject (PyStringObject on 2.7).
	BytesData uint32
	// ASCIISize and CompactSize are sizeof(PyASCIIObject) and
	// sizeof(PyCompactUnicodeObject): where a compact string's characters
	// start. UnicodeState is the offset of the state bit field. Zero on 2.7,
	// whose names are byte strings.
	UnicodeState uint32
	ASCIISize    uint32
	CompactSize  uint32
}

// Offsets common to every version: PyObject_VAR_HEAD is ob_refcnt, ob_type,
// ob_size (non-debug builds; Py_TRACE_REFS builds are not supported), and
// PyASCIIObject starts length, hash.
const (
	offObType   = 8
	offObSize   = 16
	offUniLen   = 16
	maxStrBytes = 4096 // names and file names longer than this are cut
	maxLineTab  = 1 << 20
)

// Bits of PyASCIIObject.state (the same from 3.3 through 3.13).
const (
	uniKindShift  = 2
	uniCompactBit = 5
	uniASCIIBit   = 6
)

// layoutFor returns the table for v's minor version. The values are checked against
// each version's DWARF by TestLayoutsMatchDWARF; a zero is a real offset (the
// first member) where the comment on Offsets says the field exists.
func layoutFor(v Version) (layout, bool) {
	switch v.Major*100 + v.Minor {
	case 207: // 2.7
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 8,
				TstateThreadID:    144,
				TstateFrame:       16,
				FrameBack:         24,
				FrameCode:         32,
				FrameLasti:        120,
				CodeFirstLineNo:   96,
			},
			CodeName:      88,
			CodeFilename:  80,
			CodeLineTable: 104,
			BytesData:     36,
		}, true
	case 306: // 3.6
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 8,
				TstateNext:        8,
				TstateThreadID:    152,
				TstateFrame:       24,
				FrameBack:         24,
				FrameCode:         32,
				FrameLasti:        120,
				CodeFirstLineNo:   36,
			},
			CodeName:      104,
			CodeFilename:  96,
			CodeLineTable: 112,
			BytesData:     32,
			UnicodeState:  32,
			ASCIISize:     48,
			CompactSize:   72,
		}, true
	case 307: // 3.7
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 8,
				TstateNext:        8,
				TstateThreadID:    176,
				TstateFrame:       24,
				FrameBack:         24,
				FrameCode:         32,
				FrameLasti:        104,
				CodeFirstLineNo:   36,
			},
			RuntimeInterpHead: 24,
			CodeName:          104,
			CodeFilename:      96,
			CodeLineTable:     112,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         48,
			CompactSize:       72,
		}, true
	case 308, 309: // 3.8, 3.9
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 8,
				TstateNext:        8,
				TstateThreadID:    176,
				TstateFrame:       24,
				FrameBack:         24,
				FrameCode:         32,
				FrameLasti:        104,
				CodeFirstLineNo:   40,
			},
			RuntimeInterpHead: 32,
			CodeName:          112,
			CodeFilename:      104,
			CodeLineTable:     120,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         48,
			CompactSize:       72,
		}, true
	case 310: // 3.10
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 8,
				TstateNext:        8,
				TstateThreadID:    176,
				TstateFrame:       24,
				FrameBack:         24,
				FrameCode:         32,
				FrameLasti:        96,
				CodeFirstLineNo:   40,
			},
			RuntimeInterpHead: 32,
			CodeName:          112,
			CodeFilename:      104,
			CodeLineTable:     120,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         48,
			CompactSize:       72,
		}, true
	case 311: // 3.11
		return layout{
			Offsets: Offsets{
				InterpThreadsHead:  16,
				TstateNext:         8,
				TstateThreadID:     152,
				TstateFrame:        56,
				CFrameCurrentFrame: 8,
				FrameBack:          48,
				FrameCode:          32,
				FrameLasti:         56,
				FrameOwner:         68,
				CodeFirstLineNo:    72,
				CodeAdaptive:       184,
			},
			RuntimeInterpHead: 40,
			CodeName:          120,
			CodeQualname:      128,
			CodeFilename:      112,
			CodeLineTable:     136,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         48,
			CompactSize:       72,
		}, true
	case 312: // 3.12
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 72,
				TstateNext:        8,
				TstateThreadID:    136,
				TstateFrame:       56,
				FrameBack:         8,
				FrameLasti:        56,
				FrameOwner:        70,
				CodeFirstLineNo:   68,
				CodeAdaptive:      192,
			},
			RuntimeInterpHead: 40,
			CodeName:          120,
			CodeQualname:      128,
			CodeFilename:      112,
			CodeLineTable:     136,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         40,
			CompactSize:       56,
		}, true
	case 313: // 3.13
		return layout{
			Offsets: Offsets{
				InterpThreadsHead: 7344,
				TstateNext:        8,
				TstateThreadID:    152,
				TstateFrame:       72,
				FrameBack:         8,
				FrameLasti:        56,
				FrameOwner:        70,
				CodeFirstLineNo:   68,
				CodeAdaptive:      200,
			},
			RuntimeInterpHead: 632,
			CodeName:          120,
			CodeQualname:      128,
			CodeFilename:      112,
			CodeLineTable:     136,
			BytesData:         32,
			UnicodeState:      32,
			ASCIISize:         40,
			CompactSize:       56,
		}, true
	}
	return layout{}, false
}
