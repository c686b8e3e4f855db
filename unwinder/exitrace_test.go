package unwinder

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A process that exits while its sync reads /proc must not stay
// published: its Exit arrives before the sync publishes, finds nothing to
// drop, and nothing else would ever drop it (TestChurn found 22 such
// processes in 3000). The maps file is a FIFO, so the sync waits inside
// its read until the test has delivered the exit.
func TestExitDuringSync(t *testing.T) {
	libc := "/lib/x86_64-linux-gnu/libc.so.6"
	if _, err := os.Stat(libc); err != nil {
		t.Skipf("no %s: %v", libc, err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "100")
	os.MkdirAll(filepath.Join(dir, "root", filepath.Dir(libc)), 0o755)
	os.Symlink(libc, filepath.Join(dir, "root", libc))
	maps := filepath.Join(dir, "maps")
	if err := syscall.Mkfifo(maps, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	fm := newFakeMaps()
	m, err := New(Config{Maps: fm, DeltaCapacity: 1 << 20, ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	done := make(chan error, 1)
	go func() { done <- m.Sync(100) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		n := m.syncing[100]
		m.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync never started")
		}
	}
	m.Exit(100) // the exit event, while the sync is blocked in its read
	w, err := os.OpenFile(maps, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("7f0000026000-7f000019b000 r-xp 00026000 fd:01 5678 " + libc + "\n")
	w.Close()
	if err := <-done; err != nil {
		t.Fatalf("sync: %v", err)
	}
	s := m.Stats()
	if s.Processes != 0 || s.Mappings != 0 || s.Executables != 0 || len(fm.mappings) != 0 || len(fm.pages) != 0 {
		t.Errorf("the exited process stayed published: %+v, %d LPM entries, %d pages", s, len(fm.mappings), len(fm.pages))
	}
	m.mu.Lock()
	left := len(m.syncing) + len(m.exitedSyncing)
	m.mu.Unlock()
	if left != 0 {
		t.Errorf("%d in-flight entries left", left)
	}
	// A later sync of a live process publishes as usual.
	os.Remove(maps)
	os.WriteFile(maps, []byte("7f0000026000-7f000019b000 r-xp 00026000 fd:01 5678 "+libc+"\n"), 0o644)
	if err := m.Sync(100); err != nil || m.Stats().Processes != 1 {
		t.Errorf("sync after the race: %v, %+v", err, m.Stats())
	}
}

// A process whose exit event never came (a full event ring, or a main
// thread that exited before the others) is forgotten once it is gone.
func TestReapGone(t *testing.T) {
	libc := "/lib/x86_64-linux-gnu/libc.so.6"
	if _, err := os.Stat(libc); err != nil {
		t.Skipf("no %s: %v", libc, err)
	}
	root := t.TempDir()
	for _, pid := range []string{"100", "200"} {
		dir := filepath.Join(root, pid)
		os.MkdirAll(filepath.Join(dir, "root", filepath.Dir(libc)), 0o755)
		os.Symlink(libc, filepath.Join(dir, "root", libc))
		os.WriteFile(filepath.Join(dir, "maps"), []byte("7f0000026000-7f000019b000 r-xp 00026000 fd:01 5678 "+libc+"\n"), 0o644)
	}
	fm := newFakeMaps()
	m, err := New(Config{Maps: fm, DeltaCapacity: 1 << 20, ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, pid := range []uint32{100, 200} {
		if err := m.Sync(pid); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.ReapGone(); n != 0 {
		t.Fatalf("reaped %d live processes", n)
	}
	os.RemoveAll(filepath.Join(root, "100")) // exited, no event
	if n := m.ReapGone(); n != 1 {
		t.Fatalf("reaped %d, want 1", n)
	}
	s := m.Stats()
	if s.Processes != 1 || s.Reaped != 1 || s.Executables != 1 {
		t.Errorf("after reaping: %+v", s)
	}
	os.RemoveAll(filepath.Join(root, "200"))
	m.ReapGone()
	if s := m.Stats(); s.Processes != 0 || s.Executables != 0 || len(fm.mappings) != 0 || len(fm.pages) != 0 {
		t.Errorf("after reaping both: %+v, %d LPM entries, %d pages", s, len(fm.mappings), len(fm.pages))
	}
}
