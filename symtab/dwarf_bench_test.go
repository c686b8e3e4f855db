package symtab

import (
	"debug/elf"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Symbolization benchmarks over 100k distinct addresses, in random order,
// of libc (with its debug file from libc6-dbg) and of big binaries with
// DWARF. Cold: a fresh Symbolizer for each pass, so the pass pays for
// opening, indexing and decoding every unit it touches; warm: passes over
// addresses already looked up once. Each reports lookups/s, the time of
// the first lookup (open, index, decode one unit), and memory: the heap
// the Symbolizer keeps after the pass, and the peak heap growth during the
// first lookup and during the pass.
// An op is a pass over all the addresses.

// benchAddrs is the number of distinct addresses looked up.
const benchAddrs = 100_000

// bigDWARFCandidates are binaries with DWARF found on the test box; the
// environment variable PFTOP_BENCH_DWARF (colon-separated paths) adds
// others.
var bigDWARFCandidates = []string{
	"/usr/bin/node",
	"/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0",
	"/usr/local/bin/docker",
}

func BenchmarkSymbolizeLibc(b *testing.B) {
	debugPath := libcDebugFile(b)
	benchSymbolize(b, libcPath, debugPath)
}

func BenchmarkSymbolizeBig(b *testing.B) {
	paths := bigDWARFCandidates
	if env := os.Getenv("PFTOP_BENCH_DWARF"); env != "" {
		paths = append(strings.Split(env, ":"), paths...)
	}
	for _, p := range paths {
		b.Run(filepath.Base(p), func(b *testing.B) {
			if _, err := os.Stat(p); err != nil {
				b.Skipf("%s: %v", p, err)
			}
			benchSymbolize(b, p, p)
		})
	}
}

// benchSymbolize runs the cold and warm benchmarks of path, taking
// addresses from the functions in symPath's .symtab.
func benchSymbolize(b *testing.B, path, symPath string) {
	addrs := benchAddresses(b, symPath)
	opts := Options{Path: path}
	// PFTOP_BENCH_CACHE_MB sets Options.CacheBytes.
	if mb, err := strconv.Atoi(os.Getenv("PFTOP_BENCH_CACHE_MB")); err == nil {
		opts.CacheBytes = int64(mb) << 20
	}
	b.Run("cold", func(b *testing.B) {
		var first time.Duration
		var retained, peak, firstPeak uint64
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			stop := samplePeakHeap()
			start := time.Now()
			s, err := OpenSymbolizer(f, opts)
			if err != nil {
				b.Fatal(err)
			}
			s.Lookup(addrs[0])
			first += time.Since(start)
			if p := stop(); p > before.HeapAlloc {
				firstPeak = max(firstPeak, p-before.HeapAlloc)
			}
			stop = samplePeakHeap()
			for _, a := range addrs[1:] {
				s.Lookup(a)
			}
			if p := stop(); p > before.HeapAlloc {
				peak = max(peak, p-before.HeapAlloc)
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			retained = after.HeapAlloc - before.HeapAlloc
			runtime.KeepAlive(s)
			s.Close()
			f.Close()
		}
		n := float64(b.N)
		b.ReportMetric(float64(len(addrs))*n/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(float64(first.Milliseconds())/n, "first-use-ms")
		b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		b.ReportMetric(float64(firstPeak)/(1<<20), "first-use-peak-MB")
	})
	b.Run("warm", func(b *testing.B) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		s, err := OpenSymbolizer(f, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		found := 0
		for _, a := range addrs {
			if fr := s.Lookup(a); len(fr) > 0 && fr[0].Line > 0 {
				found++
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for _, a := range addrs {
				s.Lookup(a)
			}
		}
		b.ReportMetric(float64(b.N)*float64(len(addrs))/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(float64(found)/float64(len(addrs))*100, "%with-line")
		if l := s.Lines(); l != nil {
			b.ReportMetric(float64(l.Units()), "units")
			b.ReportMetric(float64(l.CachedBytes())/(1<<20), "cache-MB")
			b.ReportMetric(float64(l.MemBytes())/(1<<20), "lines-MB")
		}
	})
}

// benchAddresses returns benchAddrs distinct addresses inside the
// functions of path's .symtab, shuffled.
func benchAddresses(b *testing.B, path string) []uint64 {
	ef, err := elf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	syms, err := ef.Symbols()
	ef.Close()
	if err != nil || len(syms) == 0 {
		b.Skipf("%s: no .symtab to take addresses from: %v", path, err)
	}
	addrs := funcAddrs(b, path, benchAddrs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	return addrs
}

// samplePeakHeap samples the heap every two milliseconds until the
// returned function is called, which returns the largest heap seen. It
// reads runtime/metrics, which does not stop the world.
func samplePeakHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}
