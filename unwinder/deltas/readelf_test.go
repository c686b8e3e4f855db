package deltas

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const libcPath = "/lib/x86_64-linux-gnu/libc.so.6"

// readelfRow is one row of `readelf --debug-dump=frames-interp` for
// .eh_frame, with the columns the rules depend on.
type readelfRow struct {
	addr          uint64
	cfa, rbp, ra  string
	signal        bool
	fdeLo, fdeHi  uint64
	cieOff, fdeOf string
}

var (
	reCIE = regexp.MustCompile(`^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE "([^"]*)"`)
	reFDE = regexp.MustCompile(`^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)`)
	reRow = regexp.MustCompile(`^[0-9a-f]{16} `)
)

// readelfFrames runs readelf on path and returns the .eh_frame rows,
// keeping only the last row for each address of an FDE. An FDE without
// instructions has no table in readelf's output; it gets its CIE's row.
func readelfFrames(t *testing.T, path string) (rows []readelfRow, fdes []addrRange) {
	t.Helper()
	readelf, err := exec.LookPath("readelf")
	if err != nil {
		t.Skip("readelf (binutils) not installed")
	}
	// -wN: do not follow .gnu_debuglink (a missing debug file makes
	// readelf exit 1 after a complete dump).
	out, err := exec.Command(readelf, "-wN", "--debug-dump=frames-interp", path).Output()
	if err != nil {
		t.Fatalf("readelf %s: %v", path, err)
	}
	type cieInfo struct {
		aug string
		row readelfRow
	}
	cies := map[string]*cieInfo{}
	var cols []string
	var cur *readelfRow // FDE header
	var curCIE *cieInfo
	var fdeRows []readelfRow
	inEH := false
	flush := func() {
		if cur == nil {
			return
		}
		if len(fdeRows) == 0 && cies[cur.cieOff] != nil {
			r := cies[cur.cieOff].row
			r.addr, r.fdeLo, r.fdeHi, r.signal = cur.fdeLo, cur.fdeLo, cur.fdeHi, cur.signal
			fdeRows = append(fdeRows, r)
		}
		for i, r := range fdeRows {
			if r.addr >= cur.fdeHi || (i+1 < len(fdeRows) && fdeRows[i+1].addr == r.addr) {
				continue
			}
			rows = append(rows, r)
		}
		fdes = append(fdes, addrRange{cur.fdeLo, cur.fdeHi})
		cur, fdeRows = nil, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Contents of the ") {
			flush()
			inEH = strings.HasPrefix(line, "Contents of the .eh_frame section")
			continue
		}
		if !inEH {
			continue
		}
		if m := reCIE.FindStringSubmatch(line); m != nil {
			flush()
			curCIE = &cieInfo{aug: m[2]}
			cies[m[1]] = curCIE
			continue
		}
		if m := reFDE.FindStringSubmatch(line); m != nil {
			flush()
			curCIE = nil
			lo, _ := strconv.ParseUint(m[3], 16, 64)
			hi, _ := strconv.ParseUint(m[4], 16, 64)
			cur = &readelfRow{fdeLo: lo, fdeHi: hi, cieOff: m[2], fdeOf: m[1]}
			if ci := cies[m[2]]; ci != nil {
				cur.signal = strings.Contains(ci.aug, "S")
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "LOC" {
			cols = f
			continue
		}
		if !reRow.MatchString(line) || len(f) != len(cols) {
			continue
		}
		r := readelfRow{cfa: f[1]}
		r.addr, _ = strconv.ParseUint(f[0], 16, 64)
		for i, c := range cols {
			switch c {
			case "rbp":
				r.rbp = f[i]
			case "ra":
				r.ra = f[i]
			}
		}
		if curCIE != nil {
			curCIE.row = r
		} else if cur != nil {
			r.fdeLo, r.fdeHi, r.signal = cur.fdeLo, cur.fdeHi, cur.signal
			fdeRows = append(fdeRows, r)
		}
	}
	flush()
	if len(fdes) == 0 {
		t.Fatalf("readelf found no .eh_frame FDEs in %s", path)
	}
	return rows, fdes
}

var reRegOff = regexp.MustCompile(`^(rsp|rbp)([+-]\d+)$`)

// expectedRule turns a readelf row into the rule the table must have. ok
// is false for rows the comparison does not cover (expressions, CFA in
// another register).
func expectedRule(r readelfRow) (Rule, bool) {
	if r.signal {
		return Rule{CFA: CFASignal}, true
	}
	switch r.ra {
	case "u":
		return Rule{CFA: CFAEnd}, true
	case "c-8":
	default:
		return Rule{}, false
	}
	m := reRegOff.FindStringSubmatch(r.cfa)
	if m == nil {
		return Rule{}, false
	}
	off, _ := strconv.ParseInt(m[2], 10, 32)
	rule := Rule{CFA: CFARSP, CFAOffset: int32(off)}
	if m[1] == "rbp" {
		rule.CFA = CFARBP
	}
	switch {
	case r.rbp == "" || r.rbp == "u" || r.rbp == "s":
	case strings.HasPrefix(r.rbp, "c"):
		o, err := strconv.ParseInt(r.rbp[1:], 10, 32)
		if err != nil {
			return Rule{}, false
		}
		rule.RBP, rule.RBPOffset = RBPAtCFA, int32(o)
	default:
		return Rule{}, false
	}
	return rule, true
}

// crossCheck compares every rsp/rbp-based row readelf prints with the
// table. Addresses covered by more than one FDE are skipped: there the
// later FDE wins by design.
func crossCheck(t *testing.T, path string) *Table {
	t.Helper()
	rows, fdes := readelfFrames(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := Extract(f)
	if err != nil {
		t.Fatalf("Extract(%s): %v", path, err)
	}
	checkInvariants(t, tab)

	// Coverage count per address, from the FDE ranges.
	overlapped := func(a uint64) bool {
		n := 0
		for _, r := range fdes {
			if r.lo <= a && a < r.hi {
				n++
			}
		}
		return n > 1
	}
	if len(fdes) > 20000 {
		overlapped = func(uint64) bool { return false }
	}
	checked, bad := 0, 0
	for _, r := range rows {
		want, ok := expectedRule(r)
		if !ok {
			continue
		}
		got, found := lookup(tab, r.addr)
		if got != want && overlapped(r.addr) {
			continue
		}
		checked++
		if !found || got != want {
			bad++
			if bad <= 20 {
				t.Errorf("%s %#x (FDE %#x..%#x): got %v, readelf says cfa=%s rbp=%s ra=%s (want %v)",
					filepath.Base(path), r.addr, r.fdeLo, r.fdeHi, got, r.cfa, r.rbp, r.ra, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d rows differ", path, bad, checked)
	}
	if checked == 0 {
		t.Errorf("%s: no row compared", path)
	}
	t.Logf("%s: %d rows compared with readelf, %d deltas", filepath.Base(path), checked, len(tab.Deltas))
	return tab
}

func TestCrossCheckLibc(t *testing.T) {
	if _, err := os.Stat(libcPath); err != nil {
		t.Skipf("%s: %v", libcPath, err)
	}
	tab := crossCheck(t, libcPath)

	// __restore_rt is `mov $15, %rax; syscall` (rt_sigreturn); libc has
	// no .symtab, so find it by its bytes.
	ef, err := elf.Open(libcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	text, err := ef.Section(".text").Data()
	if err != nil {
		t.Fatal(err)
	}
	restoreRT := []byte{0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05}
	i := bytes.Index(text, restoreRT)
	if i < 0 {
		t.Fatal("__restore_rt not found in libc's .text")
	}
	addr := ef.Section(".text").Addr + uint64(i)
	for a := addr; a < addr+uint64(len(restoreRT)); a++ {
		if r, _ := lookup(tab, a); r.CFA != CFASignal {
			t.Errorf("__restore_rt+%d (%#x): %v, want signal", a-addr, a, r)
		}
	}
	checkPLT(t, ef, tab)
}

// checkPLT asserts that every lazy-binding stub of .plt (after PLT0) is
// covered by the PLT expression.
func checkPLT(t *testing.T, ef *elf.File, tab *Table) {
	t.Helper()
	plt := ef.Section(".plt")
	if plt == nil || plt.Size <= 16 {
		t.Errorf("no .plt stubs")
		return
	}
	for a := plt.Addr + 16; a < plt.Addr+plt.Size; a++ {
		if r, _ := lookup(tab, a); r.CFA != CFAPLT {
			t.Errorf(".plt+%#x: %v, want the PLT rule", a-plt.Addr, r)
			return
		}
	}
}

// checkStart asserts that the entry point (_start) ends the stack.
func checkStart(t *testing.T, ef *elf.File, tab *Table) {
	t.Helper()
	if r, _ := lookup(tab, ef.Entry); r.CFA != CFAEnd {
		t.Errorf("_start (%#x): %v, want end", ef.Entry, r)
	}
}

func TestCrossCheckGCC(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"o2", []string{"-O2"}},
		{"o2-fp", []string{"-O2", "-fno-omit-frame-pointer"}},
		{"o0", []string{"-O0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			args := append(append([]string{}, tc.flags...), "-Wl,-z,lazy", "-o", out, "testdata/prog.c")
			if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("gcc: %v\n%s", err, b)
			}
			tab := crossCheck(t, out)
			ef, err := elf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			checkStart(t, ef, tab)
			checkPLT(t, ef, tab)
			checkSymbols(t, ef, tab)
		})
	}
}

// checkSymbols asserts the rules of prog.c's special functions.
func checkSymbols(t *testing.T, ef *elf.File, tab *Table) {
	t.Helper()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatalf("symbols: %v", err)
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	if a, ok := addr["sigstub"]; !ok {
		t.Error("no sigstub symbol")
	} else if r, _ := lookup(tab, a); r.CFA != CFASignal {
		t.Errorf("sigstub: %v, want signal", r)
	}
	if a, ok := addr["_start"]; !ok {
		t.Error("no _start symbol")
	} else if r, _ := lookup(tab, a); r.CFA != CFAEnd {
		t.Errorf("_start: %v, want end", r)
	}
}

// With -short this is skipped: readelf's dump of node is ~40 MB.
func TestCrossCheckNode(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	path, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if path, err = filepath.EvalSymlinks(path); err != nil {
		t.Skip(err)
	}
	crossCheck(t, path)
}
