// Package pclntabtest builds Go programs with several toolchains and reads
// what the Go tools say about them (objdump, addr2line), for the tests of
// the packages that read .gopclntab: symtab/pclntab, symtab and
// unwinder/deltas. It is used by tests only.
//
// Older toolchains are fetched by the go command through the module proxy
// (GOTOOLCHAIN=go1.18.10 downloads golang.org/toolchain); when that fails
// the test is skipped with the reason.
package pclntabtest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Toolchains are the toolchains tests build with, oldest first: Go 1.18
// (pclntab magic 0xfffffff0, SUBQ/MOVQ BP prologues), 1.20 (magic
// 0xfffffff1), 1.22 (PUSHQ BP prologues, text start in the header) and
// "local", the one running the tests (Go 1.26: no text start in the
// header, go:func.* inside the pclntab).
var Toolchains = []string{"go1.18.10", "go1.20.14", "go1.22.12", "local"}

//go:embed testdata/prog/main.go.txt testdata/prog/regs_amd64.s.txt
var progFS embed.FS

// ProgFiles returns the sources of the test program (see
// testdata/prog/main.go.txt): a frameless leaf, a function with a 4 KiB
// frame, inlined helpers, a method, a generic function and a goroutine,
// each stack recorded with its registers and memory.
func ProgFiles() map[string]string {
	files := map[string]string{}
	for name, src := range map[string]string{
		"main.go":      "testdata/prog/main.go.txt",
		"regs_amd64.s": "testdata/prog/regs_amd64.s.txt",
	} {
		b, err := progFS.ReadFile(src)
		if err != nil {
			panic(err)
		}
		files[name] = string(b)
	}
	return files
}

var toolchainErr sync.Map // toolchain -> error (nil when usable)

// GoCmd returns a go command that runs toolchain tc, skipping the test
// when there is no go command or the toolchain cannot be obtained.
func GoCmd(t testing.TB, tc string, args ...string) *exec.Cmd {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	mk := func(args ...string) *exec.Cmd {
		cmd := exec.Command(gobin, args...)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+tc, "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
		return cmd
	}
	v, ok := toolchainErr.Load(tc)
	if !ok {
		out, err := mk("version").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
		v, _ = toolchainErr.LoadOrStore(tc, err)
	}
	if err, _ := v.(error); err != nil {
		t.Skipf("toolchain %s unavailable (GOTOOLCHAIN download through the module proxy failed): %v", tc, err)
	}
	return mk(args...)
}

// Build writes files and a go.mod to a new directory and builds them with
// toolchain tc and the extra go build arguments. It returns the binary.
func Build(t testing.TB, tc string, files map[string]string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["go.mod"]; !ok {
		files["go.mod"] = "module example.com/prog\n\ngo 1.18\n"
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "prog")
	cmd := GoCmd(t, tc, append(append([]string{"build", "-o", bin}, args...), ".")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s build %v: %v\n%s", tc, args, err, out)
	}
	return bin
}

// BuildProg builds the test program (ProgFiles).
func BuildProg(t testing.TB, tc string, args ...string) string {
	t.Helper()
	return Build(t, tc, ProgFiles(), args...)
}

// Frame is a frame as the runtime or a Go tool names it.
type Frame struct {
	Function, File string
	Line           int
}

func (f Frame) String() string { return fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line) }

// Capture is a stack the test program recorded: the registers as regs
// returned (SP, BP, and PC, the return address into its caller), the
// stack memory from SP, and the frames of runtime.CallersFrames from
// main.capture outward.
type Capture struct {
	Label      string
	SP, BP, PC uint64
	Mem        []byte
	Frames     []Frame
}

