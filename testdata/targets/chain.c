/* chain: main -> chain_a -> chain_b -> chain_c (leaf spins).
 * Also built as chain-stripped (-rdynamic, strip --strip-all).
 * comm is the binary name (chain / chain-stripped), set by exec. */
#include "targets.h"

TARGET_GLOBALS;

CHAIN_FN unsigned long chain_c(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long chain_b(unsigned long x)
{
	unsigned long r = chain_c(x * 3 + 1);
	AFTER_CALL();
	target_sink = r;
	return r + 2;
}

CHAIN_FN unsigned long chain_a(unsigned long x)
{
	unsigned long r = chain_b(x + 7);
	AFTER_CALL();
	target_sink = r;
	return r ^ 5;
}

int main(void)
{
	unsigned long r = chain_a(11);
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
