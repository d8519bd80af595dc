# rerank — two commands do everything on a fresh Debian 12 machine:
#   make demo   installs packages, builds, reranks the seed's example
#   make test   installs packages, builds, runs every test
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
DEBIAN_PACKAGES := build-essential cmake ninja-build pkg-config python3 \
  libopenblas-dev libdnnl-dev libutf8proc-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev \
  libsqlite3-dev libstemmer-dev zlib1g-dev libcurl4-openssl-dev libcpp-httplib-dev libfaiss-dev libssl-dev libhwy-dev \
  chromium fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps configure build test demo sanitize bench clean

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi

configure:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

# the CLI only (build/rerank); `make test` also builds the tests
build: configure
	cmake --build $(BUILD) -j $(JOBS) --target rerank_cli

test: deps configure
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan build of the library, CLI and tests (used by .ci/run)
sanitize: deps
	cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRERANK_SANITIZE=ON
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# Google Benchmark micro-benchmarks of the kernels (numbers, not tests)
bench: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRERANK_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target rerank_bench_kernels
	$(BUILD)/bench/rerank_bench_kernels --benchmark_min_time=0.2

demo: deps build
	./scripts/demo.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
