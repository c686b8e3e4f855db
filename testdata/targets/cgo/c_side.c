/* The C half of the cgo target (see main.go). */
#include "_cgo_export.h"

volatile unsigned long c_sink;
volatile int c_running = 1; /* never cleared */

/* One third of cbLeaf's work: about a quarter of the samples. */
__attribute__((noinline, noipa)) unsigned long c_spin(unsigned long acc)
{
	for (int i = 0; i < 1000000 && c_running; i++) {
		acc = acc * 6364136223846793005UL + 1442695040888963407UL;
		acc ^= acc >> 29;
	}
	return acc;
}

__attribute__((noinline, noipa)) unsigned long c_outer(unsigned long x)
{
	unsigned long r = c_spin(x);
	__asm__ volatile("" ::: "memory");
	c_sink = r;
	r = goCallback(r);
	__asm__ volatile("" ::: "memory");
	c_sink = r;
	return r + 1;
}
