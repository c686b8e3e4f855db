package aggregate

import (
	"cmp"
	"slices"
)

// Processes returns the processes of the samples q selects, by samples
// descending, then PID. A process's Comm is its main thread's name when
// that thread was sampled, else the name of its most sampled thread
// name; its Container is the one most of its samples came from.
func (s *Store) Processes(q Query) []ProcessRow {
	sc := s.gather(q, true, 0)
	type proc struct {
		row     ProcessRow
		main    bool             // row.Comm is the main thread's
		comms   map[string]int64 // samples by thread name
		ctrs    map[string]int64 // samples by container
		threads map[uint32]struct{}
	}
	procs := map[uint32]*proc{}
	for _, tc := range sc.threads {
		k := tc.key
		p := procs[k.pid]
		if p == nil {
			p = &proc{row: ProcessRow{PID: k.pid}, comms: map[string]int64{}, ctrs: map[string]int64{}, threads: map[uint32]struct{}{}}
			procs[k.pid] = p
		}
		p.row.Samples += tc.count
		p.comms[k.comm] += tc.count
		p.ctrs[k.container] += tc.count
		p.threads[k.tid] = struct{}{}
		if k.tid == k.pid && (!p.main || cmp.Compare(k.comm, p.row.Comm) < 0) {
			// Several names for the main thread (an exec): any fixed choice.
			p.row.Comm, p.main = k.comm, true
		}
	}
	rows := make([]ProcessRow, 0, len(procs))
	for _, p := range procs {
		if !p.main {
			p.row.Comm = mostSamples(p.comms)
		}
		p.row.Container = mostSamples(p.ctrs)
		p.row.Threads = len(p.threads)
		rows = append(rows, p.row)
	}
	slices.SortFunc(rows, func(a, b ProcessRow) int {
		if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
			return c
		}
		return cmp.Compare(a.PID, b.PID)
	})
	return rows
}

// mostSamples returns the key with the most samples, the smallest on ties.
func mostSamples(m map[string]int64) string {
	best, bestN := "", int64(-1)
	for k, n := range m {
		if n > bestN || n == bestN && k < best {
			best, bestN = k, n
		}
	}
	return best
}

// Containers returns the containers of the samples q selects, the host
// as ID "", by samples descending, then ID. Processes counts the distinct
// PIDs sampled in each.
func (s *Store) Containers(q Query) []ContainerRow {
	sc := s.gather(q, true, 0)
	type ctr struct {
		row  ContainerRow
		pids map[uint32]struct{}
	}
	ctrs := map[string]*ctr{}
	for _, tc := range sc.threads {
		c := ctrs[tc.key.container]
		if c == nil {
			c = &ctr{row: ContainerRow{ID: tc.key.container}, pids: map[uint32]struct{}{}}
			ctrs[tc.key.container] = c
		}
		c.row.Samples += tc.count
		c.pids[tc.key.pid] = struct{}{}
	}
	rows := make([]ContainerRow, 0, len(ctrs))
	for _, c := range ctrs {
		c.row.Processes = len(c.pids)
		rows = append(rows, c.row)
	}
	slices.SortFunc(rows, func(a, b ContainerRow) int {
		if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return rows
}
