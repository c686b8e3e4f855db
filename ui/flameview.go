package ui

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// View renders the title and the graph, exactly height lines.
func (f flameModel) View() string {
	st := f.common.Styles
	h := f.graphHeight()
	lines := make([]string, 0, h+1)
	lines = append(lines, f.title())
	switch {
	case !f.current():
		lines = append(lines, st.Muted.Render("waiting for the first samples…"))
	case f.empty():
		msg := "no samples in this window"
		if f.graph() == graphSandwich {
			msg = f.fn().name + " was not sampled in this window"
		}
		lines = append(lines, st.Muted.Render(truncate(cleanText(msg), f.width)))
	default:
		buf := make([]byte, 0, f.width*4)
		for y := range h {
			r := f.lineRow(y)
			if r < 0 {
				lines = append(lines, "")
				continue
			}
			buf = f.appendRow(buf[:0], r)
			lines = append(lines, string(buf))
		}
	}
	return strings.Join(padLines(lines, f.height), "\n")
}

// empty reports whether the answer has nothing to draw.
func (f flameModel) empty() bool {
	if f.graph() == graphSandwich {
		return f.data.callees == nil || f.data.callees.Total == 0
	}
	return f.data.tree == nil || f.data.tree.Total == 0
}

// title says what the graph shows.
func (f flameModel) title() string {
	st := f.common.Styles
	b := newLine(f.width)
	top, bottom := "root at the top", "root at the bottom"
	switch f.graph() {
	case graphSandwich:
		b.add("Sandwich ", &st.Title)
		b.add(f.fn().name, &st.Value)
		top, bottom = "callers above, callees below", "callees above, callers below"
	case graphInverted:
		b.add("Inverted flame graph", &st.Title)
		b.add(" · leaf functions first, callers below", &st.Muted)
		top, bottom = "leaves at the top", "leaves at the bottom"
	default:
		b.add("Flame graph", &st.Title)
	}
	if f.flipped {
		top = bottom
	}
	b.add(" · "+top, &st.Muted)
	if n := len(f.state().zoom); n > 0 && f.graph() != graphSandwich {
		b.add(" · zoomed "+strconv.Itoa(n)+" (backspace: out)", &st.Muted)
	}
	if f.graph() == graphSandwich {
		b.add(" · esc: back", &st.Muted)
	}
	return b.String()
}

// appendRow appends the frames of logical row r to buf.
func (f flameModel) appendRow(buf []byte, r int) []byte {
	fs := &f.common.Styles.Flame
	s := f.lay.rows[r]
	x := int32(0)
	for i := s.lo; i < s.hi; i++ {
		fr := &f.lay.frames[i]
		buf = appendSpaces(buf, int(fr.x-x))
		x = fr.x + fr.w
		var p *flamePaint
		switch {
		case fr.is(frameMatch):
			p = &fs.match
		case fr.node == nil:
			p = &fs.rest
		default:
			p = fs.frame(fr.node.Kind, fr.node.Name)
		}
		paint := p.normal
		if i == f.cur {
			paint = p.selected
		}
		// A frame is its label, filled to its width but for the last
		// cell, a gap that tells it from its neighbour.
		w := int(fr.w)
		if w > 1 {
			w--
		}
		label := f.label(fr, w)
		buf = append(buf, paint.on...)
		buf = append(buf, label...)
		for n := w - textWidth(label); n > 0; n-- {
			buf = append(buf, fs.fill...)
		}
		buf = append(buf, paint.off...)
		if fr.w > 1 {
			buf = append(buf, ' ')
		}
	}
	return buf
}

// label is the text of a frame in w cells: its name and its share of the
// samples when they fit, else the name cut. A collapsed frame starts with
// "+" and shows its samples too; a rest is "…".
func (f flameModel) label(fr *flameFrame, w int) string {
	if fr.node == nil {
		return truncate(ellipsis, w)
	}
	name := cleanText(fr.node.Name)
	if w == 1 {
		// One cell: the first letter, if it is one cell wide.
		if r, size := utf8.DecodeRuneInString(name); size > 0 && runeCells(r) == 1 {
			return name[:size]
		}
		return " "
	}
	pct := formatPercent(fr.total, f.data.samples)
	if fr.is(frameCollapsed) {
		name = "+" + name
		if full := name + " " + pct + " (" + strconv.FormatInt(fr.total, 10) + ")"; textWidth(full) <= w {
			return full
		}
	}
	if full := name + " " + pct; textWidth(full) <= w {
		return full
	}
	return truncate(name, w)
}

// status is the line under the graph: the search, or the selected frame.
func (f flameModel) status() string {
	st := f.common.Styles
	b := newLine(f.width)
	s := f.search
	share := func() string {
		base, of := f.data.samples, "of all samples"
		if f.graph() == graphSandwich && f.data.callees != nil {
			base, of = f.data.callees.Total, "of "+f.fn().name
		}
		return formatPercent(f.matched, base) + " " + of + " under matches"
	}
	switch {
	case s.typing:
		b.add("/", &st.Prompt)
		b.add(s.query, nil)
		b.add("█", &st.Muted)
		if s.query != "" {
			b.add("  "+share(), &st.Muted)
		}
		return b.String()
	case s.query != "":
		b.add("search ", &st.Label)
		b.add(s.query, &st.Match)
		b.add("  "+share()+"  (n/N: next/previous, esc: clear) · ", &st.Muted)
	}
	if f.cur < 0 || !f.current() {
		return b.String()
	}
	fr := &f.lay.frames[f.cur]
	n := fr.node
	b.add(n.Name, &st.Value)
	if n.Module != "" {
		b.add("  "+n.Module, &st.Muted)
	}
	b.add(" · total "+formatPercent(fr.total, f.data.samples)+" ("+strconv.FormatInt(fr.total, 10)+")", &st.Label)
	if f.graph() != graphInverted {
		b.add(" · self "+formatPercent(n.Self, f.data.samples)+" ("+strconv.FormatInt(n.Self, 10)+")", &st.Label)
	}
	if fr.is(frameCollapsed) {
		b.add(" · collapsed (+: expand)", &st.Muted)
	}
	return b.String()
}
