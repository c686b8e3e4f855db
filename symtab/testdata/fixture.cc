// fixture.cc is the source of the tiny ELF fixtures used by symtab's tests.
// Rebuild with `make -C symtab/testdata`; the outputs are committed.
//
// It holds plain C functions, a C++ function in a namespace, a template
// instantiation, aliases at one address with every binding (global, weak,
// local), and an untyped assembly label alone in its own executable section.

extern "C" {

__attribute__((noinline)) int fx_leaf(int x) {
	return x * 3 + 1;
}

// Aliases of fx_leaf: the global name must win over these.
int fx_leaf_weak(int) __attribute__((weak, alias("fx_leaf")));
static int fx_leaf_local(int) __attribute__((alias("fx_leaf"), used));

// A weak function with a local alias: the weak name must win.
__attribute__((weak, noinline)) int fx_weak(int x) {
	return x ^ 0x5a;
}
static int fx_a(int) __attribute__((alias("fx_weak"), used));

static __attribute__((noinline, used)) int fx_static(int x) {
	return fx_leaf(x) + fx_weak(x);
}

int fx_notype(void);

} // extern "C"

// An untyped (STT_NOTYPE), unsized global label in a section of its own:
// its extent must stop at the section's end.
__asm__(".pushsection fixture_tail,\"ax\",@progbits\n"
	".globl fx_notype\n"
	"fx_notype:\n"
	"\tnop\n\tnop\n\tnop\n\txor %eax, %eax\n\tret\n"
	".popsection\n");

namespace fixture {

__attribute__((noinline)) int spin(int n) {
	int acc = 0;
	for (int i = 0; i < n; i++)
		acc += fx_static(i);
	return acc;
}

template <typename T> __attribute__((noinline)) T twice(T v) {
	return v + v;
}

template int twice<int>(int);

} // namespace fixture

int main(int argc, char **) {
	return fixture::spin(argc) + fixture::twice(argc) + fx_notype();
}
