package container

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	id1  = "416fb9d3eb489424f54be95285929b81621d9cbb5f8215a9a3f503227abe550f"
	id2  = "f483fb52b4fec7b0a2e0410341aac7f90e747260621c0d147084ab8d389110a2"
	id3  = "f265b1831b6c2c4606bbf6cff6326b7061c4058775ea114d0c14d16f04b03b1d"
	pod1 = "86d28aeb-7bc2-4c2b-af50-f58729f7fca6"
	pod2 = "d467dbeb-6617-4968-bb51-6300229ffd30"
)

// underscored is a pod UID as systemd slice names carry it.
func underscored(uid string) string { return strings.ReplaceAll(uid, "-", "_") }

// v1 returns a cgroup v1 file (hybrid: v2 line last) with path in every
// controller, as a container's process shows it from the host.
func v1(path string) string {
	var b strings.Builder
	for i, ctrl := range []string{"misc", "rdma", "pids", "net_cls,net_prio", "cpuset", "perf_event",
		"hugetlb", "memory", "blkio", "cpu,cpuacct", "devices", "freezer", "name=systemd"} {
		b.WriteString(strings.Join([]string{itoa(13 - i), ctrl, path}, ":"))
		b.WriteByte('\n')
	}
	b.WriteString("0::/\n")
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return "1" + string(rune('0'+i-10))
}

