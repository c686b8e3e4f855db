#!/bin/sh
# Checks the built targets' machine code (x86-64, binutils objdump/readelf):
#  - every edge of each known chain is a real `call`, never a tail-call `jmp`;
#  - no chain function sets up a frame pointer: no `push %rbp; mov %rsp,%rbp`
#    prologue, and its .eh_frame FDE never computes the CFA from %rbp.
# So pftop has to unwind these frames with .eh_frame stack deltas.
# Usage: ./check-codegen.sh [bindir]   (exit 1 on any failure)
set -u
BIN=${1:-$(dirname "$0")/bin}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0

# Disassembly with demangled names, one file per binary, "@@Base" (the label
# objdump gives .dynsym-only names in a stripped binary) removed.
dis() {
	[ -f "$TMP/$1.dis" ] || objdump -d -C --no-show-raw-insn "$BIN/$1" | sed 's/@@Base>/>/g' >"$TMP/$1.dis"
	cat "$TMP/$1.dis"
}
frames() {
	[ -f "$TMP/$1.frames" ] || readelf -wF "$BIN/$1" >"$TMP/$1.frames" 2>/dev/null
	cat "$TMP/$1.frames"
}

report() { # STATUS TEXT
	echo "$1  $2"
	[ "$1" = ok ] || fail=1
}

