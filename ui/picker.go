package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// picker is a list of rows R identified by keys K where the user marks
// one or more rows to filter by: the process and the container pickers.
// Both are a picker with their own pickerSpec.
type picker[R any, K cmp.Ordered] struct {
	common        Common
	spec          *pickerSpec[R, K]
	width, height int
	loaded        bool
	rows          []R // sorted by samples
	total         int64
	marked        []K // sorted
	nav           listNav
}

// pickerSpec is what differs between pickers.
type pickerSpec[R any, K cmp.Ordered] struct {
	title   string // the line above the columns
	key     func(*R) K
	samples func(*R) int64
	columns []pickerColumn[R]
	// pick makes the message that applies the chosen keys.
	pick func([]K) tea.Msg
}

// pickerColumn is one column of a picker after the mark and share columns.
type pickerColumn[R any] struct {
	title string
	width int // 0: the rest of the line; countWidth: wide enough for the total
	right bool
	muted bool
	text  func(*R) string
}

// countWidth sizes a column to hold sample counts.
const countWidth = -1

// pickerLines are the lines above the rows: the title and column titles.
const pickerLines = 2

func (p picker[R, K]) pageHeight() int { return max(p.height-pickerLines, 1) }

// SetSize sets the picker's size.
func (p *picker[R, K]) SetSize(w, h int) {
	p.width, p.height = w, h
	p.nav = p.nav.clamp(len(p.rows), p.pageHeight())
}

// open shows the picker with nothing marked and the cursor on the first
// row: enter picks the row under the cursor, space marks several.
func (p picker[R, K]) open() picker[R, K] {
	p.marked = nil
	p.nav = listNav{}
	p.loaded = false
	return p
}

// setRows shows a new answer, sorted by samples (then key), keeping the
// cursor on the row it was on.
func (p picker[R, K]) setRows(rows []R) picker[R, K] {
	var cur K
	had := p.nav.pos < len(p.rows)
	if had {
		cur = p.spec.key(&p.rows[p.nav.pos])
	}
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b R) int {
		return cmp.Or(cmp.Compare(p.spec.samples(&b), p.spec.samples(&a)), cmp.Compare(p.spec.key(&a), p.spec.key(&b)))
	})
	p.rows, p.total, p.loaded = rows, 0, true
	for i := range rows {
		p.total += p.spec.samples(&rows[i])
		if had && p.spec.key(&rows[i]) == cur {
			p.nav.pos = i
		}
	}
	p.nav = p.nav.clamp(len(p.rows), p.pageHeight())
	return p
}

func (p picker[R, K]) isMarked(k K) bool {
	_, ok := slices.BinarySearch(p.marked, k)
	return ok
}

// toggle marks or unmarks the key k.
func (p picker[R, K]) toggle(k K) picker[R, K] {
	i, ok := slices.BinarySearch(p.marked, k)
	if ok {
		p.marked = slices.Delete(slices.Clone(p.marked), i, i+1)
	} else {
		p.marked = slices.Insert(slices.Clone(p.marked), i, k)
	}
	return p
}

// chosen is what enter applies: the marked keys, or else the row under
// the cursor.
func (p picker[R, K]) chosen() []K {
	if len(p.marked) > 0 {
		return slices.Clone(p.marked)
	}
	if p.nav.pos < len(p.rows) {
		return []K{p.spec.key(&p.rows[p.nav.pos])}
	}
	return nil
}

