package main

import (
	"fmt"
	"testing"

	"github.com/pftop/pftop/aggregate"
	"github.com/pftop/pftop/unwinder"
)

func TestPythonFile(t *testing.T) {
	for _, c := range []struct {
		paths []string
		want  string
	}{
		{[]string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"}, "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"},
		{[]string{"/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libc.so.6"}, "/usr/bin/python3.11"},
		{[]string{"/usr/bin/bash", "/usr/lib/x86_64-linux-gnu/libc.so.6"}, ""},
		{[]string{"/opt/mypython-tools/bin/tool"}, ""}, // a directory named python is not an interpreter
	} {
		var maps []unwinder.Mapping
		for _, p := range c.paths {
			maps = append(maps, unwinder.Mapping{Path: p})
		}
		if got := pythonFile(maps); got != c.want {
			t.Errorf("pythonFile(%v) = %q, want %q", c.paths, got, c.want)
		}
	}
}

func TestInternPythonNames(t *testing.T) {
	in := newInterpreters(nil)
	a := aggregate.Location{Function: "py_chain_c", Module: "chain.py", File: "/x/chain.py", Line: 9}
	b := a
	b.Line = 10
	ia, ib := in.intern(a), in.intern(b)
	if ia == ib || ia == 0 || ib == 0 {
		t.Fatalf("ids %d and %d for two lines of one function", ia, ib)
	}
	if again := in.intern(a); again != ia {
		t.Errorf("the same location interned twice: %d, then %d", ia, again)
	}
	if got, ok := in.location(ia); !ok || got != a {
		t.Errorf("location(%d) = %v, %v; want %v", ia, got, ok, a)
	}
	for _, id := range []uint64{0, ib + 1, 1 << 60} {
		if _, ok := in.location(id); ok {
			t.Errorf("location(%d) found a name that was never interned", id)
		}
	}
	// Past the bound, new names share one placeholder.
	for i := len(in.names); i < maxPythonNames; i++ {
		in.intern(aggregate.Location{Function: fmt.Sprint("f", i)})
	}
	x := in.intern(aggregate.Location{Function: "one more"})
	y := in.intern(aggregate.Location{Function: "and another"})
	if x != y {
		t.Errorf("past %d names, new ones got distinct ids %d and %d", maxPythonNames, x, y)
	}
	if loc, _ := in.location(x); loc.Function != "[python: too many distinct frames]" {
		t.Errorf("past the bound: %q", loc.Function)
	}
}
