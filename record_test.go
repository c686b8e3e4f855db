package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeHello(w io.Writer) error { _, err := io.WriteString(w, "hello\n"); return err }

func TestWriteOutputFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := writeOutput(path, writeHello); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// A symlink planted at the output path is replaced, never followed.
func TestWriteOutputSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	path := filepath.Join(dir, "out")
	os.Symlink(victim, path)
	if err := writeOutput(path, writeHello); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink != 0 {
		t.Error("the output is still a symlink")
	}
}

// A FIFO (like /dev/null, a non-regular file) is written in place.
func TestWriteOutputFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(path)
		got <- string(b)
	}()
	if err := writeOutput(path, writeHello); err != nil {
		t.Fatal(err)
	}
	if s := <-got; !strings.Contains(s, "hello") {
		t.Errorf("read %q from the fifo", s)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Error("the fifo was replaced")
	}
}
