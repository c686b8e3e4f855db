package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// state is what the body of the screen shows.
type state int

const (
	stateView       state = iota // the active view (views[active])
	stateCallers                 // the callers/callees panel
	stateProcs                   // the process picker
	stateContainers              // the container picker
	stateHelp                    // the key help
)

// viewID names a view that tab cycles through.
type viewID int

const (
	viewTop   viewID = iota // the top-functions table
	viewFlame               // the flamegraph
)

func (v viewID) title() string {
	switch v {
	case viewTop:
		return "Top"
	case viewFlame:
		return "Flame"
	}
	return "?"
}

// Model is the root of the live view: it owns the views, routes messages
// to them, and runs the refresh loop. It is a tea.Model; create it with
// New.
type Model struct {
	common Common
	opts   Options
	now    func() time.Time
	// tick makes the refresh timer's command; tests replace it to drive
	// the refresh by hand.
	tick func(time.Duration) tea.Cmd

	state state
	prev  state // where help returns to
	// views are the views tab cycles through; active indexes it.
	views  []viewID
	active int

	filter   Filter
	window   time.Duration
	paused   bool
	pausedAt time.Time // the frozen end of the window while paused

	// gen counts the changes of question (filters, window, panel); an
	// answer for an older generation is dropped and asked again.
	gen      uint64
	inflight bool // a query runs; ticks are dropped meanwhile
	health   Health

	// note replaces the status line until the next key (a snapshot's
	// path or error); snapshotting is set while the hook runs.
	note         string
	noteBad      bool
	snapshotting bool

	top        topModel
	flame      flameModel
	callers    callersModel
	procs      procsModel
	containers containersModel
	help       helpModel
}

// New returns the live view over src.
func New(src Source, opts Options) Model {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	opts.Filter = opts.Filter.clone()
	c := Common{
		Styles: NewStyles(themeFor(opts.NoColor)),
		Keys:   DefaultKeyMap(),
		Source: src,
		Mouse:  !opts.NoMouse,
	}
	m := Model{
		common: c,
		opts:   opts,
		now:    opts.Now,
		tick: func(d time.Duration) tea.Cmd {
			return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
		},
		views:      []viewID{viewTop, viewFlame},
		window:     opts.Window,
		top:        newTopModel(c),
		flame:      newFlameModel(c),
		callers:    newCallersModel(c),
		procs:      newProcsModel(c),
		containers: newContainersModel(c),
		help:       newHelpModel(c),
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.setFilter(opts.Filter)
	m.setSize(80, 24)
	return m
}

// Run runs the live view on the terminal until the user quits or ctx is
// done (which is not an error). popts are extra tea.ProgramOptions.
func Run(ctx context.Context, src Source, opts Options, popts ...tea.ProgramOption) error {
	p := tea.NewProgram(New(src, opts), append([]tea.ProgramOption{tea.WithContext(ctx)}, popts...)...)
	_, err := p.Run()
	if err != nil && ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run tui: %w", err)
	}
	return nil
}

// Init asks for the first answer and starts the refresh timer.
func (m Model) Init() tea.Cmd {
	return tea.Batch(emit(requeryMsg{}), m.tick(m.opts.Refresh))
}

// Update routes a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case tickMsg:
		cmds := []tea.Cmd{m.tick(m.opts.Refresh)}
		if !m.paused && !m.inflight {
			m.inflight = true
			cmds = append(cmds, m.fetch())
		}
		return m, tea.Batch(cmds...)
	case dataMsg:
		m.inflight = false
		if msg.gen != m.gen {
			m.inflight = true
			return m, m.fetch()
		}
		m.apply(msg)
		return m, nil
	case requeryMsg:
		return m, m.requery()
	case openCallersMsg:
		m.callers = m.callers.open(msg.fn)
		m.state = stateCallers
		return m, m.requery()
	case openSandwichMsg:
		m.flame = m.flame.openSandwich(msg.fn)
		m.active = slices.Index(m.views, viewFlame)
		m.state = stateView
		return m, m.requery()
	case snapshotMsg:
		return m.snapshotDone(msg), nil
	case closeMsg:
		m.state = stateView
		return m, m.requery()
	case clearFiltersMsg:
		if m.filter.Empty() {
			return m, nil
		}
		m.setFilter(Filter{})
		return m, m.requery()
	case pickProcsMsg:
		f := m.filter.clone()
		f.PIDs = msg.pids
		m.setFilter(f)
		m.state = stateView
		return m, m.requery()
	case pickContainersMsg:
		// Containers hold processes: choosing containers replaces a
		// process filter, which would otherwise likely select nothing.
		f := m.filter.clone()
		f.Containers, f.PIDs = msg.ids, nil
		m.setFilter(f)
		m.state = stateView
		return m, m.requery()
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		if m.opts.NoMouse {
			return m, nil
		}
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			return m.updateChild(bodyWheelMsg{-3})
		case tea.MouseWheelDown:
			return m.updateChild(bodyWheelMsg{3})
		}
	case tea.MouseClickMsg:
		mm := msg.Mouse()
		if m.opts.NoMouse || mm.Button != tea.MouseLeft {
			return m, nil
		}
		if y := mm.Y - headerLines; y >= 0 && y < m.bodyHeight() {
			return m.updateChild(bodyClickMsg{mm.X, y})
		}
	}
	return m, nil
}

