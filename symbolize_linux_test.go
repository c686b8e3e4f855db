package main

// Symbolization checks of the conformance test (issue 5), driven by
// testdata/targets/targets.json: a separate debug file found by build ID
// under --debug-dir (and nothing named without it), libc's debug file
// (libc6-dbg) naming libc's local functions, source lines and inline frames
// in pprof output, and the frameless Go leaves the Go targets rely on.
// TestConformance (conformance_linux_test.go) calls them for each target.

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/pftop/pftop/internal/testutil"
)

// confMinLineSamples: fewer samples hold a function of "lines" than this,
// and its line cannot be judged.
const confMinLineSamples = 10

// confSystemDebugDir is where Debian's -dbg packages put debug files, and
// pftop's default --debug-dir.
const confSystemDebugDir = "/usr/lib/debug"

// confBuildID returns the GNU build ID of an ELF file, in hex.
func confBuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_NOTE {
			continue
		}
		if data, err := sec.Data(); err == nil {
			if id := confNoteBuildID(data, f.ByteOrder); id != "" {
				return id, nil
			}
		}
	}
	for _, prog := range f.Progs { // a file without section headers
		if prog.Type != elf.PT_NOTE || prog.Filesz > 1<<20 {
			continue
		}
		data := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(data, 0); err == nil {
			if id := confNoteBuildID(data, f.ByteOrder); id != "" {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%s: no GNU build ID note", path)
}

// confNoteBuildID finds the NT_GNU_BUILD_ID note in the notes data.
func confNoteBuildID(data []byte, bo binary.ByteOrder) string {
	align := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz, descsz, typ := uint64(bo.Uint32(data)), uint64(bo.Uint32(data[4:])), bo.Uint32(data[8:])
		data = data[12:]
		nameEnd := align(namesz)
		end := nameEnd + align(descsz)
		if end > uint64(len(data)) || nameEnd+descsz > uint64(len(data)) {
			return ""
		}
		if typ == 3 && string(data[:namesz]) == "GNU\x00" && descsz > 1 { // NT_GNU_BUILD_ID
			return hex.EncodeToString(data[nameEnd : nameEnd+descsz])
		}
		data = data[end:]
	}
	return ""
}

// confBuildIDPath is where a debug file with this build ID sits under dir.
func confBuildIDPath(dir, id string) string {
	return filepath.Join(dir, ".build-id", id[:2], id[2:]+".debug")
}

// confLibcFile is the file name of glibc's libc (libc.so.6, or
// libc-2.31.so in glibc before 2.34).
var confLibcFile = regexp.MustCompile(`^libc(\.so(\.[0-9]+)*|-[0-9.]+\.so)$`)

// confLibcDebugInstalled says whether the libc that process pid maps has
// its debug file in /usr/lib/debug (Debian: libc6-dbg), so that pftop must
// name libc's local functions; the string says why, for the log.
func confLibcDebugInstalled(pid int) (bool, string) {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return false, fmt.Sprintf("libc names not checked: %v", err)
	}
	libc := ""
	for _, line := range strings.Split(string(maps), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && confLibcFile.MatchString(filepath.Base(f[5])) {
			libc = f[5]
			break
		}
	}
	if libc == "" {
		return false, "maps no libc: libc names not checked"
	}
	id, err := confBuildID(filepath.Join(fmt.Sprintf("/proc/%d/root", pid), libc))
	if err != nil || len(id) < 3 {
		return false, fmt.Sprintf("libc %s has no build ID (%v): unnamed libc frames accepted", libc, err)
	}
	dbg := confBuildIDPath(confSystemDebugDir, id)
	if _, err := os.Stat(dbg); err != nil {
		return false, fmt.Sprintf("libc's debug file %s is not installed (Debian: libc6-dbg): libc's local functions may show as libc.so.6+0x...", dbg)
	}
	return true, fmt.Sprintf("libc's debug file %s is installed: every libc frame must be named", dbg)
}

