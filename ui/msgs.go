package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// tickMsg is the refresh timer firing.
type tickMsg time.Time

// dataMsg carries the answers of one round of queries, issued for the
// model generation gen. Which fields are set depends on what was on screen.
type dataMsg struct {
	gen    uint64
	health Health

	top              *aggregate.TopResult // the table (and the header's sample count)
	fn               funcRef              // the callers panel's function
	edges            bool                 // callers and callees were queried
	callers, callees []aggregate.FunctionRow

	procs      []aggregate.ProcessRow // nil unless the process picker is open
	containers []aggregate.ContainerRow

	flame *flameData // set when the flamegraph is on screen
}

// funcRef names a function the way the store identifies it.
type funcRef struct{ name, module string }

// openCallersMsg asks the root to show the callers panel of fn.
type openCallersMsg struct{ fn funcRef }

// openSandwichMsg asks the root to show the flamegraph sandwich of fn.
type openSandwichMsg struct{ fn funcRef }

// snapshotMsg is the result of Options.Snapshot: where it wrote, or why
// it could not.
type snapshotMsg struct {
	path string
	err  error
}

// requeryMsg asks the root for fresh data at once (a child's question
// changed, such as the callers panel moving to another function).
type requeryMsg struct{}

// closeMsg asks the root to close a panel or picker and go back to the
// active view.
type closeMsg struct{}

// clearFiltersMsg asks the root to drop every filter.
type clearFiltersMsg struct{}

// pickProcsMsg filters by the chosen processes.
type pickProcsMsg struct{ pids []uint32 }

// pickContainersMsg filters by the chosen containers.
type pickContainersMsg struct{ ids []string }

// bodyClickMsg is a left click inside the body, in body coordinates (the
// root subtracts the header).
type bodyClickMsg struct{ x, y int }

// bodyWheelMsg is the mouse wheel inside the body: rows to move, negative
// upward.
type bodyWheelMsg struct{ delta int }

// emit is a command that delivers msg.
func emit(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }
