/* Fixture for symtab's DWARF tests: fx_outer (out of line) calls fx_middle
 * (inlined), which calls fx_leaf (inlined, from inline.h). fx_split has a
 * cold part in .text.unlikely, so its DWARF has a range list. */
#include "inline.h"

volatile int fx_sink;

static inline __attribute__((always_inline)) int fx_middle(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += fx_leaf(i); /* FX_MIDDLE_CALL */
	return s;
}

__attribute__((noinline)) int fx_outer(int n)
{
	return fx_middle(n) + 1; /* FX_OUTER_CALL */
}

__attribute__((noinline, cold)) static void fx_fail(int n)
{
	fx_sink = n;
	__builtin_trap();
}

__attribute__((noinline)) int fx_split(int n)
{
	if (__builtin_expect(n < 0, 0)) {
		fx_fail(n);
		fx_sink = -n; /* cold part */
	}
	return fx_leaf(n) * 2; /* FX_SPLIT_CALL */
}

int main(int argc, char **argv)
{
	(void)argv;
	return (fx_outer(argc * 1000) + fx_split(argc)) & 0x7f;
}
