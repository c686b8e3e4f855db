package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// AgentCmd samples headless and forwards to a Collector until SIGTERM,
// SIGINT or SIGHUP: pftop as a node agent (deploy/ has a systemd unit and a
// Kubernetes DaemonSet).
type AgentCmd struct {
	Common
	OTLPFlags
	Status time.Duration `default:"1m" help:"Log the forwarding counters every STATUS (0: never)."`
}

// agentHistory bounds the store, which the agent only needs for --stats:
// what is forwarded leaves through the batch.
const agentHistory = 30 * time.Second

// agentDrain is how long the agent tries to deliver its last samples.
const agentDrain = 5 * time.Second

func (c *AgentCmd) Run() error {
	if c.OTLPEndpoint == "" {
		return &exitError{code: exitUsage, err: fmt.Errorf("pftop agent needs --otlp-endpoint HOST:PORT")}
	}
	if c.Status < 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("--status must not be negative")}
	}
	fw, err := newForwarder(c.OTLPFlags, c.Frequency, os.Stderr)
	if err != nil {
		return err
	}
	// SIGHUP ends it as it ends record and top: a closed session must
	// not leave it half torn down.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	p, err := startProfiler(ctx, c.Common, agentHistory, profilerOptions{onTrace: fw.onTrace()})
	if err != nil {
		fw.stop(0)
		return err
	}
	defer p.close()
	fw.start(ctx, p, loadSymbolizer(p))
	fmt.Fprintf(os.Stderr, "pftop: agent forwarding to %s every %s\n", c.OTLPEndpoint, c.OTLPInterval)

	var tick <-chan time.Time
	if c.Status > 0 {
		t := time.NewTicker(c.Status)
		defer t.Stop()
		tick = t.C
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick:
			exported, dropped := fw.counts()
			fmt.Fprintf(os.Stderr, "pftop: otlp: exported=%d dropped=%d\n", exported, dropped)
		}
	}
	p.stop()
	fw.stop(agentDrain)
	if c.Stats {
		p.printStats()
		fw.printStats()
	}
	return nil // a signal is how the agent is meant to end
}
