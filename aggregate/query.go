package aggregate

import "time"

// Query selects the samples a view shows: a time window and filters. The
// zero Query selects everything the store holds.
type Query struct {
	// From and To bound the window (To exclusive). A zero From means the
	// oldest data held; a zero To means now. Counts are kept per second
	// of the Store's clock, so a second is in the window when it
	// overlaps [From, To).
	From, To time.Time
	// PIDs, TIDs and Containers, when not empty, keep only samples whose
	// process, thread or container is listed ("" lists the host).
	PIDs       []uint32
	TIDs       []uint32
	Containers []string
	// Comm, when not empty, keeps only samples of threads with this
	// name (the comm the kernel reports per thread, which a process's
	// threads may set apart from its own, as the --comm flag does).
	Comm string
	// Kind, when not 0, keeps only stacks holding at least one frame of
	// this kind (for example only stacks that reach the kernel).
	Kind FrameKind
	// MinShare, when above 0, prunes Tree answers: a node whose Total is
	// below MinShare of the samples is left out with its subtree, and the
	// pruned children of a node are folded into one child named
	// OtherName. Other queries ignore it.
	MinShare float64
}

// FunctionRow is one function in a top-functions answer. Functions are
// identified by (Name, Module): all addresses of one function merge, and
// File, Line and Kind are those of the first address a query met.
type FunctionRow struct {
	Name   string
	Module string
	File   string // source file when known
	Line   int    // a line of the function when known, else 0
	Kind   FrameKind
	// Self counts samples whose leaf is this function; Total counts
	// samples with this function anywhere in the stack, once per stack
	// however often it recurses.
	Self, Total int64
}

// TopResult answers a top-functions query.
type TopResult struct {
	Rows    []FunctionRow // by Self, then Total (descending), then Name, Module
	Samples int64         // samples in the window after filtering
	// Window is the span the answer covers: the window's seconds,
	// clipped to the history held and to now.
	Window time.Duration
}

// TreeNode is a node of a call tree (root = all samples) or, for an
// inverted tree, of a callers tree (the root's children are leaf
// functions and each node's children its callers). The root is named
// "all".
type TreeNode struct {
	Name   string
	Module string
	Kind   FrameKind
	// Self counts the samples whose path ends here: in a call tree those
	// in this function itself, in an inverted tree those whose outermost
	// caller this is, at the root those with no frames. Self plus the
	// children's Totals is Total.
	Self     int64
	Total    int64       // samples through here
	Children []*TreeNode // by Total descending, then Name, then Module
}

// ProcessRow is one process in the process list.
type ProcessRow struct {
	PID uint32
	// Comm is the main thread's name when it was sampled, else that of
	// the thread name with the most samples.
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
