# berth: the two set-up commands (make run, make test) and their helpers.
# Every target installs what it needs first (scripts/install-deps is idempotent).
JOBS  ?= $(shell nproc)
GEN   := -G Ninja
REL   := build
TEST  := build-test
BENCH := build-bench

.PHONY: run test bench build fuzz man clean deps

# Install, build Release, and audit this host. Exit 1 from berth means "findings": not a failure here.
run: build
	@./$(REL)/berth scan; rc=$$?; [ $$rc -le 1 ] || exit $$rc

build:
	scripts/install-deps build
	cmake -S . -B $(REL) $(GEN) -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF >/dev/null
	cmake --build $(REL) -j $(JOBS)

# Install test peers, build with ASan+UBSan and -Werror, run every test with ctest.
test:
	scripts/install-deps test
	cmake -S . -B $(TEST) $(GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON -DBERTH_WERROR=ON >/dev/null
	cmake --build $(TEST) -j $(JOBS)
	cd $(TEST) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Benchmarks against the anchor tools, in the same run. Prints ratios; see docs/benchmarks.md.
bench:
	scripts/install-deps bench
	cmake -S . -B $(BENCH) $(GEN) -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF -DBERTH_BENCH=ON >/dev/null
	cmake --build $(BENCH) -j $(JOBS)
	bench/run-all $(BENCH)

# libFuzzer (clang) on every codec, a fixed number of executions each.
fuzz:
	scripts/install-deps fuzz
	CXX=clang++-16 cmake -S . -B build-fuzz $(GEN) -DCMAKE_BUILD_TYPE=Debug -DBERTH_TESTS=OFF -DBERTH_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	tests/fuzz/run-all build-fuzz $${FUZZ_RUNS:-200000}

man: build
	@echo "man page: $(REL)/berth.1 (man -l $(REL)/berth.1)"

clean:
	rm -rf $(REL) $(TEST) $(BENCH) build-fuzz
