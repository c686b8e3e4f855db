package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// The Collector the OTLP tests forward to: built from its Go modules with
// the collector builder, one release for every module, and cached outside
// the repository so a clean clone (CI) reuses it.
const (
	otelcolVersion = "v0.165.0"
	otelcolName    = "otelcol-pftop"
	// otelcolBuildTimeout covers a first build on a cold module cache.
	otelcolBuildTimeout = 20 * time.Minute
)

const otelcolManifest = `dist:
  name: ` + otelcolName + `
  description: OpenTelemetry Collector for pftop's tests
  output_path: %s
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver ` + otelcolVersion + `
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter ` + otelcolVersion + `
`

var otelcolOnce struct {
	sync.Once
	path string
	err  error
}

// otelcolBinary returns the cached Collector, building it the first time.
func otelcolBinary(t testing.TB) string {
	t.Helper()
	otelcolOnce.Do(func() { otelcolOnce.path, otelcolOnce.err = buildOtelcol() })
	if otelcolOnce.err != nil {
		if _, err := exec.LookPath("go"); err != nil {
			t.Skipf("no go command to build the Collector with: %v", err)
		}
		t.Fatalf("build the OpenTelemetry Collector: %v", otelcolOnce.err)
	}
	return otelcolOnce.path
}

// buildOtelcol builds into a temporary directory beside the cache entry
// and renames the binary into place, so a concurrent test sees either no
// binary or a whole one.
func buildOtelcol() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pftop", "otelcol-"+otelcolVersion)
	bin := filepath.Join(dir, otelcolName)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	manifest := filepath.Join(tmp, "manifest.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, otelcolManifest, filepath.Join(tmp, "out")), 0o644); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), otelcolBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "go.opentelemetry.io/collector/cmd/builder@"+otelcolVersion, "--config", manifest)
	cmd.Dir = tmp // outside pftop's module: the Collector is no dependency of it
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "out", otelcolName), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// collector is a running Collector with the otlp receiver on 127.0.0.1
// and the debug exporter printing every profile in detail.
type collector struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	addr string
	done chan struct{}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCollector runs the Collector on addr and waits until it is ready.
func startCollector(t testing.TB, bin, addr string) *collector {
	t.Helper()
	config := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [debug]
`, addr)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{out: &lockedBuffer{}, addr: addr, done: make(chan struct{})}
	c.cmd = exec.Command(bin, "--config", path, "--feature-gates=service.profilesSupport")
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	// Gone with the test process, even when a timeout panics it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start the Collector: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.stop)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(c.out.String(), "Everything is ready") {
		select {
		case <-c.done:
			t.Fatalf("the Collector exited:\n%s", c.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Collector is not ready after a minute:\n%s", c.out.String())
		}
	}
	return c
}

func (c *collector) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// waitOutput waits until the Collector's output matches every pattern.
func (c *collector) waitOutput(t testing.TB, timeout time.Duration, patterns ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := c.out.String()
		missing := ""
		for _, p := range patterns {
			if !strings.Contains(out, p) {
				missing = p
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Collector's output lacks %q after %s:\n%s", missing, timeout, tail(out, 6000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// wantAttributes are what the debug exporter prints of a profile of the
// chain target (pid) forwarded by pftop: the resource, sample attributes,
// the target's functions in the string table, and the keys of location
// and mapping attributes.
func wantAttributes(t testing.TB, bin string, pid int) []string {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		fmt.Sprintf("process.pid: Int(%d)", pid),
		"process.executable.name: Str(chain)",
		fmt.Sprintf("process.executable.path: Str(%s)", filepath.Join(bin, "chain")),
		fmt.Sprintf("host.name: Str(%s)", host),
		"service.name: Str(chain)",
		"thread.name: Str(chain)",
		fmt.Sprintf("thread.id: Int(%d)", pid),
		"cpu.logical_number: Int(",
		"\n    chain_a\n", "\n    chain_b\n", "\n    chain_c\n", "\n    main\n",
		"\n    profile.frame.type\n",
		"\n    process.executable.build_id.gnu\n",
		"\n    process.executable.build_id.htlhash\n",
		"InstrumentationScope pftop",
	}
}

func TestOTLPCollector(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	col := startCollector(t, otelcolBinary(t), freePort(t))
	target := confStart(t, filepath.Join(bin, "chain"))
	confWarmUp(t, target, nil)

	_, stderr := confRecord(t, pftop, "-d", "4s", "-p", strconv.Itoa(target.pid), "-o", os.DevNull, "--stats",
		"--otlp-endpoint", col.addr, "--otlp-insecure", "--otlp-interval", "1s", "--otlp-header", "x-test=1")
	exported, dropped := otlpCounts(t, stderr)
	if exported == 0 || dropped != 0 {
		t.Errorf("exported %d dropped %d samples, want some and none\n%s", exported, dropped, stderr)
	}
	out := col.waitOutput(t, 30*time.Second, wantAttributes(t, bin, target.pid)...)

	// Every mapping but the zero one carries attributes (build IDs),
	// and the chain's own executable is one of the mappings' files.
	if m := regexp.MustCompile(`(?m)^Mapping #[1-9]\d*\n(?:    .*\n){4}    Attributes: \[\d`).FindString(out); m == "" {
		t.Errorf("no mapping with build ID attributes in:\n%s", tail(out, 6000))
	}
	// Each sample carries timestamps and no values: every export's
	// samples are printed with empty values.
	if strings.Contains(out, "Values: [1") {
		t.Errorf("samples carry values; pftop sends timestamps only")
	}
}

