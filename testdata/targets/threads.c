/* threads: main starts two pthreads and blocks in pthread_join (asleep, so
 * it gets no samples).
 *   thread "worker-a": worker_a -> a_mid -> a_leaf (spins)
 *   thread "worker-b": worker_b -> b_mid -> b_leaf (spins)
 * Each thread's stack is rooted in glibc's start_thread <- clone3. */
#define _GNU_SOURCE
#include <pthread.h>
#include "targets.h"

TARGET_GLOBALS;

CHAIN_FN unsigned long a_leaf(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long a_mid(unsigned long x)
{
	unsigned long r = a_leaf(x + 1);
	AFTER_CALL();
	target_sink = r;
	return r + 1;
}

CHAIN_FN void *worker_a(void *arg)
{
	pthread_setname_np(pthread_self(), "worker-a");
	unsigned long r = a_mid((unsigned long)arg);
	AFTER_CALL();
	target_sink = r;
	return (void *)r;
}

CHAIN_FN unsigned long b_leaf(unsigned long x)
{
	unsigned long acc = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		target_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long b_mid(unsigned long x)
{
	unsigned long r = b_leaf(x + 2);
	AFTER_CALL();
	target_sink = r;
	return r + 2;
}

CHAIN_FN void *worker_b(void *arg)
{
	pthread_setname_np(pthread_self(), "worker-b");
	unsigned long r = b_mid((unsigned long)arg);
	AFTER_CALL();
	target_sink = r;
	return (void *)r;
}

int main(void)
{
	pthread_t ta, tb;
	if (pthread_create(&ta, 0, worker_a, (void *)1UL) != 0)
		return 1;
	if (pthread_create(&tb, 0, worker_b, (void *)2UL) != 0)
		return 1;
	pthread_join(ta, 0);
	pthread_join(tb, 0);
	return 0;
}
