package unwinder

import (
	"os"
	"strings"
	"testing"

	"github.com/pftop/pftop/bpf"
	"github.com/pftop/pftop/unwinder/deltas"
)

// The paged layout repeats a rule only at page starts, so it can never be
// much larger than the table itself.
func TestPageTableSizeRealFiles(t *testing.T) {
	files := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/proc/self/exe"}
	if extra := os.Getenv("PFTOP_PAGE_FILES"); extra != "" {
		files = append(files, strings.Split(extra, ",")...)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Logf("skip %s: %v", path, err)
			continue
		}
		tab, err := deltas.Extract(f)
		f.Close()
		if err != nil {
			t.Logf("skip %s: %v", path, err)
			continue
		}
		pt, _, err := pageTable(tab, newRuleSet())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		t.Logf("%s: %d deltas, %d pages, %d entries", path, len(tab.Deltas), len(pt.Pages), len(pt.Entries))
		if len(pt.Entries) > len(tab.Deltas)+len(pt.Pages) {
			t.Errorf("%s: %d entries for %d deltas in %d pages", path, len(pt.Entries), len(tab.Deltas), len(pt.Pages))
		}
		for i, p := range pt.Pages {
			if i > 0 && p <= pt.Pages[i-1] {
				t.Fatalf("%s: pages not ascending at %d", path, i)
			}
			if pt.Counts[i] == 0 || pt.Counts[i] > 0xffff {
				t.Fatalf("%s: page %#x has %d entries", path, p, pt.Counts[i])
			}
			// Each sub-page's count is the number of entries below it.
			es := pt.Entries[pt.Starts[i] : pt.Starts[i]+pt.Counts[i]]
			for k, n := range pt.Subs[i] {
				below := 0
				for _, e := range es {
					if e>>16 < uint32(k)<<bpf.DeltaSubBits {
						below++
					}
				}
				if int(n) != below {
					t.Fatalf("%s: page %#x sub-page %d counts %d entries below it, want %d", path, p, k, n, below)
				}
			}
		}
	}
}