// TestOTLPCollectorPython sends a Python process's profile to a real
// Collector: its Python functions with their source file, and the
// interpreter's C functions below them, must arrive. (The debug exporter
// prints attribute values only for the table's last entry, and strings
// not by their use, so the cpython frame type and the source file as a
// mapping are checked by the encoder's round trip.)
func TestOTLPCollectorPython(t *testing.T) {
	pftop, p := startChainPy(t)
	col := startCollector(t, otelcolBinary(t), freePort(t))
	time.Sleep(time.Second)
	_, stderr := confRecord(t, pftop, "-d", "4s", "-p", strconv.Itoa(p.pid), "-o", os.DevNull, "--stats",
		"--otlp-endpoint", col.addr, "--otlp-insecure", "--otlp-interval", "1s")
	if exported, dropped := otlpCounts(t, stderr); exported == 0 || dropped != 0 {
		t.Errorf("exported %d dropped %d samples, want some and none\n%s", exported, dropped, stderr)
	}
	script := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "python", "chain.py")
	col.waitOutput(t, 30*time.Second,
		"\n    py_chain_a\n", "\n    py_chain_b\n", "\n    py_chain_c\n", "\n    <module>\n",
		"\n    "+script+"\n", "\n    Py_RunMain\n")
}

// otlpCounts reads the otlp line of --stats.
func otlpCounts(t testing.TB, stderr string) (exported, dropped int64) {
	t.Helper()
	m := regexp.MustCompile(`otlp: exported=(\d+) dropped=(\d+)`).FindAllStringSubmatch(stderr, -1)
	if m == nil {
		t.Fatalf("no otlp counters in:\n%s", stderr)
	}
	last := m[len(m)-1]
	exported, _ = strconv.ParseInt(last[1], 10, 64)
	dropped, _ = strconv.ParseInt(last[2], 10, 64)
	return exported, dropped
}

