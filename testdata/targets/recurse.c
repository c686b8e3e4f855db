/* recurse: main -> recurse(200) -> recurse(199) ... -> recurse(1) ->
 * recurse_leaf (spins). Optional argument: the depth (default 200).
 * The volatile store after each self call keeps gcc from turning the
 * recursion into a loop (no tail call, no accumulator rewrite). */
#include <stdlib.h>
#include "targets.h"

TARGET_GLOBALS;

CHAIN_FN unsigned long recurse_leaf(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long recurse(int n)
{
	unsigned long r;
	if (n <= 1)
		r = recurse_leaf((unsigned long)n);
	else
		r = recurse(n - 1);
	AFTER_CALL();
	target_sink = r;
	return r ^ (unsigned long)n;
}

int main(int argc, char **argv)
{
	int depth = 200;
	if (argc > 1)
		depth = atoi(argv[1]);
	if (depth < 1)
		depth = 1;
	unsigned long r = recurse(depth);
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
