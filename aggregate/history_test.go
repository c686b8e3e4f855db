package aggregate

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// distinctStack returns a stack of depth frames unique to i.
func distinctStack(i, depth int) []Frame {
	fs := make([]Frame, depth)
	for j := range fs {
		fs[j] = Frame{Kind: KindNative, FileID: 7, Addr: uint64(i)<<8 | uint64(j)}
	}
	return fs
}

// checkTables checks the Store's internal invariants: reference counts
// match the entries held, freed slots are free, chains reach every live
// stack.
func checkTables(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	stackRefs := map[stackID]uint32{}
	threadRefs := map[threadID]uint32{}
	s.ring.each(0, s.ring.newest, func(e entry) {
		stackRefs[e.stack]++
		threadRefs[e.thread]++
	})
	live := 0
	for i := range s.stacks.meta {
		m := &s.stacks.meta[i]
		if m.refs != stackRefs[stackID(i)] || m.live != (m.refs > 0) {
			t.Errorf("stack %d: refs %d live %v, %d entries hold it", i, m.refs, m.live, stackRefs[stackID(i)])
		}
		if m.live {
			live++
			if id, ok := s.stacks.lookup(m.hash, s.stacks.appendFrames(nil, stackID(i))); !ok || id != stackID(i) {
				t.Errorf("stack %d not found by its hash", i)
			}
		}
	}
	frameRefs := map[frameID]uint32{}
	for i := range s.stacks.meta {
		if s.stacks.meta[i].live {
			for _, fid := range s.stacks.ids(stackID(i)) {
				frameRefs[fid]++
			}
		}
	}
	ft := &s.stacks.frames
	for i := range ft.frames {
		if got, want := ft.refs[i], frameRefs[frameID(i)]; got != want {
			t.Errorf("frame %d: refs %d, stacks hold it %d times", i, got, want)
		}
	}
	if len(ft.byFrame) != len(frameRefs) || len(ft.byFrame)+len(ft.free) != len(ft.frames) {
		t.Errorf("%d frames interned, %d held by stacks, %d free of %d", len(ft.byFrame), len(frameRefs), len(ft.free), len(ft.frames))
	}
	if live != s.stacks.live || live+len(s.stacks.free) != len(s.stacks.meta) {
		t.Errorf("%d live stacks, table says %d, %d free of %d", live, s.stacks.live, len(s.stacks.free), len(s.stacks.meta))
	}
	for i := range s.threads.meta {
		if got, want := s.threads.meta[i].refs, threadRefs[threadID(i)]; got != want {
			t.Errorf("thread %d: refs %d, %d entries hold it", i, got, want)
		}
	}
	if len(s.threads.byKey)+len(s.threads.free) != len(s.threads.meta) {
		t.Errorf("%d threads + %d free != %d slots", len(s.threads.byKey), len(s.threads.free), len(s.threads.meta))
	}
}

func TestExpiryFreesStacksAndBoundsMemory(t *testing.T) {
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 5 * time.Second})
	const perSecond = 500
	var peak int64
	next := 0
	for sec := range 120 {
		for j := range perSecond {
			// Half the stacks are new every second, the others repeat.
			i := next
			if j%2 == 1 {
				i = j
			} else {
				next++
			}
			s.Add(&Trace{PID: uint32(sec), TID: uint32(sec), Comm: "c", Frames: distinctStack(i, 20)})
		}
		clock.advance(time.Second)
		if n := s.Stacks(); n > 5*perSecond {
			t.Fatalf("second %d: %d stacks held with 5 s of history", sec, n)
		}
		mem := s.MemoryBytes()
		if sec == 30 {
			peak = mem
		}
		if sec > 30 && mem > 2*peak {
			t.Fatalf("second %d: memory grew from %d to %d bytes", sec, peak, mem)
		}
	}
	checkTables(t, s)
	s.mu.Lock()
	arena := len(s.stacks.arena)
	s.mu.Unlock()
	if max := 3 * 5 * perSecond * 20; arena > max {
		t.Errorf("arena holds %d frames, want at most %d", arena, max)
	}
	t.Logf("steady state: %d stacks, %d bytes", s.Stacks(), s.MemoryBytes())

	clock.advance(time.Hour)
	if n, l := s.Stacks(), s.Len(); n != 0 || l != 0 {
		t.Errorf("after an hour: %d stacks, %d entries", n, l)
	}
	checkTables(t, s)
	if p := s.Snapshot(); len(p.Samples) != 0 {
		t.Errorf("after an hour: %d samples", len(p.Samples))
	}
}

