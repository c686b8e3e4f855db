package symtab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dwarfSeeds returns the contents of every file in testdata/dwarf.
func dwarfSeeds(f *testing.F) map[string][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join(dwarfDir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err == nil && bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
			out[p] = data
		}
	}
	return out
}

// checkLines runs lookups over l and fails on a recovered panic, which
// means a decoder bug.
func checkLines(t *testing.T, l *Lines) {
	t.Helper()
	var rp *recoveredPanic
	if err := l.Index(); errors.As(err, &rp) {
		t.Fatal(err)
	}
	n := 0
	for i, lo := range l.index.lo {
		if i >= 256 {
			break
		}
		for _, a := range []uint64{lo, lo + 1, lo + 7} {
			for _, fr := range l.Lookup(a) {
				n += len(fr.Function) + len(fr.File)
			}
		}
	}
	for _, a := range []uint64{0, 1, 0x1000, 1 << 63, ^uint64(0)} {
		l.Lookup(a)
	}
	l.skims.each(func(sk *cuSkim) {
		if errors.As(sk.err, &rp) {
			t.Fatal(sk.err)
		}
	})
	l.details.each(func(v any) {
		if f, ok := v.(*fnInfo); ok && errors.As(f.err, &rp) {
			t.Fatal(f.err)
		}
	})
	_ = n
}

// FuzzLines decodes arbitrary ELF files' DWARF; only a panic fails it.
func FuzzLines(f *testing.F) {
	for p, data := range dwarfSeeds(f) {
		// Go's zstd decoder allocates an 8 MiB window per section, which
		// makes every mutation of this seed too slow to fuzz.
		if filepath.Base(p) != "inline-zstd" {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxSectionBytes: 16 << 20, CacheBytes: 1 << 20}
		if l, err := NewLines(bytes.NewReader(data), opts); err == nil {
			checkLines(t, l)
			l.Close()
		}
		opts.DebugRoots = []string{}
		s, err := OpenSymbolizer(bytes.NewReader(data), opts)
		if s == nil {
			if err == nil {
				t.Fatal("nil Symbolizer without error")
			}
			return
		}
		for _, a := range []uint64{0x1000, 0x1140, 0x1176, 0x11b0} {
			s.Lookup(a)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// linesFromSections makes a Lines over DWARF sections held in memory.
func linesFromSections(secs map[string][]byte) *Lines {
	d := &dwarfData{order: binary.LittleEndian}
	for _, s := range []struct {
		p    **dsection
		name string
	}{
		{&d.info, "info"}, {&d.abbrev, "abbrev"}, {&d.str, "str"}, {&d.lineStr, "line_str"},
		{&d.line, "line"}, {&d.ranges, "ranges"}, {&d.rnglists, "rnglists"}, {&d.addr, "addr"},
		{&d.strOffsets, "str_offsets"}, {&d.aranges, "aranges"},
	} {
		if data, ok := secs[s.name]; ok {
			*s.p = memSection(".debug_"+s.name, data)
		} else {
			*s.p = &dsection{name: ".debug_" + s.name}
		}
	}
	l := &Lines{d: d}
	l.initCaches(1 << 20)
	return l
}

// FuzzDWARFSections decodes arbitrary DWARF sections directly, which lets
// the fuzzer mutate the DWARF rather than the ELF around it.
func FuzzDWARFSections(f *testing.F) {
	for p, data := range dwarfSeeds(f) {
		ef, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			continue
		}
		sec := func(name string) []byte {
			s := ef.Section(".debug_" + name)
			if s == nil {
				return nil
			}
			b, err := s.Data()
			if err != nil {
				f.Fatalf("%s: %s: %v", p, name, err)
			}
			return b
		}
		f.Add(sec("info"), sec("abbrev"), sec("line"), sec("str"), sec("line_str"), sec("rnglists"), sec("addr"), sec("str_offsets"))
	}
	f.Fuzz(func(t *testing.T, info, abbrev, line, str, lineStr, rnglists, addr, strOffsets []byte) {
		l := linesFromSections(map[string][]byte{
			"info": info, "abbrev": abbrev, "line": line, "str": str, "line_str": lineStr,
			"rnglists": rnglists, "ranges": rnglists, "addr": addr, "str_offsets": strOffsets, "aranges": rnglists,
		})
		checkLines(t, l)
	})
}

// FuzzUnxz decompresses arbitrary MiniDebugInfo data.
func FuzzUnxz(f *testing.F) {
	for _, data := range dwarfSeeds(f) {
		ef, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			continue
		}
		if s := ef.Section(".gnu_debugdata"); s != nil {
			if b, err := s.Data(); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := unxz(data, 1<<20)
		if err == nil && len(out) > 1<<20 {
			t.Fatalf("%d bytes out, over the limit", len(out))
		}
	})
}

// TestDWARFCorrupt decodes every fixture with each byte of its DWARF
// sections flipped in turn, to catch a panic without a fuzzing run.
func TestDWARFCorrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	data, err := os.ReadFile(filepath.Join(dwarfDir, "inline-clang"))
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	secs := map[string][]byte{}
	for _, s := range ef.Sections {
		if name, ok := strings.CutPrefix(s.Name, ".debug_"); ok {
			if b, err := s.Data(); err == nil {
				secs[name] = b
			}
		}
	}
	for name, b := range secs {
		for i := range b {
			mod := map[string][]byte{}
			for k, v := range secs {
				mod[k] = v
			}
			bad := bytes.Clone(b)
			bad[i] ^= 0xa5
			mod[name] = bad
			checkLines(t, linesFromSections(mod))
		}
	}
}

