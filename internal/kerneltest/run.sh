#!/usr/bin/env bash
# make kernels: boots Debian's cloud kernels (5.10 from bullseye, 6.1 from
# bookworm, 6.12 from bookworm-backports) under qemu with software
# emulation, runs internal/kerneltest (load every BPF program, sample the
# static chain target, check the stacks) as the initramfs payload, runs the
# same loader on the host kernel when root, and prints one line per kernel:
#
#   PASS 5.10.262 (5.10.0-46-cloud-amd64; variant; largest program ...)
#   FAIL 6.1.192: reason
#
# Exits non-zero when any kernel fails.
#
# Kernel packages come from apt with a private configuration under the cache
# (its own sources file, lists and package cache): nothing is installed and
# the host's apt sources are not touched. Everything is cached under
# .cache/kernels; the package lists are refreshed once a week (or with
# PFTOP_KERNELS_REFRESH=1), so a rerun needs no network and takes about a
# minute.
#
# Environment: PFTOP_KERNELS="5.10 6.1 6.12" picks the kernels,
# PFTOP_KERNELS_HOST=0 leaves the host out, PFTOP_KERNELS_TIMEOUT (seconds
# per boot, default 180; a boot that has not started the loader after
# PFTOP_KERNELS_BOOT_TIMEOUT, default 60, is given up earlier),
# PFTOP_KERNELS_JOBS (parallel boots, default 1), PFTOP_KERNELS_CPU (qemu
# -cpu), PFTOP_KERNELS_CACHE (default .cache/kernels).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${PFTOP_KERNELS_CACHE:-$ROOT/.cache/kernels}
KERNELS=${PFTOP_KERNELS:-5.10 6.1 6.12}
TIMEOUT=${PFTOP_KERNELS_TIMEOUT:-180}
BOOT_TIMEOUT=${PFTOP_KERNELS_BOOT_TIMEOUT:-60}
JOBS=${PFTOP_KERNELS_JOBS:-1}
REFRESH_DAYS=7
GO=${GO:-go}
HOST_DEBS=(qemu-system-x86 busybox-static cpio gcc libc6-dev)

log() { echo "kernels: $*" >&2; }
die() { echo "FAIL setup: $*"; exit 1; }

mkdir -p "$CACHE"/{apt/sources.list.d,apt/lists/partial,apt/cache/archives/partial,debs,boot,initramfs,logs} ||
	die "cannot create $CACHE"
# One run at a time per cache.
exec 9>"$CACHE/lock"
flock 9 || die "cannot lock $CACHE/lock"

# --- host tools -----------------------------------------------------------

missing=()
for p in "${HOST_DEBS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || die "missing ${missing[*]}: run as root (apt-get install) or install them"
	log "installing ${missing[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$CACHE/logs/apt-host.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (see $CACHE/logs/apt-host.log)"
fi
BUSYBOX=$(command -v busybox) || die "busybox not found"

# --- kernel packages (private apt configuration) --------------------------

# The mirrors the host already uses, for the suites the host does not list.
mirror() { # $1: security|main
	local u
	u=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | awk '{print $2}' |
		if [[ $1 == security ]]; then grep -m1 -- '-security'; else grep -m1 -v -- '-security'; fi)
	if [[ -z $u ]]; then
		if [[ $1 == security ]]; then u=http://deb.debian.org/debian-security; else u=http://deb.debian.org/debian; fi
	fi
	echo "$u"
}
APT_SOURCES=$CACHE/apt/sources.list.d/pftop-kernels.sources
cat >"$APT_SOURCES.new" <<EOF
# Written by internal/kerneltest/run.sh for \`make kernels\`; used only with
# the private apt state next to it, never by the host's apt.
Types: deb
URIs: $(mirror main)
Suites: bullseye bookworm bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $(mirror security)
Suites: bullseye-security bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
mv "$APT_SOURCES.new" "$APT_SOURCES"
APT_OPTS=(
	-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$CACHE/apt/sources.list.d"
	-o "Dir::State::Lists=$CACHE/apt/lists"
	-o "Dir::Cache=$CACHE/apt/cache"
	-o "Dir::Cache::Archives=$CACHE/apt/cache/archives"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
)

