package ui

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pftop/pftop/aggregate"
)

// Defaults for the zero fields of Options and BatchOptions.
const (
	DefaultRefresh = time.Second     // refresh period of the live view
	DefaultWindow  = 5 * time.Second // window of DefaultOptions
	DefaultRows    = 30              // rows printed per batch iteration
)

// Filter narrows every view to some processes. Empty fields keep
// everything; set fields are combined with AND.
type Filter struct {
	PIDs       []uint32 // keep only these processes
	Comm       string   // keep only processes with this command name
	Containers []string // keep only these containers ("" is the host)
}

// Empty reports whether the filter keeps everything.
func (f Filter) Empty() bool {
	return len(f.PIDs) == 0 && f.Comm == "" && len(f.Containers) == 0
}

// String describes the filter for headers, "none" when empty.
func (f Filter) String() string {
	if f.Empty() {
		return "none"
	}
	var parts []string
	if len(f.PIDs) > 0 {
		b := []byte("pid ")
		for i, p := range f.PIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(p), 10)
		}
		parts = append(parts, string(b))
	}
	if f.Comm != "" {
		parts = append(parts, "comm "+cleanText(f.Comm))
	}
	if len(f.Containers) > 0 {
		ids := make([]string, len(f.Containers))
		for i, c := range f.Containers {
			ids[i] = shortContainer(c)
		}
		parts = append(parts, "container "+strings.Join(ids, ","))
	}
	return strings.Join(parts, " ")
}

func (f Filter) clone() Filter {
	return Filter{PIDs: slices.Clone(f.PIDs), Comm: f.Comm, Containers: slices.Clone(f.Containers)}
}

// Options configure the live view. The zero value is usable: it refreshes
// every DefaultRefresh over all the data held, with colour and mouse.
type Options struct {
	// Filter presets the filters (-p, --comm, --container).
	Filter
	// Window is the span of recent data every view covers; 0 means all
	// the data the store holds. The `w` key cycles through Windows.
	Window time.Duration
	// Refresh is the period between queries; 0 means DefaultRefresh.
	Refresh time.Duration
	// NoMouse leaves the mouse to the terminal (--no-mouse).
	NoMouse bool
	// NoColor selects the colourless theme (NO_COLOR); the selection is
	// then shown in reverse video.
	NoColor bool
	// Now is the clock windows are measured against; nil means time.Now.
	Now func() time.Time
	// Snapshot, when set, is what the `s` key calls to save the data on
	// screen: q is the window (frozen while paused) and the filters of
	// the view, without pruning. It runs on its own goroutine, never the
	// UI's, one call at a time (`s` is ignored while one runs), so it may
	// block on I/O; it returns the path it wrote, which the status line
	// shows, or an error, shown instead. When nil, `s` says snapshots
	// are unavailable.
	Snapshot func(q aggregate.Query) (path string, err error)
}

// DefaultOptions returns the options pftop starts with: DefaultWindow, and
// NoColor set when the NO_COLOR environment variable is not empty.
func DefaultOptions() Options {
	return Options{Window: DefaultWindow, Refresh: DefaultRefresh, NoColor: os.Getenv("NO_COLOR") != ""}
}

// Windows lists the windows the `w` key cycles through, in order; 0 is
// all the data held.
func Windows() []time.Duration {
	return []time.Duration{5 * time.Second, 30 * time.Second, 5 * time.Minute, 0}
}

// nextWindow returns the window after w in Windows. A window not in the
// list (set on the command line) moves to the next larger one.
func nextWindow(w time.Duration) time.Duration {
	ws := Windows()
	if i := slices.Index(ws, w); i >= 0 {
		return ws[(i+1)%len(ws)]
	}
	for _, c := range ws {
		if c > w {
			return c
		}
	}
	return 0
}

// formatWindow names a window for headers: "5s", "5m0s" becomes "5m", 0 is
// "all".
func formatWindow(w time.Duration) string {
	if w <= 0 {
		return "all"
	}
	return formatDuration(w)
}

// formatDuration prints d rounded to the second (or tenth of a second
// below 10 s) without trailing zero units: 5m, 1m30s, 2.5s.
func formatDuration(d time.Duration) string {
	if d < 10*time.Second {
		d = d.Round(100 * time.Millisecond)
	} else {
		d = d.Round(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// buildQuery turns a window, a filter and a clock reading into a Query.
// A non-zero end freezes the window there (a paused view); otherwise the
// window ends now.
func buildQuery(f Filter, window time.Duration, now, end time.Time) aggregate.Query {
	q := aggregate.Query{PIDs: slices.Clone(f.PIDs), Comm: f.Comm, Containers: slices.Clone(f.Containers)}
	if !end.IsZero() {
		q.To = end
		now = end
	}
	if window > 0 {
		q.From = now.Add(-window)
	}
	return q
}
