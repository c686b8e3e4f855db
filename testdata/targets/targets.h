/* Shared helpers for the pftop conformance targets.
 *
 * Every function of a known chain is marked CHAIN_FN: never inlined, never
 * cloned (no .constprop/.isra suffixes), and opaque to inter-procedural
 * analysis, so gcc cannot prove a leaf never returns and drop the code after
 * the call that keeps each edge from being a tail call. */
#ifndef PFTOP_TARGETS_H
#define PFTOP_TARGETS_H

#if defined(__GNUC__) && !defined(__clang__)
#define CHAIN_FN __attribute__((noinline, noipa, used))
#else
#define CHAIN_FN __attribute__((noinline, used))
#endif

/* Compiler barrier placed after calls: the call cannot become a jump. */
#define AFTER_CALL() __asm__ volatile("" ::: "memory")

/* Written after every call so the result is really used. */
extern volatile unsigned long target_sink;
/* Never cleared: leaves loop "while (target_running)", so they can return in
 * principle and the compiler cannot treat them as noreturn. */
extern volatile int target_running;

/* One step of real integer arithmetic (an LCG plus an xorshift). */
#define SPIN_STEP(acc)                                                      \
	do {                                                                \
		(acc) = (acc) * 6364136223846793005UL + 1442695040888963407UL; \
		(acc) ^= (acc) >> 29;                                       \
	} while (0)

#define TARGET_GLOBALS                                                      \
	volatile unsigned long target_sink;                                 \
	volatile int target_running = 1

#endif
