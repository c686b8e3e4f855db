package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// KeyMap satisfies help.KeyMap.
var _ help.KeyMap = (*KeyMap)(nil)

// KeyMap holds every key binding of the UI. Some keys mean different things
// in different places (space pauses the table but marks a row in a
// picker); each meaning has its own binding so that help lists it.
type KeyMap struct {
	// Moving the cursor, in every list.
	Up, Down, PageUp, PageDown, Home, End key.Binding
	// Left and Right move along a row of the flamegraph.
	Left, Right key.Binding

	// The top table.
	Open        key.Binding // callers and callees of the selected row
	Follow      key.Binding // in the callers panel: go to that function
	Search      key.Binding // start an incremental search
	Accept      key.Binding // end typing a search, keeping its matches
	NextMatch   key.Binding
	PrevMatch   key.Binding
	SortNext    key.Binding // sort by the next column
	SortPrev    key.Binding // sort by the previous column
	SortBy      key.Binding // sort by column 1-7 (again: reverse)
	SortReverse key.Binding
	Sandwich    key.Binding // the flamegraph sandwich of a function

	// The flamegraph. Up and Down move between a frame's parent and
	// children, Left and Right between neighbours (FlameMove is their
	// help); search, n and N work as in the table.
	FlameMove key.Binding
	Zoom      key.Binding
	ZoomOut   key.Binding
	Collapse  key.Binding
	Expand    key.Binding
	Invert    key.Binding
	Flip      key.Binding

	// Filters and the pickers.
	Processes    key.Binding // open the process picker
	Containers   key.Binding // open the container picker
	Mark         key.Binding // mark or unmark a row in a picker
	Apply        key.Binding // filter by the marked rows (or the selected one)
	ClearFilters key.Binding

	// Everywhere.
	Pause    key.Binding
	Snapshot key.Binding // save the window and filters to a file
	Window   key.Binding // cycle the window
	NextView key.Binding
	Back     key.Binding // close a panel, cancel a search
	Help     key.Binding
	Quit     key.Binding
}

// DefaultKeyMap returns pftop's key bindings.
func DefaultKeyMap() *KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return &KeyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f"}, "pgdn", "page down"),
		Home:     b([]string{"home", "g"}, "home/g", "first row"),
		End:      b([]string{"end", "G"}, "end/G", "last row"),
		Left:     b([]string{"left", "h"}, "←/h", "left"),
		Right:    b([]string{"right", "l"}, "→/l", "right"),

		Open:        b([]string{"enter"}, "enter", "callers & callees"),
		Follow:      b([]string{"enter"}, "enter", "go to that caller/callee"),
		Search:      b([]string{"/"}, "/", "search"),
		Accept:      b([]string{"enter"}, "enter", "end typing, keep matches"),
		NextMatch:   b([]string{"n"}, "n", "next match"),
		PrevMatch:   b([]string{"N"}, "N", "previous match"),
		SortNext:    b([]string{">", "."}, ">", "sort by next column"),
		SortPrev:    b([]string{"<", ","}, "<", "sort by previous column"),
		SortBy:      b([]string{"1", "2", "3", "4", "5", "6", "7"}, "1-7", "sort by column (again: reverse)"),
		SortReverse: b([]string{"r"}, "r", "reverse sort"),
		Sandwich:    b([]string{"f"}, "f", "flame sandwich (callers & callees)"),

		FlameMove: b([]string{"up", "down", "left", "right", "h", "j", "k", "l"}, "hjkl", "parent/child/neighbour"),
		Zoom:      b([]string{"enter"}, "enter", "zoom in"),
		ZoomOut:   b([]string{"backspace"}, "bksp/esc", "zoom out"),
		Collapse:  b([]string{"-"}, "-", "collapse"),
		Expand:    b([]string{"+", "="}, "+", "expand"),
		Invert:    b([]string{"i"}, "i", "invert (bottom-up)"),
		Flip:      b([]string{"r"}, "r", "flip root top/bottom"),

		Processes:    b([]string{"p"}, "p", "pick processes"),
		Containers:   b([]string{"c"}, "c", "pick containers"),
		Mark:         b([]string{"space"}, "space", "mark/unmark"),
		Apply:        b([]string{"enter"}, "enter", "filter by marked (or selected)"),
		ClearFilters: b([]string{"esc"}, "esc", "clear filters"),

		Pause:    b([]string{"space"}, "space", "pause/resume"),
		Snapshot: b([]string{"s"}, "s", "snapshot"),
		Window:   b([]string{"w"}, "w", "cycle window"),
		NextView: b([]string{"tab"}, "tab", "next view (table, flame graph)"),
		Back:     b([]string{"esc"}, "esc", "back / cancel"),
		Help:     b([]string{"?"}, "?", "help"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// helpGroup is a titled group of bindings in the help view.
type helpGroup struct {
	title string
	keys  []key.Binding
}

func (k *KeyMap) groups() []helpGroup {
	return []helpGroup{
		{"Move", []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}},
		{"Table", []key.Binding{k.Open, k.Sandwich, k.SortNext, k.SortPrev, k.SortBy, k.SortReverse}},
		{"Flame graph", []key.Binding{k.FlameMove, k.Zoom, k.ZoomOut, k.Collapse, k.Expand, k.Invert, k.Flip, k.Sandwich}},
		{"Search", []key.Binding{k.Search, k.Accept, k.NextMatch, k.PrevMatch}},
		{"Filters", []key.Binding{k.Processes, k.Containers, k.ClearFilters}},
		{"Pickers", []key.Binding{k.Mark, k.Apply}},
		{"Callers panel", []key.Binding{k.Follow}},
		{"General", []key.Binding{k.Pause, k.Snapshot, k.Window, k.NextView, k.Back, k.Help, k.Quit}},
	}
}

// ShortHelp is the footer of the top table (help.KeyMap).
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.NextView, k.Search, k.SortNext, k.Processes, k.Containers, k.Pause, k.Window, k.Help, k.Quit}
}

// FullHelp lists every binding, in groups (help.KeyMap).
func (k *KeyMap) FullHelp() [][]key.Binding {
	gs := k.groups()
	out := make([][]key.Binding, len(gs))
	for i, g := range gs {
		out[i] = g.keys
	}
	return out
}

// flameHelp is the footer of the flamegraph.
func (k *KeyMap) flameHelp() []key.Binding {
	return []key.Binding{k.Zoom, k.ZoomOut, k.Search, k.Invert, k.Flip, k.Collapse, k.Expand, k.Sandwich, k.Snapshot, k.Pause, k.NextView, k.Help, k.Quit}
}

// pickerHelp is the footer of the pickers.
func (k *KeyMap) pickerHelp() []key.Binding {
	return []key.Binding{k.Mark, k.Apply, k.Back, k.Up, k.Down, k.Help, k.Quit}
}

// callersHelp is the footer of the callers/callees panel.
func (k *KeyMap) callersHelp() []key.Binding {
	return []key.Binding{k.Follow, k.Back, k.Up, k.Down, k.Pause, k.Window, k.Help, k.Quit}
}

// searchHelp is the footer while typing a search.
func (k *KeyMap) searchHelp() []key.Binding {
	return []key.Binding{k.Accept, k.Back, k.Up, k.Down}
}

// helpHelp is the footer of the help view.
func (k *KeyMap) helpHelp() []key.Binding {
	return []key.Binding{k.Back, k.Up, k.Down, k.Quit}
}
