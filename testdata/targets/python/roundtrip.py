# Conformance target: Python -> C -> Python.
#   <module> -> py_sort_outer -> sorted (C builtin) -> py_sort_key -> py_key_leaf (spins)
# Runs unchanged on CPython 2.7 and 3.6+. Prints nothing.
# Markers: "@call NAME" is the line that calls NAME; "@spin" lines are the loop.


def py_key_leaf(v):
    x = v + 1
    i = 0
    while i < 20000:  # @spin
        x = (x * 1103515245 + 12345) & 0x7fffffff  # @spin
        i += 1  # @spin
    return x


def py_sort_key(v):
    r = py_key_leaf(v)  # @call py_key_leaf
    return r


def py_sort_outer():
    data = list(range(64))
    while True:
        sorted(data, key=py_sort_key)  # @call sorted


py_sort_outer()  # @call py_sort_outer
