package deltas

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// cfiSeeds returns small hand-written .eh_frame and .debug_frame contents.
func cfiSeeds() [][]byte {
	var seeds [][]byte
	w := newEH(0x2000)
	c := w.cie(1, "zR", 0x1b, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x40, cat(
		advance(1), cfaOffset(16), offsetReg(6, 2), advance(3), defCFAReg(6),
		advance(8), rememberState, defCFA(7, 8), advance(1), restoreState,
		defCFAExpr(0x76, 0x78, 0x06), exprReg(6, 0x76, 0), advance(2),
		defCFAExpr(pltExprBytes...), 0x07, 16, 0x2e, 8, 0x16, 6, 1, 0x30,
	))
	s := w.cie(3, "zPLRS", 0x1b, 4, -8, stdInit)
	w.fde(s, 0x1100, 0x10, nil)
	w.terminate()
	seeds = append(seeds, w.buf.Bytes())

	w = newEH(0)
	w.is64 = true
	c = w.cie(1, "zR", 0x03, 1, -8, stdInit)
	w.fde(c, 0x1000, 0x10, cat(0x02, 4, cfaOffset(16), 0x03, 1, 0, 0x04, 1, 0, 0, 0))
	seeds = append(seeds, w.buf.Bytes())

	d := newDebug()
	c = d.cie(4, "", 0, 1, -8, stdInit)
	d.fde(c, 0x1000, 0x10, cat(0x01, le64(0x1008), 0x12, 7, sleb(-2), 0x05, 6, 2, 0x2f, 6, 1))
	s = d.cie(1, "S", 0, 1, -8, stdInit)
	d.fde(s, 0x2000, 0x10, nil)
	seeds = append(seeds, d.buf.Bytes())
	return seeds
}

// FuzzExtract feeds arbitrary bytes to Extract, and to the CFI parser as
// raw .eh_frame and .debug_frame contents. Only a panic fails: errors are
// expected.
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "prog*"))
	for _, name := range files {
		if filepath.Ext(name) != "" {
			continue // prog.c
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range cfiSeeds() {
		f.Add(s)
		w := newEH(0x2000)
		w.buf.Write(s)
		f.Add(ehELF(w))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if tab, err := Extract(bytes.NewReader(data)); err == nil {
			checkInvariants(t, tab)
		}
		for _, eh := range []bool{true, false} {
			sec := &section{name: "fuzz", data: data, eh: eh, bases: ptrBases{vaddr: 0x2000, addrSize: 8}}
			if tab, err := extract([]*section{sec}, nil); err == nil {
				checkInvariants(t, tab)
			}
		}
	})
}
