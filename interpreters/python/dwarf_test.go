package python

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// dwarfTypes finds the complete definitions of named types in one DWARF
// image: typedef names and struct tags.
type dwarfTypes struct {
	d     *dwarf.Data
	cands map[string][]dwarf.Offset
}

func loadDWARFTypes(path string, names []string) (*dwarfTypes, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("dwarf of %s: %w", path, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	t := &dwarfTypes{d: d, cands: map[string][]dwarf.Offset{}}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			continue // descend into the unit's top-level entries
		case dwarf.TagTypedef, dwarf.TagStructType:
			name, _ := e.Val(dwarf.AttrName).(string)
			decl, _ := e.Val(dwarf.AttrDeclaration).(bool)
			if want[name] && !decl {
				t.cands[name] = append(t.cands[name], e.Offset)
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return t, nil
}

// structType resolves name to a complete struct.
func (t *dwarfTypes) structType(name string) (*dwarf.StructType, error) {
	for _, off := range t.cands[name] {
		typ, err := t.d.Type(off)
		if err != nil {
			continue
		}
		if s, ok := resolveStruct(typ); ok && !s.Incomplete {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no complete definition of %s", name)
}

func resolveStruct(typ dwarf.Type) (*dwarf.StructType, bool) {
	for {
		switch tt := typ.(type) {
		case *dwarf.TypedefType:
			typ = tt.Type
		case *dwarf.QualType:
			typ = tt.Type
		case *dwarf.StructType:
			return tt, true
		default:
			return nil, false
		}
	}
}

// offset returns the byte offset of the dotted member path in type name, or
// its size when path is "sizeof".
func (t *dwarfTypes) offset(name, path string) (uint32, error) {
	s, err := t.structType(name)
	if err != nil {
		return 0, err
	}
	if path == "sizeof" {
		return uint32(s.ByteSize), nil
	}
	var total int64
	parts := strings.Split(path, ".")
	for i, p := range parts {
		var found *dwarf.StructField
		for _, f := range s.Field {
			if f.Name == p {
				found = f
				break
			}
		}
		if found == nil {
			return 0, fmt.Errorf("%s has no member %s", name, strings.Join(parts[:i+1], "."))
		}
		total += found.ByteOffset
		if i == len(parts)-1 {
			break
		}
		next, ok := resolveStruct(found.Type)
		if !ok {
			return 0, fmt.Errorf("%s.%s is not a struct", name, p)
		}
		s = next
	}
	return uint32(total), nil
}

// bitField returns the bit position (from the start of the struct) and the
// width of a bit-field member of the struct at the dotted path.
func (t *dwarfTypes) bitField(name, path, member string) (int64, int64, error) {
	base, err := t.offset(name, path)
	if err != nil {
		return 0, 0, err
	}
	s, _ := t.structType(name)
	for _, p := range strings.Split(path, ".") {
		for _, f := range s.Field {
			if f.Name == p {
				s, _ = resolveStruct(f.Type)
				break
			}
		}
	}
	if s == nil {
		return 0, 0, errors.New("no struct at " + path)
	}
	_ = base
	for _, f := range s.Field {
		if f.Name != member {
			continue
		}
		if f.BitOffset == 0 {
			return f.DataBitOffset, f.BitSize, nil
		}
		// DWARF 2/3 style: BitOffset counts from the storage unit's most
		// significant bit; on little-endian the position is mirrored.
		return f.ByteOffset*8 + f.ByteSize*8 - f.BitOffset - f.BitSize, f.BitSize, nil
	}
	return 0, 0, fmt.Errorf("%s.%s has no bit field %s", name, path, member)
}

// fieldSpec ties one table field to where DWARF defines it: typ is a typedef
// or struct tag, path a dotted member path or "sizeof". typ "" means the
// field must be zero for this version.
type fieldSpec struct {
	name      string
	got       uint32
	typ, path string
}

func layoutSpecs(v Version, l *layout) []fieldSpec {
	ts, frame := "PyThreadState", "PyFrameObject"
	if v.atLeast(3, 11) {
		frame = "_PyInterpreterFrame"
	}
	code := "PyCodeObject"
	sp := []fieldSpec{
		{"InterpThreadsHead", l.InterpThreadsHead, "PyInterpreterState", "tstate_head"},
		{"TstateNext", l.TstateNext, ts, "next"},
		{"TstateThreadID", l.TstateThreadID, ts, "thread_id"},
		{"TstateFrame", l.TstateFrame, ts, "frame"},
		{"CFrameCurrentFrame", l.CFrameCurrentFrame, "", ""},
		{"FrameBack", l.FrameBack, frame, "f_back"},
		{"FrameCode", l.FrameCode, frame, "f_code"},
		{"FrameLasti", l.FrameLasti, frame, "f_lasti"},
		{"FrameOwner", l.FrameOwner, "", ""},
		{"CodeFirstLineNo", l.CodeFirstLineNo, code, "co_firstlineno"},
		{"CodeAdaptive", l.CodeAdaptive, "", ""},
		{"RuntimeInterpHead", l.RuntimeInterpHead, "", ""},
		{"CodeName", l.CodeName, code, "co_name"},
		{"CodeQualname", l.CodeQualname, "", ""},
		{"CodeFilename", l.CodeFilename, code, "co_filename"},
		{"CodeLineTable", l.CodeLineTable, code, "co_lnotab"},
		{"BytesData", l.BytesData, "PyBytesObject", "ob_sval"},
		{"UnicodeState", l.UnicodeState, "PyASCIIObject", "state"},
		{"ASCIISize", l.ASCIISize, "PyASCIIObject", "sizeof"},
		{"CompactSize", l.CompactSize, "PyCompactUnicodeObject", "sizeof"},
	}
	set := func(name, typ, path string) {
		for i := range sp {
			if sp[i].name == name {
				sp[i].typ, sp[i].path = typ, path
			}
		}
	}
	if v.Major == 2 {
		set("BytesData", "PyStringObject", "ob_sval")
		set("UnicodeState", "", "")
		set("ASCIISize", "", "")
		set("CompactSize", "", "")
	}
	if v.atLeast(3, 7) {
		set("RuntimeInterpHead", "_PyRuntimeState", "interpreters.head")
	}
	if v.atLeast(3, 10) {
		set("CodeLineTable", code, "co_linetable")
	}
	if v.atLeast(3, 11) {
		set("FrameBack", frame, "previous")
		set("TstateFrame", ts, "cframe")
		set("CFrameCurrentFrame", "_PyCFrame", "current_frame")
		set("FrameLasti", frame, "prev_instr")
		set("FrameOwner", frame, "is_entry")
		set("CodeAdaptive", code, "co_code_adaptive")
		set("CodeQualname", code, "co_qualname")
		set("InterpThreadsHead", "PyInterpreterState", "threads.head")
	}
	if v.atLeast(3, 12) {
		set("FrameOwner", frame, "owner")
	}
	if v.atLeast(3, 13) {
		set("TstateFrame", ts, "current_frame")
		set("CFrameCurrentFrame", "", "")
		set("FrameCode", frame, "f_executable")
		set("FrameLasti", frame, "instr_ptr")
	}
	return sp
}

var dwarfTypeNames = []string{
	"PyThreadState", "PyInterpreterState", "PyFrameObject", "_PyInterpreterFrame",
	"_PyCFrame", "PyCodeObject", "_PyRuntimeState", "PyBytesObject", "PyStringObject",
	"PyASCIIObject", "PyCompactUnicodeObject", "_Py_DebugOffsets",
}

// installedPython is one pyenv-installed version with its shared library.
type installedPython struct {
	Version Version
	Root    string // e.g. /root/.pyenv/versions/3.11.7
	Exe     string
	Lib     string
}

var pyenvDirRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

// installedPythons lists /root/.pyenv/versions/X.Y.Z that have a libpython.
func installedPythons(t testing.TB) []installedPython {
	t.Helper()
	root := os.Getenv("PFTOP_PYENV_ROOT")
	if root == "" {
		root = "/root/.pyenv/versions"
	}
	dirs, _ := os.ReadDir(root)
	var out []installedPython
	for _, d := range dirs {
		m := pyenvDirRE.FindStringSubmatch(d.Name())
		if m == nil {
			continue
		}
		var v Version
		v.Major, _ = strconv.Atoi(m[1])
		v.Minor, _ = strconv.Atoi(m[2])
		v.Patch, _ = strconv.Atoi(m[3])
		dir := filepath.Join(root, d.Name())
		libs, _ := filepath.Glob(filepath.Join(dir, "lib", fmt.Sprintf("libpython%d.%d*.so.1.0", v.Major, v.Minor)))
		exe := filepath.Join(dir, "bin", fmt.Sprintf("python%d.%d", v.Major, v.Minor))
		if len(libs) == 0 {
			continue
		}
		if _, err := os.Stat(exe); err != nil {
			continue
		}
		out = append(out, installedPython{Version: v, Root: dir, Exe: exe, Lib: libs[0]})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Version, out[j].Version
		return a.Major*100+a.Minor < b.Major*100+b.Minor
	})
	return out
}

// wantedVersions are the minor versions the package supports; tests report
// each one missing here as a skip.
var wantedVersions = []Version{{2, 7, 0}, {3, 6, 0}, {3, 7, 0}, {3, 8, 0}, {3, 9, 0}, {3, 10, 0}, {3, 11, 0}, {3, 12, 0}, {3, 13, 0}}

// forEachPython runs fn as a subtest per supported minor version, skipping
// (with the reason) the versions that are not installed.
func forEachPython(t *testing.T, fn func(t *testing.T, py installedPython)) {
	have := map[[2]int]installedPython{}
	for _, py := range installedPythons(t) {
		have[[2]int{py.Version.Major, py.Version.Minor}] = py
	}
	for _, w := range wantedVersions {
		t.Run(fmt.Sprintf("%d.%d", w.Major, w.Minor), func(t *testing.T) {
			py, ok := have[[2]int{w.Major, w.Minor}]
			if !ok {
				t.Skipf("CPython %d.%d is not installed under /root/.pyenv/versions (set PFTOP_PYENV_ROOT)", w.Major, w.Minor)
			}
			fn(t, py)
		})
	}
}

func TestLayoutsMatchDWARF(t *testing.T) {
	forEachPython(t, func(t *testing.T, py installedPython) {
		t.Parallel()
		l, ok := layoutFor(py.Version)
		if !ok {
			t.Fatalf("no layout for %v", py.Version)
		}
		types, err := loadDWARFTypes(py.Lib, dwarfTypeNames)
		if err != nil {
			t.Skipf("no DWARF in %s: %v", py.Lib, err)
		}
		var dump strings.Builder
		for _, f := range layoutSpecs(py.Version, &l) {
			want := uint32(0)
			if f.typ != "" {
				want, err = types.offset(f.typ, f.path)
				if err != nil {
					t.Errorf("%s: %v", f.name, err)
					continue
				}
			}
			fmt.Fprintf(&dump, "%s: %d, ", f.name, want)
			if f.got != want {
				t.Errorf("%s = %d, DWARF says %s.%s = %d", f.name, f.got, f.typ, f.path, want)
			}
		}
		if t.Failed() {
			t.Logf("DWARF layout: %s", dump.String())
		}
		if py.Version.Major == 3 {
			// The state bits decodeUnicode relies on.
			for _, b := range []struct {
				name      string
				pos, size int64
			}{{"kind", uniKindShift, 3}, {"compact", uniCompactBit, 1}, {"ascii", uniASCIIBit, 1}} {
				pos, size, err := types.bitField("PyASCIIObject", "state", b.name)
				if err != nil {
					t.Errorf("state.%s: %v", b.name, err)
					continue
				}
				if pos != b.pos || size != b.size {
					t.Errorf("state.%s at bit %d width %d, want %d width %d", b.name, pos, size, b.pos, b.size)
				}
			}
		}
	})
}

// TestDebugOffsetsMatchDWARF checks the positions parseDebugOffsets reads
// in 3.13's _Py_DebugOffsets against its DWARF, and that what the runtime
// publishes agrees with the table.
func TestDebugOffsetsMatchDWARF(t *testing.T) {
	var py *installedPython
	for _, p := range installedPythons(t) {
		if p.Version.Major == 3 && p.Version.Minor == 13 {
			py = &p
		}
	}
	if py == nil {
		t.Skip("CPython 3.13 is not installed under /root/.pyenv/versions")
	}
	types, err := loadDWARFTypes(py.Lib, dwarfTypeNames)
	if err != nil {
		t.Skipf("no DWARF in %s: %v", py.Lib, err)
	}
	for _, c := range []struct {
		path string
		got  int
	}{
		{"cookie", dbgCookie}, {"version", dbgVersion}, {"free_threaded", dbgFreeThreaded},
		{"runtime_state.interpreters_head", dbgRuntimeInterpHead},
		{"interpreter_state.size", dbgInterpSize}, {"interpreter_state.threads_head", dbgInterpThreadsHead},
		{"thread_state.size", dbgTstateSize}, {"thread_state.next", dbgTstateNext},
		{"thread_state.current_frame", dbgTstateFrame}, {"thread_state.thread_id", dbgTstateThreadID},
		{"interpreter_frame.size", dbgFrameSize}, {"interpreter_frame.previous", dbgFramePrevious},
		{"interpreter_frame.executable", dbgFrameExecutable}, {"interpreter_frame.instr_ptr", dbgFrameInstrPtr},
		{"interpreter_frame.owner", dbgFrameOwner}, {"code_object.size", dbgCodeSize},
		{"code_object.filename", dbgCodeFilename}, {"code_object.name", dbgCodeName},
		{"code_object.qualname", dbgCodeQualname}, {"code_object.linetable", dbgCodeLinetable},
		{"code_object.firstlineno", dbgCodeFirstLineNo}, {"code_object.co_code_adaptive", dbgCodeAdaptive},
		{"bytes_object.ob_sval", dbgBytesSval}, {"unicode_object.state", dbgUnicodeState},
		{"unicode_object.asciiobject_size", dbgUnicodeASCIISize}, {"sizeof", dbgSize313},
	} {
		want, err := types.offset("_Py_DebugOffsets", c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
		} else if uint32(c.got) != want {
			t.Errorf("_Py_DebugOffsets.%s at %d, DWARF says %d", c.path, c.got, want)
		}
	}
	// The initial value of _PyRuntime in the file holds the offsets.
	f, err := elf.Open(py.Lib)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms := readSyms(f, true)
	rt, ok := syms["_PyRuntime"]
	if !ok {
		t.Fatal("no _PyRuntime")
	}
	b, err := readVA(f, rt.Value, dbgSize313)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseDebugOffsets(b, py.Version)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := layoutFor(py.Version)
	if got != want {
		t.Errorf("published debug offsets\n%+v\ndiffer from the table\n%+v", got, want)
	}
	// A record for another version, or a damaged one, is refused.
	if _, err := parseDebugOffsets(b, Version{3, 14, 0}); err == nil {
		t.Error("offsets for 3.13 accepted as 3.14's")
	}
	bad := slices.Clone(b)
	bad[dbgTstateNext] = 0xff
	bad[dbgTstateNext+1] = 0xff
	if _, err := parseDebugOffsets(bad, py.Version); err == nil {
		t.Error("a member beyond its structure's size was accepted")
	}
	bad = slices.Clone(b)
	bad[dbgFreeThreaded] = 1
	if _, err := parseDebugOffsets(bad, py.Version); err == nil {
		t.Error("a free-threaded build was accepted")
	}
}
