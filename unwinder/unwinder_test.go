package unwinder

import (
	"bytes"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/unwinder/deltas"
)

const mapsFixture = `55d0c8a00000-55d0c8a01000 r--p 00000000 fd:01 1234                       /usr/bin/target
55d0c8a01000-55d0c8a02000 r-xp 00001000 fd:01 1234                       /usr/bin/target
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 
7f1e2c200000-7f1e2c226000 r--p 00000000 fd:01 5678                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2c226000-7f1e2c39b000 r-xp 00026000 fd:01 5678                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2c400000-7f1e2c401000 r-xp 00000000 fd:01 9999                       /tmp/my lib (deleted)
7ffd1c5f0000-7ffd1c5f2000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`

func TestParseMaps(t *testing.T) {
	ms, err := ParseMaps(strings.NewReader(mapsFixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("got %d mappings, want 8", len(ms))
	}
	m := ms[1]
	if m.Start != 0x55d0c8a01000 || m.End != 0x55d0c8a02000 || m.Offset != 0x1000 || m.Inode != 1234 ||
		m.Path != "/usr/bin/target" || !m.Executable() || !m.FileBacked() {
		t.Errorf("mapping 1 = %+v", m)
	}
	if ms[2].FileBacked() || ms[2].Executable() || ms[2].Path != "" {
		t.Errorf("anonymous mapping = %+v", ms[2])
	}
	if ms[5].Path != "/tmp/my lib (deleted)" {
		t.Errorf("path with spaces = %q", ms[5].Path)
	}
	if ms[6].FileBacked() || !ms[6].Executable() {
		t.Errorf("vdso = %+v", ms[6])
	}
	for _, bad := range []string{"zz-10 r-xp 0 fd:01 1 /x\n", "10-5 r-xp 0 fd:01 1 /x\n", "10-20 r-x 0 fd:01 1 /x\n", "10-20 r-xp 0 fd:01 x /x\n"} {
		if _, err := ParseMaps(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseMaps(%q) succeeded", bad)
		}
	}
}

func FuzzParseMaps(f *testing.F) {
	f.Add([]byte(mapsFixture))
	f.Add([]byte("0-0 ---- 0 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMaps(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.End < m.Start {
				t.Fatalf("end before start: %+v", m)
			}
		}
	})
}

