# Thin wrapper over CMake. The build itself is described in CMakeLists.txt.
#
#   make            build (same as make build)
#   make deps       install missing Debian packages (scripts/install-deps)
#   make test       deps + build + ctest
#   make demo       deps + build + scripts/demo (local MariaDB, fixture API, load, check);
#                   make demo WAREHOUSE=postgres: the same into a local PostgreSQL 15
#   make help       list targets
#
# BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo) and JOBS
# (default 2) can be overridden: make test BUILD_DIR=/tmp/b

BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
CMAKE ?= cmake
CTEST ?= ctest
CMAKE_ARGS ?=

FORMAT_FILES = $(wildcard loader/*.c loader/*.h tests/*.c tests/unit/*.c)

.DEFAULT_GOAL := build

.PHONY: all build deps test demo demo-stop clean test-sanitize format bench fuzz docs help

all: build

build:
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

deps:
	scripts/install-deps

# Order matters: deps before build before ctest, even under make -j.
test: deps
	$(MAKE) --no-print-directory build
	$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure

# WAREHOUSE: mysql (the default) or postgres (scripts/demo)
WAREHOUSE ?=
demo: deps
	$(MAKE) --no-print-directory build
	BUILD_DIR=$(BUILD_DIR) WAREHOUSE=$(WAREHOUSE) scripts/demo

demo-stop:
	WAREHOUSE=$(WAREHOUSE) scripts/demo stop

clean:
	rm -rf $(BUILD_DIR)

# Benchmark (bench/README.md): sizes via BENCH_SIZES="USERS:MESSAGES ..." or
# BENCH_USERS/BENCH_MESSAGES; its MariaDB uses BENCH_DB_PORT (default 3326).
bench: deps
	$(MAKE) --no-print-directory build
	BUILD_DIR=$(BUILD_DIR) bench/run.sh

# libFuzzer targets (tests/fuzz): built with clang into FUZZ_BUILD_DIR, each
# run for FUZZ_SECONDS (inputs found are kept in FUZZ_BUILD_DIR/corpus).
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	JOBS=$(JOBS) tests/fuzz/run.sh --build-dir $(FUZZ_BUILD_DIR) --seconds $(FUZZ_SECONDS)

test-sanitize: deps
	$(CMAKE) -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DMASKLOAD_SANITIZE=ON $(CMAKE_ARGS)
	$(CMAKE) --build $(ASAN_BUILD_DIR) -j$(JOBS)
	$(CTEST) --test-dir $(ASAN_BUILD_DIR) --output-on-failure

format:
	@if command -v clang-format >/dev/null 2>&1; then \
		clang-format -i $(FORMAT_FILES) && echo "formatted $(words $(FORMAT_FILES)) files"; \
	else \
		echo "clang-format not found; nothing formatted (apt-get install clang-format)"; \
	fi

# The architecture diagram: docs/architecture.dot rendered with Graphviz
# (Debian package graphviz; only this target needs it). The image is
# committed, so the README shows it without a build.
docs: docs/architecture.png

docs/architecture.png: docs/architecture.dot
	@command -v dot >/dev/null 2>&1 || { echo "make docs: 'dot' not found: apt-get install graphviz" >&2; exit 1; }
	dot -Tpng -Gdpi=110 $< -o $@

help:
	@echo "targets:"
	@echo "  make | make build   configure ($(BUILD_TYPE)) and build into $(BUILD_DIR)/"
	@echo "  make deps           install missing Debian packages (scripts/install-deps)"
	@echo "  make test           deps, build, then ctest --output-on-failure"
	@echo "  make test-sanitize  the same with ASan+UBSan in $(ASAN_BUILD_DIR)/"
	@echo "  make fuzz           libFuzzer targets (clang), FUZZ_SECONDS=$(FUZZ_SECONDS) each, in $(FUZZ_BUILD_DIR)/"
	@echo "  make demo           deps, build, then scripts/demo (local MariaDB + fixture API,"
	@echo "                      init, run, check, analyst connection command)"
	@echo "  make demo-stop      stop the demo's fixture API and MariaDB"
	@echo "  make format         clang-format -i the C sources"
	@echo "  make clean          remove $(BUILD_DIR)/"
	@echo "  make bench          load benchmark: maskload vs LOAD DATA INFILE vs row-at-a-time"
	@echo "  make docs           render docs/architecture.png from docs/architecture.dot (graphviz)"
	@echo "variables: BUILD_DIR=$(BUILD_DIR) BUILD_TYPE=$(BUILD_TYPE) JOBS=$(JOBS) CMAKE_ARGS=..."
