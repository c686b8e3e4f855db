package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/pftop/pftop/aggregate"
)

// column is a column of the top table, in display order.
type column int

const (
	colSelfPct column = iota
	colTotalPct
	colSelf
	colTotal
	colFunction
	colLocation
	colKind
	numColumns
)

func (c column) title() string {
	switch c {
	case colSelfPct:
		return "SELF%"
	case colTotalPct:
		return "TOTAL%"
	case colSelf:
		return "SELF"
	case colTotal:
		return "TOTAL"
	case colFunction:
		return "FUNCTION"
	case colLocation:
		return "LOCATION"
	case colKind:
		return "KIND"
	}
	return ""
}

// numeric columns sort largest first and are right-aligned.
func (c column) numeric() bool { return c <= colTotal }

// gap is the number of blank cells before the column (when it is not the
// first one shown).
func (c column) gap() int {
	if c == colFunction || c == colLocation {
		return 2
	}
	return 1
}

// sortOrder is the table's sort: a column and whether it is reversed from
// the column's natural order (numbers descending, text ascending).
type sortOrder struct {
	col     column
	reverse bool
}

func (s sortOrder) descending() bool { return s.col.numeric() != s.reverse }

// arrow marks the sorted column's title.
func (s sortOrder) arrow() string {
	if s.descending() {
		return "▼"
	}
	return "▲"
}

// compareRows orders rows by s; ties fall back to Self and Total
// (descending), then name and module, whatever the direction, so the order
// is deterministic.
func compareRows(a, b *aggregate.FunctionRow, s sortOrder) int {
	var c int
	switch s.col {
	case colSelfPct, colSelf:
		c = cmp.Compare(a.Self, b.Self)
	case colTotalPct, colTotal:
		c = cmp.Compare(a.Total, b.Total)
	case colFunction:
		c = strings.Compare(a.Name, b.Name)
	case colLocation:
		c = cmp.Or(strings.Compare(cmp.Or(a.File, a.Module), cmp.Or(b.File, b.Module)), cmp.Compare(a.Line, b.Line))
	case colKind:
		c = strings.Compare(a.Kind.String(), b.Kind.String())
	}
	if s.descending() {
		c = -c
	}
	return cmp.Or(c,
		cmp.Compare(b.Self, a.Self),
		cmp.Compare(b.Total, a.Total),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.Module, b.Module),
		strings.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line))
}

// sortRows returns a sorted copy of rows; the answer's slice is never
// modified.
func sortRows(rows []aggregate.FunctionRow, s sortOrder) []aggregate.FunctionRow {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b aggregate.FunctionRow) int { return compareRows(&a, &b, s) })
	return out
}

// searchState is the table's search: the query being typed or kept, and
// the rows it matches.
type searchState struct {
	typing  bool
	query   string
	origin  int   // cursor row when typing started
	matches []int // indexes of matching rows, ascending
}

// edit applies a typed key to the query: backspace deletes the last
// rune, text is appended. It reports whether the key was one of those.
func (s *searchState) edit(msg tea.KeyPressMsg) bool {
	switch {
	case msg.Code == tea.KeyBackspace:
		if q := s.query; q != "" {
			_, size := utf8.DecodeLastRuneInString(q)
			s.query = q[:len(q)-size]
		}
	case msg.Text != "":
		s.query += msg.Text
	default:
		return false
	}
	return true
}

// topModel is the top-functions table.
type topModel struct {
	common        Common
	width, height int
	loaded        bool
	filtered      bool // filters are set (for the empty-table message)
	res           aggregate.TopResult
	rows          []aggregate.FunctionRow // res.Rows in sort order
	sort          sortOrder
	nav           listNav
	search        searchState
}

func newTopModel(c Common) topModel {
	return topModel{common: c, sort: sortOrder{col: colSelfPct}}
}

// SetSize sets the table's size, column titles included.
func (t *topModel) SetSize(w, h int) {
	t.width, t.height = w, h
	t.nav = t.nav.clamp(len(t.rows), t.pageHeight())
}

func (t topModel) pageHeight() int { return max(t.height-1, 1) }

// selected returns the row under the cursor.
func (t topModel) selected() (aggregate.FunctionRow, bool) {
	if t.nav.pos < 0 || t.nav.pos >= len(t.rows) {
		return aggregate.FunctionRow{}, false
	}
	return t.rows[t.nav.pos], true
}