// confInstallDebugFile puts the target's debug file (made by the Makefile
// with objcopy --only-keep-debug) into a new directory by the binary's
// build ID, DIR/.build-id/xx/rest.debug, and returns the pftop flags that
// point there. It first checks that only the debug file can name the
// chain: the binary has no symbol table, DWARF or .gnu_debuglink, and its
// dynamic symbols hold none of the chain's names.
func confInstallDebugFile(t *testing.T, bin string, tg confTarget) []string {
	t.Helper()
	exe, dbg := filepath.Join(bin, tg.Binary), filepath.Join(bin, tg.DebugFile)
	id, err := confBuildID(exe)
	if err != nil || len(id) < 3 {
		t.Fatalf("%s: build ID: %v", exe, err)
	}
	if did, err := confBuildID(dbg); err != nil || did != id {
		t.Fatalf("%s: build ID %q (%v), want the binary's %s", dbg, did, err, id)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info", ".gnu_debuglink", ".gnu_debugdata"} {
		if f.Section(name) != nil {
			t.Fatalf("%s has %s: it is meant to be named by its debug file alone", exe, name)
		}
	}
	names := tg.allNames()
	dyn, _ := f.DynamicSymbols()
	for _, sym := range dyn {
		if names[sym.Name] {
			t.Fatalf("%s: %s is a dynamic symbol: it is meant to be named by its debug file alone", exe, sym.Name)
		}
	}
	dir := t.TempDir()
	dst := confBuildIDPath(dir, id)
	data, err := os.ReadFile(dbg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: build ID %s, debug file at %s", tg.Binary, id, dst)
	args := []string{"--debug-dir", dir}
	// --debug-dir replaces the default: keep libc's debug file in reach.
	if st, err := os.Stat(confSystemDebugDir); err == nil && st.IsDir() {
		args = append(args, "--debug-dir", confSystemDebugDir)
	}
	return args
}

// allNames is every function name the manifest expects of the target:
// root, aliases and all chains (inline frames also without their _[i]).
func (tg confTarget) allNames() map[string]bool {
	names := map[string]bool{tg.Root: true}
	for _, a := range tg.RootAliases {
		names[a] = true
	}
	add := func(chain []string) {
		for _, f := range chain {
			names[f] = true
			names[strings.TrimSuffix(f, "_[i]")] = true
		}
	}
	add(tg.Chain)
	for _, c := range tg.Threads {
		add(c)
	}
	for _, c := range tg.Chains {
		add(c)
	}
	return names
}

// confCheckUnnamed asserts that a recording made without the target's
// debug file names none of its functions: the names pftop gave with the
// debug file came from it.
func confCheckUnnamed(t *testing.T, tg confTarget, stacks []confStack) bool {
	t.Helper()
	total := confTotal(stacks)
	if total < confMinSamples {
		t.Errorf("without --debug-dir: only %d samples (want at least %d)", total, confMinSamples)
		return false
	}
	names := tg.allNames()
	named := 0
	var b strings.Builder
	for _, s := range confByCount(stacks) {
		user, _ := confUserFrames(s.frames)
		if i := slices.IndexFunc(user, func(f string) bool { return names[f] }); i >= 0 {
			named += s.count
			fmt.Fprintf(&b, "%s\n    -> names %s\n", s, user[i])
		}
	}
	t.Logf("without --debug-dir: %d samples, %d name a function of the target; top stack: %s", total, named, confByCount(stacks)[0])
	if named > 0 {
		t.Errorf("without --debug-dir, %d of %d samples still name the target's functions: the names did not come from the debug file alone:\n%s", named, total, b.String())
		return false
	}
	return true
}

// confCheckFrameless asserts that the Go functions are frameless leaves:
// go tool objdump shows no PUSHQ BP, no SUBQ of SP and no CALL in them.
// The Go targets test that a sample in such a function keeps its caller,
// which frame-pointer unwinding loses.
func confCheckFrameless(t *testing.T, path string, fns []string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool objdump: %v", err)
	}
	quoted := make([]string, len(fns))
	for i, fn := range fns {
		quoted[i] = regexp.QuoteMeta(fn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "tool", "objdump", "-s", "^("+strings.Join(quoted, "|")+")$", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump %s: %v\n%s", path, err, out)
	}
	frame := regexp.MustCompile(`\bPUSHQ BP\b|\bSUBQ \$\S+, SP\b|\bADJSP\b|\bCALL\b`)
	body := map[string][]string{}
	fn := ""
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "TEXT "); ok {
			fn, _, _ = strings.Cut(rest, "(SB)")
			body[fn] = nil
			continue
		}
		if fn != "" && strings.TrimSpace(line) != "" {
			body[fn] = append(body[fn], line)
		}
	}
	for _, fn := range fns {
		ins, ok := body[fn]
		if !ok || len(ins) == 0 {
			t.Fatalf("go tool objdump %s: no function %s:\n%s", path, fn, out)
		}
		for _, in := range ins {
			if frame.MatchString(in) {
				t.Fatalf("%s is not a frameless leaf: %s\n(go tool objdump:\n%s)", fn, strings.TrimSpace(in), out)
			}
		}
		t.Logf("%s: frameless leaf (%d instructions, no PUSHQ BP, no SUBQ of SP, no CALL)", fn, len(ins))
	}
}

