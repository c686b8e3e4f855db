package aggregate

import "time"

// Profile is an immutable snapshot of a Store. Its slices, including each
// sample's Frames, must not be modified; samples with the same stack share
// one Frames slice.
type Profile struct {
	Samples  []ProfileSample // sorted by PID, TID, Comm, Container, then frames
	Duration time.Duration   // from Start to the snapshot
	Period   time.Duration   // sampling period, e.g. 1/99 s
	// Start is when the Store was created or, once older counts have left
	// its history, the start of the oldest second it can still hold.
	Start time.Time
}

// ProfileSample is the count of one stack in one thread.
type ProfileSample struct {
	PID, TID  uint32
	Comm      string
	Container string  // container ID, "" on the host
	Frames    []Frame // leaf first, as in Trace
	Count     int64
}

// Total returns the number of samples in p.
func (p *Profile) Total() int64 {
	var n int64
	for i := range p.Samples {
		n += p.Samples[i].Count
	}
	return n
}