// find returns the index of the function fn in the sorted rows, or -1.
func (t topModel) find(fn funcRef) int {
	for i := range t.rows {
		if t.rows[i].Name == fn.name && t.rows[i].Module == fn.module {
			return i
		}
	}
	return -1
}

// reorder replaces the sorted rows, keeping the cursor on the function it
// was on (and at the same height on screen) unless it was at the top.
func (t topModel) reorder(rows []aggregate.FunctionRow) topModel {
	sel, ok := t.selected()
	atTop := t.nav.pos == 0
	screenRow := t.nav.pos - t.nav.off
	t.rows = rows
	if ok && !atTop {
		if i := t.find(funcRef{sel.Name, sel.Module}); i >= 0 {
			t.nav = listNav{pos: i, off: i - screenRow}
		}
	}
	t.nav = t.nav.clamp(len(t.rows), t.pageHeight())
	t.search.matches = findMatches(t.rows, t.search.query)
	return t
}

// setResult shows a new answer.
func (t topModel) setResult(res aggregate.TopResult) topModel {
	t.res = res
	t.loaded = true
	return t.reorder(sortRows(res.Rows, t.sort))
}

func (t topModel) setSort(s sortOrder) topModel {
	t.sort = s
	return t.reorder(sortRows(t.res.Rows, s))
}

// sortBy sorts by c, or reverses the sort when it already is by c.
func (t topModel) sortBy(c column) topModel {
	if c == t.sort.col {
		return t.setSort(sortOrder{col: c, reverse: !t.sort.reverse})
	}
	return t.setSort(sortOrder{col: c})
}

// Update handles keys and mouse events for the table.
func (t topModel) Update(msg tea.Msg) (topModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if t.search.typing {
			return t.typingKey(msg), nil
		}
		return t.key(msg)
	case bodyClickMsg:
		if msg.y == 0 {
			if c, ok := t.layout().columnAt(msg.x); ok {
				return t.sortBy(c), nil
			}
			return t, nil
		}
		t.nav, _ = t.nav.click(msg.y-1, len(t.rows), t.pageHeight())
	case bodyWheelMsg:
		t.nav = t.nav.move(msg.delta, len(t.rows), t.pageHeight())
	}
	return t, nil
}

func (t topModel) key(msg tea.KeyPressMsg) (topModel, tea.Cmd) {
	km := t.common.Keys
	if nav, ok := t.nav.key(km, msg, len(t.rows), t.pageHeight()); ok {
		t.nav = nav
		return t, nil
	}
	switch {
	case key.Matches(msg, km.Open):
		if r, ok := t.selected(); ok {
			return t, emit(openCallersMsg{funcRef{r.Name, r.Module}})
		}
	case key.Matches(msg, km.Sandwich):
		if r, ok := t.selected(); ok {
			return t, emit(openSandwichMsg{funcRef{r.Name, r.Module}})
		}
	case key.Matches(msg, km.Search):
		t.search = searchState{typing: true, origin: t.nav.pos}
	case key.Matches(msg, km.NextMatch):
		t = t.jump(t.nav.pos+1, 1)
	case key.Matches(msg, km.PrevMatch):
		t = t.jump(t.nav.pos-1, -1)
	case key.Matches(msg, km.SortNext):
		return t.setSort(sortOrder{col: (t.sort.col + 1) % numColumns}), nil
	case key.Matches(msg, km.SortPrev):
		return t.setSort(sortOrder{col: (t.sort.col + numColumns - 1) % numColumns}), nil
	case key.Matches(msg, km.SortBy):
		return t.sortBy(column(msg.String()[0] - '1')), nil
	case key.Matches(msg, km.SortReverse):
		return t.setSort(sortOrder{col: t.sort.col, reverse: !t.sort.reverse}), nil
	case key.Matches(msg, km.ClearFilters):
		if t.search.query != "" {
			t.search = searchState{}
			return t, nil
		}
		return t, emit(clearFiltersMsg{})
	}
	return t, nil
}