// key handles the keys that work everywhere, then hands the rest to what
// is on screen.
func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	km := m.common.Keys
	// A quit key that is not text (ctrl+c) quits even while typing.
	if key.Matches(msg, km.Quit) && msg.Text == "" {
		return m, tea.Quit
	}
	if !m.snapshotting {
		m.note = ""
	}
	if m.typing() {
		return m.updateChild(msg)
	}
	if m.state == stateHelp {
		switch {
		case key.Matches(msg, km.Quit):
			return m, tea.Quit
		case key.Matches(msg, km.Help, km.Back):
			m.state = m.prev
			return m, nil
		}
		return m.updateChild(msg)
	}
	picker := m.state == stateProcs || m.state == stateContainers
	switch {
	case key.Matches(msg, km.Quit):
		return m, tea.Quit
	case key.Matches(msg, km.Help):
		m.prev, m.state = m.state, stateHelp
		m.help.off = 0
		return m, nil
	case key.Matches(msg, km.Window):
		m.window = nextWindow(m.window)
		return m, m.requery()
	case key.Matches(msg, km.Processes) && m.state != stateProcs:
		m.procs = m.procs.open()
		m.state = stateProcs
		return m, m.requery()
	case key.Matches(msg, km.Containers) && m.state != stateContainers:
		m.containers = m.containers.open()
		m.state = stateContainers
		return m, m.requery()
	case key.Matches(msg, km.Pause) && !picker:
		if m.paused {
			m.paused, m.pausedAt = false, time.Time{}
			return m, m.requery()
		}
		m.paused, m.pausedAt = true, m.now()
		return m, nil
	case key.Matches(msg, km.NextView) && m.state == stateView:
		m.active = (m.active + 1) % len(m.views)
		return m, m.requery()
	case key.Matches(msg, km.Snapshot) && !picker:
		return m.snapshot()
	}
	return m.updateChild(msg)
}

// typing reports whether the view on screen takes keys as search text.
func (m Model) typing() bool {
	if m.state != stateView {
		return false
	}
	switch m.views[m.active] {
	case viewTop:
		return m.top.search.typing
	case viewFlame:
		return m.flame.typing()
	}
	return false
}

// snapshotDone shows where a snapshot went, or why it did not.
func (m Model) snapshotDone(msg snapshotMsg) Model {
	m.snapshotting = false
	if msg.err != nil {
		m.note, m.noteBad = "snapshot failed: "+msg.err.Error(), true
	} else {
		m.note, m.noteBad = "snapshot saved to "+msg.path, false
	}
	return m
}

// snapshot runs Options.Snapshot off the UI goroutine over the window and
// filters on screen; the status line shows where it went.
func (m Model) snapshot() (tea.Model, tea.Cmd) {
	hook := m.opts.Snapshot
	switch {
	case hook == nil:
		m.note, m.noteBad = "snapshots are unavailable here", true
		return m, nil
	case m.snapshotting:
		return m, nil
	}
	m.snapshotting = true
	m.note, m.noteBad = "saving a snapshot…", false
	q := m.query()
	return m, func() tea.Msg {
		path, err := hook(q)
		return snapshotMsg{path: path, err: err}
	}
}

// updateChild hands msg to what is on screen.
func (m Model) updateChild(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.state {
	case stateView:
		switch m.views[m.active] {
		case viewTop:
			m.top, cmd = m.top.Update(msg)
		case viewFlame:
			m.flame, cmd = m.flame.Update(msg)
		}
	case stateCallers:
		m.callers, cmd = m.callers.Update(msg)
	case stateProcs:
		m.procs, cmd = m.procs.Update(msg)
	case stateContainers:
		m.containers, cmd = m.containers.Update(msg)
	case stateHelp:
		m.help, cmd = m.help.Update(msg)
	}
	return m, cmd
}

