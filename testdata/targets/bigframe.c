/* bigframe: main -> big_caller -> big_frame (64 KiB local array, live across
 * the call) -> big_leaf (spins). Exercises a CFA offset of more than 64 KiB. */
#include "targets.h"

TARGET_GLOBALS;

#define BIG (64 * 1024)

CHAIN_FN unsigned long big_leaf(unsigned char *buf, unsigned long len)
{
	unsigned long acc = buf[0] + len;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		buf[acc % len] ^= (unsigned char)acc;
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long big_frame(unsigned long x)
{
	unsigned char buf[BIG];
	for (unsigned long i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(x + i * 31);
	unsigned long r = big_leaf(buf, BIG);
	AFTER_CALL();
	/* Use the array after the call: it must stay in this frame. */
	for (unsigned long i = 0; i < BIG; i += 4096)
		r += buf[i];
	target_sink = r;
	return r;
}

CHAIN_FN unsigned long big_caller(unsigned long x)
{
	unsigned long r = big_frame(x + 3);
	AFTER_CALL();
	target_sink = r;
	return r + 1;
}

int main(void)
{
	unsigned long r = big_caller(5);
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
