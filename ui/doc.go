// Package ui is pftop's terminal interface: a Bubble Tea program whose views
// (the top-functions table, the flamegraph, the process and container
// pickers, the callers/callees panel and the key help) are rendered from
// answers to aggregate queries, and a batch mode that prints the same
// table as plain text.
//
// The package never touches BPF or the store directly: everything it shows
// comes through the [Source] interface, queried off the UI goroutine by
// tea.Cmds, one query at a time. Rendering is a pure function of the model.
package ui