// confLineSpec is one entry of a target's "lines": where the frame of a
// function must point, in pprof output.
type confLineSpec struct {
	key    string       // the manifest's key: the frame as folded output names it
	fn     string       // pprof's function name (key without _[i])
	inline bool         // key ends _[i]: an inlined frame (not a Location's last Line)
	file   string       // path relative to testdata/targets; pprof's ends with it
	lines  map[int]bool // the lines that carry the marker
	marker string
}

func (sp confLineSpec) String() string {
	var s []string
	for _, l := range slices.Sorted(maps.Keys(sp.lines)) {
		s = append(s, strconv.Itoa(l))
	}
	return fmt.Sprintf("%s:%s (%s)", sp.file, strings.Join(s, ","), sp.marker)
}

// confLineSpecs resolves a target's "lines" ("FILE:@marker": the lines of
// FILE that hold the word @marker) against the sources in dir.
func confLineSpecs(dir string, lines map[string]string) ([]confLineSpec, error) {
	var specs []confLineSpec
	for _, key := range slices.Sorted(maps.Keys(lines)) {
		file, marker, ok := strings.Cut(lines[key], ":")
		if !ok || !strings.HasPrefix(marker, "@") {
			return nil, fmt.Errorf("lines: %s: %q is not FILE:@marker", key, lines[key])
		}
		src, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("lines: %s: %v", key, err)
		}
		sp := confLineSpec{key: key, fn: strings.TrimSuffix(key, "_[i]"), inline: strings.HasSuffix(key, "_[i]"),
			file: file, lines: map[int]bool{}, marker: marker}
		for i, line := range strings.Split(string(src), "\n") {
			if slices.Contains(strings.Fields(line), marker) {
				sp.lines[i+1] = true
			}
		}
		if len(sp.lines) == 0 {
			return nil, fmt.Errorf("lines: %s: no line of %s holds %s", key, file, marker)
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// confLineResult is how the samples of a profile that hold one function
// place it.
type confLineResult struct {
	n, ok int            // samples holding the function; those where all its frames match
	wrong map[string]int // "file:line (inlined)" -> samples, for the mismatches
}

// confLineResults checks every sample of prof against the specs. A sample
// holds a function when one of its frames (a Line of one of its
// Locations) names it; it is right when every such frame is in the right
// file, on a marked line, and inlined or not as the key says.
func confLineResults(prof *profile.Profile, specs []confLineSpec) []confLineResult {
	vi := 0
	for i, st := range prof.SampleType {
		if st.Type == "samples" {
			vi = i
		}
	}
	res := make([]confLineResult, len(specs))
	for i := range res {
		res[i].wrong = map[string]int{}
	}
	for _, s := range prof.Sample {
		if vi >= len(s.Value) {
			continue
		}
		v := int(s.Value[vi])
		for i, sp := range specs {
			held, right := false, true
			for _, loc := range s.Location {
				for j, ln := range loc.Line {
					if ln.Function == nil || ln.Function.Name != sp.fn {
						continue
					}
					held = true
					inline := j < len(loc.Line)-1
					file := ln.Function.Filename
					if inline != sp.inline || !sp.lines[int(ln.Line)] || (file != sp.file && !strings.HasSuffix(file, "/"+sp.file)) {
						right = false
						how := ""
						if inline {
							how = " (inlined)"
						}
						res[i].wrong[fmt.Sprintf("%s:%d%s", file, ln.Line, how)] += v
					}
				}
			}
			if held {
				res[i].n += v
				if right {
					res[i].ok += v
				}
			}
		}
	}
	return res
}

// confCheckLines records p in pprof format and asserts that at least
// confCompleteShare of the samples holding each function of the target's
// "lines" place it on its marked line, inlined where the key ends _[i];
// then that go tool pprof -traces -lines shows it so.
func confCheckLines(t *testing.T, pftop string, tg confTarget, p *confProc, args ...string) {
	t.Helper()
	specs, err := confLineSpecs(filepath.Join(testutil.RepoRoot(t), "testdata", "targets"), tg.Lines)
	if err != nil {
		t.Fatalf("targets.json: %s: %v", tg.Name, err)
	}
	file := filepath.Join(t.TempDir(), tg.Name+".pb.gz")
	var res []confLineResult
	var stderr string
	for attempt := 1; ; attempt++ {
		cpu0 := p.cpuTime()
		_, stderr = confRecord(t, pftop, append([]string{"-d", "3s", "-p", strconv.Itoa(p.pid), "--format", "pprof", "-o", file}, args...)...)
		cpu := p.cpuTime() - cpu0
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := profile.Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("pprof output: %v", err)
		}
		res = confLineResults(prof, specs)
		few := slices.ContainsFunc(res, func(r confLineResult) bool { return r.n < confMinLineSamples })
		groups := max(1, len(tg.Chains), len(tg.Threads))
		if !few || cpu >= confStarved*time.Duration(groups) || attempt == confAttempts {
			break
		}
		t.Logf("pprof attempt %d: too few samples (%.2f s of CPU), the target was starved (the box is busy): recording again", attempt, cpu.Seconds())
	}
	failed := false
	for i, sp := range specs {
		r := res[i]
		kind := "not inlined"
		if sp.inline {
			kind = "inlined"
		}
		if r.n < confMinLineSamples {
			t.Errorf("pprof: only %d samples hold %s (want at least %d)", r.n, sp.fn, confMinLineSamples)
			failed = true
			continue
		}
		share := float64(r.ok) / float64(r.n)
		t.Logf("pprof: %s: %d samples, %.1f%% at %s, %s", sp.key, r.n, 100*share, sp, kind)
		if share < confCompleteShare {
			wrong := slices.Collect(maps.Keys(r.wrong))
			sort.Slice(wrong, func(a, b int) bool { return r.wrong[wrong[a]] > r.wrong[wrong[b]] })
			var b strings.Builder
			for _, w := range wrong {
				fmt.Fprintf(&b, "    %s %s: %d samples\n", sp.fn, w, r.wrong[w])
			}
			t.Errorf("pprof: %s is at %s, %s, in only %.1f%% of %d samples (want at least %.0f%%); elsewhere:\n%s",
				sp.fn, sp, kind, 100*share, r.n, 100*confCompleteShare, b.String())
			failed = true
		}
	}
	if failed {
		t.Logf("pftop stderr (pprof recording):\n%s", stderr)
		return
	}
	confCheckPprofTool(t, file, specs)
}

// confCheckPprofTool asserts that go tool pprof -traces -lines prints each
// function with a marked file:line, "(inline)" after the inlined ones.
func confCheckPprofTool(t *testing.T, file string, specs []confLineSpec) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Logf("go tool pprof not checked: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "tool", "pprof", "-traces", "-lines", file)
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool pprof -traces -lines: %v\n%s", err, out)
	}
	for _, sp := range specs {
		re := regexp.MustCompile(`(?m)\s` + regexp.QuoteMeta(sp.fn) + ` (?:\S*/)?` + regexp.QuoteMeta(sp.file) + `:([0-9]+)( \(inline\))?$`)
		found := false
		for _, m := range re.FindAllStringSubmatch(string(out), -1) {
			n, _ := strconv.Atoi(m[1])
			if sp.lines[n] && (m[2] != "") == sp.inline {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("go tool pprof -traces -lines shows %s nowhere at %s (inline %v):\n%s", sp.fn, sp, sp.inline, confHead(string(out), 60))
		}
	}
	if !t.Failed() {
		t.Logf("go tool pprof -traces -lines, heaviest trace first:\n%s", confHead(string(out), 30))
	}
}

func confHead(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// TestConformanceLinesCheck pins the pprof line rule and the manifest's
// markers; it needs neither root nor BPF.
func TestConformanceLinesCheck(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "testdata", "targets")
	for _, tg := range confLoadTargets(t) {
		if _, err := confLineSpecs(dir, tg.Lines); err != nil {
			t.Errorf("targets.json: %s: %v", tg.Name, err)
		}
	}
	specs, err := confLineSpecs(dir, map[string]string{"inl_helper_[i]": "inline.c:@helper-calls-leaf", "inl_spin_[i]": "inline.c:@spin"})
	if err != nil {
		t.Fatal(err)
	}
	helper, spin := 0, 0
	for l := range specs[0].lines {
		helper = l
	}
	for l := range specs[1].lines {
		spin = max(spin, l)
	}
	if len(specs[0].lines) != 1 || len(specs[1].lines) != 2 {
		t.Fatalf("markers: %v, %v", specs[0], specs[1])
	}
	fn := func(name string) *profile.Function {
		return &profile.Function{Name: name, Filename: "/src/testdata/targets/inline.c"}
	}
	leaf := &profile.Location{Line: []profile.Line{{Function: fn("inl_spin"), Line: int64(spin)}, {Function: fn("inl_leaf"), Line: 1}}}
	call := &profile.Location{Line: []profile.Line{{Function: fn("inl_helper"), Line: int64(helper)}, {Function: fn("inl_caller"), Line: 1}}}
	notInline := &profile.Location{Line: []profile.Line{{Function: fn("inl_helper"), Line: int64(helper)}}}
	wrongLine := &profile.Location{Line: []profile.Line{{Function: fn("inl_helper"), Line: int64(helper + 1)}, {Function: fn("inl_caller"), Line: 1}}}
	prof := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{leaf, call}, Value: []int64{90, 1}},
			{Location: []*profile.Location{leaf, notInline}, Value: []int64{3, 1}},
			{Location: []*profile.Location{leaf, wrongLine}, Value: []int64{2, 1}},
			{Location: []*profile.Location{call}, Value: []int64{5, 1}},
		},
	}
	res := confLineResults(prof, specs)
	if r := res[0]; r.n != 100 || r.ok != 95 || r.wrong[fmt.Sprintf("/src/testdata/targets/inline.c:%d", helper)] != 3 ||
		r.wrong[fmt.Sprintf("/src/testdata/targets/inline.c:%d (inlined)", helper+1)] != 2 {
		t.Errorf("inl_helper_[i]: %+v", r)
	}
	if r := res[1]; r.n != 95 || r.ok != 95 {
		t.Errorf("inl_spin_[i]: %+v", r)
	}

	// A build-ID note: name "GNU\0", type 3, after a note of another type.
	var notes []byte
	note := func(typ uint32, name, desc string) {
		notes = binary.LittleEndian.AppendUint32(notes, uint32(len(name)))
		notes = binary.LittleEndian.AppendUint32(notes, uint32(len(desc)))
		notes = binary.LittleEndian.AppendUint32(notes, typ)
		notes = append(notes, name...)
		for len(notes)%4 != 0 {
			notes = append(notes, 0)
		}
		notes = append(notes, desc...)
		for len(notes)%4 != 0 {
			notes = append(notes, 0)
		}
	}
	note(1, "GNU\x00", "\x00\x00\x00\x00\x03\x00\x00\x00")
	note(3, "GNU\x00", "\x12\x34\xab\xcd\xef")
	if id := confNoteBuildID(notes, binary.LittleEndian); id != "1234abcdef" {
		t.Errorf("build ID %q, want 1234abcdef", id)
	}
	if id := confNoteBuildID(notes[:len(notes)-4], binary.LittleEndian); id != "" {
		t.Errorf("truncated note: build ID %q", id)
	}
}
