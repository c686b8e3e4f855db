package aggregate

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// benchTraces returns n traces drawn from a pool of distinct stacks of the
// given depth, spread over a few processes and threads, with a sampler-like
// reused frame buffer per trace.
func benchTraces(n, distinct, depth int) []Trace {
	rng := rand.New(rand.NewPCG(7, 7))
	pool := make([][]Frame, distinct)
	for i := range pool {
		st := make([]Frame, depth)
		for j := range st {
			switch {
			case j < 4:
				st[j] = Frame{Kind: KindKernel, Addr: 0xffffffff81000000 + rng.Uint64N(1<<20)}
			default:
				st[j] = Frame{Kind: KindNative, FileID: 1 + rng.Uint64N(8), Addr: rng.Uint64N(1 << 24)}
			}
		}
		pool[i] = st
	}
	ts := make([]Trace, n)
	for i := range ts {
		pid := uint32(1000 + rng.IntN(20))
		ts[i] = Trace{
			PID:    pid,
			TID:    pid + uint32(rng.IntN(4)),
			Comm:   "proc" + strconv.Itoa(int(pid)),
			Time:   int64(i) * int64(time.Millisecond),
			Frames: pool[rng.IntN(distinct)],
		}
	}
	return ts
}

// BenchmarkIngest measures Add on one goroutine with the real clock:
// 20k distinct stacks of depth ~20 (see benchPool), over 200 threads.
// Goal (issue 4): at least 1M samples/s on one core.
func BenchmarkIngest(b *testing.B) {
	pool := newBenchPool()
	rng := rand.New(rand.NewPCG(3, 4))
	stacks := pool.stacks(rng, 20_000)
	ts := make([]Trace, 1<<16)
	for i := range ts {
		pid := uint32(1000 + rng.IntN(50))
		ts[i] = Trace{
			PID: pid, TID: pid + uint32(rng.IntN(4)), Comm: "proc" + strconv.Itoa(int(pid)),
			Container: pool.containers[pid%uint32(len(pool.containers))],
			Frames:    stacks[zipf(rng, len(stacks))],
		}
	}
	s := NewStore()
	for i := range ts { // warm: intern the stacks first
		s.Add(&ts[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s.Add(&ts[i&(len(ts)-1)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkSnapshot(b *testing.B) {
	ts := benchTraces(1<<16, 1000, 30)
	s := NewStore()
	for i := range ts {
		s.Add(&ts[i])
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Snapshot()
	}
}

func BenchmarkWriteFolded(b *testing.B) {
	ts := benchTraces(1<<16, 1000, 30)
	s := NewStore()
	for i := range ts {
		s.Add(&ts[i])
	}
	p := s.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteFolded(io.Discard, p, nil, FoldedOptions{Annotate: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePprof(b *testing.B) {
	ts := benchTraces(1<<16, 1000, 30)
	s := NewStore()
	for i := range ts {
		s.Add(&ts[i])
	}
	p := s.Snapshot()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WritePprof(&buf, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}
