package sampler

import "testing"

// FuzzParseCPUList parses arbitrary /sys/devices/system/cpu/online
// contents: an error or a sorted-as-written list of CPUs, bounded by the
// input, never a panic.
func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0", "0-1", "0-3,5,7-8", "", ",", "1-0", "-1", "0-65536", "3,2,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := ParseCPUList(s)
		if err != nil {
			return
		}
		if len(cpus) == 0 {
			t.Fatalf("%q: no CPUs and no error", s)
		}
		// Each part yields at most 65537 CPUs.
		if parts := 1 + len(s); len(cpus) > parts*(1<<16+1) {
			t.Fatalf("%q: %d CPUs", s, len(cpus))
		}
		for _, c := range cpus {
			if c < 0 {
				t.Fatalf("%q: negative CPU %d", s, c)
			}
		}
	})
}