func TestMaxStacks(t *testing.T) {
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 2 * time.Second, MaxStacks: 3})
	for i := range 5 {
		s.Add(&Trace{PID: 1, Frames: distinctStack(i, 3)})
	}
	s.Add(&Trace{PID: 2, Frames: distinctStack(0, 3)}) // known stack: counted
	if s.Stacks() != 3 || s.Dropped() != 2 || s.Samples() != 6 {
		t.Errorf("Stacks, Dropped, Samples = %d, %d, %d; want 3, 2, 6", s.Stacks(), s.Dropped(), s.Samples())
	}
	if got := s.Top(Query{}, nil).Samples; got != 4 {
		t.Errorf("Top counts %d samples, want 4", got)
	}
	// Once the old stacks leave the history, new ones fit again.
	clock.advance(3 * time.Second)
	s.Add(&Trace{PID: 1, Frames: distinctStack(9, 3)})
	if s.Stacks() != 1 || s.Dropped() != 2 {
		t.Errorf("after expiry: Stacks, Dropped = %d, %d; want 1, 2", s.Stacks(), s.Dropped())
	}
	checkTables(t, s)
}

func TestSnapshotHistory(t *testing.T) {
	clock := &fakeClock{}
	start := clock.now()
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 10 * time.Second})
	s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Container: "ctr", Frames: []Frame{fMain}})
	clock.advance(3 * time.Second)
	s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Container: "ctr", Frames: []Frame{fMain}})
	s.Add(&Trace{PID: 1, TID: 1, Comm: "a", Frames: []Frame{fMain}})
	p := s.Snapshot()
	want := []ProfileSample{
		{PID: 1, TID: 1, Comm: "a", Frames: []Frame{fMain}, Count: 1},
		{PID: 1, TID: 1, Comm: "a", Container: "ctr", Frames: []Frame{fMain}, Count: 2},
	}
	if !reflect.DeepEqual(p.Samples, want) || !p.Start.Equal(start) || p.Duration != 3*time.Second {
		t.Errorf("Snapshot = %+v, Start %v, Duration %v", p.Samples, p.Start, p.Duration)
	}
	if s.Len() != 2 {
		t.Errorf("Len() = %d, want 2", s.Len())
	}
	// 10.5 s: the first second has left; Start moves with it.
	clock.advance(7500 * time.Millisecond)
	p = s.Snapshot()
	want[1].Count = 1
	if !reflect.DeepEqual(p.Samples, want) || !p.Start.Equal(start.Add(time.Second)) || p.Duration != 9500*time.Millisecond {
		t.Errorf("Snapshot = %+v, Start %v, Duration %v", p.Samples, p.Start, p.Duration)
	}
}

func TestClockGoingBack(t *testing.T) {
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 5 * time.Second})
	clock.advance(3 * time.Second)
	s.Add(&Trace{PID: 1, Frames: []Frame{fMain}})
	clock.advance(-10 * time.Second) // before the Store's start
	s.Add(&Trace{PID: 1, Frames: []Frame{fMain}})
	if res := s.Top(Query{}, nil); res.Samples != 2 {
		t.Errorf("Samples = %d, want 2 (counted in the newest bucket)", res.Samples)
	}
	clock.advance(7 * time.Second) // 0 s
	s.Add(&Trace{PID: 1, Frames: []Frame{fStart}})
	clock.advance(5 * time.Second) // 5 s: second 3 is still held
	if res := s.Top(Query{}, nil); res.Samples != 3 {
		t.Errorf("Samples = %d, want 3", res.Samples)
	}
	checkTables(t, s)
}

func TestOneSecondHistory(t *testing.T) {
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: time.Millisecond})
	s.Add(&Trace{Frames: []Frame{fMain}})
	s.Add(&Trace{Frames: []Frame{fMain}})
	if got := s.Top(Query{}, nil).Samples; got != 2 {
		t.Errorf("Samples = %d, want 2", got)
	}
	clock.advance(time.Second)
	if got := s.Top(Query{}, nil).Samples; got != 0 {
		t.Errorf("a second later: Samples = %d, want 0", got)
	}
	checkTables(t, s)
}

