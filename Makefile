# pftop — two commands do everything on a fresh machine:
#   make && sudo ./pftop     build (from the committed BPF objects) and run
#   make test                the whole suite (as root: it loads BPF for real)

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/.cargo/bin:/root/.cargo/bin
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Debian packages the tests and `make generate` need.
GENERATE_DEBS := clang-19 llvm-19 libbpf-dev linux-libc-dev
TEST_DEBS := $(GENERATE_DEBS) gcc g++ binutils make bpftool tmux util-linux podman runc libc6-dev libc6-dbg strace
# make bench compares with perf top.
BENCH_DEBS := linux-perf

.PHONY: all build generate check-generated test unit bench deps-generate deps-test deps-bench clean targets kernels fuzz soak

# make fuzz runs every Fuzz target of every package for FUZZTIME each;
# make test runs each for CI_FUZZTIME. Crashers land in the package's
# testdata/fuzz/FuzzX/ and from then on run with every go test.
# Minimizing a new input of a multi-MB seed (a Go binary) can stall a
# target for a minute: FUZZMINTIME bounds it.
FUZZTIME ?= 30s
FUZZMINTIME ?= 5s
CI_FUZZTIME ?= 3s

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o pftop .

# Installs missing Debian packages (apt) only when something is missing.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-generate:
	$(call apt_ensure,$(GENERATE_DEBS))

deps-test:
	$(call apt_ensure,$(TEST_DEBS))

deps-bench:
	$(call apt_ensure,$(TEST_DEBS) $(BENCH_DEBS))

# Rebuilds the BPF objects and Go bindings with clang-19.
generate: deps-generate
	cd bpf && $(GO) generate ./...

# Fails when the committed BPF objects or bindings differ from what the
# sources build to.
check-generated: generate
	@git diff --exit-code --stat -- bpf/ || { echo "BPF objects are stale: run make generate and commit bpf/"; exit 1; }

targets:
	$(MAKE) -C testdata/targets

unit:
	$(GO) test -count=1 ./...

test: deps-test check-generated targets
	$(GO) vet ./...
	# One package at a time: the privileged tests measure real processes and
	# must not compete for the CPU with each other.
	$(GO) test -p 1 -count=1 -timeout 25m ./... 2>&1 | tee /tmp/pftop-test.log; exit $${PIPESTATUS[0]}
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(CI_FUZZTIME) FUZZMINTIME=1s

# Every Fuzz target, found by go test -list, so new ones need no edit here.
# Go before 1.27 can fail a run with a bare "context deadline exceeded" as
# -fuzztime ends (go.dev/issue/75804): such a run, which wrote no failing
# input, is run once more; one that found a crasher fails at once.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
			for try in 1 2; do \
				if $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg >/tmp/pftop-fuzz.log 2>&1; then break; fi; \
				if [ $$try = 1 ] && grep -q 'context deadline exceeded' /tmp/pftop-fuzz.log && ! grep -q 'Failing input written' /tmp/pftop-fuzz.log; then \
					echo "  the fuzzer's deadline race (go.dev/issue/75804), no failing input: once more"; continue; fi; \
				cat /tmp/pftop-fuzz.log; echo "$$fn failed (log above); a crasher it found is in $$pkg's testdata/fuzz/$$fn/"; exit 1; \
			done; \
		done; \
	done

# The long versions of the reliability tests (churn 60 s, ...), then every
# fuzz target for SOAK_FUZZTIME.
SOAK_FUZZTIME ?= 2m
soak: build targets
	PFTOP_SOAK=1 $(GO) test -count=1 -timeout 60m -run '^(TestChurn|TestFault.*|TestSignals|TestSecurity.*)$$' -v . 2>&1 | grep -v '^=== RUN'; exit $${PIPESTATUS[0]}
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(SOAK_FUZZTIME)

bench: deps-bench build targets
	PFTOP_BENCH=1 $(GO) test -count=1 -timeout 20m -run '^TestBench$$' -v . 2>&1 | grep -v '^=== RUN'

# Boots Debian's 5.10, 6.1 and 6.12 cloud kernels under qemu (TCG) with the
# static loader internal/kerneltest, then runs it on the host kernel: one
# PASS/FAIL line per kernel. Packages and builds are cached in .cache/kernels.
kernels:
	GO=$(GO) ./internal/kerneltest/run.sh

clean:
	rm -f pftop
	$(MAKE) -C testdata/targets clean
