package aggregate

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestStoreCountsAndInterns(t *testing.T) {
	s := NewStore()
	stack := []Frame{fCompute, fMain, fStart}
	s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Frames: stack})
	s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Frames: stack})
	s.Add(&Trace{PID: 1, TID: 2, Comm: "a", Frames: stack}) // other thread
	s.Add(&Trace{PID: 2, TID: 2, Comm: "a", Frames: stack}) // other process
	s.Add(&Trace{PID: 2, TID: 2, Comm: "b", Frames: stack}) // renamed (exec)
	s.Add(&Trace{PID: 2, TID: 2, Comm: "b", Frames: stack[1:]})
	s.Add(&Trace{PID: 2, TID: 2, Comm: "b", Frames: nil})

	if got := s.Stacks(); got != 3 {
		t.Errorf("Stacks() = %d, want 3", got)
	}
	if got := s.Len(); got != 6 {
		t.Errorf("Len() = %d, want 6", got)
	}
	if got := s.Samples(); got != 7 {
		t.Errorf("Samples() = %d, want 7", got)
	}
	p := s.Snapshot()
	want := []ProfileSample{
		{PID: 1, TID: 1, Comm: "a", Frames: stack, Count: 2},
		{PID: 1, TID: 2, Comm: "a", Frames: stack, Count: 1},
		{PID: 2, TID: 2, Comm: "a", Frames: stack, Count: 1},
		{PID: 2, TID: 2, Comm: "b", Frames: []Frame{}, Count: 1},
		{PID: 2, TID: 2, Comm: "b", Frames: stack, Count: 1},
		{PID: 2, TID: 2, Comm: "b", Frames: stack[1:], Count: 1},
	}
	if !reflect.DeepEqual(p.Samples, want) {
		t.Errorf("Snapshot().Samples =\n%+v\nwant\n%+v", p.Samples, want)
	}
	if p.Total() != 7 {
		t.Errorf("Total() = %d, want 7", p.Total())
	}
	if p.Period != DefaultPeriod {
		t.Errorf("Period = %v, want %v", p.Period, DefaultPeriod)
	}
}

func TestStoreAddDoesNotRetainFrames(t *testing.T) {
	s := NewStore()
	buf := []Frame{fCompute, fMain, fStart}
	tr := Trace{PID: 1, TID: 1, Comm: "a", Frames: buf}
	s.Add(&tr)
	// A sampler reuses its buffer for the next trace.
	buf[0], buf[1], buf[2] = fSyscall, fEntry, fErr
	s.Add(&tr)

	p := s.Snapshot()
	want := []ProfileSample{
		{PID: 1, TID: 1, Comm: "a", Frames: []Frame{fSyscall, fEntry, fErr}, Count: 1},
		{PID: 1, TID: 1, Comm: "a", Frames: []Frame{fCompute, fMain, fStart}, Count: 1},
	}
	slices.SortFunc(want, compareSamples)
	if !reflect.DeepEqual(p.Samples, want) {
		t.Errorf("Snapshot().Samples =\n%+v\nwant\n%+v", p.Samples, want)
	}
	if s.Stacks() != 2 {
		t.Errorf("Stacks() = %d, want 2", s.Stacks())
	}
}

func TestSnapshotIsDeepCopy(t *testing.T) {
	s := NewStore()
	ts := testTraces()
	for i := range ts {
		s.Add(&ts[i])
	}
	p1 := s.Snapshot()
	want := clone(p1)
	for i := range p1.Samples {
		for j := range p1.Samples[i].Frames {
			p1.Samples[i].Frames[j] = Frame{}
		}
		p1.Samples[i].Count = -1
	}
	p2 := s.Snapshot()
	if !reflect.DeepEqual(p2.Samples, want.Samples) {
		t.Error("modifying a Profile changed the Store")
	}
	s.Add(&ts[0])
	if reflect.DeepEqual(p2.Samples, s.Snapshot().Samples) {
		t.Error("Add after Snapshot did not change the next Snapshot")
	}
	if !reflect.DeepEqual(p2.Samples, want.Samples) {
		t.Error("Add changed an earlier Snapshot")
	}
}

