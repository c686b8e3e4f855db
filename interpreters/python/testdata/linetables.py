# Prints, as one JSON line, every code object compiled from threading.py
# and from a generated module with long jumps and big line gaps, with the
# interpreter's own line table answer (co_lines() on 3.10+,
# dis.findlinestarts() before), then keeps them alive until stdin closes.
from __future__ import print_function
import dis
import json
import sys
import threading
import types


def generated_source():
    # Line increments over 127 (signed lnotab steps), bytecode runs over
    # 255 bytes on one line, backward line jumps, try/finally.
    lines = ["def gen_long(a):"]
    lines.append("    x = (" + " + ".join("a * %d" % i for i in range(200)) + ")")
    lines.extend([""] * 300)
    lines.append("    for i in range(3):")
    lines.append("        try:")
    lines.append("            x += i")
    lines.append("        finally:")
    lines.append("            x -= 1")
    lines.extend([""] * 40)
    lines.append("    return [")
    lines.append("        x,")
    lines.append("        a]")
    lines.append("")
    lines.append("class Gen(object):")
    lines.append("    def method(self):")
    lines.append("        return lambda y: (y,")
    lines.append("            y)")
    return "\n".join(lines) + "\n"


def all_codes(co, out):
    out.append(co)
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            all_codes(c, out)
    return out


def describe(co):
    d = {
        "id": id(co),
        "first": co.co_firstlineno,
        "name": getattr(co, "co_qualname", co.co_name),
        "file": co.co_filename,
        "len": len(co.co_code),
    }
    if hasattr(co, "co_lines"):
        d["lines"] = [[s, e, -1 if l is None else l] for s, e, l in co.co_lines()]
    else:
        d["starts"] = [[a, l] for a, l in dis.findlinestarts(co)]
    return d


path = threading.__file__
if path.endswith(".pyc"):
    path = path[:-1]
with open(path) as f:
    src = f.read()
codes = all_codes(compile(src, path, "exec", 0, True), [])
codes = all_codes(compile(generated_source(), "<generated>", "exec", 0, True), codes)
print(json.dumps([describe(c) for c in codes]))
sys.stdout.flush()
sys.stdin.read()
