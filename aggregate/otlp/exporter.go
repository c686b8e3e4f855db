package otlp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Defaults of Config.
const (
	DefaultQueueSize  = 6
	DefaultTimeout    = 10 * time.Second
	DefaultMaxBackoff = 5 * time.Second
	DefaultMaxRetry   = time.Minute
	initialBackoff    = 250 * time.Millisecond
)

// Config configures an Exporter.
type Config struct {
	Endpoint string // HOST:PORT of the Collector's OTLP/gRPC receiver
	Insecure bool   // plaintext; TLS otherwise
	CAFile   string // PEM roots for TLS instead of the system's
	Headers  map[string]string
	// QueueSize bounds the requests waiting to be sent (0: default).
	// When it is full the oldest waiting request is dropped.
	QueueSize int
	// Timeout bounds one Export call (0: default).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries (0: default); MaxRetry
	// bounds how long one request is retried before it is dropped.
	MaxBackoff, MaxRetry time.Duration
	// Logf reports failures, recoveries and partial successes; nil
	// discards them.
	Logf func(format string, args ...any)
}

// Stats are an Exporter's counters, in samples (timestamps).
type Stats struct {
	Exported int64 // accepted by the Collector
	Dropped  int64 // given up: queue full, retries exhausted, rejected
	Queued   int   // requests waiting now
}

// Exporter sends requests to a Collector from a bounded queue. Enqueue
// never blocks; Run sends until its context ends.
type Exporter struct {
	cfg    Config
	conn   *grpc.ClientConn
	client collpb.ProfilesServiceClient
	md     metadata.MD

	mu      sync.Mutex
	queue   []queued
	wake    chan struct{} // signalled by Enqueue
	closed  bool
	failing bool // the last attempt failed: log recovery once

	exported, dropped atomic.Int64
}

type queued struct {
	req     *collpb.ExportProfilesServiceRequest
	samples int64
}

// NewExporter checks cfg and prepares the connection; it does not wait
// for the Collector, which may come up later.
func NewExporter(cfg Config) (*Exporter, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("otlp: no endpoint")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = DefaultMaxRetry
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	creds, err := transportCredentials(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(cfg.Endpoint,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)),
		grpc.WithUserAgent("pftop"),
		// gRPC's default reconnect backoff grows to two minutes; a
		// Collector back after a restart should see data within seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.MaxBackoff},
			MinConnectTimeout: 5 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("otlp: endpoint %s: %w", cfg.Endpoint, err)
	}
	return &Exporter{
		cfg:    cfg,
		conn:   conn,
		client: collpb.NewProfilesServiceClient(conn),
		md:     metadata.New(cfg.Headers),
		wake:   make(chan struct{}, 1),
	}, nil
}

func transportCredentials(cfg Config) (credentials.TransportCredentials, error) {
	if cfg.Insecure {
		if cfg.CAFile != "" {
			return nil, errors.New("otlp: a CA file needs TLS; drop --otlp-insecure")
		}
		return insecure.NewCredentials(), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("otlp: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("otlp: CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return credentials.NewTLS(tc), nil
}

// Enqueue adds a request holding samples samples (timestamps) for Run to
// send. When the queue is full the oldest waiting request is dropped and
// counted: fresh data is worth more than old after an outage.
func (e *Exporter) Enqueue(req *collpb.ExportProfilesServiceRequest, samples int64) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.dropped.Add(samples)
		return
	}
	if len(e.queue) >= e.cfg.QueueSize {
		old := e.queue[0]
		e.queue = append(e.queue[:0], e.queue[1:]...)
		e.dropped.Add(old.samples)
		e.cfg.Logf("otlp: queue full, dropped %d samples (%d dropped so far)", old.samples, e.dropped.Load())
	}
	e.queue = append(e.queue, queued{req: req, samples: samples})
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// AddDropped counts samples lost before they reached the queue.
func (e *Exporter) AddDropped(n int64) { e.dropped.Add(n) }

// Stats returns the counters.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	n := len(e.queue)
	e.mu.Unlock()
	return Stats{Exported: e.exported.Load(), Dropped: e.dropped.Load(), Queued: n}
}

