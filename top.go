package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
	p, err := startProfiler(ctx, cfg, 0, profilerOptions{sampleAll: true})
	if err != nil {
		return err
	}
	if p.containerID != "" {
		filter.Containers = []string{p.containerID}
	}
	defer p.close()
	ksyms, _ := symtab.LoadKallsyms()
	src := newLiveSource(p, newFrameSymbolizer(p.mgr, ksyms))

	if c.Batch {
		err = ui.RunBatch(ctx, os.Stdout, src, ui.BatchOptions{
			Filter: filter, Window: c.Window, Delay: c.Delay, Iterations: c.Iterations, Rows: c.Rows,
		})
	} else {
		opts := ui.DefaultOptions()
		opts.Filter, opts.Window, opts.Refresh, opts.NoMouse = filter, c.Window, c.Delay, c.NoMouse
		err = ui.Run(ctx, src, opts)
	}
	p.stop()
	if c.Stats {
		p.printStats()
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return nil // a signal ended it: not an error
	}
	return err
}
