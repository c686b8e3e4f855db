# Conformance target: a pure-Python chain that spins forever.
#   <module> -> py_chain_a -> py_chain_b -> py_chain_c (spins)
# Runs unchanged on CPython 2.7 and 3.6+. Prints nothing.
# Markers: "@call NAME" is the line that calls NAME; "@spin" lines are the loop.


def py_chain_c():
    x = 1
    while True:  # @spin
        x = (x * 1103515245 + 12345) & 0x7fffffff  # @spin
        x ^= x >> 13  # @spin


def py_chain_b():
    r = py_chain_c()  # @call py_chain_c
    return r


def py_chain_a():
    r = py_chain_b()  # @call py_chain_b
    return r


py_chain_a()  # @call py_chain_a
