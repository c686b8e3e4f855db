// gochain: a Go program (no modules, standard library only) that spins in
// two goroutines. Also built as gochain-stripped (-ldflags=-s -w).
//
//	main goroutine: runtime.main -> main.main -> main.goMid
//	                -> main.goHelper (inlined into goMid) -> main.goLeaf
//	second:         main.worker -> main.workMid -> main.workLeaf
//
// Both stacks start at runtime.goexit. goLeaf and workLeaf are frameless:
// no locals and no calls, so the compiler gives them no frame (no SUBQ of
// SP, no PUSHQ BP) and the frame pointer still points into the caller's
// frame while they run. The "@" comments mark the lines the conformance
// test expects in pprof output (targets.json, "lines").
package main

var (
	running = true // never cleared: the loops can end in principle
	sink    uint64
)

//go:noinline
func goLeaf(x uint64) uint64 {
	for i := 0; i < 1000000; i++ { // @go-leaf
		x = x*6364136223846793005 + 1442695040888963407 // @go-leaf
		x ^= x >> 29                                    // @go-leaf
	}
	return x
}

// goHelper is inlined into goMid (cost well under the inlining budget).
func goHelper(x uint64) uint64 {
	return goLeaf(x^0x9e3779b97f4a7c15) + 3 // @helper-calls-leaf
}

//go:noinline
func goMid(x uint64) uint64 {
	for running {
		x = goHelper(x) // @mid-calls-helper
		sink = x
	}
	return x
}

//go:noinline
func workLeaf(x uint64) uint64 {
	for i := 0; i < 1000000; i++ { // @work-leaf
		x = x*2862933555777941757 + 3037000493 // @work-leaf
		x ^= x >> 31                           // @work-leaf
	}
	return x
}

//go:noinline
func workMid(x uint64) uint64 {
	for running {
		x = workLeaf(x) // @workmid-calls-leaf
		sink = x
	}
	return x
}

//go:noinline
func worker() {
	sink = workMid(5) // @worker-calls-mid
}

func main() {
	go worker()
	sink = goMid(7) // @main-calls-mid
}
