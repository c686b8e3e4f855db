// Package container finds the container a process runs in from its
// /proc/PID/cgroup file.
//
// Parse recognizes the cgroup paths that Docker, containerd (alone or as
// the Kubernetes CRI), CRI-O and Podman give their containers, with the
// cgroupfs and systemd drivers, on cgroup v1 and v2, and the Kubernetes
// pod UID when the path holds one. It reads nothing but its argument.
//
// Security: the cgroup file of a process is written by the kernel, but
// the path in it is chosen by whoever created the cgroup, which can be
// the process itself (cgroup delegation, user namespaces). Parse treats
// it as untrusted: it never panics, bounds its work by the input size,
// and returns only IDs of the expected shape (64 lowercase hex digits),
// so a process can make itself look like another container but cannot
// inject arbitrary text.
package container
