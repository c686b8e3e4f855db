/* kid: one short-lived process of the churn and fault tests.
 *
 *   kid spin MS            burn MS milliseconds of CPU, then exit
 *   kid threads N MS       start N threads that each burn MS, join, exit
 *   kid dlopen LIB MS      dlopen LIB, burn MS inside it, dlclose, exit
 *   kid sleep MS           sleep MS (mapped, not running), then exit
 *
 * Built dynamic (kid) and static (kid-static, no dlopen) by the tests, so
 * the profiler sees different executables come and go. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef KID_STATIC
#include <dlfcn.h>
#endif

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

volatile unsigned long kid_sink;

__attribute__((noinline)) static void kid_spin(long ms)
{
	double end = now_ms() + ms;
	unsigned long x = 1;
	while (now_ms() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	kid_sink = x;
}

static void *kid_thread(void *arg)
{
	kid_spin((long)arg);
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: kid spin MS | threads N MS | dlopen LIB MS | sleep MS\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "spin")) {
		kid_spin(atol(argv[2]));
		return 0;
	}
	if (!strcmp(argv[1], "sleep")) {
		usleep(atol(argv[2]) * 1000);
		return 0;
	}
	if (!strcmp(argv[1], "threads") && argc >= 4) {
		int n = atoi(argv[2]);
		long ms = atol(argv[3]);
		pthread_t t[64];
		if (n < 1 || n > 64)
			return usage();
		for (int i = 0; i < n; i++)
			if (pthread_create(&t[i], NULL, kid_thread, (void *)ms)) {
				perror("kid: pthread_create");
				return 1;
			}
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
#ifndef KID_STATIC
	if (!strcmp(argv[1], "dlopen") && argc >= 4) {
		void *h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "kid: %s\n", dlerror());
			return 1;
		}
		void (*spin)(long) = (void (*)(long))dlsym(h, "churn_plugin_spin");
		if (!spin) {
			fprintf(stderr, "kid: %s\n", dlerror());
			return 1;
		}
		spin(atol(argv[3]));
		dlclose(h);
		return 0;
	}
#endif
	return usage();
}
