package deltas

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func benchmarkExtract(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("%s: %v", path, err)
	}
	defer f.Close()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		tab, err := Extract(f)
		if err != nil {
			b.Fatal(err)
		}
		n = len(tab.Deltas)
	}
	b.ReportMetric(float64(n), "deltas")
}

func BenchmarkExtractLibc(b *testing.B) { benchmarkExtract(b, libcPath) }

func BenchmarkExtractNode(b *testing.B) {
	path, err := exec.LookPath("node")
	if err != nil {
		b.Skip("node not installed")
	}
	if path, err = filepath.EvalSymlinks(path); err != nil {
		b.Skip(err)
	}
	benchmarkExtract(b, path)
}
