package symtab

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseKallsyms(t *testing.T) {
	f, err := os.Open("testdata/kallsyms.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := ParseKallsyms(f)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 7 {
		t.Errorf("Len() = %d, want 7 (one per text address)", k.Len())
	}
	tests := []struct {
		addr       uint64
		name, mod  string
		wantAbsent bool
	}{
		{addr: 0x1000, wantAbsent: true}, // only absolute (A) symbols below
		{addr: 0xffffffff80ffffff, wantAbsent: true},
		{addr: 0xffffffff81000000, name: "_text"}, // global, shortest of _text/_stext/__pi__text
		{addr: 0xffffffff81000fff, name: "_text"},
		{addr: 0xffffffff81001000, name: "weak_alias"}, // weak beats local
		{addr: 0xffffffff81002000, name: "weak_alias"}, // data symbols are dropped
		{addr: 0xffffffff81003000, name: "big_func"},
		{addr: 0xffffffff81003000 + 0xffff, name: "big_func"}, // last of the image: 64 KiB
		{addr: 0xffffffff81003000 + 0x10000, wantAbsent: true},
		{addr: 0xffffffffc0a00000, name: "mod_func", mod: "mymod"}, // unsorted input
		{addr: 0xffffffffc0a000ff, name: "mod_func", mod: "mymod"},
		{addr: 0xffffffffc0a00180, name: "mod_func2", mod: "mymod"},
		{addr: 0xffffffffc0a00200, name: "mod_func2", mod: "mymod"},
		{addr: 0xffffffffc0b00010, name: "bpf_prog_6deef7357e7b4530_sd_fw_ingress", mod: "bpf"},
		{addr: 0xffffffffc0c00000, name: "weak_mod_func", mod: "other_mod"},
		{addr: 0xffffffffc0d00000, wantAbsent: true},
	}
	for _, tt := range tests {
		name, mod, ok := k.Lookup(tt.addr)
		if tt.wantAbsent {
			if ok {
				t.Errorf("Lookup(%#x) = %q [%s], want none", tt.addr, name, mod)
			}
			continue
		}
		if !ok || name != tt.name || mod != tt.mod {
			t.Errorf("Lookup(%#x) = %q, %q, %v; want %q, %q", tt.addr, name, mod, ok, tt.name, tt.mod)
		}
	}
}

func TestParseKallsymsErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"hidden", "0000000000000000 T _stext\n0000000000000000 t foo\t[mod]\n", ErrKallsymsHidden},
		{"empty", "", ErrNoSymbols},
		{"no text", "ffffffff81002000 D some_data\n", ErrNoSymbols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseKallsyms(strings.NewReader(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
	for _, in := range []string{
		"zzzz T foo\n",
		"ffffffff81000000 T\n",
		"ffffffff81000000 TT foo\n",
		"1ffffffff81000000 T foo\n",
		"ffffffff81000000 T foo\n" + strings.Repeat("x", 70<<10) + "\n",
	} {
		var fe *FormatError
		if _, err := ParseKallsyms(strings.NewReader(in)); !errors.As(err, &fe) {
			t.Errorf("ParseKallsyms(%.40q) = %v, want a FormatError", in, err)
		}
	}
}

// Lines for symbols that are dropped must not allocate.
func TestParseKallsymsAllocs(t *testing.T) {
	build := func(dropped int) string {
		var b strings.Builder
		b.WriteString("ffffffff81000000 T _stext\n")
		for i := range dropped {
			b.WriteString("ffffffff8200" + strconv.FormatInt(int64(1000+i%9000), 16) + " d some_data_symbol\t[mod]\n")
		}
		return b.String()
	}
	allocs := func(in string) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := ParseKallsyms(strings.NewReader(in)); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(build(10)), allocs(build(10000))
	if large > small {
		t.Errorf("allocations grow with dropped lines: %v for 10, %v for 10000", small, large)
	}
}

func TestLoadKallsymsReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read kernel addresses")
	}
	k, err := LoadKallsyms()
	if errors.Is(err, ErrKallsymsHidden) {
		t.Skipf("kernel hides addresses even from root here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() < 1000 {
		t.Errorf("only %d kernel text symbols", k.Len())
	}

	// Cross-check a few unique global functions against a plain parse.
	want := map[string]uint64{"schedule": 0, "do_sys_open": 0, "vfs_read": 0}
	count := map[string]int{}
	f, err := os.Open(kallsymsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byAddr := map[uint64]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		a, _ := strconv.ParseUint(fields[0], 16, 64)
		byAddr[a]++
		if _, ok := want[fields[2]]; ok && fields[1] == "T" {
			want[fields[2]] = a
			count[fields[2]]++
		}
	}
	checked := 0
	for name, addr := range want {
		if addr == 0 || count[name] != 1 || byAddr[addr] != 1 {
			continue // absent, duplicated or aliased on this kernel
		}
		checked++
		for _, a := range []uint64{addr, addr + 1} {
			if got, mod, ok := k.Lookup(a); !ok || got != name || mod != "" {
				t.Errorf("Lookup(%#x) = %q, %q, %v; want %s", a, got, mod, ok, name)
			}
		}
	}
	if checked == 0 {
		t.Error("none of schedule, do_sys_open, vfs_read found uniquely in /proc/kallsyms")
	}
}

// Names spread over several blocks still resolve.
func TestParseKallsymsManyNames(t *testing.T) {
	const n = 20000
	var b strings.Builder
	for i := range n {
		// Lines in reverse address order, names of varying length.
		addr := uint64(0xffffffff81000000) + uint64(n-i)*0x10
		b.WriteString(strconv.FormatUint(addr, 16) + " T func_" + strings.Repeat("x", i%40) + "_" + strconv.Itoa(i) + "\n")
	}
	k, err := ParseKallsyms(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.names) < 2 {
		t.Fatalf("test wants several name blocks, got %d", len(k.names))
	}
	for i := range n {
		addr := uint64(0xffffffff81000000) + uint64(n-i)*0x10
		want := "func_" + strings.Repeat("x", i%40) + "_" + strconv.Itoa(i)
		if name, _, ok := k.Lookup(addr + 0xf); !ok || name != want {
			t.Fatalf("Lookup(%#x) = %q, %v; want %q", addr+0xf, name, ok, want)
		}
	}
}
