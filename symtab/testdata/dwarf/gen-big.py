# Generates N C++ translation units heavy in templates and inlining, plus
# main.cc, for a big binary with DWARF to benchmark symtab on: see the
# "big" target in the Makefile. Usage: python3 gen-big.py N (in an empty
# directory).
import sys
n = int(sys.argv[1])
for i in range(n):
    with open(f"tu{i}.cc", "w") as f:
        f.write(f'''#include <map>
#include <string>
#include <vector>
#include <unordered_map>
#include <algorithm>
#include <sstream>
#include <memory>
#include <functional>
namespace ns{i} {{
template <typename K, typename V> struct Table {{
  std::map<K, std::vector<V>> m;
  std::unordered_map<std::string, std::shared_ptr<V>> u;
  __attribute__((always_inline)) inline void add(const K& k, const V& v) {{ m[k].push_back(v); }}
  inline size_t total() const {{ size_t t = 0; for (auto& [k, v] : m) t += v.size(); return t; }}
  std::string dump() const {{ std::ostringstream os; for (auto& [k, v] : m) {{ os << v.size(); }} return os.str(); }}
}};
template <int N> struct Rec {{ static int go(int x) {{ return Rec<N-1>::go(x * 3 + N) ^ N; }} }};
template <> struct Rec<0> {{ static int go(int x) {{ return x; }} }};
''')
        for j in range(6):
            f.write(f'''
struct S{j} {{ int a; double b; std::string c; std::vector<int> d; }};
__attribute__((noinline)) long work{j}(int n) {{
  Table<int, S{j}> t; Table<std::string, long> t2;
  for (int k = 0; k < n; k++) {{ t.add(k % 17, S{j}{{k, k * 0.5, std::to_string(k), {{k, k+1}}}}); t2.add(std::to_string(k % 5), k); }}
  std::vector<long> v; for (int k = 0; k < n; k++) v.push_back(Rec<{20+j}>::go(k));
  std::sort(v.begin(), v.end(), std::greater<long>());
  std::function<long(long)> fn = [&](long x) {{ return x + (long)t.total(); }};
  return fn(v.empty() ? 0 : v[0]) + (long)t.dump().size() + (long)t2.total();
}}
''')
        f.write(f"}}\nlong entry{i}(int n) {{ return ns{i}::work0(n) + ns{i}::work1(n) + ns{i}::work2(n) + ns{i}::work3(n) + ns{i}::work4(n) + ns{i}::work5(n); }}\n")
    with open("main.cc", "w") as f:
        for i in range(n): f.write(f"long entry{i}(int);\n")
        f.write("int main(int argc, char**) { long s = 0;\n")
        for i in range(n): f.write(f"  s += entry{i}(argc);\n")
        f.write("  return (int)(s & 0x7f); }\n")