func TestStackTableCompaction(t *testing.T) {
	tab := newStackTable()
	const n = 4000
	seed := newHashSeed()
	ids := make([]stackID, n)
	for i := range n {
		fs := distinctStack(i, 10)
		ids[i] = tab.insert(hashFrames(seed, fs), fs)
		tab.meta[ids[i]].refs = 1
	}
	for i := range n {
		if i%4 != 0 {
			tab.release(ids[i])
		}
	}
	if len(tab.arena) >= n*10 {
		t.Errorf("arena not compacted: %d frames for %d live stacks", len(tab.arena), tab.live)
	}
	for i := 0; i < n; i += 4 {
		fs := distinctStack(i, 10)
		if id, ok := tab.lookup(hashFrames(seed, fs), fs); !ok || id != ids[i] {
			t.Fatalf("stack %d lost after compaction", i)
		}
	}
	if tab.live != n/4 || len(tab.byHash) != n/4 {
		t.Errorf("live %d, byHash %d; want %d", tab.live, len(tab.byHash), n/4)
	}
}

func TestStackTableRemoveFromChain(t *testing.T) {
	// Stacks sharing a hash leave the chain in any order.
	tab := newStackTable()
	stacks := [][]Frame{{fMain}, {fStart}, {fErr}, {fMain, fStart}}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}} {
		ids := make([]stackID, len(stacks))
		for i, st := range stacks {
			ids[i] = tab.intern(42, st)
			tab.meta[ids[i]].refs = 1
		}
		for k, i := range order {
			tab.release(ids[i])
			for _, j := range order[k+1:] {
				if id, ok := tab.lookup(42, stacks[j]); !ok || id != ids[j] {
					t.Fatalf("order %v: stack %d lost after removing %d", order, j, i)
				}
			}
			if _, ok := tab.lookup(42, stacks[i]); ok {
				t.Fatalf("order %v: removed stack %d still found", order, i)
			}
		}
		if len(tab.byHash) != 0 || tab.live != 0 {
			t.Fatalf("order %v: %d chains, %d live left", order, len(tab.byHash), tab.live)
		}
	}
}

func TestStoreConcurrentQueries(t *testing.T) {
	clock := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: clock.now, History: 3 * time.Second, MaxStacks: 500})
	sym := newCountingSymbolizer(querySymbolizer())
	var wg sync.WaitGroup
	done := make(chan struct{})
	queries := []func(){
		func() { s.Top(Query{}, sym) },
		func() { s.Tree(Query{PIDs: []uint32{1, 2}}, sym, false) },
		func() { s.Tree(Query{Kind: KindKernel}, sym, true) },
		func() { s.CallersCallees(Query{}, sym, "main", "app") },
		func() { s.Processes(Query{}) },
		func() { s.Containers(Query{}) },
		func() { s.Snapshot(); s.MemoryBytes(); s.Len() },
		func() { s.Top(Query{}, querySymbolizer()) }, // uncached, resets the epoch
	}
	for _, q := range queries {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				q()
			}
		})
	}
	for i := range 20000 {
		if i%500 == 0 {
			clock.advance(time.Second)
		}
		frames := distinctStack(i%800, 1+i%7)
		frames = append(frames, fMain, fStart)
		if i%3 == 0 {
			frames = append([]Frame{fSyscall}, frames...)
		}
		s.Add(&Trace{PID: uint32(i % 5), TID: uint32(i % 11), Comm: fmt.Sprint("c", i%3), Container: fmt.Sprint(i % 2), Frames: frames})
	}
	close(done)
	wg.Wait()
	checkTables(t, s)
	if s.Samples() != 20000 {
		t.Errorf("Samples() = %d", s.Samples())
	}
	res := s.Top(Query{}, sym)
	if res.Samples+s.Dropped() > 20000 || res.Samples == 0 {
		t.Errorf("Top counts %d samples, %d dropped", res.Samples, s.Dropped())
	}
	var self int64
	for _, r := range res.Rows {
		self += r.Self
	}
	if self != res.Samples {
		t.Errorf("Self sums to %d, want %d", self, res.Samples)
	}
}
