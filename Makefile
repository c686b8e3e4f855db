# pftop — two commands do everything on a fresh machine:
#   make && sudo ./pftop     build (from the committed BPF objects) and run
#   make test                the whole suite (as root: it loads BPF for real)

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/.cargo/bin:/root/.cargo/bin
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Debian packages the tests and `make generate` need.
GENERATE_DEBS := clang-19 llvm-19 libbpf-dev linux-libc-dev
TEST_DEBS := $(GENERATE_DEBS) gcc g++ binutils make bpftool tmux util-linux podman runc libc6-dev libc6-dbg

.PHONY: all build generate check-generated test unit bench deps-generate deps-test clean targets kernels

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

bench: build targets
	PFTOP_BENCH=1 $(GO) test -count=1 -timeout 20m -run '^TestBench$$' -v . 2>&1 | grep -v '^=== RUN'

# Boots Debian's 5.10, 6.1 and 6.12 cloud kernels under qemu (TCG) with the
# static loader internal/kerneltest, then runs it on the host kernel: one
# PASS/FAIL line per kernel. Packages and builds are cached in .cache/kernels.
kernels:
	GO=$(GO) ./internal/kerneltest/run.sh

clean:
	rm -f pftop
	$(MAKE) -C testdata/targets clean
