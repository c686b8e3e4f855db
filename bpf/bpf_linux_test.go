package bpf

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/pftop/pftop/internal/testutil"
)

type programInfoer interface {
	Info() (*ebpf.ProgramInfo, error)
}

// TestLoad loads every program into the running kernel, as `make kernels`
// does on the other kernels, and reports the verifier's figures.
func TestLoad(t *testing.T) {
	testutil.RequirePrivileges(t)
	for _, opts := range []Options{{}, {PIDs: []uint32{1}}} {
		o, err := Load(opts)
		if err != nil {
			t.Fatalf("load %+v: %v", opts, err)
		}
		t.Logf("variant: %s, %d delta entries", o.Variant, o.DeltaCapacity)
		for _, p := range []struct {
			name string
			prog programInfoer
		}{{"sample", o.Sample}, {"unwind_native", o.UnwindNative}, {"process_exit", o.ProcessExit}} {
			info, err := p.prog.Info()
			if err != nil {
				t.Fatalf("info %s: %v", p.name, err)
			}
			n, ok := info.VerifiedInstructions()
			if ok {
				t.Logf("%s: %d instructions verified", p.name, n)
			}
		}
		if _, err := o.ReadCounters(); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
	}
}
