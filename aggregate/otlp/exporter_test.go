package otlp

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// testCollector is an in-process ProfilesService: it answers each Export
// with the next of its scripted errors (then success) and records what
// it saw.
type testCollector struct {
	collpb.UnimplementedProfilesServiceServer

	mu          sync.Mutex
	script      []error // answers before succeeding
	block       chan struct{}
	partial     *collpb.ExportProfilesPartialSuccess
	calls       int
	ok          int
	headers     []metadata.MD
	compression []string
}

func (c *testCollector) Export(ctx context.Context, req *collpb.ExportProfilesServiceRequest) (*collpb.ExportProfilesServiceResponse, error) {
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	c.headers = append(c.headers, md)
	if len(c.script) > 0 {
		err := c.script[0]
		c.script = c.script[1:]
		return nil, err
	}
	if err := Validate(req); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	c.ok++
	return &collpb.ExportProfilesServiceResponse{PartialSuccess: c.partial}, nil
}

// TagRPC, HandleRPC, TagConn and HandleConn record the compression of
// each request (a stats.Handler sees the grpc-encoding header).
func (c *testCollector) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *testCollector) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		c.mu.Lock()
		c.compression = append(c.compression, h.Compression)
		c.mu.Unlock()
	}
}
func (c *testCollector) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *testCollector) HandleConn(context.Context, stats.ConnStats) {}

func startCollector(t *testing.T, c *testCollector) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(c))
	collpb.RegisterProfilesServiceServer(srv, c)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// logs collects an exporter's messages.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func newTestExporter(t *testing.T, addr string, l *logs, cfg Config) *Exporter {
	t.Helper()
	cfg.Endpoint, cfg.Insecure, cfg.Logf = addr, true, l.logf
	e, err := NewExporter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// waitFor polls cond for up to a minute: the VM is slow and shared.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runExporter(t *testing.T, e *Exporter) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done // Run must end on cancel
	})
}

func TestExporterRetriesAndHeaders(t *testing.T) {
	c := &testCollector{script: []error{
		status.Error(codes.Unavailable, "starting"),
		status.Error(codes.ResourceExhausted, "busy"),
	}}
	addr := startCollector(t, c)
	var l logs
	e := newTestExporter(t, addr, &l, Config{Headers: map[string]string{"authorization": "Bearer s3cret", "x-tenant": "a"}})
	runExporter(t, e)
	e.Enqueue(validRequest(t), 42)
	waitFor(t, "the export to succeed", func() bool { return e.Stats().Exported == 42 })

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls != 3 || c.ok != 1 {
		t.Errorf("%d calls, %d accepted; want 3 and 1 (two retried failures)", c.calls, c.ok)
	}
	for i, md := range c.headers {
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer s3cret" || md.Get("x-tenant")[0] != "a" {
			t.Errorf("call %d headers %v", i, md)
		}
	}
	for i, enc := range c.compression {
		if enc != "gzip" {
			t.Errorf("call %d compression %q, want gzip", i, enc)
		}
	}
	if len(c.compression) != c.calls {
		t.Errorf("saw %d headers for %d calls", len(c.compression), c.calls)
	}
	if e.Stats().Dropped != 0 {
		t.Errorf("dropped %d", e.Stats().Dropped)
	}
	if !l.has("failing") || !l.has("recovered") {
		t.Errorf("log %q lacks the failure and the recovery", l.lines)
	}
}

func TestExporterQueueBound(t *testing.T) {
	c := &testCollector{block: make(chan struct{})}
	addr := startCollector(t, c)
	var l logs
	e := newTestExporter(t, addr, &l, Config{QueueSize: 3})
	runExporter(t, e)
	req := validRequest(t)
	e.Enqueue(req, 1) // taken by Run, held by the blocked server
	waitFor(t, "the first request to be in flight", func() bool { return e.Stats().Queued == 0 })
	for i := 2; i <= 8; i++ {
		e.Enqueue(req, int64(i))
		if q := e.Stats().Queued; q > 3 {
			t.Fatalf("queue holds %d requests, bound 3", q)
		}
	}
	// 2..8 queued through a queue of 3: 2, 3, 4 and 5 were dropped.
	if s := e.Stats(); s.Dropped != 2+3+4+5 || s.Queued != 3 {
		t.Errorf("stats %+v, want 14 dropped and 3 queued", s)
	}
	close(c.block)
	waitFor(t, "the queue to drain", func() bool { return e.Stats().Exported == 1+6+7+8 })
	if !l.has("queue full") {
		t.Errorf("log %q does not report the drops", l.lines)
	}
}

