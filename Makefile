# berth: the two set-up commands (make run, make test) and their helpers.
# Every target installs what it needs first (scripts/install-deps is idempotent).
JOBS  ?= $(shell nproc)
# One test more than cores: about a third of the suite's time is spent waiting on peers
# (etcd elections, leases running out, timeouts that are the point of a test).
CTEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
GEN   := -G Ninja
REL   := build
TEST  := build-test
BENCH := build-bench

.PHONY: run test bench build fuzz man install deb clean deps

# Install, build Release, and audit this host. Exit 1 from berth means "findings": not a failure here.
run: build
	@./$(REL)/berth scan; rc=$$?; [ $$rc -le 1 ] || exit $$rc

build:
	scripts/install-deps build
	cmake -S . -B $(REL) $(GEN) -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF >/dev/null
	cmake --build $(REL) -j $(JOBS)

# Install test peers, build with ASan+UBSan and -Werror, run every test with ctest.
# Line tables only (-g1): enough for the sanitizers' stack traces and a backtrace in gdb, and
# a quarter less compile time than full debug information (configure a build folder of your
# own without it to step through variables). -Og: the suite's berth runs 2-3x faster than at
# -O0 (the inline accessors of std::string and nlohmann-json are inlined) for no more compile
# time (docs/benchmarks.md, "`make test` itself").
test:
	scripts/install-deps test
	cmake -S . -B $(TEST) $(GEN) -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -Og" -DBERTH_SANITIZE=ON -DBERTH_WERROR=ON >/dev/null
	cmake --build $(TEST) -j $(JOBS)
	cd $(TEST) && ctest --output-on-failure -j $(CTEST_JOBS) --timeout 600

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

# Install from source (docs/install.md): make install [PREFIX=/usr/local] [DESTDIR=stage].
# Installed as root with no DESTDIR, the system user and /var/lib/berth are made too
# (systemd-sysusers, systemd-tmpfiles); nothing is enabled or started.
PREFIX ?= /usr/local
install: build
	cmake -S . -B $(REL) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	DESTDIR="$(DESTDIR)" cmake --install $(REL)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then \
	  systemd-sysusers $(PREFIX)/lib/sysusers.d/berth.conf && \
	  systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/berth.conf; fi

# The Debian package, from a Release build with Debian's hardening flags (docs/install.md):
# $(DEB)/deb/berth_VERSION_ARCH.deb. DEB_VERSION=... overrides the project's version.
DEB ?= build-deb
deb:
	scripts/install-deps deb
	DEB_BUILD_MAINT_OPTIONS=hardening=+all; export DEB_BUILD_MAINT_OPTIONS; \
	cmake -S . -B $(DEB) $(GEN) -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
	  -DCMAKE_CXX_FLAGS="$$(dpkg-buildflags --get CPPFLAGS) $$(dpkg-buildflags --get CXXFLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$$(dpkg-buildflags --get LDFLAGS)" \
	  $(if $(DEB_VERSION),-DBERTH_DEB_VERSION=$(DEB_VERSION),-UBERTH_DEB_VERSION) >/dev/null
	cmake --build $(DEB) -j $(JOBS)
	cd $(DEB) && cpack --config CPackConfig.cmake
	@ls $(DEB)/deb/*.deb

clean:
	rm -rf $(REL) $(TEST) $(BENCH) build-fuzz $(DEB)