// RunProg runs the test program and returns its captures.
func RunProg(t testing.TB, bin string) []Capture {
	t.Helper()
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	var caps []Capture
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "CAPTURE":
			var c Capture
			if _, err := fmt.Sscanf(rest, "%s %x %x %x", &c.Label, &c.SP, &c.BP, &c.PC); err != nil {
				t.Fatalf("bad line %q: %v", sc.Text(), err)
			}
			caps = append(caps, c)
		case "MEM":
			b, err := hex.DecodeString(rest)
			if err != nil || len(caps) == 0 {
				t.Fatalf("bad MEM line: %v", err)
			}
			caps[len(caps)-1].Mem = b
		case "FRAME":
			p := strings.Split(rest, "\t")
			if len(p) != 3 || len(caps) == 0 {
				t.Fatalf("bad line %q", sc.Text())
			}
			line, _ := strconv.Atoi(p[2])
			c := &caps[len(caps)-1]
			c.Frames = append(c.Frames, Frame{p[0], p[1], line})
		}
	}
	if len(caps) == 0 {
		t.Fatalf("%s recorded no stacks:\n%s", bin, out)
	}
	return caps
}

// Insn is an instruction as go tool objdump shows it. File is the base
// name of the file (objdump prints no directory).
type Insn struct {
	Addr  uint64
	Bytes []byte
	Text  string
	File  string
	Line  int
}

// ObjFunc is a function as go tool objdump shows it.
type ObjFunc struct {
	Name, File string // the symbol name and the full path of its file
	Insns      []Insn
}

// Objdump disassembles the functions of bin matching the regexp sym (all
// when empty) with toolchain tc's objdump.
func Objdump(t testing.TB, tc, bin, sym string) []ObjFunc {
	t.Helper()
	args := []string{"tool", "objdump"}
	if sym != "" {
		args = append(args, "-s", sym)
	}
	cmd := GoCmd(t, tc, append(args, bin)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("objdump %s: %v", bin, err)
	}
	var funcs []ObjFunc
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "TEXT "); ok {
			name, file, _ := strings.Cut(rest, " ")
			funcs = append(funcs, ObjFunc{Name: strings.TrimSuffix(name, "(SB)"), File: file})
			continue
		}
		var f []string
		for _, s := range strings.Split(line, "\t") {
			if s = strings.TrimSpace(s); s != "" {
				f = append(f, s)
			}
		}
		if len(f) < 3 || len(funcs) == 0 || !strings.HasPrefix(f[1], "0x") {
			continue
		}
		var in Insn
		file, ln, _ := strings.Cut(f[0], ":")
		in.File = file
		in.Line, _ = strconv.Atoi(ln)
		in.Addr, err = strconv.ParseUint(f[1][2:], 16, 64)
		if err != nil {
			t.Fatalf("bad objdump line %q", line)
		}
		if in.Bytes, err = hex.DecodeString(f[2]); err != nil {
			t.Fatalf("bad objdump line %q", line)
		}
		if len(f) > 3 {
			in.Text = f[3]
		}
		fn := &funcs[len(funcs)-1]
		fn.Insns = append(fn.Insns, in)
	}
	return funcs
}

// Addr2line returns what go tool addr2line of toolchain tc says about the
// addresses: the function containing each (not the inlined one) and the
// file and line of the innermost position.
func Addr2line(t testing.TB, tc, bin string, addrs []uint64) []Frame {
	t.Helper()
	var in bytes.Buffer
	for _, a := range addrs {
		fmt.Fprintf(&in, "%#x\n", a)
	}
	cmd := GoCmd(t, tc, "tool", "addr2line", bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("addr2line %s: %v", bin, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2*len(addrs) {
		t.Fatalf("addr2line: %d lines for %d addresses", len(lines), len(addrs))
	}
	res := make([]Frame, len(addrs))
	for i := range addrs {
		file, ln, _ := strings.Cut(lines[2*i+1], ":")
		if k := strings.LastIndexByte(lines[2*i+1], ':'); k >= 0 {
			file, ln = lines[2*i+1][:k], lines[2*i+1][k+1:]
		}
		n, _ := strconv.Atoi(ln)
		res[i] = Frame{lines[2*i], file, n}
	}
	return res
}

// Fixtures returns the committed fixture binaries of symtab/pclntab/testdata
// (a trivial program built -ldflags=-s -w, one per pclntab format).
func Fixtures(t testing.TB) []string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "testdata", "go1*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	return paths
}