// TestDWARFAmplification decodes a small unit whose DIEs all share one
// long range list and one long name: decoding must stay within bounds
// proportional to the unit, not to the product.
func TestDWARFAmplification(t *testing.T) {
	for _, entries := range []int{1, 100000} {
		t.Run(fmt.Sprint(entries), func(t *testing.T) { testAmplification(t, entries) })
	}
}

func testAmplification(t *testing.T, entries int) {
	le := binary.LittleEndian
	const dies = 20000
	abbrev := []byte{
		1, 0x11, 1, // compile unit, children
		0x11, 0x01, 0x12, 0x07, 0, 0, // low_pc addr, high_pc data8
		2, 0x2e, 0, // subprogram, no children
		0x55, 0x17, 0x6e, 0x0e, 0, 0, // ranges sec_offset, linkage_name strp
		0,
	}
	var die []byte
	die = append(die, 1)
	die = le.AppendUint64(die, 0x1000)
	die = le.AppendUint64(die, 1<<40)
	for range dies {
		die = append(die, 2)
		die = le.AppendUint32(die, 12) // the list, after the rnglists header
		die = le.AppendUint32(die, 0)  // the name
	}
	die = append(die, 0)
	info := le.AppendUint32(nil, uint32(2+1+1+4+len(die)))
	info = le.AppendUint16(info, 5)
	info = append(info, 1, 8) // DW_UT_compile, address size
	info = le.AppendUint32(info, 0)
	info = append(info, die...)

	var list []byte
	for i := range entries {
		list = append(list, rleStartLength)
		list = le.AppendUint64(list, 0x2000+uint64(i)*16)
		list = append(list, 8)
	}
	list = append(list, rleEndOfList)
	rng := le.AppendUint32(nil, uint32(2+1+1+4+len(list)))
	rng = le.AppendUint16(rng, 5)
	rng = append(rng, 8, 0)
	rng = le.AppendUint32(rng, 0)
	rng = append(rng, list...)

	str := append(bytes.Repeat([]byte("x"), 60000), 0)
	l := linesFromSections(map[string][]byte{"info": info, "abbrev": abbrev, "rnglists": rng, "str": str})
	if err := l.Index(); err != nil {
		t.Fatal(err)
	}
	fr := l.Lookup(0x2000)
	sk, ok := l.skims.get(0)
	if !ok {
		t.Fatal("unit not skimmed")
	}
	if sk.err == nil && entries > 1 {
		t.Error("no error for a unit past its bounds")
	}
	if limit := 32 << 20; sk.size > limit {
		t.Errorf("unit skim holds %d bytes, over %d", sk.size, limit)
	}
	if len(fr) != 1 || len(fr[0].Function) != 60000 {
		t.Errorf("Lookup = %d frames", len(fr))
	}
	t.Logf("%d functions, %d bytes, error %v", len(sk.spans), sk.size, sk.err)
}
