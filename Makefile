# Top-level entry points. CMake does the building; these targets are what people and CI
# call. `make run` and `make test` install missing Debian packages first (as root).
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: build deps run test test-only asan bench bench-ann bench-http bench-python bench-geo python clean

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh scripts/install-deps.sh

run: deps build python
	@scripts/quickstart.sh $(BUILD)

# The Python package, built and installed for /usr/bin/python3 (docs/python.md).
python: build
	@sh scripts/install-python.sh $(BUILD)

test: deps
	@scripts/test.sh

test-only: build
	@cd $(BUILD) && ctest --output-on-failure

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure

bench: build
	@sh scripts/install-deps.sh bench
	@sh scripts/bench.sh $(BUILD)
	@echo "(ANN/HNSW vs hnswlib and faiss: make bench-ann; see docs/benchmarks.md)"

# ANN benchmark: VecStore HNSW vs native hnswlib and faiss (about 20 minutes on 2 cores).
bench-ann: build
	@sh scripts/install-deps.sh ann
	@sh scripts/bench-ann.sh $(BUILD)

# HTTP benchmark: search QPS and p50/p99 at 1/8/64 connections and upserts through
# `vecstore serve`, beside the in-process figures (a few minutes; the 10-minute RSS soak
# only with VS_BENCH_HTTP_SOAK_SECONDS=600). wrk, if installed, cross-checks the client.
bench-http: build
	@sh scripts/bench-http.sh $(BUILD)

# Python layer: per-query overhead vs the C API and 2-thread query scaling (a few minutes).
bench-python: python
	@PYTHONPATH= /usr/bin/python3 bench/bench_python.py --out bench/results

# Geo: radius/box/polygon on 10M points, index build, hybrid vs plain (~10 minutes).
bench-geo: build
	@sh scripts/bench-geo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
