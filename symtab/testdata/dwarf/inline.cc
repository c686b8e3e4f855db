// C++ fixture for symtab's DWARF tests: linkage names demangle, and a
// template member inlined into a function in a namespace.
namespace fx {

extern volatile int sink;
volatile int sink;

template <typename T> struct Acc {
	T v;
	__attribute__((always_inline)) inline void add(T x)
	{
		sink += int(x); // FX_ADD_LINE
		v += x;
	}
};

__attribute__((noinline)) int run(int n)
{
	Acc<int> a{0};
	for (int i = 0; i < n; i++)
		a.add(i); // FX_RUN_CALL
	return a.v;
}

} // namespace fx

int main(int argc, char **) { return fx::run(argc * 100) & 0x7f; }
