package ui

import (
	"image/color"
	"strings"

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
	// Flame colours the flamegraph's frames: a palette per frame kind
	// (kind 0 is the graph's root "all"), from which a hash of the
	// frame's name picks its colour, so a function keeps its colour
	// across refreshes. FlameOther is the palette of the kinds not in
	// Flame, FlameText the text on frames, FlameRest the background of
	// "…" rests. Search matches take Match as background. Without
	// palettes (NO_COLOR) frames are text on lines.
	Flame      map[aggregate.FrameKind][]color.Color
	FlameOther []color.Color
	FlameText  color.Color
	FlameRest  color.Color
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
			aggregate.KindPython: lipgloss.Blue,
		},
		// 256-colour palettes, light enough for black text.
		Flame: map[aggregate.FrameKind][]color.Color{
			0:                    ansiColors(244, 246, 248, 250),
			aggregate.KindNative: ansiColors(166, 167, 172, 173, 179, 202, 203, 208, 209, 214, 215, 221),
			aggregate.KindKernel: ansiColors(37, 38, 44, 73, 74, 80, 110, 116),
			aggregate.KindError:  ansiColors(196),
			// Blues, so Python frames stand out from the native ones below.
			aggregate.KindPython: ansiColors(69, 75, 81, 111, 117, 147, 153),
		},
		FlameOther: ansiColors(70, 71, 76, 77, 106, 107, 112, 113, 148, 149),
		FlameText:  lipgloss.Black,
		FlameRest:  lipgloss.BrightBlack,
	}
}

func ansiColors(codes ...int) []color.Color {
	out := make([]color.Color, len(codes))
	for i, c := range codes {
		out[i] = lipgloss.ANSIColor(c)
	}
	return out
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
	// Flame paints the flamegraph's frames.
	Flame flameStyles
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
	s.Flame = newFlameStyles(t)
	return s
}

// kind returns the style of a frame kind's cell.
func (s *Styles) kind(k aggregate.FrameKind) lipgloss.Style {
	return s.Kinds[k] // the zero Style renders text as is
}

// sgr is the escape sequences that turn a style on and off around text.
type sgr struct{ on, off string }

func sgrOf(st lipgloss.Style) sgr {
	r := st.Render("x")
	i := strings.IndexByte(r, 'x')
	return sgr{r[:i], r[i+1:]}
}

// flamePaint is how a frame is drawn, as it is and when selected.
type flamePaint struct{ normal, selected sgr }

// flameStyles are the flamegraph's paints. Frames are drawn by the
// thousand, so their styles are turned into escape sequences once.
type flameStyles struct {
	kinds map[aggregate.FrameKind][]flamePaint
	other []flamePaint // the kinds without a palette
	match flamePaint
	rest  flamePaint
	// fill fills a frame after its label: spaces on coloured frames, a
	// line without colour so that frames show their width.
	fill string
}

func newFlameStyles(t Theme) flameStyles {
	plain := lipgloss.NewStyle()
	paint := func(st lipgloss.Style) flamePaint {
		return flamePaint{sgrOf(st), sgrOf(st.Reverse(true))}
	}
	on := func(bg color.Color) lipgloss.Style {
		st := plain.Background(bg)
		if t.FlameText != nil {
			st = st.Foreground(t.FlameText)
		}
		return st
	}
	palette := func(cs []color.Color) []flamePaint {
		out := make([]flamePaint, len(cs))
		for i, c := range cs {
			out[i] = paint(on(c))
		}
		return out
	}
	fs := flameStyles{kinds: make(map[aggregate.FrameKind][]flamePaint, len(t.Flame)), fill: " "}
	for k, cs := range t.Flame {
		if len(cs) > 0 {
			fs.kinds[k] = palette(cs)
		}
	}
	fs.other = palette(t.FlameOther)
	if len(fs.other) == 0 {
		fs.other = []flamePaint{paint(plain)}
	}
	if t.Match != nil {
		fs.match = paint(on(t.Match))
	} else {
		fs.match = paint(plain.Bold(true).Underline(true))
	}
	if t.FlameRest != nil {
		fs.rest = paint(on(t.FlameRest))
	} else {
		fs.rest = paint(plain)
	}
	if len(fs.kinds) == 0 && len(t.FlameOther) == 0 {
		fs.fill = "─"
	}
	return fs
}

// frame returns the paint of a frame of kind k named name: a colour of
// its kind's palette picked by a hash (FNV-1a) of the name.
func (fs *flameStyles) frame(k aggregate.FrameKind, name string) *flamePaint {
	p, ok := fs.kinds[k]
	if !ok {
		p = fs.other
	}
	if len(p) == 1 {
		return &p[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return &p[h%uint32(len(p))]
}
