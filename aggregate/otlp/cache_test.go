package otlp

import (
	"fmt"
	"testing"

	"github.com/pftop/pftop/aggregate"
)

type countingResolver struct {
	fakeResolver
	frames, exes int
}

func (c *countingResolver) Symbolize(f aggregate.Frame) []aggregate.Location {
	c.frames++
	return c.fakeResolver.Symbolize(f)
}

func (c *countingResolver) Executable(id uint64) Executable {
	c.exes++
	return c.fakeResolver.Executable(id)
}

func TestCachedResolver(t *testing.T) {
	under := &countingResolver{}
	r := Cached(under, 3)
	for range 2 {
		for a := uint64(1); a <= 3; a++ {
			if got := r.Symbolize(native(1, a)); got[len(got)-1].Function != fmt.Sprintf("fn%x", a) {
				t.Fatalf("frame %d named %v", a, got)
			}
		}
		r.Executable(1)
	}
	if under.frames != 3 || under.exes != 1 {
		t.Errorf("asked %d times for frames and %d for executables, want 3 and 1", under.frames, under.exes)
	}
	r.Symbolize(native(1, 4)) // over the bound: everything is forgotten
	r.Symbolize(native(1, 1))
	if under.frames != 5 {
		t.Errorf("asked %d times after the overflow, want 5", under.frames)
	}
}
