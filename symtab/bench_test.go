package symtab

import (
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