# fn BINARY NAME: checks NAME's own frame; prints nothing, reports on failure.
fn() {
	addr=$(dis "$1" | awk -v fn="$2" '/^[0-9a-f]+ <.*>:$/ { n = $0; sub(/^[0-9a-f]+ </, "", n); sub(/>:$/, "", n); if (n == fn) { print $1; exit } }')
	if [ -z "$addr" ]; then report FAIL "$1: $2: function not found"; return 1; fi
	prologue=$(dis "$1" | awk -v fn="$2" '
		/^[0-9a-f]+ <.*>:$/ { n = $0; sub(/^[0-9a-f]+ </, "", n); sub(/>:$/, "", n); infn = (n == fn); next }
		infn {
			ins = $0; sub(/^ *[0-9a-f]+:\t/, "", ins)
			if (ins ~ /^push +%rbp/) pushed = 4  # gcc may schedule a few insns in between
			else if (pushed > 0 && ins ~ /^mov +%rsp,%rbp/) { print "push-mov-rbp"; exit }
			else pushed--
		}')
	# Hex addresses compare as zero-padded strings ("x" forces string order).
	cfa=$(frames "$1" | awk -v a="$addr" '
		function h(s) { while (length(s) < 16) s = "0" s; return "x" s }
		/ FDE / { pc = $NF; sub(/^pc=/, "", pc); split(pc, r, /\.\./); in_fde = (h(r[1]) <= h(a) && h(a) < h(r[2])); found = found || in_fde; next }
		in_fde && /^[0-9a-f]+ / && $2 ~ /^rbp/ { rbp = 1 }
		END { print (!found ? "nofde" : rbp ? "rbp-cfa" : "ok") }')
	if [ -n "$prologue" ] || [ "$cfa" != ok ]; then
		report FAIL "$1: $2: frame pointer or no FDE ($prologue $cfa)"
		return 1
	fi
	return 0
}

# edge BINARY CALLER CALLEE: CALLEE as objdump -C prints it, NAME@plt for a
# PLT stub, or '*' for any indirect call.
edge() {
	[ -f "$BIN/$1" ] || { echo "skip  $1: not built"; return; }
	fn "$1" "$2" || return
	counts=$(dis "$1" | awk -v caller="$2" -v callee="$3" '
		/^[0-9a-f]+ <.*>:$/ { n = $0; sub(/^[0-9a-f]+ </, "", n); sub(/>:$/, "", n); infn = (n == caller); next }
		!infn { next }
		{
			ins = $0; sub(/^ *[0-9a-f]+:\t/, "", ins)
			t = ins; sub(/^[^<]*</, "", t); sub(/>$/, "", t); sub(/\+0x[0-9a-f]+$/, "", t)
			if (callee == "*") { if (ins ~ /^call +\*/) c++; if (ins ~ /^jmp +\*/) j++ }
			else if (ins ~ /</ && t == callee) { if (ins ~ /^call/) c++; if (ins ~ /^jmp/) j++ }
		}
		END { printf "%d %d", c, j }')
	set -- "$1" "$2" "$3" $counts
	if [ "$4" -gt 0 ] && [ "$5" -eq 0 ]; then
		report ok "$1: $2 -> $3: $4 call, 0 jmp, no frame pointer"
	else
		report FAIL "$1: $2 -> $3: $4 call, $5 jmp"
	fi
}

leaf() {
	[ -f "$BIN/$1" ] || return
	fn "$1" "$2" && report ok "$1: $2 (leaf): no frame pointer"
}

edge chain main chain_a;  edge chain chain_a chain_b;  edge chain chain_b chain_c;  leaf chain chain_c
edge chain-stripped main chain_a;  edge chain-stripped chain_a chain_b
edge chain-stripped chain_b chain_c;  leaf chain-stripped chain_c
edge qsort main sort_forever;  edge qsort sort_forever qsort@plt;  leaf qsort compare_slow
edge bigframe main big_caller;  edge bigframe big_caller big_frame
edge bigframe big_frame big_leaf;  leaf bigframe big_leaf
edge recurse main recurse;  edge recurse recurse recurse
edge recurse recurse recurse_leaf;  leaf recurse recurse_leaf
edge signal main signal_loop;  edge signal signal_loop raise@plt
edge signal on_signal signal_work;  leaf signal signal_work
edge threads worker_a a_mid;  edge threads a_mid a_leaf;  leaf threads a_leaf
edge threads worker_b b_mid;  edge threads b_mid b_leaf;  leaf threads b_leaf
edge dlopen main '*'
edge libplugin.so plugin_entry plugin_mid@plt;  edge libplugin.so plugin_mid plugin_leaf@plt
leaf libplugin.so plugin_leaf
edge cpp main 'app::Runner::run()'
edge cpp 'app::Runner::run()' 'app::detail::Worker<int>::step(int)'
edge cpp 'app::detail::Worker<int>::step(int)' 'double app::detail::compute<double>(double)'
leaf cpp 'double app::detail::compute<double>(double)'
edge rust std::sys::backtrace::__rust_begin_short_backtrace '*'
edge rust rust_target::main rust_target::rust_a;  edge rust rust_target::rust_a rust_target::rust_b
edge rust rust_target::rust_b rust_target::rust_leaf;  leaf rust rust_target::rust_leaf

edge inline main inl_caller;  edge inline inl_caller inl_leaf;  leaf inline inl_leaf

# nosym BINARY NAME: NAME was inlined everywhere: no symbol of its own.
nosym() {
	[ -f "$BIN/$1" ] || return
	if nm "$BIN/$1" 2>/dev/null | awk '{ print $NF }' | grep -qx "$2"; then
		report FAIL "$1: $2 has a symbol: not inlined"
	else
		report ok "$1: $2 inlined (no symbol)"
	fi
}
nosym inline inl_helper;  nosym inline inl_spin

# Go (go tool objdump): calls are CALL (to the function or its ABI0
# wrapper, as cgo's _Cfunc_ stubs are), frameless leaves have no PUSHQ BP,
# no SUBQ of SP and no CALL, inlined helpers have no symbol.
GO=${GO:-go}
if command -v "$GO" >/dev/null 2>&1; then
	godis() { # BINARY FUNCTION
		"$GO" tool objdump -s "^$(printf '%s' "$2" | sed 's/\./\\./g')\$" "$BIN/$1" 2>/dev/null
	}
	gocall() { # BINARY CALLER CALLEE
		[ -f "$BIN/$1" ] || { echo "skip  $1: not built"; return; }
		if godis "$1" "$2" | grep -Eq "CALL $(printf '%s' "$3" | sed 's/\./\\./g')(\.abi0)?\(SB\)"; then
			report ok "$1: $2 -> $3: CALL"
		else
			report FAIL "$1: $2 -> $3: no CALL"
		fi
	}
	goleaf() { # BINARY FUNCTION
		[ -f "$BIN/$1" ] || return
		d=$(godis "$1" "$2")
		if [ -z "$d" ]; then
			report FAIL "$1: $2: function not found"
		elif printf '%s\n' "$d" | grep -Eq 'PUSHQ BP|SUBQ \$[^,]*, SP|ADJSP|CALL '; then
			report FAIL "$1: $2: not a frameless leaf"
		else
			report ok "$1: $2 (leaf): frameless"
		fi
	}
	goinlined() { # BINARY FUNCTION
		[ -f "$BIN/$1" ] || return
		if "$GO" tool nm "$BIN/$1" | awk '{ print $NF }' | grep -qx "$2"; then
			report FAIL "$1: $2 has a symbol: not inlined"
		else
			report ok "$1: $2 inlined (no symbol)"
		fi
	}
	gocall gochain main.main main.goMid;  gocall gochain main.goMid main.goLeaf
	goinlined gochain main.goHelper;  goleaf gochain main.goLeaf
	gocall gochain main.worker main.workMid;  gocall gochain main.workMid main.workLeaf
	goleaf gochain main.workLeaf
	gocall cgo main.goCaller main._Cfunc_c_outer;  gocall cgo main.goCallback main.cbLeaf
	goleaf cgo main.cbLeaf
	edge cgo c_outer c_spin;  edge cgo c_outer goCallback;  leaf cgo c_spin
else
	echo "skip  Go targets: '$GO' not found"
fi

if [ $fail = 0 ]; then echo "all chain edges are calls; no frame pointers"; else echo "codegen check FAILED"; fi
exit $fail