func TestExporterGivesUp(t *testing.T) {
	c := &testCollector{script: []error{status.Error(codes.InvalidArgument, "bad")}}
	for range 100 {
		c.script = append(c.script, status.Error(codes.Unavailable, "down"))
	}
	addr := startCollector(t, c)
	var l logs
	e := newTestExporter(t, addr, &l, Config{MaxRetry: 2 * time.Second, MaxBackoff: 300 * time.Millisecond})
	runExporter(t, e)
	req := validRequest(t)
	e.Enqueue(req, 5) // rejected for good at once
	waitFor(t, "the rejected request to be dropped", func() bool { return e.Stats().Dropped == 5 })
	c.mu.Lock()
	calls := c.calls
	c.mu.Unlock()
	if calls != 1 {
		t.Errorf("a non-retryable error was retried: %d calls", calls)
	}
	e.Enqueue(req, 7) // retried until MaxRetry, then dropped
	waitFor(t, "the retried request to be given up", func() bool { return e.Stats().Dropped == 12 })
	c.mu.Lock()
	calls = c.calls
	c.mu.Unlock()
	if calls < 3 || !l.has("gave up") {
		t.Errorf("%d calls, log %q", calls, l.lines)
	}
}

func TestExporterPartialSuccess(t *testing.T) {
	c := &testCollector{partial: &collpb.ExportProfilesPartialSuccess{RejectedProfiles: 2, ErrorMessage: "too old"}}
	addr := startCollector(t, c)
	var l logs
	e := newTestExporter(t, addr, &l, Config{})
	runExporter(t, e)
	e.Enqueue(validRequest(t), 3)
	waitFor(t, "the export", func() bool { return e.Stats().Exported == 3 })
	if !l.has("2 profiles rejected: too old") {
		t.Errorf("log %q lacks the partial success", l.lines)
	}
}

func TestExporterFlushAndClose(t *testing.T) {
	c := &testCollector{}
	addr := startCollector(t, c)
	var l logs
	e := newTestExporter(t, addr, &l, Config{})
	req := validRequest(t)
	e.Enqueue(req, 1)
	e.Enqueue(req, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.Flush(ctx) // no Run: Flush sends on its own
	if s := e.Stats(); s.Exported != 3 || s.Queued != 0 {
		t.Errorf("after Flush: %+v", s)
	}
	e.Enqueue(req, 4)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	e.Enqueue(req, 8) // after Close: counted, not kept
	if s := e.Stats(); s.Dropped != 12 || s.Queued != 0 {
		t.Errorf("after Close: %+v, want 12 dropped", s)
	}
}

func TestExporterTLSByDefault(t *testing.T) {
	// A plaintext server: the TLS handshake fails, so nothing is
	// accepted and the failure is retried as Unavailable.
	c := &testCollector{}
	addr := startCollector(t, c)
	var l logs
	e, err := NewExporter(Config{Endpoint: addr, Logf: l.logf, MaxRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	runExporter(t, e)
	e.Enqueue(validRequest(t), 1)
	waitFor(t, "the request to be given up", func() bool { return e.Stats().Dropped == 1 })
	c.mu.Lock()
	calls := c.calls
	c.mu.Unlock()
	if calls != 0 {
		t.Errorf("a TLS client reached a plaintext server")
	}
	if _, err := NewExporter(Config{Endpoint: addr, Insecure: true, CAFile: "/nonexistent"}); err == nil {
		t.Error("a CA file with --otlp-insecure was accepted")
	}
	if _, err := NewExporter(Config{Endpoint: addr, CAFile: "/nonexistent"}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}
