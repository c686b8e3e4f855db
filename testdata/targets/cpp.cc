// cpp: main -> app::Runner::run() -> app::detail::Worker<int>::step(int)
//   -> app::detail::compute<double>(double) (leaf spins).
// Namespaces, a class template member and a function template, so the
// symbolizer has to demangle real Itanium C++ names.
#include "targets.h"

TARGET_GLOBALS;

namespace app {
namespace detail {

template <typename T>
CHAIN_FN T compute(T x)
{
	unsigned long acc = static_cast<unsigned long>(x);
	T out = x;
	while (target_running) {
		for (int i = 0; i < 1000000; i++)
			SPIN_STEP(acc);
		out = out * static_cast<T>(0.5) + static_cast<T>(acc & 0xff);
		target_sink = acc;
	}
	return out;
}

template <typename T>
class Worker {
public:
	explicit Worker(T seed) : seed_(seed) {}
	CHAIN_FN T step(T x);

private:
	T seed_;
};

template <typename T>
T Worker<T>::step(T x)
{
	double r = compute<double>(static_cast<double>(x + seed_));
	AFTER_CALL();
	target_sink = static_cast<unsigned long>(r);
	return static_cast<T>(r) + 1;
}

template class Worker<int>;
template double compute<double>(double);

} // namespace detail

class Runner {
public:
	CHAIN_FN int run();
};

int Runner::run()
{
	detail::Worker<int> w(3);
	int r = w.step(4);
	AFTER_CALL();
	target_sink = static_cast<unsigned long>(r);
	return r + 1;
}

} // namespace app

int main()
{
	app::Runner runner;
	int r = runner.run();
	AFTER_CALL();
	target_sink = static_cast<unsigned long>(r);
	return r & 1;
}
