package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/aggregate/otlp"
	"github.com/pftop/pftop/symtab"
)

// OTLPFlags are the flags of forwarding to an OpenTelemetry Collector.
type OTLPFlags struct {
	OTLPEndpoint string        `name:"otlp-endpoint" placeholder:"HOST:PORT" help:"Forward profiles to this OpenTelemetry Collector (OTLP/gRPC, TLS unless --otlp-insecure)."`
	OTLPInsecure bool          `name:"otlp-insecure" help:"Talk plaintext to the Collector."`
	OTLPCA       string        `name:"otlp-ca" placeholder:"FILE" help:"PEM file of the CA the Collector's certificate is checked against (default: the system's)."`
	OTLPHeader   []string      `name:"otlp-header" sep:"none" placeholder:"K=V" help:"Header sent with every export (repeatable). PFTOP_OTLP_HEADERS=\"k=v,k2=v2\" does the same without putting tokens in argv."`
	OTLPInterval time.Duration `name:"otlp-interval" default:"10s" help:"Export every INTERVAL."`
	OTLPQueue    int           `name:"otlp-queue" default:"6" help:"Exports kept while the Collector cannot be reached; the oldest is dropped past this."`
}

// otlpDrain is how long top and record try to deliver their last
// samples when they end.
const otlpDrain = 5 * time.Second

// otlpHeadersEnv holds headers as OTEL_EXPORTER_OTLP_HEADERS does:
// comma-separated key=value pairs, values percent-encoded.
const otlpHeadersEnv = "PFTOP_OTLP_HEADERS"

// headers merges PFTOP_OTLP_HEADERS and --otlp-header (which wins).
func (f OTLPFlags) headers() (map[string]string, error) {
	h := map[string]string{}
	if env := os.Getenv(otlpHeadersEnv); env != "" {
		for _, kv := range strings.Split(env, ",") {
			if strings.TrimSpace(kv) == "" {
				continue
			}
			k, v, err := splitHeader(kv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", otlpHeadersEnv, err)
			}
			if v, err = url.PathUnescape(v); err != nil {
				return nil, fmt.Errorf("%s: header %s: %w", otlpHeadersEnv, k, err)
			}
			h[k] = v
		}
	}
	for _, kv := range f.OTLPHeader {
		k, v, err := splitHeader(kv)
		if err != nil {
			return nil, fmt.Errorf("--otlp-header: %w", err)
		}
		h[k] = v
	}
	return h, nil
}

func splitHeader(kv string) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.ToLower(strings.TrimSpace(k)) // gRPC metadata keys are lower case
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q: want KEY=VALUE", kv)
	}
	return k, strings.TrimSpace(v), nil
}

// forwarder sends the samples of a running profiler to a Collector: it
// collects traces in a Batch as they arrive, and every interval encodes,
// validates and queues them for the Exporter.
type forwarder struct {
	interval time.Duration
	logf     func(string, ...any)
	batch    *otlp.Batch
	exp      *otlp.Exporter
	opts     otlp.EncodeOptions
	res      otlp.Resolver

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // serializes flushes
}

// newForwarder returns nil when no endpoint is set. log receives the
// exporter's messages (nil: discarded, as under the live view, whose
// header shows the counts instead).
func newForwarder(f OTLPFlags, frequency int, log io.Writer) (*forwarder, error) {
	if f.OTLPEndpoint == "" {
		if f.OTLPInsecure || f.OTLPCA != "" || len(f.OTLPHeader) > 0 {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--otlp-insecure, --otlp-ca and --otlp-header need --otlp-endpoint")}
		}
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(f.OTLPEndpoint); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("--otlp-endpoint %q: want HOST:PORT", f.OTLPEndpoint)}
	}
	if f.OTLPInterval < 100*time.Millisecond {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("--otlp-interval %s: must be at least 100ms", f.OTLPInterval)}
	}
	headers, err := f.headers()
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	logf := func(string, ...any) {}
	if log != nil {
		var mu sync.Mutex
		logf = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(log, "pftop: "+format+"\n", args...)
		}
	}
	exp, err := otlp.NewExporter(otlp.Config{
		Endpoint: f.OTLPEndpoint, Insecure: f.OTLPInsecure, CAFile: f.OTLPCA, Headers: headers,
		QueueSize: f.OTLPQueue, Logf: logf,
		// A request is worth retrying while newer ones have not
		// pushed it out of the queue anyway.
		MaxRetry: max(time.Duration(max(f.OTLPQueue, 1))*f.OTLPInterval, 10*time.Second),
	})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	host, _ := os.Hostname()
	period := time.Second / time.Duration(max(frequency, 1))
	// At most one interval of a box sampled on every CPU, twice over.
	limit := max(otlp.DefaultBatchLimit, 2*frequency*runtime.NumCPU()*int(f.OTLPInterval/time.Second+1))
	return &forwarder{
		interval: f.OTLPInterval,
		logf:     logf,
		batch:    otlp.NewBatch(otlp.BatchOptions{Limit: limit, Describe: describeProcess}),
		exp:      exp,
		opts:     otlp.EncodeOptions{HostName: host, Period: period, ScopeVersion: version},
	}, nil
}

