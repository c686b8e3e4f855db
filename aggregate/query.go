package aggregate

import "time"

// Query selects the samples a view shows: a time window and filters. The
// zero Query selects everything the store holds.
type Query struct {
	// From and To bound the window (To exclusive). A zero From means the
	// oldest data held; a zero To means now.
	From, To time.Time
	// PIDs, TIDs and Containers, when not empty, keep only samples whose
	// process, thread or container is listed.
	PIDs       []uint32
	TIDs       []uint32
	Containers []string
	// Comm, when not empty, keeps only processes with this command name.
	Comm string
	// Kind, when not 0, keeps only stacks holding at least one frame of
	// this kind (for example only stacks that reach the kernel).
	Kind FrameKind
}

// FunctionRow is one function in a top-functions answer. Functions are
// identified by (Name, Module): all addresses of one function merge.
type FunctionRow struct {
	Name   string
	Module string
	File   string // source file when known
	Line   int
	Kind   FrameKind
	// Self counts samples whose leaf is this function; Total counts
	// samples with this function anywhere in the stack, once per stack
	// however often it recurses.
	Self, Total int64
}

// TopResult answers a top-functions query.
type TopResult struct {
	Rows    []FunctionRow // sorted by Self, then Total, then Name (descending counts)
	Samples int64         // samples in the window after filtering
	Window  time.Duration // the span the answer covers
}

// TreeNode is a node of a call tree (root = all samples) or, for an
// inverted tree, of a callers tree (the root's children are leaf
// functions and each node's children its callers).
type TreeNode struct {
	Name     string
	Module   string
	Kind     FrameKind
	Self     int64       // samples ending here
	Total    int64       // samples through here
	Children []*TreeNode // sorted by Total descending, then Name
}

// ProcessRow is one process in the process list.
type ProcessRow struct {
	PID       uint32
	Comm      string
	Container string // container ID, "" on the host
	Samples   int64
	Threads   int // distinct threads sampled
}

// ContainerRow is one container in the container list.
type ContainerRow struct {
	ID        string // "" is the host
	Processes int
	Samples   int64
}
