package symtab

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run when tests leak file descriptors, as cilium/ebpf's
// testmain does.
func TestMain(m *testing.M) {
	// Start the runtime's poller (epoll and eventfd descriptors) first, so
	// its lazily opened descriptors do not count as leaks.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := openFDs()
	code := m.Run()
	if after := openFDs(); code == 0 && before >= 0 && after > before {
		fmt.Fprintf(os.Stderr, "leaked %d file descriptors\n", after-before)
		code = 99
	}
	os.Exit(code)
}

// openFDs counts this process's open file descriptors, or -1 when unknown.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
