# Conformance target: two threads besides the main one.
#   thread py-thread-a: py_thread_a -> py_thread_a_work (pure Python, holds the GIL)
#   thread py-thread-b: py_thread_b -> py_thread_b_work -> zlib compress() of 1 MiB
#                       (C code that releases the GIL: most samples of this thread
#                       come while it does not hold the GIL)
#   main thread: <module> -> Thread.join
# Runs unchanged on CPython 2.7 and 3.6+. Prints nothing.
# Markers: "@call NAME" is the line that calls NAME; "@spin" lines are the loop.
import threading
import zlib


def py_thread_a_work():
    x = 1
    while True:  # @spin
        x = (x * 1103515245 + 12345) & 0x7fffffff  # @spin
        x ^= x >> 13  # @spin


def py_thread_a():
    py_thread_a_work()  # @call py_thread_a_work


def py_thread_b_work():
    # Pseudo-random bytes compress slowly, and zlib.compress drops the GIL
    # while deflate runs.
    x = 12345
    chunks = []
    for _ in range(1 << 14):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        chunks.append(bytearray([x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, (x >> 24) & 0x7f]))
    buf = bytes(bytearray().join(chunks)) * 16  # 1 MiB
    while True:
        # A compressor object: its compress() drops the GIL on every
        # version (3.6's zlib.compress() does not).
        zlib.compressobj(9).compress(buf)  # @call zlib.compress


def py_thread_b():
    py_thread_b_work()  # @call py_thread_b_work


ta = threading.Thread(target=py_thread_a, name="py-thread-a")
tb = threading.Thread(target=py_thread_b, name="py-thread-b")
ta.daemon = True
tb.daemon = True
ta.start()
tb.start()
ta.join()  # @call join
tb.join()
