/* chain: main -> chain_a -> chain_b -> chain_c (leaf spins).
 * Also built as chain-stripped (-rdynamic, strip --strip-all) and as
 * chain-buildid (-g, symbols and DWARF only in a separate debug file).
 * The "@" comments mark the lines the conformance test expects in pprof
 * output of chain-buildid (targets.json, "lines").
 * comm is the binary name (chain / chain-stripped), set by exec. */
#include "targets.h"

TARGET_GLOBALS;

CHAIN_FN unsigned long chain_c(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++) /* @c-spin */
			SPIN_STEP(acc);           /* @c-spin */
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long chain_b(unsigned long x)
{
	unsigned long r = chain_c(x * 3 + 1); /* @b-calls-c */
	AFTER_CALL();
	target_sink = r;
	return r + 2;
}

CHAIN_FN unsigned long chain_a(unsigned long x)
{
	unsigned long r = chain_b(x + 7); /* @a-calls-b */
	AFTER_CALL();
	target_sink = r;
	return r ^ 5;
}

int main(void)
{
	unsigned long r = chain_a(11); /* @main-calls-a */
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