// rssBytes is a process's resident set.
func rssBytes(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// profileStarts are the start times of the profiles in debug output.
func profileStarts(out string) []time.Time {
	var ts []time.Time
	for _, m := range regexp.MustCompile(`Start time\s*: (\S+ \S+) \+0000 UTC`).FindAllStringSubmatch(out, -1) {
		if t, err := time.Parse("2006-01-02 15:04:05.999999999", m[1]); err == nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// TestOTLPCollectorRestart stops the Collector for 20 s under a running
// agent: the agent keeps running with bounded memory, counts what it
// drops, and forwards again once the Collector is back.
func TestOTLPCollectorRestart(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	bin := testutil.BuildTargets(t)
	colBin := otelcolBinary(t)
	addr := freePort(t)
	col := startCollector(t, colBin, addr)
	target := confStart(t, filepath.Join(bin, "chain"))
	confWarmUp(t, target, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	agent := exec.CommandContext(ctx, pftop, "agent", "-p", strconv.Itoa(target.pid), "--stats",
		"--otlp-endpoint", addr, "--otlp-insecure", "--otlp-interval", "1s", "--otlp-queue", "3", "--status", "2s")
	stderr := &lockedBuffer{}
	agent.Stdout, agent.Stderr = stderr, stderr
	agent.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	exited := make(chan struct{})
	go func() { err := agent.Wait(); close(exited); agentDone <- err }()
	defer func() {
		agent.Process.Kill()
		<-exited
	}()
	col.waitOutput(t, 30*time.Second, wantAttributes(t, bin, target.pid)...)

	rssBefore := rssBytes(agent.Process.Pid)
	t.Logf("%s: first export arrived; stopping the Collector", time.Now().Format(time.StampMilli))
	col.stop()
	down := time.Now()
	t.Logf("%s: Collector stopped", down.Format(time.StampMilli))
	var rssMax int64
	for time.Since(down) < 20*time.Second {
		select {
		case err := <-agentDone:
			t.Fatalf("the agent exited while the Collector was down: %v\n%s", err, stderr.String())
		case <-time.After(500 * time.Millisecond):
		}
		rssMax = max(rssMax, rssBytes(agent.Process.Pid))
	}
	restarted := time.Now()
	col = startCollector(t, colBin, addr)
	out := col.waitOutput(t, 60*time.Second, fmt.Sprintf("process.pid: Int(%d)", target.pid))
	fresh := false
	for _, ts := range profileStarts(out) {
		// Samples from after the restart, not only the queue's old ones.
		fresh = fresh || ts.After(restarted)
	}
	for deadline := time.Now().Add(30 * time.Second); !fresh && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		for _, ts := range profileStarts(col.out.String()) {
			fresh = fresh || ts.After(restarted)
		}
	}
	t.Logf("%s: fresh data after the restart: %v", time.Now().Format(time.StampMilli), fresh)
	if !fresh {
		t.Errorf("no profile recorded after the restart (%s) reached the Collector:\n%s", restarted.UTC(), tail(col.out.String(), 4000))
	}

	agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-agentDone:
		if err != nil {
			t.Errorf("agent exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not stop on SIGTERM\n%s", stderr.String())
	}
	t.Logf("%s: agent stopped", time.Now().Format(time.StampMilli))
	exported, dropped := otlpCounts(t, stderr.String())
	t.Logf("RSS %d kB before the outage, %d kB at most during it; exported %d, dropped %d samples", rssBefore>>10, rssMax>>10, exported, dropped)
	if dropped == 0 {
		t.Errorf("nothing counted as dropped over a 20 s outage with a queue of 3 one-second exports\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "dropped") {
		t.Errorf("the log does not mention the drops\n%s", stderr.String())
	}
	// Three queued seconds of one target are kilobytes; allow the Go
	// heap's own slack, not growth with the outage.
	if rssBefore == 0 || rssMax > rssBefore+32<<20 {
		t.Errorf("RSS grew from %d kB to %d kB during the outage", rssBefore>>10, rssMax>>10)
	}
}

// TestOTLPContainer forwards a process in a podman container: its
// resource names the container and the executable as the container sees
// it.
func TestOTLPContainer(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	static := contBuildStatic(t, filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "chain.c"))
	c := testutil.RunInPodman(t, static)
	col := startCollector(t, otelcolBinary(t), freePort(t))
	confRecord(t, pftop, "-d", "3s", "-p", strconv.Itoa(c.PID), "-o", os.DevNull,
		"--otlp-endpoint", col.addr, "--otlp-insecure", "--otlp-interval", "1s")
	col.waitOutput(t, 30*time.Second,
		fmt.Sprintf("process.pid: Int(%d)", c.PID),
		fmt.Sprintf("container.id: Str(%s)", c.ID),
		"process.executable.path: Str("+testutil.PodmanTarget+")",
		"service.name: Str("+testutil.PodmanComm+")",
		"thread.name: Str("+testutil.PodmanComm+")",
		"\n    chain_c\n",
	)
}