// typingKey edits the search query; the cursor follows the first match
// at or after where the search started.
func (t topModel) typingKey(msg tea.KeyPressMsg) topModel {
	km := t.common.Keys
	switch {
	case key.Matches(msg, km.Accept):
		t.search.typing = false
		if t.search.query == "" {
			t.search = searchState{}
		}
		return t
	case key.Matches(msg, km.Back):
		t.nav.pos = t.search.origin
		t.nav = t.nav.clamp(len(t.rows), t.pageHeight())
		t.search = searchState{}
		return t
	case msg.Code == tea.KeyUp || msg.Code == tea.KeyDown:
		d := 1
		if msg.Code == tea.KeyUp {
			d = -1
		}
		t.nav = t.nav.move(d, len(t.rows), t.pageHeight())
		return t
	case !t.search.edit(msg):
		return t
	}
	t.search.matches = findMatches(t.rows, t.search.query)
	return t.jump(t.search.origin, 1)
}

// jump moves the cursor to the first match at or after row from (dir 1)
// or at or before it (dir -1), wrapping around.
func (t topModel) jump(from, dir int) topModel {
	m := t.search.matches
	if len(m) == 0 {
		return t
	}
	i, found := slices.BinarySearch(m, from)
	switch {
	case dir > 0 && i == len(m):
		i = 0
	case dir < 0 && !found:
		i--
		if i < 0 {
			i = len(m) - 1
		}
	}
	t.nav.pos = m[i]
	t.nav = t.nav.clamp(len(t.rows), t.pageHeight())
	return t
}

