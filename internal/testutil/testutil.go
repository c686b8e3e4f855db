// Package testutil holds the helpers of pftop's integration tests: the
// privilege gate, and building the pftop binary and the conformance targets
// (testdata/targets) once per test process.
package testutil

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds `go build` and `make`, so a wedged toolchain fails
// the test instead of hanging it.
const buildTimeout = 10 * time.Minute

// RequirePrivileges skips the test unless it runs as root: the integration
// tests load BPF programs and open perf events for real (CI runs as root).
func RequirePrivileges(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to load BPF and open perf events (euid %d): run `sudo go test` or `make test`", os.Geteuid())
	}
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory (the test's package directory) holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Builder builds the artifacts once and hands the same result to every
// caller. The zero value is ready to use; BuildPftop and BuildTargets use
// one shared Builder for the whole test process.
type Builder struct {
	pftopOnce sync.Once
	pftop     string
	pftopErr  error

	targetsOnce sync.Once
	targets     string
	targetsLog  string
	targetsErr  error
}

var shared Builder

// BuildPftop builds the pftop binary once per test process and returns its
// path. It skips the test when the go command is missing.
func BuildPftop(t testing.TB) string { t.Helper(); return shared.Pftop(t) }

// BuildTargets runs `make -C testdata/targets` once per test process and
// returns the directory the targets were built into (testdata/targets/bin).
// A target whose toolchain is missing is simply absent from it. It skips the
// test when make is missing.
func BuildTargets(t testing.TB) string { t.Helper(); return shared.Targets(t) }

// Pftop builds pftop from the repository root into a scratch directory.
func (b *Builder) Pftop(t testing.TB) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("cannot build pftop: %v", err)
	}
	root := RepoRoot(t)
	b.pftopOnce.Do(func() {
		var dir string
		if dir, b.pftopErr = scratchDir(); b.pftopErr != nil {
			return
		}
		out := filepath.Join(dir, "pftop")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goCmd, "build", "-o", out, ".")
		cmd.Dir = root
		if log, err := cmd.CombinedOutput(); err != nil {
			b.pftopErr = errors.New("go build: " + err.Error() + "\n" + string(log))
			return
		}
		b.pftop = out
	})
	if b.pftopErr != nil {
		t.Fatalf("building pftop: %v", b.pftopErr)
	}
	return b.pftop
}

// Targets builds the conformance targets; the first caller logs make's
// output (which names the targets skipped for a missing toolchain).
func (b *Builder) Targets(t testing.TB) string {
	t.Helper()
	makeCmd, err := exec.LookPath("make")
	if err != nil {
		t.Skipf("cannot build the conformance targets: %v", err)
	}
	dir := filepath.Join(RepoRoot(t), "testdata", "targets")
	first := false
	b.targetsOnce.Do(func() {
		first = true
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		log, err := exec.CommandContext(ctx, makeCmd, "-C", dir).CombinedOutput()
		b.targetsLog = string(log)
		if err != nil {
			b.targetsErr = errors.New("make: " + err.Error())
			return
		}
		b.targets = filepath.Join(dir, "bin")
	})
	if b.targetsErr != nil {
		t.Fatalf("building the conformance targets: %v\n%s", b.targetsErr, b.targetsLog)
	}
	if first {
		t.Logf("make -C testdata/targets:\n%s", strings.TrimSpace(b.targetsLog))
	}
	return b.targets
}

// scratchDir makes a directory for files shared by the whole test process.
// Under `go test` it is made next to the test binary, in go's work
// directory, which go test deletes when the run ends; otherwise (a binary
// from `go test -c`) it is a new temporary directory that is left behind.
func scratchDir() (string, error) {
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return os.MkdirTemp(filepath.Dir(exe), "pftop-bin")
	}
	return os.MkdirTemp("", "pftop-test")
}

// GoCommand returns the installed go command, a large Go binary that the
// Go symbol and unwind table tests read; it skips when there is none.
func GoCommand(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("no go command: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
	if _, err := os.Stat(path); err != nil {
		tb.Skip(err)
	}
	return path
}