apt_updated=""
apt_update() {
	[[ -n $apt_updated ]] && return "$apt_updated"
	log "refreshing the kernel package lists"
	if apt-get "${APT_OPTS[@]}" -q update >"$CACHE/logs/apt-update.log" 2>&1; then
		apt_updated=0
	else
		# A failing suite still leaves the others usable.
		log "apt-get update reported errors (see $CACHE/logs/apt-update.log)"
		apt_updated=0
		ls "$CACHE"/apt/lists/*_Packages* >/dev/null 2>&1 || apt_updated=1
	fi
	return "$apt_updated"
}

# resolve SERIES: prints "PACKAGE VERSION" of the newest cloud kernel of
# that series (5.10 -> bullseye(-security), 6.1 -> bookworm(-security),
# 6.12 -> bookworm-backports).
resolve() {
	local series=$1 ver dep
	ver=$(apt-cache "${APT_OPTS[@]}" madison linux-image-cloud-amd64 2>/dev/null |
		awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -E "^${series//./\\.}\.[0-9]" | sort -V | tail -n1)
	[[ -n $ver ]] || return 1
	dep=$(apt-cache "${APT_OPTS[@]}" show "linux-image-cloud-amd64=$ver" 2>/dev/null |
		sed -n 's/^Depends: *//p' | head -n1 | tr ',' '\n' | grep -oE 'linux-image-[^ ]+' | head -n1)
	[[ -n $dep ]] || return 1
	echo "$dep $ver"
}

# fetch SERIES: makes $CACHE/boot/SERIES/{vmlinuz,package,version}.
fetch() {
	local series=$1 dir=$CACHE/boot/$1 pkg ver deb
	if [[ -s $dir/vmlinuz && -s $dir/version && -z ${PFTOP_KERNELS_REFRESH:-} ]] &&
		[[ -z $(find "$dir/version" -mtime +"$REFRESH_DAYS" 2>/dev/null) ]]; then
		return 0
	fi
	if ! apt_update || ! read -r pkg ver < <(resolve "$series"); then
		if [[ -s $dir/vmlinuz ]]; then
			log "$series: cannot refresh, using the cached $(cat "$dir/version")"
			return 0
		fi
		echo "no linux-image-cloud-amd64 of the $series series in the kernel suites (see $CACHE/logs/apt-update.log)" >"$dir.err"
		return 1
	fi
	mkdir -p "$dir"
	if [[ -s $dir/vmlinuz && $(cat "$dir/package" 2>/dev/null) == "$pkg" && $(cat "$dir/version") == "$ver" ]]; then
		touch "$dir/version"
		return 0
	fi
	deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb 2>/dev/null | grep -F "_${ver//:/%3a}_" | head -n1)
	if [[ -z $deb ]]; then
		log "$series: downloading $pkg $ver"
		if ! (cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" -q download "$pkg=$ver") >"$CACHE/logs/apt-download-$series.log" 2>&1; then
			echo "apt-get download $pkg=$ver failed (see $CACHE/logs/apt-download-$series.log)" >"$dir.err"
			return 1
		fi
		deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb | head -n1)
		# Keep one package per series.
		for old in "$CACHE"/debs/linux-image-"$series"[.-]*.deb; do
			[[ -e $old && $old != "$deb" ]] && rm -f "$old"
		done
	fi
	if ! dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/vmlinuz-*' >"$dir/vmlinuz.new" || [[ ! -s $dir/vmlinuz.new ]]; then
		echo "no vmlinuz in $deb" >"$dir.err"
		return 1
	fi
	mv "$dir/vmlinuz.new" "$dir/vmlinuz"
	echo "$pkg" >"$dir/package"
	echo "$ver" >"$dir/version"
	return 0
}

# --- initramfs --------------------------------------------------------------

build_initramfs() {
	local stage=$CACHE/initramfs/root out=$CACHE/initramfs/initramfs.cpio.gz
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp} || return 1
	# The loader: static, so the initramfs needs no libc. go build is a
	# no-op when nothing changed.
	(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -o "$CACHE/initramfs/kerneltest" ./internal/kerneltest) || return 1
	# The targets, built like testdata/targets builds chain, but static.
	local t src out_bin hdr=$ROOT/testdata/targets/targets.h
	for t in chain syscall_chain; do
		src=$ROOT/testdata/targets/$t.c
		[[ $t == syscall_chain ]] && src=$ROOT/internal/kerneltest/testdata/$t.c
		out_bin=$CACHE/initramfs/$t
		if [[ ! -x $out_bin || $src -nt $out_bin || $hdr -nt $out_bin ]]; then
			gcc -static -O2 -fomit-frame-pointer -g0 -fasynchronous-unwind-tables -Wall \
				-I "$ROOT/testdata/targets" -o "$out_bin" "$src" || return 1
		fi
		cmp -s "$out_bin" "$stage/$t" || cp "$out_bin" "$stage/$t"
	done
	cmp -s "$CACHE/initramfs/kerneltest" "$stage/kerneltest" || cp "$CACHE/initramfs/kerneltest" "$stage/kerneltest"
	cmp -s "$BUSYBOX" "$stage/bin/busybox" || cp "$BUSYBOX" "$stage/bin/busybox"
	cat >"$stage/init.new" <<'EOF'
