package ui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/pftop/pftop/aggregate"
)

// callersModel is the callers/callees panel of one function (`enter` on a
// table row). Its rows are the direct callers, then the direct callees;
// `enter` on one moves the panel to that function and `esc` comes back.
type callersModel struct {
	common        Common
	width, height int
	stack         []funcRef // the functions visited; the last one is shown
	loaded        bool
	fn            aggregate.FunctionRow // the shown function's own counts
	fnKnown       bool
	samples       int64 // samples in the window
	callers       []aggregate.FunctionRow
	callees       []aggregate.FunctionRow
	pos, off      int // cursor over callers then callees; first visible line
}

func newCallersModel(c Common) callersModel { return callersModel{common: c} }

// SetSize sets the panel's size.
func (m *callersModel) SetSize(w, h int) {
	m.width, m.height = w, h
	m.off = m.scroll()
}

// focus is the function shown; ok is false when the panel is empty.
func (m callersModel) focus() (funcRef, bool) {
	if len(m.stack) == 0 {
		return funcRef{}, false
	}
	return m.stack[len(m.stack)-1], true
}

// open starts the panel on fn.
func (m callersModel) open(fn funcRef) callersModel {
	return m.reset([]funcRef{fn})
}

// push moves the panel to fn, remembering where it was.
func (m callersModel) push(fn funcRef) callersModel {
	stack := make([]funcRef, len(m.stack), len(m.stack)+1)
	copy(stack, m.stack)
	return m.reset(append(stack, fn))
}

func (m callersModel) reset(stack []funcRef) callersModel {
	m.stack = stack
	m.loaded, m.fnKnown = false, false
	m.callers, m.callees = nil, nil
	m.pos, m.off = 0, 0
	return m
}

// setData shows the answer for fn; answers for another function are
// ignored. top gives the function's own counts.
func (m callersModel) setData(fn funcRef, callers, callees []aggregate.FunctionRow, top *aggregate.TopResult) callersModel {
	if cur, ok := m.focus(); !ok || cur != fn {
		return m
	}
	m.callers, m.callees, m.loaded = callers, callees, true
	if top != nil {
		m.samples = top.Samples
		m.fnKnown = false
		for i := range top.Rows {
			if top.Rows[i].Name == fn.name && top.Rows[i].Module == fn.module {
				m.fn, m.fnKnown = top.Rows[i], true
				break
			}
		}
	}
	m.pos = max(min(m.pos, m.items()-1), 0)
	m.off = m.scroll()
	return m
}

func (m callersModel) items() int { return len(m.callers) + len(m.callees) }

func (m callersModel) item(i int) *aggregate.FunctionRow {
	if i < len(m.callers) {
		return &m.callers[i]
	}
	return &m.callees[i-len(m.callers)]
}

// The panel is one scrolling list of lines: title, a blank line, the
// callers' heading and column titles and rows, a blank line, the callees'
// heading, column titles and rows.
const callersTop = 4 // lines before the first caller

// lineOf is the line of item i.
func (m callersModel) lineOf(i int) int {
	if i < len(m.callers) {
		return callersTop + i
	}
	return callersTop + max(len(m.callers), 1) + 3 + (i - len(m.callers))
}

// itemAt is the item on line y, or -1.
func (m callersModel) itemAt(y int) int {
	for i := range m.items() {
		if m.lineOf(i) == y {
			return i
		}
	}
	return -1
}

// scroll returns the first visible line that keeps the cursor in view.
func (m callersModel) scroll() int {
	if m.items() == 0 || m.pos == 0 {
		return 0
	}
	y := m.lineOf(m.pos)
	off := m.off
	if y < off {
		off = y
	}
	if y >= off+m.height {
		off = y - m.height + 1
	}
	return max(off, 0)
}

// Update handles the panel's keys and mouse.
func (m callersModel) Update(msg tea.Msg) (callersModel, tea.Cmd) {
	km := m.common.Keys
	n := m.items()
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		page := max(m.height-callersTop-1, 1)
		switch {
		case key.Matches(msg, km.Up):
			m.pos--
		case key.Matches(msg, km.Down):
			m.pos++
		case key.Matches(msg, km.PageUp):
			m.pos -= page
		case key.Matches(msg, km.PageDown):
			m.pos += page
		case key.Matches(msg, km.Home):
			m.pos = 0
		case key.Matches(msg, km.End):
			m.pos = n - 1
		case key.Matches(msg, km.Follow):
			if m.pos < n {
				r := m.item(m.pos)
				return m.push(funcRef{r.Name, r.Module}), emit(requeryMsg{})
			}
			return m, nil
		case key.Matches(msg, km.Back):
			if len(m.stack) <= 1 {
				return m.reset(nil), emit(closeMsg{})
			}
			return m.reset(m.stack[:len(m.stack)-1]), emit(requeryMsg{})
		default:
			return m, nil
		}
	case bodyClickMsg:
		i := m.itemAt(m.off + msg.y)
		if i < 0 {
			return m, nil
		}
		m.pos = i
	case bodyWheelMsg:
		m.pos += msg.delta
	default:
		return m, nil
	}
	m.pos = max(min(m.pos, n-1), 0)
	m.off = m.scroll()
	return m, nil
}

