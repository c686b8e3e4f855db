/* qsort: main -> sort_forever -> qsort (libc) -> ... -> compare_slow.
 * The comparator spins a few microseconds per call, so nearly every sample
 * is in compare_slow under glibc's sort internals. */
#include <stdlib.h>
#include "targets.h"

TARGET_GLOBALS;

#define N 4096

static int values[N];

CHAIN_FN int compare_slow(const void *pa, const void *pb)
{
	int a = *(const int *)pa, b = *(const int *)pb;
	unsigned long acc = (unsigned long)a ^ ((unsigned long)b << 32);
	for (int i = 0; i < 1000; i++)
		SPIN_STEP(acc);
	target_sink = acc;
	return (a > b) - (a < b);
}

CHAIN_FN unsigned long sort_forever(unsigned long seed)
{
	unsigned long acc = seed, sum = 0;
	while (target_running) {
		for (int i = 0; i < N; i++) {
			SPIN_STEP(acc);
			values[i] = (int)(acc >> 33);
		}
		qsort(values, N, sizeof values[0], compare_slow);
		AFTER_CALL();
		sum += (unsigned long)values[0] + (unsigned long)values[N - 1];
		target_sink = sum;
	}
	return sum;
}

int main(void)
{
	unsigned long r = sort_forever(42);
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
