/* Inlined into inline.c; kept in its own file so that an inlined frame's
 * file differs from its caller's. */
#ifndef INLINE_H
#define INLINE_H

extern volatile int fx_sink;

static inline __attribute__((always_inline)) int fx_leaf(int x)
{
	fx_sink += x * 3; /* FX_LEAF_LINE */
	return fx_sink ^ x;
}

#endif
