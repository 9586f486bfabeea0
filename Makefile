# Moat: `make run` and `make test` are all a fresh Debian 12 machine needs.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build and the tests need.
DEB_PACKAGES := build-essential cmake ninja-build pkg-config \
  libcapstone-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev \
  nlohmann-json3-dev libseccomp-dev busybox-static python3 coreutils file bsdutils sqlite3 \
  tar gzip findutils git diffutils iproute2 util-linux hostname

.PHONY: all deps build run test test-unit asan bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/moat do -- /bin/busybox echo "hello from inside moat"
	$(BUILD)/moat do -- /usr/bin/python3 -c 'import platform; print("python", platform.python_version(), "on", platform.release())'

test: build asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300 -L unit

# The sanitizer build runs the unit tests only (the sentry under ASan is too slow for e2e).
asan: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMOAT_SANITIZE=ON -DMOAT_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target moat_unit_tests

# Microbenchmarks of the internals, then native vs Moat (each platform) vs runsc vs proot in one run
# (bench/compare installs runsc, proot and GNU time when missing). The table also lands in
# $(BUILD)/bench-results.md, the form bench/RESULTS.md keeps.
bench: build
	$(BUILD)/bench/moat_bench --benchmark_min_time=0.2
	bench/compare $(BUILD) --markdown $(BUILD)/bench-results.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
