package aggregate

import "fmt"

// symCache symbolizes each distinct frame once for one encoding.
type symCache struct {
	sym  Symbolizer
	locs map[Frame][]Location
}

func newSymCache(sym Symbolizer) *symCache {
	return &symCache{sym: sym, locs: make(map[Frame][]Location)}
}

// locations returns f's Locations, innermost first. A nil Symbolizer, or
// one that breaks its contract with an empty result, gives one Location
// named after the raw frame.
func (c *symCache) locations(f Frame) []Location {
	if locs, ok := c.locs[f]; ok {
		return locs
	}
	var locs []Location
	if c.sym != nil {
		locs = c.sym.Symbolize(f)
	}
	if len(locs) == 0 {
		locs = []Location{rawLocation(f)}
	}
	c.locs[f] = locs
	return locs
}

// rawLocation names a frame that has no symbols.
func rawLocation(f Frame) Location {
	switch f.Kind {
	case KindKernel:
		return Location{Function: fmt.Sprintf("[kernel]+0x%x", f.Addr), Module: kernelModule}
	case KindError:
		return Location{Function: fmt.Sprintf("[unwind error %d]", f.Addr)}
	case KindPython:
		return Location{Function: fmt.Sprintf("[python frame %d]", f.FileID), Module: "[python]"}
	}
	if f.FileID == 0 {
		return Location{Function: fmt.Sprintf("[unknown]+0x%x", f.Addr)}
	}
	return Location{Function: fmt.Sprintf("%016x+0x%x", f.FileID, f.Addr)}
}

// kernelModule is the Module of every kernel Location.
const kernelModule = "[kernel]"
