# Benchmark target: a 30-frame Python stack, <module> and 29 calls of
# py_deep, spinning in the innermost. Runs unchanged on CPython 2.7 and 3.6+.


def py_deep(n):
    if n > 1:
        return py_deep(n - 1)
    x = 1
    while True:
        x = (x * 1103515245 + 12345) & 0x7fffffff
        x ^= x >> 13


py_deep(29)
