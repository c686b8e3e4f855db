package symtab

import (
	"bytes"
	"os"
	"runtime"
	"testing"
)

func openLibc(b *testing.B) *File {
	b.Helper()
	if _, err := os.Stat(libcPath); err != nil {
		b.Skipf("%s not present: %v", libcPath, err)
	}
	f, err := Open(libcPath)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkLookupLibc measures warm lookups (names already demangled and
// cached) spread over every libc function.
func BenchmarkLookupLibc(b *testing.B) {
	f := openLibc(b)
	defer f.Close()
	addrs := make([]uint64, 0, f.Len())
	for _, e := range f.index {
		addrs = append(addrs, e.start+uint64(e.size)/2)
	}
	for _, a := range addrs {
		f.Lookup(a)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := f.Lookup(addrs[i%len(addrs)]); !ok {
			b.Fatal("miss")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkOpenLibc measures Open+Close of libc and reports the heap a
// libc File keeps (index plus names, before any lookup).
func BenchmarkOpenLibc(b *testing.B) {
	openLibc(b).Close()
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(libcPath)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.StopTimer()
	const n = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	files := make([]*File, n)
	for i := range files {
		files[i] = openLibc(b)
		files[i].Close()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "retained-B/file")
	runtime.KeepAlive(files)
}

// BenchmarkParseKallsyms parses the real /proc/kallsyms, read once into
// memory, and reports the heap the table keeps.
func BenchmarkParseKallsyms(b *testing.B) {
	data, err := os.ReadFile(kallsymsPath)
	if err != nil {
		b.Skipf("read %s: %v", kallsymsPath, err)
	}
	k, err := ParseKallsyms(bytes.NewReader(data))
	if err != nil {
		b.Skipf("parse: %v", err)
	}
	size := cap(k.syms) * 16
	for _, block := range k.names {
		size += len(block)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKallsyms(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "table-B")
	b.ReportMetric(float64(k.Len()), "symbols")
}
