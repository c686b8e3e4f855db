// Command kerneltest is the payload of `make kernels`: a static program
// that runs inside a tiny initramfs under qemu (or directly on the host),
// loads every BPF program pftop ships, samples the static chain target
// (testdata/targets/chain.c) for a few seconds with the real unwinder,
// together with testdata/syscall_chain.c, which spends its time in the
// kernel (-sys-target), checks the stacks, and prints one line:
//
//	PFTOP-KERNEL-RESULT PASS kernel=… variant="…" insns=<largest program>=<count> … samples=N complete=P%
//	PFTOP-KERNEL-RESULT FAIL kernel=… reason="…"
//
// With -init (as the initramfs runs it) it first mounts /proc and /sys and
// afterwards powers the machine off, whatever happened. The same check runs
// on the host kernel through `make test` (kerneltest_linux_test.go).
//
// Build it with CGO_ENABLED=0 so it needs nothing from the initramfs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// mountedEnv marks the process that -init re-executed after mounting.
const mountedEnv = "PFTOP_KERNELTEST_MOUNTED"

func main() {
	target := flag.String("target", "/chain", "the chain target to sample")
	sysTarget := flag.String("sys-target", "", "the syscall chain target (testdata/syscall_chain.c) to sample at the same time")
	duration := flag.Duration("duration", 3*time.Second, "how long to sample")
	freq := flag.Int("F", 99, "sampling frequency in Hz per CPU")
	asInit := flag.Bool("init", os.Getpid() == 1, "mount /proc and /sys first and power off at the end")
	timeout := flag.Duration("timeout", 150*time.Second, "give up (FAIL) after this long")
	flag.Parse()

	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "kerneltest: "+format+"\n", args...)
	}
	var res Result
	done := make(chan struct{})
	finish := func() {
		fmt.Fprintln(os.Stdout, res.Line())
		os.Stdout.Sync()
		if *asInit {
			powerOff()
		}
	}
	// A watchdog: a wedged load or read must still print a line and end.
	go func() {
		select {
		case <-done:
		case <-time.After(*timeout + 10*time.Second):
			r := Result{Kernel: Kernel(), Reason: fmt.Sprintf("watchdog: no result after %s", *timeout+10*time.Second)}
			fmt.Fprintln(os.Stdout, r.Line())
			if *asInit {
				powerOff()
			}
			os.Exit(1)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			res = Result{Kernel: Kernel(), Reason: fmt.Sprintf("panic: %v", p)}
			finish()
			os.Exit(1)
		}
	}()

	if *asInit && os.Getenv(mountedEnv) == "" {
		if err := mountAll(); err != nil {
			res = Result{Kernel: Kernel(), Reason: err.Error()}
			finish()
			os.Exit(1)
		}
		// cilium/ebpf probes at package init (rlimit's memcg test, BPF
		// tokens) and caches what /proc/self/mountinfo said then, which
		// was nothing: start again with /proc in place.
		os.Setenv(mountedEnv, "1")
		exe, err := os.Executable()
		if err == nil {
			err = unix.Exec(exe, os.Args, os.Environ())
		}
		res = Result{Kernel: Kernel(), Reason: fmt.Sprintf("re-exec after mounting /proc: %v", err)}
		finish()
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	res = Check(ctx, Config{Target: *target, SysTarget: *sysTarget, Duration: *duration, Frequency: *freq, Log: logf})
	cancel()
	close(done)
	finish()
	if !res.Pass {
		os.Exit(1)
	}
}

// mountAll mounts what cilium/ebpf and the unwinder read: /proc (maps,
// feature probes), /sys (online CPUs, /sys/kernel/btf/vmlinux for CO-RE).
// bpffs is not needed: nothing is pinned.
func mountAll() error {
	for _, m := range []struct{ fstype, dir string }{
		{"proc", "/proc"},
		{"sysfs", "/sys"},
		{"devtmpfs", "/dev"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.dir, err)
		}
		err := unix.Mount(m.fstype, m.dir, m.fstype, 0, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	// /sys/kernel/btf is part of sysfs; tracefs and debugfs are not needed
	// (the exit program attaches to a raw tracepoint by name).
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		fmt.Fprintf(os.Stderr, "kerneltest: warning: no kernel BTF: %v\n", err)
	}
	return nil
}

func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(os.Stderr, "kerneltest: power off: %v\n", err)
	}
	// Still running: qemu's -no-reboot turns the panic of a dying init
	// into an exit as well.
	os.Exit(1)
}
