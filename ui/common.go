package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// Common is the context every view shares: the screen size, the styles,
// the keys and the source of data. Views hold a copy; the root refreshes
// it through SetSize.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *KeyMap
	Source        Source
	// Mouse is set when mouse events are enabled (not --no-mouse).
	Mouse bool
}

// Screen layout: the header's lines above the body, the footer's below.
const (
	headerLines = 3
	footerLines = 2
)

// lineBuilder assembles one screen line from styled segments, never wider
// than max cells. Text is cleaned of control characters on the way in.
// Consecutive segments with the same style (the same *Style) are rendered
// together, which keeps escape sequences and render time down.
type lineBuilder struct {
	b       []byte
	w       int
	max     int
	pending []byte          // text not rendered yet
	style   *lipgloss.Style // its style, nil for plain
}

func newLine(max int) lineBuilder { return lineBuilder{b: make([]byte, 0, max+16), max: max} }

func (l *lineBuilder) flush() {
	if len(l.pending) == 0 {
		return
	}
	if l.style == nil {
		l.b = append(l.b, l.pending...)
	} else {
		l.b = append(l.b, l.style.Render(string(l.pending))...)
	}
	l.pending = l.pending[:0]
}

func (l *lineBuilder) write(s string, st *lipgloss.Style) {
	if st != l.style {
		l.flush()
		l.style = st
	}
	l.pending = append(l.pending, s...)
}

// add appends s rendered with st (plain when st is nil), cut to the space
// left.
func (l *lineBuilder) add(s string, st *lipgloss.Style) {
	s = cleanText(s)
	left := l.max - l.w
	if left <= 0 || s == "" {
		return
	}
	sw := textWidth(s)
	if sw > left {
		s = truncate(s, left)
		sw = textWidth(s)
	}
	l.write(s, st)
	l.w += sw
}

// pad appends spaces up to n cells in total, rendered with st when given.
func (l *lineBuilder) pad(n int, st *lipgloss.Style) {
	n = min(n, l.max) - l.w
	if n <= 0 {
		return
	}
	for n > 0 {
		k := min(n, len(spaces))
		l.write(spaces[:k], st)
		n -= k
		l.w += k
	}
}

// cell appends s cut or padded to exactly w cells.
func (l *lineBuilder) cell(s string, w int, right bool, st *lipgloss.Style) {
	if w <= 0 {
		return
	}
	l.add(fit(cleanText(s), w, right), st)
}

func (l *lineBuilder) String() string {
	l.flush()
	return string(l.b)
}

// listNav is a cursor over n rows of which height are visible from off.
type listNav struct{ pos, off int }

// clamp keeps the cursor inside the n rows and the window around it.
func (l listNav) clamp(n, height int) listNav {
	height = max(height, 1)
	l.pos = max(min(l.pos, n-1), 0)
	if l.pos < l.off {
		l.off = l.pos
	}
	if l.pos >= l.off+height {
		l.off = l.pos - height + 1
	}
	l.off = max(min(l.off, n-height), 0)
	return l
}

// move moves the cursor by d rows.
func (l listNav) move(d, n, height int) listNav {
	l.pos += d
	return l.clamp(n, height)
}

// key moves the cursor for the movement keys; ok is false for any other
// key.
func (l listNav) key(km *KeyMap, msg tea.KeyPressMsg, n, height int) (_ listNav, ok bool) {
	page := max(height-1, 1)
	switch {
	case key.Matches(msg, km.Up):
		return l.move(-1, n, height), true
	case key.Matches(msg, km.Down):
		return l.move(1, n, height), true
	case key.Matches(msg, km.PageUp):
		l.off -= page
		return l.move(-page, n, height), true
	case key.Matches(msg, km.PageDown):
		l.off += page
		return l.move(page, n, height), true
	case key.Matches(msg, km.Home):
		l.pos = 0
		return l.clamp(n, height), true
	case key.Matches(msg, km.End):
		l.pos = n - 1
		return l.clamp(n, height), true
	}
	return l, false
}

// click puts the cursor on the visible row y (0 is the first visible row);
// ok is false when no row is there.
func (l listNav) click(y, n, height int) (_ listNav, ok bool) {
	if y < 0 || y >= height || l.off+y >= n {
		return l, false
	}
	l.pos = l.off + y
	return l.clamp(n, height), true
}

// padLines appends empty lines to lines until it has n of them, and cuts
// it to n.
func padLines(lines []string, n int) []string {
	for len(lines) < n {
		lines = append(lines, "")
	}
	return lines[:n]
}