// Run sends queued requests until ctx ends. Requests still queued then
// stay queued (see Flush).
func (e *Exporter) Run(ctx context.Context) {
	for {
		q, ok := e.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
				continue
			}
		}
		if !e.send(ctx, q) && ctx.Err() != nil {
			e.requeue(q)
			return
		}
	}
}

// Flush sends what is queued, without retrying past ctx.
func (e *Exporter) Flush(ctx context.Context) {
	for ctx.Err() == nil {
		q, ok := e.pop()
		if !ok {
			return
		}
		if !e.send(ctx, q) && ctx.Err() != nil {
			e.requeue(q)
		}
	}
}

func (e *Exporter) pop() (queued, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.queue) == 0 {
		return queued{}, false
	}
	q := e.queue[0]
	e.queue = append(e.queue[:0], e.queue[1:]...)
	return q, true
}

// requeue puts back a request whose sending was interrupted, unless the
// queue filled meanwhile.
func (e *Exporter) requeue(q queued) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.queue) >= e.cfg.QueueSize {
		e.dropped.Add(q.samples)
		return
	}
	e.queue = append([]queued{q}, e.queue...)
}

// send exports q, retrying retryable failures with exponential backoff
// and jitter for up to MaxRetry. It reports whether q was delivered or
// given up for good (false: ctx ended first).
func (e *Exporter) send(ctx context.Context, q queued) bool {
	deadline := time.Now().Add(e.cfg.MaxRetry)
	backoff := initialBackoff
	for attempt := 1; ; attempt++ {
		err := e.export(ctx, q)
		if err == nil {
			e.exported.Add(q.samples)
			e.setFailing(false, nil)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		e.setFailing(true, err)
		if !retryable(err) {
			e.dropped.Add(q.samples)
			e.cfg.Logf("otlp: export rejected, dropped %d samples: %v", q.samples, err)
			return true
		}
		wait := jitter(backoff)
		if time.Now().Add(wait).After(deadline) {
			e.dropped.Add(q.samples)
			e.cfg.Logf("otlp: gave up after %d attempts, dropped %d samples: %v", attempt, q.samples, err)
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, e.cfg.MaxBackoff)
	}
}

func (e *Exporter) export(ctx context.Context, q queued) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if len(e.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, e.md)
	}
	resp, err := e.client.Export(ctx, q.req)
	if err != nil {
		return err
	}
	if ps := resp.GetPartialSuccess(); ps != nil && (ps.GetRejectedProfiles() > 0 || ps.GetErrorMessage() != "") {
		e.cfg.Logf("otlp: partial success: %d profiles rejected: %s", ps.GetRejectedProfiles(), ps.GetErrorMessage())
	}
	return nil
}

// setFailing logs the first failure of a run of them and the recovery.
func (e *Exporter) setFailing(failing bool, err error) {
	e.mu.Lock()
	was := e.failing
	e.failing = failing
	e.mu.Unlock()
	switch {
	case failing && !was:
		e.cfg.Logf("otlp: export to %s failing, retrying: %v", e.cfg.Endpoint, err)
	case !failing && was:
		e.cfg.Logf("otlp: export to %s recovered", e.cfg.Endpoint)
	}
}

// retryable reports whether an Export error may pass on its own, as the
// OTLP specification lists the gRPC codes.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange,
		codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		return true
	}
	return false
}

// jitter spreads d over [d/2, d) so that many agents restarted together
// do not retry in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// Close drops what is still queued (counted) and closes the connection.
// It is safe to call twice.
func (e *Exporter) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	for _, q := range e.queue {
		e.dropped.Add(q.samples)
	}
	e.queue = nil
	e.mu.Unlock()
	return e.conn.Close()
}
