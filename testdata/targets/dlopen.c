/* dlopen: main sleeps 1 s, then dlopen()s libplugin.so from the directory of
 * /proc/self/exe and calls plugin_entry -> plugin_mid -> plugin_leaf (spins).
 * The library is mapped only after the process has been running a while, so
 * the profiler must notice the new mapping. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "targets.h"

TARGET_GLOBALS;

int main(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
	if (n <= 0) {
		perror("dlopen target: readlink /proc/self/exe");
		return 1;
	}
	path[n] = 0;
	char *slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "libplugin.so");

	sleep(1);

	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen target: %s\n", dlerror());
		return 1;
	}
	unsigned long (*entry)(unsigned long) =
		(unsigned long (*)(unsigned long))dlsym(h, "plugin_entry");
	if (!entry) {
		fprintf(stderr, "dlopen target: %s\n", dlerror());
		return 1;
	}
	unsigned long r = entry(9);
	AFTER_CALL();
	target_sink = r;
	return (int)(r & 1);
}
