/* inline: main -> inl_caller -> inl_helper (inlined) -> inl_leaf
 *         -> inl_spin (inlined; spins).
 * Built -O2 -g: only DWARF (.debug_info inline entries, .debug_line) knows
 * the inlined frames and their lines. The "@" comments mark the lines the
 * conformance test expects in pprof output (targets.json, "lines"). */
#include "targets.h"

TARGET_GLOBALS;

static inline __attribute__((always_inline)) unsigned long inl_spin(unsigned long acc)
{
	for (int i = 0; i < 1000000; i++) /* @spin */
		SPIN_STEP(acc);           /* @spin */
	return acc;
}

CHAIN_FN unsigned long inl_leaf(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		acc = inl_spin(acc); /* @leaf-calls-spin */
		target_sink = acc;
	}
	return acc;
}

static inline __attribute__((always_inline)) unsigned long inl_helper(unsigned long x)
{
	unsigned long r = inl_leaf(x * 5 + 3); /* @helper-calls-leaf */
	AFTER_CALL();
	return r ^ (r >> 7);
}

CHAIN_FN unsigned long inl_caller(unsigned long x)
{
	unsigned long r = inl_helper(x + 9); /* @caller-calls-helper */
	AFTER_CALL();
	target_sink = r;
	return r + 1;
}

int main(void)
{
	unsigned long r = inl_caller(13); /* @main-calls-caller */
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
