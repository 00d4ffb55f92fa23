# make demo: install missing deps, build, mirror -> verify -> real client (apt-get) round trips on bundled fixtures.
# make test: install missing deps, build (release + ASan/UBSan), run every test in both.
.PHONY: all deps build build-asan demo test test-release test-asan bench bench-latency clean

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j $(JOBS)

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(BUILD_ASAN)/build.ninja:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDEPOT_SANITIZE=ON

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS)

demo: build
	DEPOT_BIN=$(BUILD)/depot ./scripts/demo.sh
	DEPOT_BIN=$(BUILD)/depot python3 ./scripts/demo_apt.py

test-release: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan: build-asan
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_ARGS)

test: test-release test-asan

bench: deps $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DDEPOT_BUILD_BENCH=ON
	ninja -C $(BUILD) -j $(JOBS)
	$(BUILD)/bench/micro/depot_micro_bench
	./bench/mirror_bench.sh
	./bench/serve_bench.sh
	python3 ./bench/serve_miss_bench.py

# The distant-mirror benchmark (bench/README.md): about 70 minutes, most of it sequential wget.
bench-latency: build
	./bench/mirror_latency_bench.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
