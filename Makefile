# make demo: install missing deps, build, mirror -> verify -> real client (apt-get, cargo) round trips on bundled fixtures,
#            an apt mirror written into a RADOS Gateway bucket served back to apt-get, and a 3-node
#            cluster (gateway, 2 copies) serving apt-get while a node dies and its copies are repaired,
#            and last `depot run` on a demo site config (3 scheduled jobs): the status page's URL and JSON.
# make test: install missing deps, build (release + ASan/UBSan), run every test in both, and run
#            every fuzz target briefly (fuzz-smoke).
# make fuzz: build the libFuzzer targets (clang, ASan+UBSan) and run each for FUZZ_SECONDS.
.PHONY: all deps build build-asan build-fuzz demo test test-release test-asan fuzz fuzz-smoke \
        bench bench-latency install clean

BUILD      ?= build
PREFIX     ?= /usr/local
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
JOBS       ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j $(JOBS)

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(BUILD_ASAN)/build.ninja:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDEPOT_SANITIZE=ON

$(BUILD_FUZZ)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDEPOT_FUZZ=ON -DDEPOT_BUILD_TESTS=OFF

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS)

build-fuzz: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ) -j $(JOBS) fuzz_targets

demo: build
	DEPOT_BIN=$(BUILD)/depot ./scripts/demo.sh
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_apt.py
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_crates.py
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_s3.py
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_cluster.py
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_site.py

test-release: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan: build-asan
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_ARGS)

test: test-release test-asan fuzz-smoke

# make install [PREFIX=/usr/local] [DESTDIR=...]: the stripped binary, the systemd unit (its
# ExecStart naming PREFIX/bin/depot), the sysusers file and the docs.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX) --strip

# Every fuzz target for FUZZ_SECONDS each, over its working corpus in $(BUILD_FUZZ)/corpus/
# (kept between runs) plus the seeds in fuzz/corpus/; crashes in $(BUILD_FUZZ)/crashes/.
fuzz: build-fuzz
	FUZZ_BUILD=$(BUILD_FUZZ) FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# CI: every target briefly from its seeds; fails on any crash, leak or oracle failure.
fuzz-smoke: build-fuzz
	FUZZ_BUILD=$(BUILD_FUZZ) FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_SMOKE=1 ./scripts/fuzz.sh

bench: deps $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DDEPOT_BUILD_BENCH=ON
	ninja -C $(BUILD) -j $(JOBS)
	$(BUILD)/bench/micro/depot_micro_bench
	./bench/mirror_bench.sh
	DEPOT_BIN=$(BUILD)/depot ./bench/s3_mirror_bench.sh
	./bench/serve_bench.sh
	python3 ./bench/serve_miss_bench.py

# The distant-mirror benchmark (bench/README.md): about 70 minutes, most of it sequential wget.
bench-latency: build
	./bench/mirror_latency_bench.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