// findMatches returns the indexes of rows whose name contains q, ignoring
// ASCII case.
func findMatches(rows []aggregate.FunctionRow, q string) []int {
	if q == "" {
		return nil
	}
	var out []int
	for i := range rows {
		if indexFold(rows[i].Name, q) >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// indexFold is strings.Index ignoring ASCII case. Other bytes compare
// exactly, so offsets in s stay byte offsets of s.
func indexFold(s, sub string) int {
	n := len(sub)
	if n == 0 {
		return 0
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	first := lower(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

// topLayout is the width of each column (0: hidden) for a screen width.
type topLayout [numColumns]int

func (t topModel) layout() topLayout {
	var l topLayout
	cw := max(6, digits(t.res.Samples))
	l[colSelfPct], l[colTotalPct], l[colSelf], l[colTotal], l[colKind] = 7, 7, cw, cw, 7
	fixed := func() int {
		n := 0
		for c := range numColumns {
			if c != colFunction && c != colLocation && l[c] > 0 {
				n += l[c] + c.gap()
			}
		}
		return n + colFunction.gap() - 1 // the first column has no gap
	}
	flex := t.width - fixed()
	if flex >= 40 {
		l[colLocation] = min(max(flex*2/5, 12), 60)
		l[colFunction] = flex - l[colLocation] - colLocation.gap()
		return l
	}
	if flex < 16 {
		l[colSelf], l[colTotal] = 0, 0
	}
	if flex = t.width - fixed(); flex < 12 {
		l[colKind] = 0
	}
	l[colFunction] = max(t.width-fixed(), 1)
	return l
}

// columnAt returns the column under screen column x.
func (l topLayout) columnAt(x int) (column, bool) {
	pos := 0
	first := true
	for c := range numColumns {
		if l[c] == 0 {
			continue
		}
		if !first {
			pos += c.gap()
		}
		first = false
		if x >= pos-1 && x < pos+l[c] {
			return c, true
		}
		pos += l[c]
	}
	return 0, false
}

// View renders the column titles and the visible rows, exactly height
// lines.
func (t topModel) View() string {
	lines := make([]string, 0, t.height)
	l := t.layout()
	lines = append(lines, t.titles(l))
	switch {
	case !t.loaded:
		lines = append(lines, t.common.Styles.Muted.Render("waiting for the first samples…"))
	case len(t.rows) == 0:
		msg := "no samples in this window"
		if t.filtered {
			msg += " for these filters (esc clears them)"
		}
		lines = append(lines, t.common.Styles.Muted.Render(truncate(msg, t.width)))
	default:
		end := min(t.nav.off+t.pageHeight(), len(t.rows))
		for i := t.nav.off; i < end; i++ {
			lines = append(lines, t.row(l, i))
		}
	}
	return strings.Join(padLines(lines, t.height), "\n")
}

func (t topModel) titles(l topLayout) string {
	st := t.common.Styles
	b := newLine(t.width)
	first := true
	for c := range numColumns {
		if l[c] == 0 {
			continue
		}
		if !first {
			b.pad(b.w+c.gap(), nil)
		}
		first = false
		title, style := c.title(), &st.Heading
		if c == t.sort.col {
			title += t.sort.arrow()
			style = &st.Sorted
		}
		if c == colKind {
			b.add(title, style)
		} else {
			b.cell(title, l[c], c.numeric(), style)
		}
	}
	return b.String()
}

// row renders row i.
func (t topModel) row(l topLayout, i int) string {
	st := t.common.Styles
	r := &t.rows[i]
	selected := i == t.nav.pos
	var base *lipgloss.Style
	if selected {
		base = &st.Selected
	}
	b := newLine(t.width)
	first := true
	for c := range numColumns {
		w := l[c]
		if w == 0 {
			continue
		}
		if !first {
			b.pad(b.w+c.gap(), base)
		}
		first = false
		switch c {
		case colSelfPct:
			style := base
			if !selected {
				style = t.heat(r.Self)
			}
			b.cell(formatPercent(r.Self, t.res.Samples), w, true, style)
		case colTotalPct:
			b.cell(formatPercent(r.Total, t.res.Samples), w, true, base)
		case colSelf:
			b.cell(strconv.FormatInt(r.Self, 10), w, true, base)
		case colTotal:
			b.cell(strconv.FormatInt(r.Total, 10), w, true, base)
		case colFunction:
			t.nameCell(&b, r.Name, w, selected)
		case colLocation:
			style := base
			if !selected {
				style = &st.Muted
			}
			b.cell(truncateLeft(cleanText(location(r.File, r.Line, r.Module)), w), w, false, style)
		case colKind: // the last column: padded only under the selection
			if selected {
				b.cell(r.Kind.String(), w, false, base)
			} else {
				s := st.kind(r.Kind)
				b.add(r.Kind.String(), &s)
			}
		}
	}
	if selected {
		b.pad(t.width, base)
	}
	return b.String()
}

// heat styles a self% cell by its share of the samples.
func (t topModel) heat(self int64) *lipgloss.Style {
	st := t.common.Styles
	switch s := t.res.Samples; {
	case s > 0 && self*5 >= s:
		return &st.Hot
	case s > 0 && self*20 >= s:
		return &st.Warm
	}
	return nil
}

// nameCell writes a function name, its search match highlighted.
func (t topModel) nameCell(b *lineBuilder, name string, w int, selected bool) {
	st := t.common.Styles
	var base, match *lipgloss.Style
	match = &st.Match
	if selected {
		base, match = &st.Selected, &st.SelectedMatch
	}
	name = truncate(cleanText(name), w)
	start := b.w
	if q := t.search.query; q != "" {
		if i := indexFold(name, q); i >= 0 {
			b.add(name[:i], base)
			b.add(name[i:i+len(q)], match)
			name = name[i+len(q):]
		}
	}
	b.add(name, base)
	b.pad(start+w, base)
}

// status is the footer line of the table: the search, or the sort and
// position.
func (t topModel) status() string {
	st := t.common.Styles
	b := newLine(t.width)
	s := t.search
	switch {
	case s.typing:
		b.add("/", &st.Prompt)
		b.add(s.query, nil)
		b.add("█", &st.Muted)
		b.add("  "+t.matchCount(), &st.Muted)
	case s.query != "":
		b.add("search ", &st.Label)
		b.add(s.query, &st.Match)
		b.add("  "+t.matchCount()+"  (n/N: next/previous, esc: clear)", &st.Muted)
	default:
		b.add(strconv.Itoa(len(t.rows))+" functions", &st.Label)
		b.add(" · sorted by "+strings.ToLower(t.sort.col.title())+" "+t.sort.arrow(), &st.Label)
		if len(t.rows) > 0 {
			b.add(" · row "+strconv.Itoa(t.nav.pos+1)+"/"+strconv.Itoa(len(t.rows)), &st.Label)
		}
	}
	return b.String()
}

// matchCount says which match the cursor is on: "3/17 matches".
func (t topModel) matchCount() string {
	m := t.search.matches
	if len(m) == 0 {
		return "no match"
	}
	i, found := slices.BinarySearch(m, t.nav.pos)
	if !found {
		return strconv.Itoa(len(m)) + " matches"
	}
	return strconv.Itoa(i+1) + "/" + strconv.Itoa(len(m)) + " matches"
}