#!/bin/busybox sh
# pftop kernel test: run the loader, which prints the result line and powers
# off; if it comes back, say so and power off anyway.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/kerneltest -init -target /chain -sys-target /syscall_chain
status=$?
echo "PFTOP-KERNEL-RESULT FAIL kernel=$(/bin/busybox uname -r) reason=\"the loader returned with status $status instead of powering off\""
/bin/busybox poweroff -f
EOF
	chmod 755 "$stage/init.new"
	cmp -s "$stage/init.new" "$stage/init" && rm "$stage/init.new" || mv "$stage/init.new" "$stage/init"
	if [[ ! -s $out || -n $(find "$stage" -newer "$out" -print -quit) ]]; then
		(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$out.new") || return 1
		mv "$out.new" "$out"
	fi
}

# --- boot -------------------------------------------------------------------

# -cpu max without CX16: QEMU 7.2's TCG (bookworm's qemu) crashes Debian's
# 6.12 kernel at random points of boot, long before any BPF (double faults
# with garbage EFLAGS right after the slab allocator's gs-relative
# cmpxchg16b; 6 of 30 boots), and never once in 32 boots without CX16.
# The kernels run fine without it (the slab allocator takes its locked
# path); nothing pftop does depends on it.
QEMU_CPU=${PFTOP_KERNELS_CPU:-max,la57=off,-cx16}

# boot SERIES: boots the kernel and leaves the console in logs/SERIES.log.
# A guest that crashed, or did not start the loader within BOOT_TIMEOUT,
# is booted once more (an emulation fault, not pftop's: the loader had not
# run); logs/SERIES.retried says why.
boot() {
	local series=$1 try q rc waited why log=$CACHE/logs/$1.log
	rm -f "$CACHE/logs/$series.retried"
	for try in 1 2; do
		timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
			-accel tcg -cpu "$QEMU_CPU" -smp 2 -m 1G \
			-nographic -no-reboot -net none \
			-kernel "$CACHE/boot/$series/vmlinuz" \
			-initrd "$CACHE/initramfs/initramfs.cpio.gz" \
			-append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off" \
			</dev/null >"$log" 2>&1 &
		q=$!
		why=""
		for ((waited = 0; waited < BOOT_TIMEOUT; waited++)); do
			kill -0 "$q" 2>/dev/null || break
			grep -aq 'kerneltest:\|PFTOP-KERNEL-RESULT' "$log" && break
			sleep 1
		done
		if ((waited >= BOOT_TIMEOUT)) && kill -0 "$q" 2>/dev/null; then
			why="the loader had not started after ${BOOT_TIMEOUT}s"
			kill "$q" 2>/dev/null
		fi
		wait "$q"
		rc=$?
		echo "$rc" >"$CACHE/logs/$series.rc"
		if ! grep -aq 'kerneltest:\|PFTOP-KERNEL-RESULT' "$log"; then
			[[ -n $why ]] || why=$(tr -d '\r' <"$log" | grep -a -m1 -oE '(BUG|Oops|PANIC|Kernel panic)[^[]*')
			if [[ -n $why ]]; then
				cp "$log" "$CACHE/logs/$series.crash.log"
				echo "$why" >"$CACHE/logs/$series.retried"
				((try == 1)) && continue
				echo "$why" >"$CACHE/logs/$series.why"
			fi
		fi
		break
	done
}

field() { # field NAME LINE
	sed -nE "s/.* $1=(\"([^\"]*)\"|([^ ]*)).*/\2\3/p" <<<"$2"
}

