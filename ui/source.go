package ui

import "github.com/pftop/pftop/aggregate"

// Source answers the views' queries. Implementations must be safe for
// concurrent use: the UI calls them from tea.Cmd goroutines (at most one
// query at a time per Model, but batch mode and tests may share a Source).
// The UI treats every returned slice and tree as read-only and never keeps
// a reference into it past the next answer, so a Source may return fresh
// values or immutable shared ones.
type Source interface {
	// Top answers a top-functions query.
	Top(q aggregate.Query) aggregate.TopResult
	// CallersCallees returns the functions that call the function
	// (name, module) directly and the functions it calls directly. For
	// each row Total counts the samples in which that edge appears (once
	// per stack); Self is not used. Rows are sorted by Total descending.
	CallersCallees(q aggregate.Query, name, module string) (callers, callees []aggregate.FunctionRow)
	// Tree answers a call-tree query (an inverted, callers tree when
	// inverted is set), pruned as q.MinShare asks. Used by the
	// flamegraph view, which sets MinShare to what it can show.
	Tree(q aggregate.Query, inverted bool) *aggregate.TreeNode
	// Processes lists the sampled processes. The order does not matter;
	// the UI sorts by samples.
	Processes(q aggregate.Query) []aggregate.ProcessRow
	// Containers lists the sampled containers; the ID "" stands for
	// processes on the host, and a Query listing "" in Containers selects
	// them.
	Containers(q aggregate.Query) []aggregate.ContainerRow
	// Health reports the box and the profiler's own state. It must be
	// cheap: it is called on every refresh.
	Health() Health
}

// Health is what the header shows about the box and about pftop itself.
// Zero values mean "not known yet" and are shown as such.
type Health struct {
	Host   string // host name
	Kernel string // kernel release, as uname -r
	CPUs   int    // online CPUs being sampled
	// Frequency is the sampling frequency per CPU, in Hz.
	Frequency int
	// SamplesPerSec is the recent rate of samples reaching the store.
	SamplesPerSec float64
	// Drops counts samples lost before reaching user space (ring buffer
	// full, per-CPU drop counters); UnwindErrors counts traces that ended
	// in an error frame. Both are totals since start.
	Drops, UnwindErrors int64
	// CompleteShare is the share (0 to 1) of recent traces that reached
	// their root frame.
	CompleteShare float64
	// OwnCPU is pftop's own CPU use as a share of one core (0.01 = 1%).
	OwnCPU float64
	// Exported and ExportDropped count profiles sent to, and dropped on
	// the way to, an OTLP endpoint. Both zero hides them.
	Exported, ExportDropped int64
}
