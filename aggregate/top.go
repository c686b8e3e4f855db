package aggregate

import (
	"cmp"
	"slices"
)

// Top returns the functions of the samples q selects with their self and
// total counts. Every Location of a frame is a function, so inlined calls
// are functions of their own: the innermost Location of the leaf frame
// gets the sample's Self, and every function in the stack gets its
// Total, once per stack however often it recurses. Functions merge by
// (Name, Module); File, Line and Kind are those of the first Location
// seen. sym may be nil, which names frames by address.
//
// Top is safe to call while other goroutines Add. Passing the same
// comparable Symbolizer (a pointer, typically) to every query lets the
// Store reuse the symbolized stacks of earlier queries.
func (s *Store) Top(q Query, sym Symbolizer) TopResult {
	sc := s.gatherSymbolized(q, sym)
	res := TopResult{Samples: sc.samples, Window: sc.span}
	n := len(sc.infos)
	self := make([]int64, n)
	total := make([]int64, n)
	seen := make([]int32, n) // index+1 of the last stack that counted it
	for i := range sc.stacks {
		st := &sc.stacks[i]
		if len(st.fns) == 0 {
			continue
		}
		self[st.fns[0]] += st.count
		mark := int32(i + 1)
		for _, fn := range st.fns {
			if seen[fn] != mark {
				seen[fn] = mark
				total[fn] += st.count
			}
		}
	}
	for fn := range n {
		if total[fn] > 0 {
			res.Rows = append(res.Rows, functionRow(&sc.infos[fn], self[fn], total[fn]))
		}
	}
	slices.SortFunc(res.Rows, compareTopRows)
	return res
}

func functionRow(fi *funcInfo, self, total int64) FunctionRow {
	return FunctionRow{
		Name: fi.name, Module: fi.module, File: fi.file, Line: fi.line, Kind: fi.kind,
		Self: self, Total: total,
	}
}

// compareTopRows orders Top's rows: Self, then Total, descending, then
// Name and Module.
func compareTopRows(a, b FunctionRow) int {
	if c := cmp.Compare(b.Self, a.Self); c != 0 {
		return c
	}
	return compareByTotal(a, b)
}

// compareByTotal orders rows by Total descending, then Name and Module.
func compareByTotal(a, b FunctionRow) int {
	if c := cmp.Compare(b.Total, a.Total); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Module, b.Module)
}

// CallersCallees returns the direct callers and callees of the function
// (name, module) in the samples q selects, sorted by Total descending.
// A caller's Total counts the samples whose stack has it calling the
// function, and its Self those of them where the function is the leaf;
// a callee's Total counts the samples whose stack has the function
// calling it, and its Self those where the callee is the leaf. Each is
// counted once per stack, even through recursion; a recursive function
// is its own caller and callee. Both are nil when the function is not
// in the samples.
func (s *Store) CallersCallees(q Query, sym Symbolizer, name, module string) (callers, callees []FunctionRow) {
	sc := s.gatherSymbolized(q, sym)
	target := -1
	for i := range sc.infos {
		if sc.infos[i].name == name && sc.infos[i].module == module {
			target = i
			break
		}
	}
	if target < 0 {
		return nil, nil
	}
	fn := funcID(target)
	up := newEdgeCounter()
	down := newEdgeCounter()
	for i := range sc.stacks {
		st := &sc.stacks[i]
		mark := int32(i + 1)
		// fns is leaf first: fns[j+1] calls fns[j].
		for j, f := range st.fns {
			if f != fn {
				continue
			}
			if j+1 < len(st.fns) {
				up.add(st.fns[j+1], mark, st.count, j == 0)
			}
			if j > 0 {
				down.add(st.fns[j-1], mark, st.count, j == 1)
			}
		}
	}
	return up.rows(sc.infos), down.rows(sc.infos)
}

// edgeCounter counts the functions at one end of a function's calls.
type edgeCounter struct {
	self, total map[funcID]int64
	seen        map[funcID]int32 // mark of the last stack counted
	selfSeen    map[funcID]int32
}

func newEdgeCounter() *edgeCounter {
	return &edgeCounter{
		self: map[funcID]int64{}, total: map[funcID]int64{},
		seen: map[funcID]int32{}, selfSeen: map[funcID]int32{},
	}
}

// add counts fn for the stack marked mark, once per stack; leaf says the
// call ends the stack.
func (e *edgeCounter) add(fn funcID, mark int32, count int64, leaf bool) {
	if e.seen[fn] != mark {
		e.seen[fn] = mark
		e.total[fn] += count
	}
	if leaf && e.selfSeen[fn] != mark {
		e.selfSeen[fn] = mark
		e.self[fn] += count
	}
}

func (e *edgeCounter) rows(infos []funcInfo) []FunctionRow {
	var rows []FunctionRow
	for fn, total := range e.total {
		rows = append(rows, functionRow(&infos[fn], e.self[fn], total))
	}
	slices.SortFunc(rows, compareByTotal)
	return rows
}
