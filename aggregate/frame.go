package aggregate

// FrameKind says which unwinder produced a frame and so how it is named.
type FrameKind uint8

const (
	KindNative FrameKind = iota + 1 // a user-space machine-code frame
	KindKernel                      // a kernel frame (Addr is the kernel address)
	KindError                       // a trace that could not be completed; Addr is the reason code
	KindPython                      // a CPython frame; FileID and Addr are keys the Python symbolizer gave
)

// String gives the kind's short name as shown in views and pprof labels.
func (k FrameKind) String() string {
	switch k {
	case KindNative:
		return "native"
	case KindKernel:
		return "kernel"
	case KindError:
		return "error"
	case KindPython:
		return "cpython"
	}
	return "unknown"
}

// Frame is a raw, unsymbolized frame as it comes from the sampler. It is
// comparable so it can key maps. For native frames FileID names the
// executable (the low 64 bits of its file ID, 0 when the PC was outside any
// file-backed mapping) and Addr is the ELF virtual address within it (or the
// raw PC when FileID is 0).
type Frame struct {
	Kind   FrameKind
	FileID uint64
	Addr   uint64
}

// Location is one symbolized function at a frame. A frame with inlined
// calls symbolizes to several Locations, innermost (leaf) first; all but
// the last have Inlined set.
type Location struct {
	Function string // demangled name, or "module+0xOFFSET" when unknown
	Module   string // base name of the executable or "[kernel]"
	File     string // source file when known
	Line     int    // source line when known, else 0
	Inlined  bool
}

// Symbolizer names frames. Implementations cache by frame; Symbolize must be
// safe for concurrent use and never return an empty slice.
type Symbolizer interface {
	Symbolize(f Frame) []Location
}
