package testutil

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PodmanTarget is where RunInPodman puts the binary inside the container,
// and PodmanComm the command name its process gets from that path.
const (
	PodmanTarget = "/bin/target"
	PodmanComm   = "target"
)

// podmanTimeout bounds one podman command; the first one on a machine
// sets up podman's storage, which can take a while on a busy box.
const podmanTimeout = 2 * time.Minute

// Container is a running podman container made by RunInPodman.
type Container struct {
	ID    string // full ID, 64 hex digits, as podman inspect prints it
	PID   int    // host PID of its process (podman inspect .State.Pid)
	Name  string // the container's name, unique to the test
	Image string // the image it runs, made for the test alone
}

// RunInPodman runs the static binary, with args, as the only file of a new
// podman container: a rootfs tarball holding just PodmanTarget is imported
// as an image of its own and run with the runc runtime (crun fails on
// hybrid cgroup hierarchies) and no network. It returns once the
// container's process runs the binary. The container and the image are
// removed when the test ends.
//
// It skips the test when podman or runc is missing (make test installs
// them) and fails it when podman cannot run the container.
func RunInPodman(t testing.TB, binary string, args ...string) *Container {
	t.Helper()
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman is not installed (make test installs podman and runc)")
	}
	if !haveRunc() {
		t.Skip("runc is not installed (make test installs podman and runc)")
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatalf("container binary: %v", err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := writeRootfs(rootfs, data); err != nil {
		t.Fatalf("container rootfs: %v", err)
	}

	name := fmt.Sprintf("pftop-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	c := &Container{Name: name, Image: "localhost/" + name + ":latest"}
	run := func(timeout time.Duration, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, podman, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), nil
	}
	// Cleanups run last-registered first: the container goes before its
	// image. Both are removed by name, so a run that created the container
	// and then failed leaves nothing behind either.
	t.Cleanup(func() {
		if _, err := run(time.Minute, "rmi", "-f", c.Image); err != nil {
			t.Logf("removing the test image: %v", err)
		}
	})
	if _, err := run(podmanTimeout, "import", "--quiet", rootfs, c.Image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// -t 0: the binary is PID 1 of the container, which ignores
		// SIGTERM it has no handler for; kill it at once.
		if _, err := run(time.Minute, "rm", "-f", "-t", "0", c.Name); err != nil {
			t.Logf("removing the test container: %v", err)
		}
	})
	// --pull=never: the image is local; never ask a registry for it.
	runArgs := []string{"--runtime", "runc", "run", "-d", "--pull=never", "--name", c.Name, "--network", "none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000", c.Image, PodmanTarget}
	if _, err := run(podmanTimeout, append(runArgs, args...)...); err != nil {
		t.Fatal(err)
	}
	out, err := run(podmanTimeout, "inspect", "-f", "{{.State.Pid}} {{.Id}}", c.Name)
	if err != nil {
		t.Fatal(err)
	}
	pid, id, _ := strings.Cut(out, " ")
	if c.PID, err = strconv.Atoi(pid); err != nil || c.PID <= 0 {
		t.Fatalf("podman inspect %s: no PID in %q", c.Name, out)
	}
	if c.ID = id; !isContainerID(id) {
		t.Fatalf("podman inspect %s: no 64-hex-digit ID in %q", c.Name, out)
	}
	// podman run -d returns once runc started the container; its init
	// may not have exec'd the binary yet.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.PID))
		if err != nil {
			t.Fatalf("container %s: its process %d is gone: %v", c.Name, c.PID, err)
		}
		if strings.TrimSpace(string(comm)) == PodmanComm {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: process %d is %q, not %s, after 30 s", c.Name, c.PID, strings.TrimSpace(string(comm)), PodmanTarget)
		}
	}
	return c
}

// haveRunc says whether runc is installed where podman looks for it; as
// root's tool it may live in an sbin directory that is not in $PATH.
func haveRunc() bool {
	if _, err := exec.LookPath("runc"); err == nil {
		return true
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc", "/sbin/runc"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// writeRootfs writes a tarball holding only the directory /bin and the
// executable PodmanTarget with contents exe.
func writeRootfs(path string, exe []byte) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	dir := filepath.Dir(PodmanTarget)[1:] // "bin"
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: now}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: PodmanTarget[1:], Mode: 0o755, Size: int64(len(exe)), ModTime: now}); err != nil {
		return err
	}
	if _, err := tw.Write(exe); err != nil {
		return err
	}
	return tw.Close()
}

func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
