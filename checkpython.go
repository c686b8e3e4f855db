package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pftop/pftop/interpreters/python"
)

// pythonCheck says which running CPython processes pftop unwinds: the
// first question of a user who sees a Python process as C functions
// only. It reads each process's maps, and a CPython's memory to find
// its interpreter state, as profiling would (read only). ok is false
// when some CPython process cannot be unwound.
func pythonCheck() (ok bool, detail string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false, fmt.Sprintf("cannot list processes: %v", err)
	}
	versions := map[string]int{}
	var failed []string
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		p, err := python.Detect(pid)
		switch {
		case err != nil && (errors.Is(err, fs.ErrPermission) || processGone(pid)):
			// Unreadable (the process access line says why) or gone
			// while being read: not known to be a CPython.
		case err != nil:
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			failed = append(failed, fmt.Sprintf("PID %d (%s): %v", pid, strings.TrimSpace(string(comm)), err))
		case p != nil:
			versions[p.Version.String()]++
			p.Close()
		}
	}
	unwound := "no CPython process running (2.7 and 3.6-3.13 are unwound)"
	if len(versions) > 0 {
		var parts []string
		n := 0
		for _, v := range slices.Sorted(maps.Keys(versions)) {
			parts = append(parts, fmt.Sprintf("%s ×%d", v, versions[v]))
			n += versions[v]
		}
		noun := "processes"
		if n == 1 {
			noun = "process"
		}
		unwound = fmt.Sprintf("%d CPython %s unwound (%s)", n, noun, strings.Join(parts, ", "))
	}
	if len(failed) == 0 {
		return true, unwound
	}
	more := ""
	if len(failed) > 3 {
		more = fmt.Sprintf(" and %d more", len(failed)-3)
		failed = failed[:3]
	}
	return false, fmt.Sprintf("%s; not unwound, their samples show the interpreter's C functions: %s%s", unwound, strings.Join(failed, "; "), more)
}

// processGone says whether pid has exited.
func processGone(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return os.IsNotExist(err)
}
