package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/pftop/pftop/bpf"
)

// CheckCmd reports what this kernel and box support.
type CheckCmd struct{}

// capability bits (linux/capability.h).
const (
	capSysPtrace = 19
	capSysAdmin  = 21
	capPerfmon   = 38
	capBPF       = 39
)

func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

func haveBPFCaps() bool {
	c, err := effectiveCaps()
	if err != nil {
		return false
	}
	has := func(b uint) bool { return c&(1<<b) != 0 }
	return has(capSysAdmin) || (has(capBPF) && has(capPerfmon))
}

// readsOtherProcesses says whether pftop may read other users' processes
// (/proc/PID/maps, map_files, root): the unwinder needs their mappings.
func readsOtherProcesses() bool {
	if os.Geteuid() == 0 {
		return true
	}
	c, err := effectiveCaps()
	return err == nil && c&(1<<capSysPtrace) != 0
}

// noPtraceWarning says what pftop misses without CAP_SYS_PTRACE.
const noPtraceWarning = "without root or CAP_SYS_PTRACE, pftop cannot read other users' processes: their stacks stay unwound no further than their first frame (add cap_sys_ptrace and cap_dac_read_search, or run with sudo)"

func (CheckCmd) Run() error {
	ok := true
	line := func(good bool, what, detail string) {
		mark := "ok  "
		if !good {
			mark = "FAIL"
			ok = false
		}
		fmt.Printf("%s %-22s %s\n", mark, what, detail)
	}
	// A warning: pftop runs, it just sees less.
	warn := func(what, detail string) { fmt.Printf("%s %-22s %s\n", "warn", what, detail) }
	var uts unix.Utsname
	unix.Uname(&uts)
	rel := string(bytes.TrimRight(uts.Release[:], "\x00"))
	line(true, "kernel", rel+" (pftop needs 5.10 or newer)")

	if err := kernelBTF(); err != nil {
		line(false, "BTF", err.Error()+": use a kernel built with CONFIG_DEBUG_INFO_BTF=y")
	} else {
		line(true, "BTF", "/sys/kernel/btf/vmlinux")
	}

	root := os.Geteuid() == 0
	switch {
	case root:
		line(true, "privileges", "root")
	case haveBPFCaps():
		line(true, "privileges", "CAP_BPF and CAP_PERFMON")
	default:
		line(false, "privileges", "not root and no CAP_BPF+CAP_PERFMON: run with sudo")
	}

	if readsOtherProcesses() {
		line(true, "process access", "other users' processes are readable")
	} else {
		warn("process access", noPtraceWarning)
	}

	if b, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid"); err == nil {
		v := strings.TrimSpace(string(b))
		// Sampling every CPU needs CAP_PERFMON (or root), or a paranoid
		// level of -1 for anyone.
		if n, err := strconv.Atoi(v); err == nil && n > -1 && !root && !haveBPFCaps() {
			line(false, "perf_event_paranoid", v+": without root or CAP_PERFMON, sampling every CPU needs it at -1 (sysctl kernel.perf_event_paranoid=-1); better run with sudo")
		} else {
			line(true, "perf_event_paranoid", v+" (root and CAP_PERFMON are not limited by it)")
		}
	}

	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err == nil {
		detail := fmt.Sprintf("RLIMIT_MEMLOCK %s; 5.11+ charges BPF memory to the cgroup instead; on 5.10 pftop raises the limit, which needs CAP_SYS_RESOURCE", fmtLimit(rl.Cur))
		line(true, "memlock", detail)
	}

	if _, err := os.Stat("/proc/kallsyms"); err == nil {
		line(true, "kallsyms", "/proc/kallsyms (kernel frames are named)")
	}

	if good, detail := pythonCheck(); good {
		line(true, "python", detail)
	} else {
		warn("python", detail)
	}

	objs, err := bpf.Load(bpf.Options{})
	switch {
	case err == nil:
		line(true, "bpf programs", "loaded; user registers in kernel samples via "+objs.Variant)
		objs.Close()
	case errors.Is(err, unix.EPERM):
		line(false, "bpf programs", "permission denied: run as root")
	default:
		line(false, "bpf programs", err.Error())
	}
	if !ok {
		return &exitError{code: exitNoPriv, err: errors.New("this box cannot run pftop as is; see the FAIL lines above")}
	}
	return nil
}

// kernelBTF says whether the kernel's type information can be read. The
// BPF programs are compiled once and relocated to the running kernel's
// structure layouts with it (CO-RE): without it they cannot load. The
// parsed types are cached, so the load that follows does not read them
// again.
func kernelBTF() error {
	if _, err := btf.LoadKernelSpec(); err != nil {
		return fmt.Errorf("cannot read the kernel's BTF type information: %w", err)
	}
	return nil
}

func fmtLimit(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprintf("%d KiB", v/1024)
}
