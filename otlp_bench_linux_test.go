package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchOTLP measures what forwarding costs: two whole-system recordings
// at 99 Hz run side by side over the same workload (whatever TestBench
// has running), one forwarding to a real Collector every 10 s (the
// default), one not. Their steady-state CPU differs by the forwarding:
// batching every trace, symbolizing, encoding, gzip and gRPC.
func benchOTLP(t *testing.T, pftop string) [][3]string {
	t.Helper()
	col := startCollector(t, otelcolBinary(t), freePort(t))
	// The window starts after the second export: the first one names
	// every frame and opens every executable's symbols, a cost paid
	// once, not per interval.
	const (
		duration = 90 * time.Second
		from, to = 25 * time.Second, 85 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), duration+time.Minute)
	defer cancel()
	start := func(extra ...string) (*exec.Cmd, *lockedBuffer) {
		args := append([]string{"record", "-d", duration.String(), "--format", "folded", "-o", os.DevNull, "--stats"}, extra...)
		cmd := exec.CommandContext(ctx, pftop, args...)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start pftop: %v", err)
		}
		return cmd, stderr
	}
	plain, _ := start()
	fwd, fwdErr := start("--otlp-endpoint", col.addr, "--otlp-insecure")
	t0 := time.Now()
	cpu := func(c *exec.Cmd) time.Duration { return (&confProc{pid: c.Process.Pid}).cpuTime() }
	time.Sleep(from)
	plain0, fwd0 := cpu(plain), cpu(fwd)
	time.Sleep(to - time.Since(t0))
	plain1, fwd1 := cpu(plain), cpu(fwd)
	span := time.Since(t0) - from
	for _, c := range []*exec.Cmd{plain, fwd} {
		c.Process.Signal(syscall.SIGINT)
		if err := c.Wait(); err != nil {
			t.Fatalf("pftop record: %v", err)
		}
	}
	exported, dropped := otlpCounts(t, fwdErr.String())
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / span.Seconds() }
	plainCPU, fwdCPU := share(plain1-plain0), share(fwd1-fwd0)
	received := strings.Count(col.out.String(), "ResourceProfiles #0\n")
	wl := fmt.Sprintf("whole system, 99 Hz, same targets; two pftops side by side, %s to %s", from, to)
	return [][3]string{
		{"pftop CPU, no forwarding", fmt.Sprintf("%.2f %% of a core", plainCPU), wl},
		{"pftop CPU, forwarding", fmt.Sprintf("%.2f %% of a core", fwdCPU), wl + ", OTLP to a local Collector every 10 s"},
		{"OTLP forwarding cost", fmt.Sprintf("%.2f %% of a core", fwdCPU-plainCPU), "the difference of the two rows above (goal <= 0.2 %)"},
		{"OTLP exported", fmt.Sprintf("%d samples, %d dropped, %d exports", exported, dropped, received), wl},
	}
}
