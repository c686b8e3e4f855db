// prog.c is the source of the ELF fixtures of the unwinder/deltas tests;
// the Makefile next to it says how each one was built.
//
// It has a dynamic call through the PLT (snprintf, strlen, puts), a
// function whose stack is realigned (gcc's DRAP prologue: CFA =
// *(RBP-8), RBP saved at RBP+0), a stub marked as a signal frame, and the
// usual _start from crt1 whose return address is undefined.
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static long leaf(long x) {
	return x * 3 + 1;
}

// The over-aligned local plus a variable-length array make gcc realign
// the stack through a DRAP register.
__attribute__((noinline)) long realign(long n) {
	char buf[256] __attribute__((aligned(64)));
	char vla[n + 32];
	snprintf(buf, sizeof buf, "%ld", n);
	snprintf(vla, sizeof vla, "%s", buf);
	return (long)strlen(vla) + leaf(n);
}

__attribute__((noinline)) long frame(long n) {
	volatile long a[8];
	for (int i = 0; i < 8; i++)
		a[i] = n + i;
	return a[3] + realign(n);
}

__asm__(".text\n"
	".globl sigstub\n"
	".type sigstub, @function\n"
	"sigstub:\n"
	".cfi_startproc\n"
	".cfi_signal_frame\n"
	"nop\n"
	"ret\n"
	".cfi_endproc\n"
	".size sigstub, .-sigstub\n");

int main(int argc, char **argv) {
	(void)argv;
	printf("%ld\n", frame(argc));
	puts("done");
	return 0;
}