func clone(p *Profile) *Profile {
	c := *p
	c.Samples = slices.Clone(p.Samples)
	for i := range c.Samples {
		c.Samples[i].Frames = slices.Clone(c.Samples[i].Frames)
	}
	return &c
}

func TestSnapshotDeterministic(t *testing.T) {
	ts := testTraces()
	var first *Profile
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		s := NewStoreWithOptions(StoreOptions{Clock: fixedClock(time.Second)})
		for i := range ts {
			s.Add(&ts[i])
		}
		p := s.Snapshot()
		if first == nil {
			first = p
			continue
		}
		if !reflect.DeepEqual(p, first) {
			t.Fatalf("Snapshot depends on insertion order:\n%+v\nvs\n%+v", p, first)
		}
	}
	if !slices.IsSortedFunc(first.Samples, compareSamples) {
		t.Error("samples not sorted")
	}
}

func TestSnapshotTimes(t *testing.T) {
	s := NewStoreWithOptions(StoreOptions{Period: time.Millisecond, Clock: fixedClock(3 * time.Second)})
	p := s.Snapshot()
	if want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC); !p.Start.Equal(want) {
		t.Errorf("Start = %v, want %v", p.Start, want)
	}
	if p.Duration != 3*time.Second {
		t.Errorf("Duration = %v, want 3s", p.Duration)
	}
	if p.Period != time.Millisecond {
		t.Errorf("Period = %v, want 1ms", p.Period)
	}
	if len(p.Samples) != 0 || p.Total() != 0 {
		t.Errorf("empty store gave %d samples", len(p.Samples))
	}
}

func TestStackTableCollisions(t *testing.T) {
	// Every stack gets the same hash: interning must still tell them apart.
	tab := newStackTable()
	stacks := [][]Frame{{fMain}, {fMain, fStart}, {fStart}, {}, {fErr}}
	ids := make([]stackID, len(stacks))
	for i, st := range stacks {
		ids[i] = tab.intern(42, st)
	}
	for i, st := range stacks {
		if got := tab.intern(42, st); got != ids[i] {
			t.Errorf("intern(%v) = %d, first gave %d", st, got, ids[i])
		}
		if got := tab.appendFrames(nil, ids[i]); !slices.Equal(got, st) {
			t.Errorf("frames(%d) = %v, want %v", ids[i], got, st)
		}
	}
	if tab.len() != len(stacks) {
		t.Errorf("len() = %d, want %d", tab.len(), len(stacks))
	}
}

func TestHashFrames(t *testing.T) {
	seed := newHashSeed()
	a := []Frame{fMain, fStart}
	if hashFrames(seed, a) != hashFrames(seed, slices.Clone(a)) {
		t.Error("equal stacks hash differently")
	}
	for _, b := range [][]Frame{
		{fStart, fMain},
		{fMain},
		{fMain, fStart, fStart},
		{{Kind: KindKernel, FileID: fMain.FileID, Addr: fMain.Addr}, fStart},
	} {
		if hashFrames(seed, a) == hashFrames(seed, b) {
			t.Errorf("%v and %v collide", a, b)
		}
	}
}

func TestStoreConcurrentSnapshot(t *testing.T) {
	s := NewStore()
	ts := testTraces()
	const rounds = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				p := s.Snapshot()
				for i := range p.Samples {
					_ = len(p.Samples[i].Frames)
				}
			}
		})
	}
	for range rounds {
		for i := range ts {
			s.Add(&ts[i])
		}
	}
	close(done)
	wg.Wait()
	if got, want := s.Snapshot().Total(), int64(rounds*len(ts)); got != want {
		t.Errorf("Total() = %d, want %d", got, want)
	}
}