// View renders the visible lines of the panel.
func (m callersModel) View() string {
	st := m.common.Styles
	fn, _ := m.focus()
	var lines []string

	t := newLine(m.width)
	t.add("Callers & callees of ", &st.Label)
	t.add(fn.name, &st.Title)
	if fn.module != "" {
		t.add("  ("+fn.module+")", &st.Muted)
	}
	lines = append(lines, t.String())
	s := newLine(m.width)
	if m.fnKnown {
		s.add("self "+formatPercent(m.fn.Self, m.samples)+" ("+strconv.FormatInt(m.fn.Self, 10)+")", nil)
		s.add(" · total "+formatPercent(m.fn.Total, m.samples)+" ("+strconv.FormatInt(m.fn.Total, 10)+")", nil)
		if loc := location(m.fn.File, m.fn.Line, m.fn.Module); loc != "" {
			s.add(" · "+loc, &st.Muted)
		}
		if len(m.stack) > 1 {
			s.add(" · esc: back to "+m.stack[len(m.stack)-2].name, &st.Muted)
		}
	} else if m.loaded {
		s.add("not sampled in this window", &st.Muted)
	}
	lines = append(lines, s.String())

	lines = append(lines, m.section("Callers", "CALLERS", m.callers, 0)...)
	lines = append(lines, "")
	lines = append(lines, m.section("Callees", "CALLEES", m.callees, len(m.callers))...)
	if m.off < len(lines) {
		lines = lines[m.off:]
	} else {
		lines = nil
	}
	return strings.Join(padLines(lines, m.height), "\n")
}

// section renders a heading, column titles and rows (or a placeholder).
func (m callersModel) section(heading, colTitle string, rows []aggregate.FunctionRow, first int) []string {
	st := m.common.Styles
	lines := []string{st.Title.Render(heading + " (" + strconv.Itoa(len(rows)) + ")")}
	cw := max(7, digits(m.samples))
	locW := min(max((m.width-cw-10)*2/5, 12), 50)
	nameW := max(m.width-7-cw-locW-6, 8)

	h := newLine(m.width)
	h.cell("SHARE%", 7, true, &st.Sorted)
	h.pad(h.w+2, nil)
	h.cell("SAMPLES", cw, true, &st.Heading)
	h.pad(h.w+2, nil)
	h.cell(colTitle, nameW, false, &st.Heading)
	h.pad(h.w+2, nil)
	h.cell("LOCATION", locW, false, &st.Heading)
	lines = append(lines, h.String())
	if len(rows) == 0 {
		msg := "none"
		if !m.loaded {
			msg = "loading…"
		}
		return append(lines, st.Muted.Render(msg))
	}
	base := m.fn.Total
	if !m.fnKnown {
		base = m.samples
	}
	for i := range rows {
		r := &rows[i]
		selected := first+i == m.pos
		var style *lipgloss.Style
		if selected {
			style = &st.Selected
		}
		b := newLine(m.width)
		b.cell(formatPercent(r.Total, base), 7, true, style)
		b.pad(b.w+2, style)
		b.cell(strconv.FormatInt(r.Total, 10), cw, true, style)
		b.pad(b.w+2, style)
		b.cell(r.Name, nameW, false, style)
		b.pad(b.w+2, style)
		loc := style
		if !selected {
			loc = &st.Muted
		}
		b.cell(truncateLeft(cleanText(location(r.File, r.Line, r.Module)), locW), locW, false, loc)
		if selected {
			b.pad(m.width, style)
		}
		lines = append(lines, b.String())
	}
	return lines
}

// status is the panel's footer line.
func (m callersModel) status() string {
	st := m.common.Styles
	b := newLine(m.width)
	b.add("share: of the function's total samples · depth "+strconv.Itoa(len(m.stack)), &st.Label)
	return b.String()
}