# summary NAME LINE SECONDS: the one-line verdict.
summary() {
	local name=$1 line=$2 secs=$3 insns kind xlated size=""
	insns=$(field insns "$line")
	kind=$(field insns_kind "$line")
	xlated=$(field xlated "$line")
	if [[ -n $insns ]]; then
		size="largest program ${insns%=*}: ${insns##*=} $kind insns"
		[[ $kind == xlated ]] || size+=" (${xlated##*=} xlated)"
	fi
	if [[ $line == *" PASS "* ]]; then
		echo "PASS $name ($(field kernel "$line"); $(field variant "$line"); $size; $(field samples "$line") samples, $(field complete "$line") complete; in the kernel: $(field kernel_samples "$line"), $(field kernel_complete "$line") complete; ${secs}s)"
	else
		echo "FAIL $name: $(field reason "$line") ($(field kernel "$line")${size:+; $size}; ${secs}s)"
	fi
}

upstream() { # 5.10.262-1 -> 5.10.262; 6.12.95-1~bpo12+1 -> 6.12.95
	local v=${1%%-*}
	echo "${v%%~*}"
}

start=$(date +%s)
results=()
fail=0

build_initramfs >"$CACHE/logs/build.log" 2>&1 || { cat "$CACHE/logs/build.log" >&2; die "building the initramfs failed"; }

ready=()
for s in $KERNELS; do
	rm -f "$CACHE/boot/$s.err" "$CACHE/logs/$s.why" "$CACHE/logs/$s.end"
	if fetch "$s"; then
		ready+=("$s")
	else
		results+=("FAIL $s: $(cat "$CACHE/boot/$s.err" 2>/dev/null || echo "no kernel")")
		fail=1
	fi
done

declare -A began
running=0
for s in "${ready[@]}"; do
	log "booting $s ($(cat "$CACHE/boot/$s/package"))"
	began[$s]=$(date +%s)
	(boot "$s"; date +%s >"$CACHE/logs/$s.end") &
	running=$((running + 1))
	if ((running >= JOBS)); then
		wait -n
		running=$((running - 1))
	fi
done
wait

for s in "${ready[@]}"; do
	ver=$(upstream "$(cat "$CACHE/boot/$s/version")")
	secs=$(($(cat "$CACHE/logs/$s.end" 2>/dev/null || date +%s) - began[$s]))
	line=$(tr -d '\r' <"$CACHE/logs/$s.log" | grep -a -m1 -o 'PFTOP-KERNEL-RESULT .*')
	rc=$(cat "$CACHE/logs/$s.rc" 2>/dev/null)
	if [[ -z $line ]]; then
		reason="no result line"
		[[ -s $CACHE/logs/$s.why ]] && reason="twice no result line: $(cat "$CACHE/logs/$s.why")"
		[[ $rc == 124 || $rc == 137 ]] && reason="timed out after ${TIMEOUT}s with no result line"
		[[ -n $rc && $rc != 0 && $rc != 124 && $rc != 137 ]] && reason="qemu exited with status $rc and no result line"
		results+=("FAIL $ver: $reason (console: $CACHE/logs/$s.log)")
		fail=1
		continue
	fi
	sum=$(summary "$ver" "$line" "$secs")
	if [[ -s $CACHE/logs/$s.retried ]]; then
		sum="${sum%)}; booted twice: the first boot failed before the loader ran: $(cat "$CACHE/logs/$s.retried"), see $CACHE/logs/$s.crash.log)"
	fi
	results+=("$sum")
	if [[ $line != *" PASS "* ]]; then
		fail=1
		# The loader logs the verifier's output before the result line.
		{
			echo "--- $s: console (last 60 lines of $CACHE/logs/$s.log)"
			tr -d '\r' <"$CACHE/logs/$s.log" | tail -n 60
		} >&2
	fi
done

if [[ ${PFTOP_KERNELS_HOST:-1} != 0 ]]; then
	if [[ $(id -u) == 0 ]]; then
		t0=$(date +%s)
		"$CACHE/initramfs/kerneltest" -target "$CACHE/initramfs/chain" -sys-target "$CACHE/initramfs/syscall_chain" >"$CACHE/logs/host.out" 2>"$CACHE/logs/host.log"
		line=$(grep -a -m1 -o 'PFTOP-KERNEL-RESULT .*' "$CACHE/logs/host.out")
		if [[ -z $line ]]; then
			results+=("FAIL host $(uname -r): no result line (see $CACHE/logs/host.log)")
			fail=1
		else
			results+=("$(summary "host $(uname -r)" "$line" $(($(date +%s) - t0)))")
			[[ $line == *" PASS "* ]] || { fail=1; cat "$CACHE/logs/host.log" >&2; }
		fi
	else
		results+=("SKIP host $(uname -r): not root")
	fi
fi

printf '%s\n' "${results[@]}"
log "done in $(($(date +%s) - start))s"
exit "$fail"
