package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pftop/pftop/internal/testutil"
)

// TestHostKernel runs the check `make kernels` runs in each VM on the
// running kernel, in-process, against the chain target testdata/targets
// builds and testdata/syscall_chain.c.
func TestHostKernel(t *testing.T) {
	testutil.RequirePrivileges(t)
	target := filepath.Join(testutil.BuildTargets(t), "chain")
	sysTarget := buildSyscallChain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := Check(ctx, Config{Target: target, SysTarget: sysTarget, Log: t.Logf})
	t.Log(res.Line())
	if !res.Pass {
		t.Fatalf("kernel %s: %s", res.Kernel, res.Reason)
	}
	if res.KernelSamples == 0 {
		t.Errorf("no samples taken in the kernel")
	}
	if len(res.Programs) != 3 {
		t.Errorf("%d programs reported, want sample, unwind_native and process_exit", len(res.Programs))
	}
	for _, p := range res.Programs {
		if p.Xlated == 0 {
			t.Errorf("%s: no translated length", p.Name)
		}
	}
}

// buildSyscallChain compiles testdata/syscall_chain.c with the flags of
// testdata/targets (dynamically linked: the host has a libc).
func buildSyscallChain(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("gcc not found (make test installs it): %v", err)
	}
	out := filepath.Join(t.TempDir(), "syscall_chain")
	cmd := exec.Command(cc, "-O2", "-fomit-frame-pointer", "-g0", "-fasynchronous-unwind-tables", "-Wall",
		"-I", filepath.Join(testutil.RepoRoot(t), "testdata", "targets"),
		"-o", out, filepath.Join("testdata", "syscall_chain.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	return out
}

// TestResultLine pins the line `make kernels` parses.
func TestResultLine(t *testing.T) {
	r := Result{
		Pass: true, Kernel: "5.10.0-46-cloud-amd64", Variant: "pt_regs from the kernel stack",
		Programs: []Program{{Name: "sample", Xlated: 370}, {Name: "unwind_native", Xlated: 1226}},
		Samples:  296, Complete: 296, Share: 1,
	}
	want := `PFTOP-KERNEL-RESULT PASS kernel=5.10.0-46-cloud-amd64 variant="pt_regs from the kernel stack" insns=unwind_native=1226 insns_kind=xlated xlated=unwind_native=1226 samples=296 complete=100.0% programs=sample:v-:x370,unwind_native:v-:x1226`
	if got := r.Line(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	r.Programs[1].Verified = 3628
	if got := r.Line(); !strings.Contains(got, " insns=unwind_native=3628 insns_kind=verified xlated=unwind_native=1226 ") {
		t.Errorf("verified count not preferred: %s", got)
	}

	f := Result{Kernel: "6.1.0-56-cloud-amd64", Reason: "load: verifier rejected the programs: invalid mem access\nmore log"}
	want = `PFTOP-KERNEL-RESULT FAIL kernel=6.1.0-56-cloud-amd64 reason="load: verifier rejected the programs: invalid mem access …"`
	if got := f.Line(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	r.KernelSamples, r.KernelComplete, r.KernelShare = 200, 199, 0.995
	if got := r.Line(); !strings.Contains(got, " samples=296 complete=100.0% kernel_samples=200 kernel_complete=99.5% programs=") {
		t.Errorf("kernel samples: %s", got)
	}
	if got := (&Result{Reason: "x"}).Line(); !strings.HasPrefix(got, ResultPrefix+" FAIL kernel=unknown ") {
		t.Errorf("no kernel: %s", got)
	}
}
