package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/aggregate"
)

// RecordCmd samples for a duration and writes one profile.
type RecordCmd struct {
	Common
	OTLPFlags
	Duration time.Duration `short:"d" default:"10s" help:"How long to sample."`
	Output   string        `short:"o" default:"pftop.pb.gz" help:"Output file, - for stdout."`
	Format   string        `enum:"pprof,folded,speedscope" default:"pprof" help:"Output format: pprof, folded or speedscope (JSON)."`
	Annotate bool          `help:"Folded: mark kernel frames _[k] and inlined frames _[i]."`
	PerPID   bool          `name:"per-pid" help:"Folded: start each stack with comm-PID instead of comm."`
}

func (c *RecordCmd) Run() error {
	if c.Duration <= 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("-d %s: duration must be positive", c.Duration)}
	}
	fw, err := newForwarder(c.OTLPFlags, c.Frequency, os.Stderr)
	if err != nil {
		return err
	}
	if c.Output != "-" {
		if err := checkOutputDir(c.Output); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("-o %s: %w", c.Output, err)}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Keep every sample of the recording (plus slack for draining).
	p, err := startProfiler(ctx, c.Common, c.Duration+time.Minute, profilerOptions{onTrace: fw.onTrace()})
	if err != nil {
		fw.stop(0)
		return err
	}
	defer p.close()
	sym := loadSymbolizer(p)
	fw.start(ctx, p, sym)

	timer := time.NewTimer(c.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		// Interrupted: still write what was collected.
	}
	timer.Stop()
	p.stop()
	fw.stop(otlpDrain)
	if c.Stats {
		p.printStats()
		fw.printStats()
	}

	prof := p.store.Snapshot()
	err = writeOutput(c.Output, func(w io.Writer) error {
		switch c.Format {
		case "folded":
			return aggregate.WriteFolded(w, prof, sym, aggregate.FoldedOptions{Annotate: c.Annotate, PerPID: c.PerPID})
		case "speedscope":
			return aggregate.WriteSpeedscope(w, prof, sym)
		}
		return aggregate.WritePprof(w, prof, sym)
	})
	if err == nil && c.Output != "-" {
		fmt.Fprintf(os.Stderr, "pftop: wrote %s\n", c.Output)
	}
	return err
}

// writeOutput writes to stdout for "-", else atomically to path: a
// temporary file in the same directory, mode 0600, renamed into place, so
// the file is either whole or absent and a planted symlink is replaced,
// never followed.
func writeOutput(path string, write func(io.Writer) error) error {
	if path == "-" {
		return writeTo(os.Stdout, write)
	}
	// A device or a pipe (-o /dev/null, a FIFO) is written in place:
	// renaming over it would replace the device with a file.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(os.ModeDevice|os.ModeCharDevice|os.ModeNamedPipe) != 0 {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("open output: %w", err)
		}
		defer f.Close()
		return writeTo(f, write)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write output: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// checkOutputDir fails when path could not be written by writeOutput,
// before sampling, so a long recording is not lost at its end.
func checkOutputDir(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(os.ModeDevice|os.ModeCharDevice|os.ModeNamedPipe) != 0 {
		return nil // written in place
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	return nil
}

func writeTo(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriter(w)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
