// cgo: Go calls C, and C calls back into Go.
//
//	runtime.main -> main.main -> main.goCaller -> [cgo call] -> c_outer
//	  c_outer -> c_spin                     (spins about a quarter of the time)
//	  c_outer -> goCallback (cgo's C export wrapper) -> [cgo callback]
//	          -> main.goCallback -> main.cbLeaf   (spins the rest)
//
// The C side is in c_side.c, built -O2 without frame pointers, so the C
// frames unwind with .eh_frame and the Go ones with .gopclntab. Both stacks
// start at runtime.goexit (the goroutine's), not at the thread's own root.
package main

/*
#cgo CFLAGS: -O2 -fomit-frame-pointer -fasynchronous-unwind-tables -Wall
unsigned long c_outer(unsigned long x);
*/
import "C"

var (
	running = true // never cleared
	sink    uint64
)

// cbLeaf is frameless, like gochain's leaves.
//
//go:noinline
func cbLeaf(x uint64) uint64 {
	for i := 0; i < 3000000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}

//export goCallback
//go:noinline
func goCallback(x C.ulong) C.ulong {
	r := cbLeaf(uint64(x))
	sink = r
	return C.ulong(r)
}

//go:noinline
func goCaller(x uint64) uint64 {
	for running {
		x = uint64(C.c_outer(C.ulong(x)))
		sink = x
	}
	return x
}

func main() {
	sink = goCaller(3)
}
