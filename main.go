// Command pftop is a live, whole-system, cross-language CPU profiler.
//
// This file is the command line (kong); profile.go runs the pipeline of
// DESIGN.md: bpf -> sampler -> unwinder -> aggregate -> output.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kong"
)

// Exit codes (DESIGN.md).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitNoPriv  = 77
)

// version is set by the Makefile's -ldflags.
var version = "dev"

// Common are the flags every profiling command takes.
type Common struct {
	Frequency int    `short:"F" default:"99" help:"Samples per second per CPU."`
	PID       []int  `short:"p" name:"pid" help:"Only these processes (repeatable)."`
	Comm      string `help:"Only processes with this command name."`
	Container string `help:"Only processes in this container (ID or its first 12+ hex digits)."`
	NoKernel  bool   `help:"Leave kernel frames out."`
	// NoInterpreters also keeps pftop from reading any process's memory.
	NoInterpreters bool          `name:"no-interpreters" help:"Leave interpreter frames out: Python shows as its interpreter's C functions, and no process's memory is read."`
	Stats          bool          `help:"Print the BPF and unwinder counters to stderr at exit."`
	DebugDir       []string      `name:"debug-dir" help:"Also look for separate debug files here (repeatable; /usr/lib/debug always)."`
	StartWait      time.Duration `hidden:"" default:"0s" help:"Wait this long after attaching before counting samples."`
	// BPFTiming is for measuring pftop itself (make bench).
	BPFTiming bool `hidden:"" name:"bpf-timing" help:"Diagnostics: time the BPF programs' phases into the t_* counters --stats prints (each timer adds a clock read)."`
	// StallReader lets the tests fill the trace ring on purpose, to check
	// that drops are counted and shown.
	StallReader time.Duration `hidden:"" name:"test-stall-reader" help:"Test only: read no traces for this long after starting."`
}

// CLI is pftop's command line.
type CLI struct {
	Top     TopCmd     `cmd:"" default:"withargs" help:"Live view of the functions burning CPU (default)."`
	Record  RecordCmd  `cmd:"" help:"Sample for a while and write a profile."`
	Agent   AgentCmd   `cmd:"" help:"Sample headless and forward to an OpenTelemetry Collector until SIGTERM."`
	Check   CheckCmd   `cmd:"" help:"Say what this kernel and box support, and what to do where they fall short."`
	Version VersionCmd `cmd:"" help:"Print the version."`
}

// exitError carries an exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("pftop"),
		kong.Description("pftop shows which functions burn CPU, across every process and language, live."),
		kong.UsageOnError(),
		kong.Exit(func(code int) {
			if code != 0 {
				code = exitUsage
			}
			os.Exit(code)
		}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pftop:", err)
		os.Exit(exitRuntime)
	}
	ctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		parser.FatalIfErrorf(err)
	}
	if err := ctx.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "pftop:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(exitRuntime)
	}
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run() error {
	fmt.Println("pftop", version)
	return nil
}

// TopCmd is the live view.
type TopCmd struct {
	Common
	OTLPFlags
	Delay       time.Duration `short:"d" default:"1s" help:"Refresh every DELAY."`
	Window      time.Duration `default:"5s" help:"Span of recent data shown (w cycles 5s, 30s, 5m, all)."`
	Batch       bool          `short:"b" help:"Print the top table as plain text every DELAY, like top -b (no TTY needed)."`
	Iterations  int           `short:"n" help:"With --batch: print this many tables, then exit (0: until killed)."`
	Rows        int           `default:"30" help:"With --batch: functions per table."`
	NoMouse     bool          `help:"Leave the mouse to the terminal."`
	SnapshotDir string        `default:"." help:"Where the s key writes pprof snapshots."`
}
