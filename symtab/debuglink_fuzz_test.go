package symtab

import (
	"bytes"
	"debug/elf"
	"errors"
	"testing"
)

// FuzzDebugLinks reads the links to separate debug files (.gnu_debuglink,
// .gnu_debugaltlink, the build ID note) and MiniDebugInfo from arbitrary
// ELF input: all come from the profiled binaries, none may panic, and a
// link may name a file, never a path.
func FuzzDebugLinks(f *testing.F) {
	seedFiles(f)
	for _, data := range dwarfSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := func() (ef *elf.File, err error) {
			// debug/elf is not hardened against hostile input.
			defer func() {
				if recover() != nil {
					ef, err = nil, errors.New("debug/elf panicked")
				}
			}()
			return elf.NewFile(bytes.NewReader(data))
		}()
		if err != nil {
			return
		}
		if name, _, ok := debuglink(ef); ok && (name == "" || bytes.ContainsRune([]byte(name), '/')) {
			t.Fatalf("debuglink named %q", name)
		}
		altlink(ef)
		findBuildID(ef)
		if mf, err := miniDebugInfo(ef); err == nil && mf != nil {
			mf.Lookup(0)
			mf.Close()
		}
	})
}