// Update handles the picker's keys and mouse.
func (p picker[R, K]) Update(msg tea.Msg) (picker[R, K], tea.Cmd) {
	km := p.common.Keys
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if nav, ok := p.nav.key(km, msg, len(p.rows), p.pageHeight()); ok {
			p.nav = nav
			return p, nil
		}
		switch {
		case key.Matches(msg, km.Mark):
			if p.nav.pos < len(p.rows) {
				p = p.toggle(p.spec.key(&p.rows[p.nav.pos]))
				p.nav = p.nav.move(1, len(p.rows), p.pageHeight())
			}
		case key.Matches(msg, km.Apply):
			if ks := p.chosen(); len(ks) > 0 {
				return p, emit(p.spec.pick(ks))
			}
		case key.Matches(msg, km.Back):
			return p, emit(closeMsg{})
		}
	case bodyClickMsg:
		nav, ok := p.nav.click(msg.y-pickerLines, len(p.rows), p.pageHeight())
		if ok {
			p.nav = nav
			if msg.x < 3 { // the [x] box
				p = p.toggle(p.spec.key(&p.rows[p.nav.pos]))
			}
		}
	case bodyWheelMsg:
		p.nav = p.nav.move(msg.delta, len(p.rows), p.pageHeight())
	}
	return p, nil
}

// widths returns the width of each spec column for the current size.
func (p picker[R, K]) widths() []int {
	ws := make([]int, len(p.spec.columns))
	used := 3 + 1 + 7 // [x] share%
	flex := -1
	for i, c := range p.spec.columns {
		switch c.width {
		case 0:
			flex = i
		case countWidth:
			ws[i] = max(7, digits(p.total))
		default:
			ws[i] = c.width
		}
		used += ws[i] + 2
	}
	if flex >= 0 {
		ws[flex] = max(p.width-used, 1)
	}
	return ws
}

// View renders the title, the column titles and the visible rows.
func (p picker[R, K]) View() string {
	st := p.common.Styles
	lines := make([]string, 0, p.height)
	title := newLine(p.width)
	title.add(p.spec.title, &st.Title)
	if n := len(p.marked); n > 0 {
		title.add(" · "+strconv.Itoa(n)+" marked", &st.Marked)
	}
	lines = append(lines, title.String())

	ws := p.widths()
	h := newLine(p.width)
	h.cell("", 3, false, nil)
	h.pad(h.w+1, nil)
	h.cell("SHARE%", 7, true, &st.Sorted)
	for i, c := range p.spec.columns {
		h.pad(h.w+2, nil)
		h.cell(c.title, ws[i], c.right, &st.Heading)
	}
	lines = append(lines, h.String())

	switch {
	case !p.loaded && len(p.rows) == 0:
		lines = append(lines, st.Muted.Render("loading…"))
	case len(p.rows) == 0:
		lines = append(lines, st.Muted.Render("nothing sampled in this window"))
	}
	end := min(p.nav.off+p.pageHeight(), len(p.rows))
	for i := p.nav.off; i < end; i++ {
		lines = append(lines, p.row(ws, i))
	}
	return strings.Join(padLines(lines, p.height), "\n")
}

func (p picker[R, K]) row(ws []int, i int) string {
	st := p.common.Styles
	r := &p.rows[i]
	selected := i == p.nav.pos
	var base *lipgloss.Style
	if selected {
		base = &st.Selected
	}
	b := newLine(p.width)
	box := "[ ]"
	boxStyle := base
	if p.isMarked(p.spec.key(r)) {
		box = "[x]"
		if !selected {
			boxStyle = &st.Marked
		}
	}
	b.add(box, boxStyle)
	b.pad(b.w+1, base)
	b.cell(formatPercent(p.spec.samples(r), p.total), 7, true, base)
	for j, c := range p.spec.columns {
		b.pad(b.w+2, base)
		style := base
		if c.muted && !selected {
			style = &st.Muted
		}
		b.cell(c.text(r), ws[j], c.right, style)
	}
	if selected {
		b.pad(p.width, base)
	}
	return b.String()
}

// status is the picker's footer line.
func (p picker[R, K]) status() string {
	st := p.common.Styles
	b := newLine(p.width)
	b.add(strconv.Itoa(len(p.rows))+" rows · "+strconv.FormatInt(p.total, 10)+" samples", &st.Label)
	switch n := len(p.marked); n {
	case 0:
		b.add(" · enter filters by the selected row, space marks several", &st.Muted)
	default:
		b.add(" · enter filters by the "+strconv.Itoa(n)+" marked", &st.Muted)
	}
	return b.String()
}
