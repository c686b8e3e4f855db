package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/symtab"
	"github.com/pftop/pftop/ui"
)

func (c *TopCmd) Run() error {
	if c.Delay <= 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("-d %s: delay must be positive", c.Delay)}
	}
	if c.Window < 0 || c.Iterations < 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("--window and -n must not be negative")}
	}
	// The live view's header shows the forwarding counts; its log
	// would tear the screen.
	var otlpLog io.Writer
	if c.Batch {
		otlpLog = os.Stderr
	}
	fw, err := newForwarder(c.OTLPFlags, c.Frequency, otlpLog)
	if err != nil {
		return err
	}
	// A snapshot directory given on purpose must be usable; the default
	// (the working directory) is checked only when `s` is pressed, so the
	// live view starts anywhere.
	if !c.Batch && c.SnapshotDir != "." {
		if err := checkOutputDir(filepath.Join(c.SnapshotDir, "snapshot")); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--snapshot-dir %s: %w", c.SnapshotDir, err)}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// In the live view, -p/--comm/--container only preset filters the
	// user can clear, so every process is sampled.
	cfg := c.Common
	filter := ui.Filter{Comm: cfg.Comm}
	for _, pid := range cfg.PID {
		filter.PIDs = append(filter.PIDs, uint32(pid))
	}
	cfg.Comm = ""
	p, err := startProfiler(ctx, cfg, 0, profilerOptions{sampleAll: true, onTrace: fw.onTrace()})
	if err != nil {
		fw.stop(0)
		return err
	}
	if p.containerID != "" {
		filter.Containers = []string{p.containerID}
	}
	defer p.close()
	ksyms, _ := symtab.LoadKallsyms()
	src := newLiveSource(p, newFrameSymbolizer(p.mgr, p.interp, ksyms, c.DebugDir))
	src.fw = fw
	fw.start(ctx, p, src.sym)

	if c.Batch {
		err = ui.RunBatch(ctx, os.Stdout, src, ui.BatchOptions{
			Filter: filter, Window: c.Window, Delay: c.Delay, Iterations: c.Iterations, Rows: c.Rows,
		})
	} else {
		opts := ui.DefaultOptions()
		opts.Filter, opts.Window, opts.Refresh, opts.NoMouse = filter, c.Window, c.Delay, c.NoMouse
		opts.Snapshot = func(q aggregate.Query) (string, error) {
			return writeSnapshot(c.SnapshotDir, time.Now(), p.store.ProfileOf(q), src.sym)
		}
		err = ui.Run(ctx, src, opts)
	}
	p.stop()
	fw.stop(otlpDrain)
	if c.Stats {
		p.printStats()
		fw.printStats()
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return nil // a signal ended it: not an error
	}
	return err
}

// writeSnapshot saves prof as pprof in dir, named after the time it was
// taken, atomically and with mode 0600 (writeOutput), and returns the path.
func writeSnapshot(dir string, now time.Time, prof *aggregate.Profile, sym aggregate.Symbolizer) (string, error) {
	path := filepath.Join(dir, "pftop-"+now.Format("20060102-150405")+".pb.gz")
	err := writeOutput(path, func(w io.Writer) error { return aggregate.WritePprof(w, prof, sym) })
	if err != nil {
		return "", err
	}
	return path, nil
}
