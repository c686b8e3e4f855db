package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpModel is the key help (`?`): every binding of the keymap, by group,
// in as many columns as fit.
type helpModel struct {
	common        Common
	width, height int
	off           int // first visible line when it does not fit
}

func newHelpModel(c Common) helpModel { return helpModel{common: c} }

// SetSize sets the help's size.
func (h *helpModel) SetSize(w, height int) {
	h.width, h.height = w, height
	h.off = max(min(h.off, len(h.lines())-h.height), 0)
}

// Update scrolls the help when it does not fit.
func (h helpModel) Update(msg tea.Msg) (helpModel, tea.Cmd) {
	km := h.common.Keys
	d := 0
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, km.Up):
			d = -1
		case key.Matches(msg, km.Down):
			d = 1
		case key.Matches(msg, km.PageUp):
			d = -h.height
		case key.Matches(msg, km.PageDown):
			d = h.height
		}
	case bodyWheelMsg:
		d = msg.delta
	}
	h.off = max(min(h.off+d, len(h.lines())-h.height), 0)
	return h, nil
}

const (
	helpKeyWidth = 8  // cells for a key's name
	helpColWidth = 48 // cells for a column of groups
)

// lines lays the groups out in columns of helpColWidth.
func (h helpModel) lines() []string {
	st := h.common.Styles
	var blocks [][]string
	for _, g := range h.common.Keys.groups() {
		block := []string{st.Title.Render(g.title)}
		for _, b := range g.keys {
			if !b.Enabled() {
				continue
			}
			l := newLine(min(helpColWidth, h.width))
			l.add("  ", nil)
			l.cell(b.Help().Key, helpKeyWidth, false, &st.Key)
			l.add("  ", nil)
			l.add(b.Help().Desc, nil)
			block = append(block, l.String())
		}
		blocks = append(blocks, append(block, ""))
	}
	mouse := []string{st.Title.Render("Mouse")}
	if h.common.Mouse {
		mouse = append(mouse, "  wheel     scroll", "  click     select a row", "  click     a column title: sort by it", "  click     a picker's [ ]: mark",
			"  click     a frame: zoom into it")
	} else {
		mouse = append(mouse, "  off (--no-mouse)")
	}
	blocks = append(blocks, mouse)

	columns := balance(blocks, max(h.width/helpColWidth, 1))
	rows := 0
	for _, c := range columns {
		rows = max(rows, len(c))
	}
	out := make([]string, rows)
	for i := range out {
		var sb strings.Builder
		for j, c := range columns {
			cell := ""
			if i < len(c) {
				cell = c[i]
			}
			sb.WriteString(cell)
			if j < len(columns)-1 {
				sb.WriteString(strings.Repeat(" ", max(helpColWidth-lipgloss.Width(cell), 0)))
			}
		}
		out[i] = ansi.Truncate(strings.TrimRight(sb.String(), " "), h.width, "")
	}
	return out
}

// balance splits blocks, in order, into at most n columns as evenly as
// it can: the shortest height for which filling columns greedily needs no
// more than n of them.
func balance(blocks [][]string, n int) [][]string {
	total := 0
	for _, b := range blocks {
		total += len(b)
	}
	for target := (total + n - 1) / n; ; target++ {
		var columns [][]string
		var cur []string
		for _, b := range blocks {
			if len(cur) > 0 && len(cur)+len(b) > target {
				columns = append(columns, cur)
				cur = nil
			}
			cur = append(cur, b...)
		}
		columns = append(columns, cur)
		if len(columns) <= n || target >= total {
			return columns
		}
	}
}

// View renders the visible part of the help.
func (h helpModel) View() string {
	lines := h.lines()
	if h.off < len(lines) {
		lines = lines[h.off:]
	}
	return strings.Join(padLines(lines, h.height), "\n")
}

// shortHelp renders one line of key hints for the footer, as many as fit
// (then "…").
func shortHelp(c Common, bindings []key.Binding) string {
	st := c.Styles
	l := newLine(c.Width)
	for i, b := range bindings {
		if !b.Enabled() {
			continue
		}
		k, d := b.Help().Key, b.Help().Desc
		w := textWidth(k) + 1 + textWidth(d)
		if l.w > 0 {
			w += 3 // " • "
		}
		room := c.Width - l.w
		if i < len(bindings)-1 {
			room -= 2 // keep space for " …"
		}
		if w > room {
			l.add(" …", &st.Muted)
			break
		}
		if l.w > 0 {
			l.add(" • ", &st.Muted)
		}
		l.add(k, &st.Key)
		l.add(" "+d, &st.Muted)
	}
	return l.String()
}
