package container

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Runtimes, as Info.Runtime names them.
const (
	Docker     = "docker"
	Containerd = "containerd"
	CRIO       = "cri-o"
	Podman     = "podman"
)

// Info says which container a process runs in.
type Info struct {
	// ID is the container ID, 64 lowercase hex digits; "" when the
	// process is not in a container.
	ID string
	// Runtime is Docker, Containerd, CRIO or Podman, or "" when ID is ""
	// or the cgroup path holds a container ID in no layout this package
	// knows (a 64-hex-digit directory under, say, a custom cgroup parent).
	Runtime string
	// PodUID is the Kubernetes pod UID when the cgroup path holds one,
	// with the '_' that systemd slice names use turned back into '-'.
	PodUID string
}

// Parse returns the container of the process whose /proc/PID/cgroup file
// is cgroupFile. Each line is "hierarchy:controllers:path" (cgroup v1)
// or "0::path" (v2). The first line whose path names a container decides;
// within a path the innermost container wins (docker in docker). These
// layouts are recognized:
//
//	/docker/<id>                                   docker, cgroupfs
//	/system.slice/docker-<id>.scope                docker, systemd
//	/system.slice/cri-containerd-<id>.scope        containerd, systemd
//	/kubepods/burstable/pod<uid>/<id>              Kubernetes, cgroupfs (containerd)
//	/kubepods/pod<uid>/crio-<id>                   Kubernetes, cgroupfs, CRI-O
//	/kubepods.slice/kubepods-burstable.slice/
//	  kubepods-burstable-pod<uid_>.slice/
//	  cri-containerd-<id>.scope                    Kubernetes, systemd (also crio-, docker-)
//	.../kubelet-kubepods-pod<uid_>.slice/...       the same under another root (kind)
//	/machine.slice/crio-<id>.scope                 CRI-O
//	/machine.slice/libpod-<id>.scope[/container]   podman, systemd
//	/libpod_parent/libpod-<id>                     podman, cgroupfs
//
// A bare 64-hex-digit directory under kubepods is taken as containerd's,
// the runtime of current Kubernetes that uses that layout; anywhere else
// it is a container of unknown runtime. The conmon monitors of CRI-O and
// podman (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) run on the
// host and are not containers.
func Parse(cgroupFile []byte) Info {
	var pod string
	for len(cgroupFile) > 0 {
		var line []byte
		line, cgroupFile, _ = bytes.Cut(cgroupFile, []byte{'\n'})
		path, ok := cgroupPath(line)
		if !ok {
			continue
		}
		info := parsePath(path)
		if info.ID != "" {
			if info.PodUID == "" {
				info.PodUID = pod
			}
			return info
		}
		if pod == "" {
			pod = info.PodUID
		}
	}
	return Info{PodUID: pod}
}

// cgroupPath returns the path of one line of a cgroup file.
func cgroupPath(line []byte) (string, bool) {
	_, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return "", false
	}
	_, path, ok := bytes.Cut(rest, []byte{':'})
	if !ok || len(path) == 0 || path[0] != '/' {
		return "", false
	}
	return string(bytes.TrimRight(path, "\r")), true
}

// scopePrefixes name a container's cgroup "<prefix><id>", with the
// ".scope" suffix under systemd.
var scopePrefixes = []struct {
	prefix, runtime string
}{
	{"docker-", Docker},
	{"cri-containerd-", Containerd},
	{"crio-", CRIO},
	{"libpod-", Podman},
}

// parsePath finds the innermost container and the pod in one cgroup path.
func parsePath(path string) Info {
	var info Info
	kube := false // under a kubepods cgroup
	prev := ""
	for comp := range strings.SplitSeq(path, "/") {
		if strings.Contains(comp, "kubepods") {
			kube = true
		}
		if kube {
			if uid, ok := podUID(comp); ok {
				info.PodUID = uid
			}
		}
		if id, rt, ok := containerID(comp, prev, kube); ok {
			info.ID, info.Runtime = id, rt
		}
		prev = comp
	}
	return info
}

// containerID recognizes a path component that names a container; prev
// is the component before it.
func containerID(comp, prev string, kube bool) (id, runtime string, ok bool) {
	if isID(comp) {
		switch {
		case prev == "docker":
			return comp, Docker, true
		case kube:
			return comp, Containerd, true
		}
		return comp, "", true
	}
	name := strings.TrimSuffix(comp, ".scope")
	for _, p := range scopePrefixes {
		if id, found := strings.CutPrefix(name, p.prefix); found && isID(id) {
			return id, p.runtime, true
		}
	}
	return "", "", false
}

// podUID recognizes "pod<uid>" (cgroupfs) and
// "kubepods[-<qos>]-pod<uid_with_underscores>.slice" (systemd), also with
// a prefix such as kind's "kubelet-".
func podUID(comp string) (string, bool) {
	var uid string
	if s, ok := strings.CutSuffix(comp, ".slice"); ok {
		i := strings.LastIndex(s, "-pod")
		if i < 0 || !strings.Contains(s[:i], "kubepods") {
			return "", false
		}
		uid = s[i+len("-pod"):]
	} else if s, ok := strings.CutPrefix(comp, "pod"); ok {
		uid = s
	} else {
		return "", false
	}
	if len(uid) < 8 || len(uid) > 64 {
		return "", false
	}
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; !isHex(c) && c != '-' && c != '_' {
			return "", false
		}
	}
	return strings.ReplaceAll(uid, "_", "-"), true
}

// idLen is the length of a container ID.
const idLen = 64

func isID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// maxCgroupFile bounds how much of a cgroup file Lookup reads; real ones
// are a few hundred bytes.
const maxCgroupFile = 64 << 10

// Lookup reads procRoot/PID/cgroup ("/proc" when procRoot is "") and
// parses it. A process that has exited gives an error matching
// fs.ErrNotExist (or ESRCH); such races are expected and the caller
// should treat the process as gone, not fail.
func Lookup(procRoot string, pid uint32) (Info, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	path := filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10), "cgroup")
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("read cgroup: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCgroupFile))
	if err != nil {
		return Info{}, fmt.Errorf("read cgroup: %w", err)
	}
	return Parse(data), nil
}
