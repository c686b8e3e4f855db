package ui

import (
	"image/color"

	"charm.land/lipgloss/v2"

	"github.com/pftop/pftop/aggregate"
)

// Theme holds the colours of the UI. A nil colour means "the terminal's
// default"; the zero Theme is the colourless one used under NO_COLOR,
// where emphasis falls back to bold, underline and reverse video.
type Theme struct {
	Accent color.Color // titles, the sorted column
	Muted  color.Color // labels, secondary text
	Warn   color.Color // health worth a look, hot rows
	Bad    color.Color // health that makes numbers doubtful, very hot rows
	Good   color.Color // healthy values
	Match  color.Color // search matches
	// SelectedFg and SelectedBg colour the selected row; a nil SelectedBg
	// shows the selection in reverse video.
	SelectedFg, SelectedBg color.Color
	// Kinds colours the frame-kind column.
	Kinds map[aggregate.FrameKind]color.Color
}

// DefaultTheme uses the 16 ANSI colours, so it follows the terminal's
// palette on dark and light backgrounds alike.
func DefaultTheme() Theme {
	return Theme{
		Accent:     lipgloss.Cyan,
		Muted:      lipgloss.BrightBlack,
		Warn:       lipgloss.Yellow,
		Bad:        lipgloss.Red,
		Good:       lipgloss.Green,
		Match:      lipgloss.Magenta,
		SelectedFg: lipgloss.BrightWhite,
		SelectedBg: lipgloss.Blue,
		Kinds: map[aggregate.FrameKind]color.Color{
			aggregate.KindNative: lipgloss.Green,
			aggregate.KindKernel: lipgloss.Yellow,
			aggregate.KindError:  lipgloss.Red,
		},
	}
}

// NoColorTheme is the colourless theme (NO_COLOR).
func NoColorTheme() Theme { return Theme{} }

// themeFor picks the theme for Options.NoColor.
func themeFor(noColor bool) Theme {
	if noColor {
		return NoColorTheme()
	}
	return DefaultTheme()
}

// Styles are the lipgloss styles derived from a Theme.
type Styles struct {
	Title   lipgloss.Style // "pftop" in the header, panel titles
	Label   lipgloss.Style // header labels
	Value   lipgloss.Style // header values
	Good    lipgloss.Style
	Warn    lipgloss.Style
	Bad     lipgloss.Style
	Paused  lipgloss.Style
	Tab     lipgloss.Style // a view name
	TabOn   lipgloss.Style // the active view name
	Muted   lipgloss.Style
	Heading lipgloss.Style // table column titles
	Sorted  lipgloss.Style // the sorted column's title
	// Selected is the cursor row; SelectedMatch a search match inside it.
	Selected      lipgloss.Style
	SelectedMatch lipgloss.Style
	Match         lipgloss.Style
	Hot, Warm     lipgloss.Style // self% cells ≥ 20% and ≥ 5%
	Marked        lipgloss.Style // marked rows in pickers
	Prompt        lipgloss.Style // the search prompt
	Key           lipgloss.Style // key names in help and hints
	Kinds         map[aggregate.FrameKind]lipgloss.Style
}

// NewStyles derives the styles of t.
func NewStyles(t Theme) *Styles {
	plain := lipgloss.NewStyle()
	fg := func(s lipgloss.Style, c color.Color) lipgloss.Style {
		if c == nil {
			return s
		}
		return s.Foreground(c)
	}
	colour := t.Accent != nil
	s := &Styles{
		Title:   fg(plain.Bold(true), t.Accent),
		Label:   fg(plain, t.Muted),
		Value:   plain,
		Good:    fg(plain, t.Good),
		Warn:    fg(plain.Bold(!colour), t.Warn),
		Bad:     fg(plain.Bold(true), t.Bad),
		Paused:  fg(plain.Bold(true).Reverse(!colour), t.Warn),
		Tab:     fg(plain, t.Muted),
		TabOn:   fg(plain.Bold(true).Reverse(!colour), t.Accent),
		Muted:   fg(plain, t.Muted),
		Heading: plain.Bold(true),
		Sorted:  fg(plain.Bold(true), t.Accent),
		Match:   fg(plain.Bold(true).Underline(true), t.Match),
		Hot:     fg(plain, t.Bad),
		Warm:    fg(plain, t.Warn),
		Marked:  fg(plain.Bold(true), t.Accent),
		Prompt:  fg(plain.Bold(true), t.Accent),
		Kinds:   make(map[aggregate.FrameKind]lipgloss.Style, len(t.Kinds)),
	}
	if t.SelectedBg != nil {
		s.Selected = fg(plain.Background(t.SelectedBg), t.SelectedFg)
	} else {
		s.Selected = plain.Reverse(true)
	}
	s.SelectedMatch = s.Selected.Bold(true).Underline(true)
	if !colour {
		s.Hot, s.Warm = plain, plain
	}
	for k, c := range t.Kinds {
		s.Kinds[k] = fg(plain, c)
	}
	s.Key = fg(plain.Bold(!colour), t.Accent)
	return s
}

// kind returns the style of a frame kind's cell.
func (s *Styles) kind(k aggregate.FrameKind) lipgloss.Style {
	return s.Kinds[k] // the zero Style renders text as is
}
