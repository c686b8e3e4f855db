package aggregate

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// SpeedscopeSchema is the $schema of speedscope's file format.
const SpeedscopeSchema = "https://www.speedscope.app/file-format-schema.json"

// WriteSpeedscope writes p in speedscope's JSON file format, which
// https://www.speedscope.app opens.
//
// The file holds one "sampled" profile per process, in PID order, named
// "COMM (pid PID)" after the process's main thread (or, when that was not
// sampled, its first sampled thread); activeProfileIndex points at the
// process with the most samples. Frames are shared by all profiles in one
// table: each Location of a frame is a frame of its own (so inlined calls
// show as callees, as in WriteFolded), one per distinct function name and
// file (the module when the file is unknown); lines are left out so that
// all the addresses of a function are one frame.
//
// A profile's samples are its process's distinct stacks, root first (the
// order the format asks for), each listed once and sorted by the names
// of their frames; weights count samples (unit "none"), so a profile's
// weights sum to its process's samples, and its endValue is that sum.
// Threads of a process are merged. A Profile with no samples gives one
// empty profile, so the file still opens.
//
// The output is deterministic. sym may be nil, which names frames by
// address.
func WriteSpeedscope(w io.Writer, p *Profile, sym Symbolizer) error {
	f := newSpeedscopeBuilder(sym).build(p)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("write speedscope: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write speedscope: %w", err)
	}
	return nil
}

// speedscopeFile is the top-level object of the format.
type speedscopeFile struct {
	Schema             string              `json:"$schema"`
	Shared             speedscopeShared    `json:"shared"`
	Profiles           []speedscopeProfile `json:"profiles"`
	Name               string              `json:"name"`
	ActiveProfileIndex int                 `json:"activeProfileIndex"`
	Exporter           string              `json:"exporter"`
}

type speedscopeShared struct {
	Frames []speedscopeFrame `json:"frames"`
}

type speedscopeFrame struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"`
}

type speedscopeProfile struct {
	Type       string  `json:"type"` // always "sampled"
	Name       string  `json:"name"`
	Unit       string  `json:"unit"`
	StartValue int64   `json:"startValue"`
	EndValue   int64   `json:"endValue"`
	Samples    [][]int `json:"samples"` // frame indexes, root first
	Weights    []int64 `json:"weights"`
}

// speedscopeBuilder assigns frame indexes in first-seen order, which is
// deterministic because Profile samples are sorted.
type speedscopeBuilder struct {
	cache  *symCache
	frames []speedscopeFrame
	index  map[speedscopeFrame]int
	elems  map[Frame][]int // a frame's indexes, outermost Location first
}

func newSpeedscopeBuilder(sym Symbolizer) *speedscopeBuilder {
	return &speedscopeBuilder{
		cache: newSymCache(sym),
		index: make(map[speedscopeFrame]int),
		elems: make(map[Frame][]int),
	}
}

func (b *speedscopeBuilder) build(p *Profile) *speedscopeFile {
	f := &speedscopeFile{Schema: SpeedscopeSchema, Name: "pftop", Exporter: "pftop"}
	if !p.Start.IsZero() {
		f.Name = "pftop " + p.Start.UTC().Format(time.RFC3339) + " (" + p.Duration.Round(time.Second).String() + ")"
	}
	var best int64
	for lo := 0; lo < len(p.Samples); {
		hi := lo + 1
		for hi < len(p.Samples) && p.Samples[hi].PID == p.Samples[lo].PID {
			hi++
		}
		prof := b.process(p.Samples[lo:hi])
		if prof.EndValue > best {
			best, f.ActiveProfileIndex = prof.EndValue, len(f.Profiles)
		}
		f.Profiles = append(f.Profiles, prof)
		lo = hi
	}
	if len(f.Profiles) == 0 {
		f.Profiles = []speedscopeProfile{{Type: "sampled", Name: "no samples", Unit: "none", Samples: [][]int{}, Weights: []int64{}}}
	}
	f.Shared.Frames = b.frames
	if f.Shared.Frames == nil {
		f.Shared.Frames = []speedscopeFrame{}
	}
	return f
}

// process makes the profile of one process's samples.
func (b *speedscopeBuilder) process(samples []ProfileSample) speedscopeProfile {
	comm := samples[0].Comm
	for i := range samples {
		if samples[i].TID == samples[i].PID {
			comm = samples[i].Comm
			break
		}
	}
	type stack struct {
		frames []int
		weight int64
	}
	var stacks []stack
	byKey := make(map[string]int) // stack key -> index in stacks
	var key []byte
	var total int64
	for i := range samples {
		s := &samples[i]
		total += s.Count
		var frames []int
		for j := len(s.Frames) - 1; j >= 0; j-- {
			frames = append(frames, b.frameElems(s.Frames[j])...)
		}
		key = key[:0]
		for _, x := range frames {
			key = strconv.AppendInt(key, int64(x), 36)
			key = append(key, ',')
		}
		if k, ok := byKey[string(key)]; ok {
			stacks[k].weight += s.Count
			continue
		}
		byKey[string(key)] = len(stacks)
		stacks = append(stacks, stack{frames: frames, weight: s.Count})
	}
	slices.SortFunc(stacks, func(x, y stack) int {
		for i := range min(len(x.frames), len(y.frames)) {
			a, c := &b.frames[x.frames[i]], &b.frames[y.frames[i]]
			if r := cmp.Or(cmp.Compare(a.Name, c.Name), cmp.Compare(a.File, c.File)); r != 0 {
				return r
			}
		}
		return cmp.Compare(len(x.frames), len(y.frames))
	})
	prof := speedscopeProfile{
		Type:     "sampled",
		Name:     speedscopeName(comm) + " (pid " + strconv.FormatUint(uint64(samples[0].PID), 10) + ")",
		Unit:     "none",
		EndValue: total,
		Samples:  make([][]int, len(stacks)),
		Weights:  make([]int64, len(stacks)),
	}
	for i := range stacks {
		prof.Samples[i] = stacks[i].frames
		if prof.Samples[i] == nil {
			prof.Samples[i] = []int{}
		}
		prof.Weights[i] = stacks[i].weight
	}
	return prof
}

// frameElems returns the frame indexes of fr's Locations, outermost
// first.
func (b *speedscopeBuilder) frameElems(fr Frame) []int {
	if e, ok := b.elems[fr]; ok {
		return e
	}
	locs := b.cache.locations(fr)
	e := make([]int, 0, len(locs))
	for i := len(locs) - 1; i >= 0; i-- {
		l := &locs[i]
		sf := speedscopeFrame{Name: speedscopeName(l.Function), File: cmp.Or(l.File, l.Module)}
		x, ok := b.index[sf]
		if !ok {
			x = len(b.frames)
			b.frames = append(b.frames, sf)
			b.index[sf] = x
		}
		e = append(e, x)
	}
	b.elems[fr] = e
	return e
}

// speedscopeName is s, or "[unknown]" when empty.
func speedscopeName(s string) string { return cmp.Or(s, "[unknown]") }
