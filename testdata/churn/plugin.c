/* The library kid dlopens: burns CPU in its own code, so samples land in a
 * mapping that appears and disappears while the process runs. */
#include <time.h>

volatile unsigned long churn_plugin_sink;

void churn_plugin_spin(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double end = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 + ms;
	unsigned long x = 7;
	for (;;) {
		for (int i = 0; i < 1000; i++)
			x = x * 2862933555777941757UL + 3037000493UL;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 >= end)
			break;
	}
	churn_plugin_sink = x;
}
