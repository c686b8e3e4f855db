/* signal: main -> signal_loop, which raise()s SIGALRM forever; the handler
 * on_signal -> signal_work spins ~20 ms per signal, so nearly every sample is
 * signal_work <- on_signal <- __restore_rt (signal frame) <- raise's libc
 * internals <- signal_loop <- main. */
#include <signal.h>
#include <string.h>
#include <time.h>
#include "targets.h"

TARGET_GLOBALS;

static volatile unsigned long handled;

static unsigned long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000000000UL + (unsigned long)ts.tv_nsec;
}

CHAIN_FN unsigned long signal_work(int sig)
{
	unsigned long acc = (unsigned long)sig;
	unsigned long deadline = now_ns() + 20 * 1000000UL;
	/* Check the clock only every 100k steps: the time is spent here. */
	while (target_running) {
		for (int i = 0; i < 100000; i++)
			SPIN_STEP(acc);
		target_sink = acc;
		if (now_ns() >= deadline)
			break;
	}
	return acc;
}

CHAIN_FN void on_signal(int sig)
{
	unsigned long r = signal_work(sig);
	AFTER_CALL();
	target_sink = r;
	handled = handled + 1;
}

CHAIN_FN unsigned long signal_loop(void)
{
	unsigned long n = 0;
	while (target_running) {
		raise(SIGALRM);
		AFTER_CALL();
		n += handled;
		target_sink = n;
	}
	return n;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, 0) != 0)
		return 1;
	unsigned long r = signal_loop();
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
