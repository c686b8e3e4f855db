package ui

import (
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
)

// segment is a piece of text and its style (nil: plain).
type segment struct {
	text  string
	style *lipgloss.Style
}

// addAll appends the segments only if all of them fit, so that a header
// field is shown whole or not at all; it reports whether they fit.
func (l *lineBuilder) addAll(segs ...segment) bool {
	w := 0
	for _, s := range segs {
		w += textWidth(cleanText(s.text))
	}
	if l.w+w > l.max {
		l.max = l.w // nothing after a field that did not fit
		return false
	}
	for _, s := range segs {
		l.add(s.text, s.style)
	}
	return true
}

// headerView renders the three header lines: the box, the window and
// filters, and the profiler's health.
func (m Model) headerView() string {
	return strings.Join([]string{m.headerBox(), m.headerWindow(), m.headerHealth()}, "\n")
}

// field adds "  label value" if it fits whole.
func (m Model) field(l *lineBuilder, label, value string, style *lipgloss.Style) {
	l.addAll(segment{"  " + label + " ", &m.common.Styles.Label}, segment{value, style})
}

// headerBox is pftop, the box, the views and live/paused on the right.
func (m Model) headerBox() string {
	st := m.common.Styles
	w := m.common.Width
	h := m.health
	field := m.field
	right := newLine(w)
	for i, v := range m.views {
		right.add(" ", nil)
		if i == m.active {
			right.add(v.title(), &st.TabOn)
		} else {
			right.add(v.title(), &st.Tab)
		}
	}
	right.add("  ", nil)
	if m.paused {
		right.add("PAUSED", &st.Paused)
	} else {
		right.add("LIVE", &st.Good)
	}
	l1 := newLine(max(w-right.w, 0))
	l1.add("pftop", &st.Title)
	field(&l1, "host", orUnknown(h.Host), &st.Value)
	field(&l1, "kernel", orUnknown(h.Kernel), &st.Value)
	field(&l1, "cpus", orUnknown(itoaPositive(int64(h.CPUs))), &st.Value)
	freq := "?"
	if h.Frequency > 0 {
		freq = strconv.Itoa(h.Frequency) + " Hz"
	}
	field(&l1, "freq", freq, &st.Value)
	field(&l1, "samples/s", strconv.FormatFloat(h.SamplesPerSec, 'f', 0, 64), &st.Value)
	l1.max = max(w-right.w, 0)
	l1.pad(l1.max, nil)
	return l1.String() + right.String()
}

// headerWindow is the window, what it holds, and the filters.
func (m Model) headerWindow() string {
	st := m.common.Styles
	l2 := newLine(m.common.Width)
	l2.add("window ", &st.Label)
	l2.add(formatWindow(m.window), &st.Value)
	if m.top.loaded {
		l2.addAll(segment{" (" + strconv.FormatInt(m.top.res.Samples, 10) + " samples over " + formatDuration(m.top.res.Window) + ")", &st.Muted})
	}
	if m.filter.Empty() {
		m.field(&l2, "filter", "none", &st.Muted)
	} else {
		l2.add("  filter ", &st.Label)
		l2.add(m.filter.String(), &st.Warn) // cut rather than hidden
	}
	return l2.String()
}

// headerHealth is what pftop could not see and what it costs.
func (m Model) headerHealth() string {
	st := m.common.Styles
	h := m.health
	field := m.field
	l3 := newLine(m.common.Width)
	l3.add("health", &st.Label)
	count := func(label string, n int64) {
		style := &st.Good
		if n > 0 {
			style = &st.Warn
		}
		field(&l3, label, strconv.FormatInt(n, 10), style)
	}
	count("drops", h.Drops)
	count("unwind errors", h.UnwindErrors)
	switch c := h.CompleteShare; {
	case c == 0 && h.SamplesPerSec == 0:
		field(&l3, "complete stacks", "?", &st.Muted)
	case c < 0.5:
		field(&l3, "complete stacks", formatShare(c), &st.Bad)
	case c < 0.9:
		field(&l3, "complete stacks", formatShare(c), &st.Warn)
	default:
		field(&l3, "complete stacks", formatShare(c), &st.Good)
	}
	own := &st.Value
	if h.OwnCPU > 0.02 {
		own = &st.Warn
	}
	field(&l3, "pftop cpu", formatShare(h.OwnCPU), own)
	if h.Exported > 0 || h.ExportDropped > 0 {
		field(&l3, "otlp sent", strconv.FormatInt(h.Exported, 10), &st.Value)
		count("dropped", h.ExportDropped)
	}
	return l3.String()
}

// formatShare prints a share (0 to 1) as a percentage with one decimal.
func formatShare(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func itoaPositive(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
