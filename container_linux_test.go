package main

// Integration test of --container against a real podman container (issue 4):
// the container's cgroup is recognized, record and batch mode keep only its
// samples, its binary (which exists only under /proc/PID/root) is unwound
// and symbolized, and an unknown container is a usage error.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pftop/pftop/aggregate/container"
	"github.com/pftop/pftop/internal/testutil"
)

func TestContainer(t *testing.T) {
	testutil.RequirePrivileges(t)
	pftop := testutil.BuildPftop(t)
	targets := confLoadTargets(t)
	chainTg, cppTg := contTarget(t, targets, "chain"), contTarget(t, targets, "cpp")
	cppPath := filepath.Join(testutil.BuildTargets(t), cppTg.Binary)
	if _, err := os.Stat(cppPath); err != nil {
		t.Skipf("the host process, %s, was not built (is %s installed?): %v", cppTg.Binary, cppTg.Toolchain, err)
	}
	static := contBuildStatic(t, filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "chain.c"))

	c := testutil.RunInPodman(t, static)
	// Like the conformance targets, the container's process runs at nice
	// confNice. That helps less than for them: it is alone in its own cpu
	// cgroup, which competes with the host's processes as one nice-0 task
	// whatever the nice of the processes inside (cgroup v1 cpu.shares or
	// v2 cpu.weight of the default 1024/100). Starvation is therefore
	// measured and retried below, as the conformance test does.
	if n, err := strconv.Atoi(confNice); err == nil {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, c.PID, n); err != nil {
			t.Logf("renice %d: %v", c.PID, err)
		}
	}
	// The container's process as the conformance helpers see it; only
	// its CPU time and liveness are read (podman owns and kills it).
	target := &confProc{pid: c.PID}
	cgroup, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID))
	t.Logf("container %s (%s), pid %d, cgroup:\n%s", c.ID[:12], c.Name, c.PID, strings.TrimSpace(string(cgroup)))
	if inside, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", c.PID, testutil.PodmanTarget)); err != nil {
		t.Fatalf("the container's binary: %v", err)
	} else if onHost, err := os.Stat(testutil.PodmanTarget); err == nil && os.SameFile(inside, onHost) {
		t.Fatalf("%s of the container is the host's: the test would not show that pftop reads it through /proc/PID/root", testutil.PodmanTarget)
	}

	host := confStart(t, cppPath)
	// The host process only has to run; at confNice it would outweigh
	// the container's whole cgroup nine to one.
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, host.pid, 0); err != nil {
		t.Logf("renice %d: %v", host.pid, err)
	}
	confWarmUp(t, host, cppTg.Libraries)
	if !target.alive() {
		t.Fatalf("the container's process %d exited", c.PID)
	}

	t.Run("lookup", func(t *testing.T) {
		info, err := container.Lookup("/proc", uint32(c.PID))
		if err != nil {
			t.Fatal(err)
		}
		if info.ID != c.ID || info.Runtime != container.Podman {
			t.Errorf("container.Lookup(%d) = ID %q runtime %q, want ID %q runtime %q", c.PID, info.ID, info.Runtime, c.ID, container.Podman)
		}
	})

	t.Run("record", func(t *testing.T) {
		contRecord(t, pftop, c, target, host, chainTg, cppTg)
	})

	t.Run("batch", func(t *testing.T) {
		out, stderr, code := confRun(t, pftop, time.Minute, "--batch", "-n", "2", "-d", "1s", "--container", c.ID)
		if code != 0 {
			t.Fatalf("pftop --batch --container: exit %d\nstderr:\n%s", code, stderr)
		}
		t.Logf("pftop --batch -n 2 -d 1s --container %s:\n%s", c.ID, out)
		if !strings.Contains(out, "filter container "+c.ID[:12]) {
			t.Errorf("the header does not name the container filter (filter container %s)", c.ID[:12])
		}
		if !strings.Contains(out, chainTg.Leaf) {
			t.Errorf("the container's leaf %s is missing", chainTg.Leaf)
		}
		if f := contHostFrame(out, cppTg); f != "" {
			t.Errorf("the host process's function %q shows in a view filtered to the container", f)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		const id = "0123456789abcdef"
		_, stderr, code := confRun(t, pftop, time.Minute, "record", "--container", id, "-d", "1s", "-o", "-")
		if code != exitUsage {
			t.Errorf("pftop record --container %s: exit %d, want %d\nstderr:\n%s", id, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, id) {
			t.Errorf("pftop record --container %s: stderr does not name the container:\n%s", id, stderr)
		}
	})
}

// contRecord records the container for 3 s while the host process spins
// and checks that every sample is the container's process and that its
// stacks are complete.
func contRecord(t *testing.T, pftop string, c *testutil.Container, target, host *confProc, chainTg, cppTg confTarget) {
	comm := fmt.Sprintf("%s-%d", testutil.PodmanComm, c.PID)
	var stacks []confStack
	var stderr string
	var cpu, hostCPU time.Duration
	for attempt := 1; ; attempt++ {
		cpu0, host0 := target.cpuTime(), host.cpuTime()
		var out string
		out, stderr = confRecord(t, pftop, "-d", "3s", "--container", c.ID[:12], "--per-pid", "--format", "folded",
			"--annotate", "--stats", "-o", "-")
		cpu, hostCPU = target.cpuTime()-cpu0, host.cpuTime()-host0
		t.Logf("while pftop ran the container's process used %.2f s of CPU (at most about %d samples at 99 Hz), the host process %.2f s",
			cpu.Seconds(), int(cpu.Seconds()*99), hostCPU.Seconds())
		var err error
		if stacks, err = confParseFolded(out); err != nil {
			t.Fatalf("folded output: %v\n%s", err, out)
		}
		if confTotal(stacks) >= 20 || cpu >= confStarved || attempt == confAttempts {
			break
		}
		t.Logf("attempt %d: too few samples, but the container's process was starved of CPU (the box is busy): recording again", attempt)
	}
	if !target.alive() || !host.alive() {
		t.Fatalf("a process exited during the recording (container's alive: %v, host's alive: %v)", target.alive(), host.alive())
	}
	if hostCPU < confStarved/2 {
		t.Logf("the host process got only %.2f s of CPU while pftop ran: its absence proves less", hostCPU.Seconds())
	}

	mine := confGroup{name: comm, chain: chainTg.Chain}
	for _, s := range stacks {
		if s.comm != comm {
			t.Errorf("a sample not of the container's process %s: %s", comm, s)
			continue
		}
		if f := contHostFrame(strings.Join(s.frames, "\n"), cppTg); f != "" {
			t.Errorf("the host process's function %q in a sample of the container: %s", f, s)
		}
		mine.stacks = append(mine.stacks, s)
	}
	total := confTotal(mine.stacks)
	if total < 20 {
		t.Errorf("%s: %d samples, want at least 20 (it used %.2f s of CPU while pftop ran)", comm, total, cpu.Seconds())
		confLogStacks(t, chainTg, mine)
		t.Logf("pftop stderr:\n%s", stderr)
		return
	}
	// The whole chain to _start, no error frame: pftop read the static
	// binary's unwind tables and symbols from inside the container.
	complete := 0
	for _, s := range mine.stacks {
		if ok, _ := confCheck(chainTg, chainTg.Chain, s); ok {
			complete += s.count
		}
	}
	share := float64(complete) / float64(total)
	t.Logf("%s: %d samples, %.1f%% complete (%d); top stack: %s", comm, total, 100*share, complete, confByCount(mine.stacks)[0])
	if share < confCompleteShare {
		t.Errorf("%s: %.1f%% of %d samples are complete, want at least %.0f%% (chain %s, root %s)",
			comm, 100*share, total, 100*confCompleteShare, confCompact(chainTg.Chain), chainTg.Root)
		confLogStacks(t, chainTg, mine)
	}
	if t.Failed() {
		t.Logf("pftop stderr:\n%s", stderr)
	}
}

// contHostFrame returns the first of the host process's own functions (its
// chain but main, which the container's has too) found in text, or "".
func contHostFrame(text string, cppTg confTarget) string {
	for _, f := range cppTg.Chain {
		if f == "main" {
			continue
		}
		// The batch table may cut long names: look for the start.
		if len(f) > 20 {
			f = f[:20]
		}
		if strings.Contains(text, f) {
			return f
		}
	}
	return ""
}

func contTarget(t *testing.T, targets []confTarget, name string) confTarget {
	t.Helper()
	i := slices.IndexFunc(targets, func(tg confTarget) bool { return tg.Name == name })
	if i < 0 {
		t.Fatalf("targets.json has no %s target", name)
	}
	return targets[i]
}

// contBuildStatic builds a static copy of a C target, built like the
// others (testdata/targets/Makefile: no frame pointers, unwind tables, no
// debug info), so the container needs no other file.
func contBuildStatic(t *testing.T, src string) string {
	t.Helper()
	cc := os.Getenv("TARGET_CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("cannot build the container's static binary: %v", err)
	}
	out := filepath.Join(t.TempDir(), "target")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log, err := exec.CommandContext(ctx, cc, "-static", "-O2", "-fomit-frame-pointer", "-g0",
		"-fasynchronous-unwind-tables", "-Wall", "-o", out, src).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out
	case errors.As(err, &ee) && strings.Contains(string(log), "cannot find -lc"):
		t.Skipf("cannot link statically, the static C library is missing (Debian: libc6-dev):\n%s", log)
	default:
		t.Fatalf("%s -static %s: %v\n%s", cc, src, err, log)
	}
	return ""
}