// v2 returns a cgroup v2 file.
func v2(path string) string { return "0::" + path + "\n" }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want Info
	}{
		// Hosts.
		{"host v2 root", v2("/"), Info{}},
		{"host v2 user session", v2("/user.slice/user-1000.slice/session-3.scope"), Info{}},
		{"host v2 service", v2("/system.slice/containerd.service"), Info{}},
		{"host v1", v1("/system.slice/sshd.service"), Info{}},
		{"host v1 this VM", "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/d5340139ec37daef1f2378953b05ca18\n1:cpu:/\n0::/\n", Info{}},
		{"empty", "", Info{}},

		// Docker.
		{"docker v1 cgroupfs", v1("/docker/" + id1), Info{ID: id1, Runtime: Docker}},
		{"docker v1 systemd", v1("/system.slice/docker-" + id1 + ".scope"), Info{ID: id1, Runtime: Docker}},
		{"docker v2 systemd", v2("/system.slice/docker-" + id1 + ".scope"), Info{ID: id1, Runtime: Docker}},
		{"docker v2 cgroupfs", v2("/docker/" + id1), Info{ID: id1, Runtime: Docker}},
		{"docker in docker", v2("/docker/" + id1 + "/docker/" + id2), Info{ID: id2, Runtime: Docker}},
		{"docker custom parent", v2("/actions_job/" + id1), Info{ID: id1}},

		// containerd without Kubernetes.
		{"containerd v2 systemd", v2("/system.slice/cri-containerd-" + id2 + ".scope"), Info{ID: id2, Runtime: Containerd}},

		// Kubernetes, cgroupfs driver.
		{"k8s v1 cgroupfs burstable", v1("/kubepods/burstable/pod" + pod1 + "/" + id2), Info{ID: id2, Runtime: Containerd, PodUID: pod1}},
		{"k8s v1 cgroupfs besteffort", v1("/kubepods/besteffort/pod" + pod1 + "/" + id2), Info{ID: id2, Runtime: Containerd, PodUID: pod1}},
		{"k8s v1 cgroupfs guaranteed", v1("/kubepods/pod" + pod2 + "/" + id3), Info{ID: id3, Runtime: Containerd, PodUID: pod2}},
		{"k8s v2 cgroupfs", v2("/kubepods/burstable/pod" + pod1 + "/" + id2), Info{ID: id2, Runtime: Containerd, PodUID: pod1}},
		{"k8s cgroupfs cri-o", v1("/kubepods/burstable/pod" + pod1 + "/crio-" + id3), Info{ID: id3, Runtime: CRIO, PodUID: pod1}},

		// Kubernetes, systemd driver.
		{"k8s v2 systemd containerd", v2("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod1) + ".slice/cri-containerd-" + id2 + ".scope"),
			Info{ID: id2, Runtime: Containerd, PodUID: pod1}},
		{"k8s v1 systemd containerd", v1("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + underscored(pod2) + ".slice/cri-containerd-" + id1 + ".scope"),
			Info{ID: id1, Runtime: Containerd, PodUID: pod2}},
		{"k8s v2 systemd guaranteed", v2("/kubepods.slice/kubepods-pod" + underscored(pod2) + ".slice/cri-containerd-" + id3 + ".scope"),
			Info{ID: id3, Runtime: Containerd, PodUID: pod2}},
		{"k8s v2 systemd cri-o", v2("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod1) + ".slice/crio-" + id2 + ".scope"),
			Info{ID: id2, Runtime: CRIO, PodUID: pod1}},
		{"k8s v1 systemd docker", v1("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod1) + ".slice/docker-" + id1 + ".scope"),
			Info{ID: id1, Runtime: Docker, PodUID: pod1}},
		{"k8s kind node (nested)", v2("/system.slice/docker-" + id1 + ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" + underscored(pod2) + ".slice/cri-containerd-" + id2 + ".scope"),
			Info{ID: id2, Runtime: Containerd, PodUID: pod2}},
		{"k8s pod slice, no container", v2("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod1) + ".slice"), Info{PodUID: pod1}},
		{"k8s static pod uid", v1("/kubepods/burstable/pod6c5a0a4f8f6a0d0e2e7f3a1b9c8d7e6f/" + id2), Info{ID: id2, Runtime: Containerd, PodUID: "6c5a0a4f8f6a0d0e2e7f3a1b9c8d7e6f"}},

		// CRI-O without Kubernetes paths, and its monitor.
		{"cri-o v2 systemd", v2("/machine.slice/crio-" + id3 + ".scope"), Info{ID: id3, Runtime: CRIO}},
		{"cri-o conmon", v2("/machine.slice/crio-conmon-" + id3 + ".scope"), Info{}},

		// Podman.
		{"podman v2 rootful", v2("/machine.slice/libpod-" + id1 + ".scope"), Info{ID: id1, Runtime: Podman}},
		{"podman v2 with container subgroup", v2("/machine.slice/libpod-" + id1 + ".scope/container"), Info{ID: id1, Runtime: Podman}},
		{"podman v2 rootless", v2("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id2 + ".scope"), Info{ID: id2, Runtime: Podman}},
		{"podman v1 systemd", v1("/machine.slice/libpod-" + id3 + ".scope"), Info{ID: id3, Runtime: Podman}},
		{"podman v1 cgroupfs (this VM)", v1("/libpod_parent/libpod-" + id1), Info{ID: id1, Runtime: Podman}},
		{"podman conmon", v2("/machine.slice/libpod-conmon-" + id1 + ".scope"), Info{}},

		// Mixed and odd files.
		{"first container line wins", "12:pids:/docker/" + id1 + "\n0::/system.slice/docker-" + id2 + ".scope\n", Info{ID: id1, Runtime: Docker}},
		{"pod from another line", "3:cpu:/kubepods/pod" + pod1 + "\n0::/" + id2 + "\n", Info{ID: id2, PodUID: pod1}},
		{"crlf", "0::/docker/" + id1 + "\r\n", Info{ID: id1, Runtime: Docker}},
		{"no trailing newline", "0::/docker/" + id1, Info{ID: id1, Runtime: Docker}},
		{"uppercase id", v2("/docker/" + strings.ToUpper(id1)), Info{}},
		{"short id", v2("/docker/" + id1[:12]), Info{}},
		{"long id", v2("/docker/" + id1 + "0"), Info{}},
		{"id not a component", v2("/docker/x" + id1), Info{}},
		{"pod outside kubepods", v2("/pod" + pod1 + "/x"), Info{}},
		{"bad pod uid", v2("/kubepods/pod/" + id1), Info{ID: id1, Runtime: Containerd}},
		{"no path", "0::\n1:cpu\nrubbish\n", Info{}},
		{"relative path", "0::docker/" + id1 + "\n", Info{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse([]byte(tc.file)); got != tc.want {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", tc.file, got, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "4242")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(v1("/docker/"+id1)), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Lookup(root, 4242)
	if err != nil || info != (Info{ID: id1, Runtime: Docker}) {
		t.Errorf("Lookup = %+v, %v", info, err)
	}
	if _, err := Lookup(root, 1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lookup of a missing pid: %v, want ErrNotExist", err)
	}
}

func TestLookupSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc:", err)
	}
	if _, err := Lookup("", uint32(os.Getpid())); err != nil {
		t.Errorf("Lookup(self): %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(v1("/docker/" + id1)))
	f.Add([]byte(v2("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod1) + ".slice/cri-containerd-" + id2 + ".scope")))
	f.Add([]byte(v1("/kubepods/burstable/pod" + pod1 + "/" + id2)))
	f.Add([]byte(v2("/machine.slice/libpod-" + id1 + ".scope/container")))
	f.Add([]byte(v1("/libpod_parent/libpod-" + id1)))
	f.Add([]byte("0::/\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		info := Parse(data)
		if info.ID != "" && !isID(info.ID) {
			t.Errorf("ID %q is not 64 hex digits", info.ID)
		}
		if info.ID == "" && info.Runtime != "" {
			t.Errorf("runtime %q without an ID", info.Runtime)
		}
		if strings.ContainsAny(info.PodUID, "_/\n") || len(info.PodUID) > 64 {
			t.Errorf("pod UID %q", info.PodUID)
		}
	})
}
