package python

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pftop/pftop/internal/testutil"
)

// interpCode is one code object as the interpreter describes it
// (testdata/linetables.py).
type interpCode struct {
	ID     uint64     `json:"id"`
	First  int32      `json:"first"`
	Name   string     `json:"name"`
	File   string     `json:"file"`
	Len    int        `json:"len"`
	Lines  [][3]int64 `json:"lines"`  // co_lines(): start, end, line (-1: none)
	Starts [][2]int64 `json:"starts"` // findlinestarts(): offset, line
}

// wantLine is the interpreter's line for bytecode byte off, and whether it
// has one.
func (c *interpCode) wantLine(off int64) (int, bool) {
	if c.Lines != nil {
		for _, r := range c.Lines {
			if off >= r[0] && off < r[1] {
				return int(max(r[2], 0)), true
			}
		}
		return 0, false
	}
	line, ok := 0, false
	for _, s := range c.Starts {
		if s[0] > off {
			break
		}
		line, ok = int(s[1]), true
	}
	return line, ok
}

// TestLineTables compares this package's decoding of every code object of
// threading.py (and of generated code with long jumps and line gaps),
// read remotely, with the interpreter's own answer, byte by byte.
func TestLineTables(t *testing.T) {
	testutil.RequirePrivileges(t)
	script, err := filepath.Abs("testdata/linetables.py")
	if err != nil {
		t.Fatal(err)
	}
	forEachInterpreter(t, func(t *testing.T, py interpreter) {
		cmd, stdin, stdout := startPython(t, nil, py.Exe, script)
		defer stdin.Close()
		var codes []interpCode
		if err := json.NewDecoder(stdout).Decode(&codes); err != nil {
			t.Fatalf("read the interpreter's answer: %v", err)
		}
		if len(codes) < 50 {
			t.Fatalf("only %d code objects", len(codes))
		}
		p := detectWhenReady(t, cmd.Process.Pid)
		step := int64(2)
		if !p.Version.atLeast(3, 6) {
			step = 1 // 2.7: instructions are 1 or 3 bytes
		}
		compared := 0
		for _, c := range codes {
			ci, err := p.obj.code(p.Version, c.ID, uint32(c.First))
			if err != nil {
				t.Errorf("%s (%#x): %v", c.Name, c.ID, err)
				continue
			}
			if ci.name != c.Name || ci.file != c.File {
				t.Errorf("code %#x is %s in %s, want %s in %s", c.ID, ci.name, ci.file, c.Name, c.File)
			}
			bad := 0
			for off := int64(0); off < int64(c.Len); off += step {
				want, ok := c.wantLine(off)
				if !ok {
					continue
				}
				lasti := off
				if p.Version.Major == 3 && p.Version.Minor == 10 {
					lasti = off / 2
				}
				if got := ci.line(p.Version, lasti); got != want {
					if bad++; bad <= 3 {
						t.Errorf("%s: byte %d: line %d, interpreter says %d", c.Name, off, got, want)
					}
				}
				compared++
			}
			// Through the public entry point as well, with a wrong check.
			if _, err := p.Symbolize(c.ID, 0, uint32(c.First)+1); err == nil {
				t.Errorf("%s: Symbolize with a wrong co_firstlineno succeeded", c.Name)
			}
		}
		t.Logf("%d code objects, %d offsets compared", len(codes), compared)
	})
}