// requery starts a new generation of answers: a query now, or as soon as
// the running one answers.
func (m *Model) requery() tea.Cmd {
	m.gen++
	if m.inflight {
		return nil
	}
	m.inflight = true
	return m.fetch()
}

// query is the question every view asks: the window (frozen while paused)
// and the filters.
func (m Model) query() aggregate.Query {
	return buildQuery(m.filter, m.window, m.now(), m.pausedAt)
}

// fetch returns the command that asks the Source what the screen needs.
// It runs off the UI goroutine and touches nothing of the model.
func (m Model) fetch() tea.Cmd {
	src, gen, q := m.common.Source, m.gen, m.query()
	st := m.state
	if st == stateHelp {
		st = m.prev
	}
	fn, _ := m.callers.focus()
	flame := st == stateView && m.views[m.active] == viewFlame
	freq := m.flame.request()
	return func() tea.Msg {
		d := dataMsg{gen: gen, health: src.Health()}
		switch st {
		case stateProcs:
			q.PIDs = nil // list every process the other filters keep
			d.procs = nonNil(src.Processes(q))
		case stateContainers:
			q.PIDs, q.Containers = nil, nil
			d.containers = nonNil(src.Containers(q))
		default:
			top := src.Top(q)
			d.top = &top
			if flame {
				d.flame = fetchFlame(src, q, freq, top.Samples)
			}
			if st == stateCallers {
				d.fn, d.edges = fn, true
				d.callers, d.callees = src.CallersCallees(q, fn.name, fn.module)
			}
		}
		return d
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// apply shows an answer.
func (m *Model) apply(d dataMsg) {
	m.health = d.health
	if d.top != nil {
		m.top = m.top.setResult(*d.top)
	}
	if d.flame != nil {
		m.flame = m.flame.setData(*d.flame)
	}
	if d.edges {
		m.callers = m.callers.setData(d.fn, d.callers, d.callees, d.top)
	}
	if d.procs != nil {
		m.procs = m.procs.setRows(d.procs)
	}
	if d.containers != nil {
		m.containers = m.containers.setRows(d.containers)
	}
}

func (m *Model) setFilter(f Filter) {
	m.filter = f
	m.top.filtered = !f.Empty()
}

func (m Model) bodyHeight() int {
	return max(m.common.Height-headerLines-footerLines, 1)
}

func (m *Model) setSize(w, h int) {
	m.common.Width, m.common.Height = w, h
	bh := m.bodyHeight()
	m.top.SetSize(w, bh)
	m.flame.SetSize(w, bh)
	m.callers.SetSize(w, bh)
	m.procs.SetSize(w, bh)
	m.containers.SetSize(w, bh)
	m.help.SetSize(w, bh)
}

// View renders the screen: header, body, status line and key hints.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	if !m.opts.NoMouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "pftop"
	return v
}

// render is the screen as text, exactly Height lines.
func (m Model) render() string {
	km := m.common.Keys
	var body, status string
	var hints []key.Binding
	switch m.state {
	case stateView:
		switch m.views[m.active] {
		case viewFlame:
			body, status, hints = m.flame.View(), m.flame.status(), km.flameHelp()
		default:
			body, status, hints = m.top.View(), m.top.status(), km.ShortHelp()
		}
		if m.typing() {
			hints = km.searchHelp()
		}
	case stateCallers:
		body, status, hints = m.callers.View(), m.callers.status(), km.callersHelp()
	case stateProcs:
		body, status, hints = m.procs.View(), m.procs.status(), km.pickerHelp()
	case stateContainers:
		body, status, hints = m.containers.View(), m.containers.status(), km.pickerHelp()
	case stateHelp:
		body, hints = m.help.View(), km.helpHelp()
		status = m.common.Styles.Label.Render("every key · esc or ? closes")
	}
	if m.note != "" {
		style := &m.common.Styles.Value
		if m.noteBad {
			style = &m.common.Styles.Bad
		}
		l := newLine(m.common.Width)
		l.add(m.note, style)
		status = l.String()
	}
	var sb strings.Builder
	sb.Grow(m.common.Width * (m.common.Height + 1) * 2)
	sb.WriteString(m.headerView())
	sb.WriteByte('\n')
	sb.WriteString(body)
	sb.WriteByte('\n')
	sb.WriteString(status)
	sb.WriteByte('\n')
	sb.WriteString(shortHelp(m.common, hints))
	return sb.String()
}
