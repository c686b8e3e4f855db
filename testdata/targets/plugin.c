/* libplugin.so for the dlopen target: plugin_entry -> plugin_mid ->
 * plugin_leaf (spins). All three are exported, so .dynsym names them. */
#include "targets.h"

static volatile unsigned long plugin_sink;
static volatile int plugin_running = 1;

CHAIN_FN unsigned long plugin_leaf(unsigned long x)
{
	unsigned long acc = x;
	while (plugin_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		plugin_sink = acc;
	}
	return acc;
}

CHAIN_FN unsigned long plugin_mid(unsigned long x)
{
	unsigned long r = plugin_leaf(x + 1);
	AFTER_CALL();
	plugin_sink = r;
	return r + 1;
}

CHAIN_FN unsigned long plugin_entry(unsigned long x)
{
	unsigned long r = plugin_mid(x + 1);
	AFTER_CALL();
	plugin_sink = r;
	return r + 1;
}