func TestFileID(t *testing.T) {
	small := bytes.Repeat([]byte{1}, 100)
	big := make([]byte, 10000)
	for i := range big {
		big[i] = byte(i)
	}
	a, err := ComputeFileID(bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ComputeFileID(bytes.NewReader(big), int64(len(big)))
	if a == b {
		t.Fatal("different files share an ID")
	}
	// Only the head, the tail and the length count.
	mid := append([]byte(nil), big...)
	mid[5000] ^= 0xff
	c, _ := ComputeFileID(bytes.NewReader(mid), int64(len(mid)))
	if c != b {
		t.Error("a change in the middle changed the ID")
	}
	tail := append([]byte(nil), big...)
	tail[9999] ^= 0xff
	d, _ := ComputeFileID(bytes.NewReader(tail), int64(len(tail)))
	if d == b {
		t.Error("a change in the tail kept the ID")
	}
	if _, err := ComputeFileID(bytes.NewReader(small), 200); err == nil {
		t.Error("short read: no error")
	}
}

func TestLPMKeysCoverExactly(t *testing.T) {
	cases := [][2]uint64{{0x1000, 0x2000}, {0x55d0c8a01000, 0x55d0c8a03000}, {0x7f1e2c226000, 0x7f1e2c39b000}, {0, 0x1000}, {0x1000, 0x1001}}
	for _, c := range cases {
		keys := lpmKeys(42, c[0], c[1])
		next := c[0]
		for _, k := range keys {
			if bits.ReverseBytes32(k.Pid) != 42 {
				t.Fatalf("pid not big-endian: %#x", k.Pid)
			}
			start := bits.ReverseBytes64(k.Addr)
			size := uint64(1) << (96 - k.Prefixlen)
			if start != next || start%size != 0 {
				t.Fatalf("%#x-%#x: block %#x size %#x not contiguous/aligned", c[0], c[1], start, size)
			}
			next = start + size
		}
		if next != c[1] {
			t.Fatalf("%#x-%#x: covered up to %#x", c[0], c[1], next)
		}
		if len(keys) > 128 {
			t.Fatalf("%d keys", len(keys))
		}
	}
}

func TestRangeAlloc(t *testing.T) {
	a := newRangeAlloc(100)
	x, _ := a.alloc(30)
	y, _ := a.alloc(30)
	z, _ := a.alloc(40)
	if x != 0 || y != 30 || z != 60 {
		t.Fatalf("got %d %d %d", x, y, z)
	}
	if _, err := a.alloc(1); err != ErrDeltasFull {
		t.Fatalf("full: %v", err)
	}
	a.release(y, 30)
	a.release(x, 30)
	if len(a.free) != 1 || a.free[0] != (span{0, 60}) {
		t.Fatalf("not merged: %+v", a.free)
	}
	a.release(z, 40)
	if len(a.free) != 1 || a.free[0] != (span{0, 100}) || a.used != 0 {
		t.Fatalf("not merged: %+v used %d", a.free, a.used)
	}
}

func TestPageTable(t *testing.T) {
	rsp8 := deltas.Rule{CFA: deltas.CFARSP, CFAOffset: 8}
	rsp16 := deltas.Rule{CFA: deltas.CFARSP, CFAOffset: 16}
	tab := &deltas.Table{Deltas: []deltas.Delta{
		{Addr: 0x1000, Rule: rsp8},
		{Addr: 0x1004, Rule: rsp16},
		{Addr: 0x30010, Rule: rsp8}, // rsp16 spans pages 0x1 and 0x2
		{Addr: 0x30020, Rule: deltas.Rule{}},
		{Addr: 0x90000, Rule: rsp8}, // a gap: pages 0x4..0x8 have nothing
		{Addr: 0x90100, Rule: deltas.Rule{}},
	}}
	rs := newRuleSet()
	pt, added, err := pageTable(tab, rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 {
		t.Errorf("added rules %v", added)
	}
	i8, i16 := uint32(rs.index[rsp8]), uint32(rs.index[rsp16])
	wantPages := []uint64{0, 1, 2, 3, 9}
	if len(pt.Pages) != len(wantPages) {
		t.Fatalf("pages %v, want %v", pt.Pages, wantPages)
	}
	for i, p := range wantPages {
		if pt.Pages[i] != p {
			t.Fatalf("pages %v, want %v", pt.Pages, wantPages)
		}
	}
	entries := func(i int) []uint32 { return pt.Entries[pt.Starts[i] : pt.Starts[i]+pt.Counts[i]] }
	if e := entries(0); len(e) != 2 || e[0] != 0x1000<<16|i8 || e[1] != 0x1004<<16|i16 {
		t.Errorf("page 0: %x", e)
	}
	if e := entries(1); len(e) != 1 || e[0] != i16 {
		t.Errorf("page 1 carries the rule in force: %x", e)
	}
	if e := entries(3); len(e) != 3 || e[0] != i16 || e[1] != 0x10<<16|i8 || e[2] != 0x20<<16 {
		t.Errorf("page 3: %x", e)
	}
	// Page 0 has its two deltas in sub-page 1 (0x1000-0x1fff); page 3
	// all three in sub-page 0; page 9 both in sub-page 0.
	want0 := [subPages]uint16{0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}
	if pt.Subs[0] != want0 {
		t.Errorf("page 0 sub-pages %v, want %v", pt.Subs[0], want0)
	}
	want3 := [subPages]uint16{0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}
	if pt.Subs[3] != want3 {
		t.Errorf("page 3 sub-pages %v, want %v", pt.Subs[3], want3)
	}
}

// fakeMaps records what the manager publishes.
type fakeMaps struct {
	mappings map[bpf.MappingKey]bpf.Mapping
	pages    map[bpf.PageKey]bpf.PageVal
	deltas   map[uint32]uint32
	rules    map[uint16]bpf.Rule
	dropped  int
}

func newFakeMaps() *fakeMaps {
	return &fakeMaps{mappings: map[bpf.MappingKey]bpf.Mapping{}, pages: map[bpf.PageKey]bpf.PageVal{}, deltas: map[uint32]uint32{}, rules: map[uint16]bpf.Rule{}}
}

func (f *fakeMaps) PutMapping(k bpf.MappingKey, v bpf.Mapping) error { f.mappings[k] = v; return nil }
func (f *fakeMaps) DeleteMapping(k bpf.MappingKey) error             { delete(f.mappings, k); return nil }
func (f *fakeMaps) PutRule(i uint16, r bpf.Rule) error               { f.rules[i] = r; return nil }
func (f *fakeMaps) MappingsDropped() error                           { f.dropped++; return nil }
func (f *fakeMaps) PutDeltas(start uint32, e []uint32) error {
	for i, v := range e {
		f.deltas[start+uint32(i)] = v
	}
	return nil
}
func (f *fakeMaps) PutPages(k []bpf.PageKey, v []bpf.PageVal) error {
	for i := range k {
		f.pages[k[i]] = v[i]
	}
	return nil
}
func (f *fakeMaps) DeletePages(k []bpf.PageKey) error {
	for _, x := range k {
		delete(f.pages, x)
	}
	return nil
}

// A fake procfs: two processes mapping the same copy of this machine's
// libc share one table, which goes away when the second exits.
func TestManagerSharesAndReleasesTables(t *testing.T) {
	libc := "/lib/x86_64-linux-gnu/libc.so.6"
	if _, err := os.Stat(libc); err != nil {
		t.Skipf("no %s: %v", libc, err)
	}
	root := t.TempDir()
	line := "7f0000026000-7f000019b000 r-xp 00026000 fd:01 5678 " + libc + "\n" +
		"7f0000400000-7f0000401000 r-xp 00000000 00:00 0 \n"
	for _, pid := range []string{"100", "200"} {
		dir := filepath.Join(root, pid)
		os.MkdirAll(filepath.Join(dir, "root", filepath.Dir(libc)), 0o755)
		os.WriteFile(filepath.Join(dir, "maps"), []byte(line), 0o644)
		os.Symlink(libc, filepath.Join(dir, "root", libc))
	}
	fm := newFakeMaps()
	m, err := New(Config{Maps: fm, DeltaCapacity: 1 << 20, ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, pid := range []uint32{100, 200} {
		if err := m.Sync(pid); err != nil {
			t.Fatalf("sync %d: %v", pid, err)
		}
	}
	s := m.Stats()
	if s.Processes != 2 || s.Executables != 1 || s.DeltasUsed == 0 || len(fm.pages) == 0 {
		t.Fatalf("after two syncs: %+v, %d pages", s, len(fm.pages))
	}
	// libc's text starts at file offset 0x26000 = its vaddr, so the bias
	// is the mapping start minus the offset.
	var sawLibc, sawAnon bool
	for _, v := range fm.mappings {
		switch v.Kind {
		case bpf.MappingDeltas:
			sawLibc = true
			if v.Bias != 0x7f0000000000 {
				t.Errorf("bias %#x", v.Bias)
			}
		case bpf.MappingFP:
			sawAnon = v.FileId == 0
		}
	}
	if !sawLibc || !sawAnon {
		t.Errorf("mappings %v", fm.mappings)
	}
	m.Exit(100)
	if m.Stats().Executables != 1 {
		t.Fatal("table released while still mapped")
	}
	m.Exit(200)
	s = m.Stats()
	if s.Executables != 0 || s.DeltasUsed != 0 || len(fm.pages) != 0 || len(fm.mappings) != 0 || s.Mappings != 0 {
		t.Fatalf("after exits: %+v, %d pages, %d mappings", s, len(fm.pages), len(fm.mappings))
	}
	// A process that vanished is counted, not fatal.
	if err := m.Sync(300); err == nil || m.Stats().SyncGone != 1 {
		t.Errorf("sync of a missing process: %v, %+v", err, m.Stats())
	}
}
