/* A second program over inline.h, so that dwz finds debug info that
 * inline.c's build shares with it and moves it to a common file. */
#include "inline.h"

volatile int fx_sink;

int main(int argc, char **argv)
{
	(void)argv;
	return fx_leaf(argc) & 0x7f;
}
