package ui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pftop/pftop/aggregate"
)

// BatchOptions configure RunBatch. The zero value prints DefaultRows rows
// over all the data held every DefaultRefresh until ctx is done.
type BatchOptions struct {
	// Filter keeps only some processes, as in the live view.
	Filter
	// Window is the span of recent data each table covers; 0 is all the
	// data held.
	Window time.Duration
	// Delay is the time between tables (the first comes after one Delay,
	// so it has data); 0 means DefaultRefresh.
	Delay time.Duration
	// Iterations is the number of tables to print; 0 prints until ctx is
	// done.
	Iterations int
	// Rows is the number of functions per table; 0 means DefaultRows and
	// a negative value prints them all.
	Rows int
	// FunctionWidth caps the function column, in cells; 0 means 60.
	// Longer names are cut with "…".
	FunctionWidth int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RunBatch prints the top table as plain text to w every Delay, like
// top -b: a one-line header (time, samples, window, filter), the column
// titles and the rows, then a blank line. It never writes escape
// sequences and needs no terminal. It returns nil after Iterations tables,
// or when ctx is done if Iterations is 0; ctx's error if it is done before
// Iterations tables; or the first write error.
func RunBatch(ctx context.Context, w io.Writer, src Source, opts BatchOptions) error {
	if opts.Delay <= 0 {
		opts.Delay = DefaultRefresh
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := time.NewTicker(opts.Delay)
	defer t.Stop()
	bw := bufio.NewWriter(w)
	for i := 0; opts.Iterations <= 0 || i < opts.Iterations; i++ {
		select {
		case <-ctx.Done():
			if opts.Iterations <= 0 {
				return nil
			}
			return ctx.Err()
		case <-t.C:
		}
		now := opts.Now()
		res := src.Top(buildQuery(opts.Filter, opts.Window, now, time.Time{}))
		writeBatch(bw, now, res, opts)
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
	}
	return nil
}

// writeBatch writes one table.
func writeBatch(w *bufio.Writer, now time.Time, res aggregate.TopResult, opts BatchOptions) {
	rows := res.Rows
	limit := opts.Rows
	if limit == 0 {
		limit = DefaultRows
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	fw := opts.FunctionWidth
	if fw <= 0 {
		fw = 60
	}

	fmt.Fprintf(w, "pftop %s  samples %d  window %s (%s)  functions %d  filter %s\n",
		now.Format("2006-01-02 15:04:05"), res.Samples, formatWindow(opts.Window),
		formatDuration(res.Window), len(res.Rows), opts.Filter.String())

	names := make([]string, len(rows))
	locs := make([]string, len(rows))
	nameW, locW := len("FUNCTION"), len("LOCATION")
	for i := range rows {
		names[i] = truncate(cleanText(rows[i].Name), fw)
		locs[i] = truncateLeft(cleanText(location(rows[i].File, rows[i].Line, rows[i].Module)), 40)
		nameW = max(nameW, textWidth(names[i]))
		locW = max(locW, textWidth(locs[i]))
	}
	cw := max(len("TOTAL"), digits(res.Samples))

	line := make([]byte, 0, 256)
	put := func(selfPct, totalPct, self, total, name, loc, kind string) {
		line = line[:0]
		line = append(line, fit(selfPct, 7, true)...)
		line = append(line, ' ')
		line = append(line, fit(totalPct, 7, true)...)
		line = append(line, ' ')
		line = append(line, fit(self, cw, true)...)
		line = append(line, ' ')
		line = append(line, fit(total, cw, true)...)
		line = append(line, "  "...)
		line = append(line, fit(name, nameW, false)...)
		line = append(line, "  "...)
		line = append(line, fit(loc, locW, false)...)
		line = append(line, ' ')
		line = append(line, kind...)
		line = append(line, '\n')
		w.Write(line)
	}
	put("SELF%", "TOTAL%", "SELF", "TOTAL", "FUNCTION", "LOCATION", "KIND")
	for i := range rows {
		r := &rows[i]
		put(formatPercent(r.Self, res.Samples), formatPercent(r.Total, res.Samples),
			strconv.FormatInt(r.Self, 10), strconv.FormatInt(r.Total, 10),
			names[i], locs[i], r.Kind.String())
	}
	w.WriteByte('\n')
}
