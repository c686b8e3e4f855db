package aggregate

import (
	"testing"
	"time"
)

// ProfileOf keeps only what a query selects: its window and its filters.
func TestProfileOf(t *testing.T) {
	c := &fakeClock{}
	s := NewStoreWithOptions(StoreOptions{Clock: c.now})
	a := Trace{PID: 1, TID: 1, Comm: "a", Frames: []Frame{{Kind: KindNative, FileID: 1, Addr: 0x10}}}
	b := Trace{PID: 2, TID: 2, Comm: "b", Container: "ctr", Frames: []Frame{{Kind: KindNative, FileID: 1, Addr: 0x20}}}
	s.Add(&a) // second 0
	c.advance(10 * time.Second)
	s.Add(&a) // second 10
	s.Add(&b)
	s.Add(&b)

	if got := s.ProfileOf(Query{}).Total(); got != 4 {
		t.Errorf("everything: %d samples, want 4", got)
	}
	recent := s.ProfileOf(Query{From: c.now().Add(-5 * time.Second)})
	if got := recent.Total(); got != 3 {
		t.Errorf("last 5 s: %d samples, want 3", got)
	}
	if got := s.ProfileOf(Query{PIDs: []uint32{1}}).Total(); got != 2 {
		t.Errorf("pid 1: %d samples, want 2", got)
	}
	p := s.ProfileOf(Query{Containers: []string{"ctr"}})
	if p.Total() != 2 || len(p.Samples) != 1 || p.Samples[0].PID != 2 || p.Samples[0].Container != "ctr" {
		t.Errorf("container: %+v", p.Samples)
	}
	if got := s.ProfileOf(Query{Kind: KindKernel}).Total(); got != 0 {
		t.Errorf("kernel stacks: %d samples, want 0", got)
	}
}