// onTrace is the profiler's hook; nil when not forwarding.
func (fw *forwarder) onTrace() func(*aggregate.Trace) {
	if fw == nil {
		return nil
	}
	return fw.batch.Add
}

// start begins exporting; sym names the frames before they are sent.
func (fw *forwarder) start(ctx context.Context, p *profiler, sym *frameSymbolizer) {
	if fw == nil {
		return
	}
	fw.res = otlp.Cached(otlpResolver{sym: sym}, 0)
	ctx, fw.cancel = context.WithCancel(ctx)
	fw.wg.Add(2)
	go func() {
		defer fw.wg.Done()
		fw.exp.Run(ctx)
	}()
	go func() {
		defer fw.wg.Done()
		t := time.NewTicker(fw.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fw.flush()
			}
		}
	}()
}

// flush encodes what the batch holds and queues it.
func (fw *forwarder) flush() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	w := fw.batch.Take()
	fw.exp.AddDropped(w.Dropped)
	if w.Events == 0 {
		return
	}
	req := otlp.Encode(w, fw.res, fw.opts)
	if err := otlp.Validate(req); err != nil {
		// A bug in the encoder; the Collector must not see it.
		fw.exp.AddDropped(int64(w.Events))
		fw.logf("otlp: not sent: %v", err)
		return
	}
	fw.exp.Enqueue(req, int64(w.Events))
}

// stop sends what was collected since the last export, gives the queue
// up to drain to be delivered, then closes the connection.
func (fw *forwarder) stop(drain time.Duration) {
	if fw == nil {
		return
	}
	if fw.cancel != nil {
		fw.cancel()
	}
	fw.wg.Wait()
	if fw.res != nil { // started
		fw.flush()
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		fw.exp.Flush(ctx)
		cancel()
	}
	fw.exp.Close()
}

// counts returns the samples exported and dropped so far (0, 0 when not
// forwarding).
func (fw *forwarder) counts() (exported, dropped int64) {
	if fw == nil {
		return 0, 0
	}
	s := fw.exp.Stats()
	return s.Exported, s.Dropped
}

// printStats adds the forwarding counters to --stats.
func (fw *forwarder) printStats() {
	if fw == nil {
		return
	}
	s := fw.exp.Stats()
	fmt.Fprintf(os.Stderr, "otlp: exported=%d dropped=%d queued_requests=%d\n", s.Exported, s.Dropped, s.Queued)
}

// loadSymbolizer returns the symbolizer of p's frames, warning when the
// kernel's symbols are hidden and kernel frames are wanted.
func loadSymbolizer(p *profiler) *frameSymbolizer {
	ksyms, err := symtab.LoadKallsyms()
	if err != nil && !p.cfg.NoKernel {
		fmt.Fprintf(os.Stderr, "pftop: warning: kernel symbols: %v\n", err)
	}
	return newFrameSymbolizer(p.mgr, p.interp, ksyms, p.cfg.DebugDir)
}

// otlpResolver tells the encoder about executables through the
// symbolizer's open files.
type otlpResolver struct {
	sym *frameSymbolizer
}

func (r otlpResolver) Symbolize(f aggregate.Frame) []aggregate.Location { return r.sym.Symbolize(f) }

func (r otlpResolver) Executable(id uint64) otlp.Executable {
	var e otlp.Executable
	if f, ok := r.sym.mgr.Lookup(id); ok {
		e.Path = strings.TrimSuffix(f.Path, " (deleted)")
		e.HTLHash = f.ID.String()
	}
	r.sym.mu.Lock()
	defer r.sym.mu.Unlock()
	sf := r.sym.fileLocked(id)
	e.Go = sf.goTab != nil
	if sf.syms != nil {
		e.GNUBuildID = sf.syms.BuildID()
	}
	return e
}

// describeProcess names a process for its OTLP resource. It runs once
// per process and export interval, on the trace reader: two small reads.
func describeProcess(pid uint32) otlp.Process {
	var p otlp.Process
	dir := fmt.Sprintf("/proc/%d", pid)
	if exe, err := os.Readlink(dir + "/exe"); err == nil {
		p.ExecutablePath = strings.TrimSuffix(exe, " (deleted)")
		p.ExecutableName = filepath.Base(p.ExecutablePath)
	}
	p.ServiceName = environValue(dir+"/environ", "OTEL_SERVICE_NAME")
	return p
}

// environMax bounds what is read of a process's environment.
const environMax = 64 << 10

// environValue returns the value of name in a /proc/PID/environ file,
// "" when it is not set or cannot be read.
func environValue(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, environMax))
	if err != nil {
		return ""
	}
	prefix := []byte(name + "=")
	for kv := range bytes.SplitSeq(buf, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, prefix); ok {
			return string(v)
		}
	}
	return ""
}
