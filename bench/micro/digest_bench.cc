// Streaming digest throughput (OpenSSL EVP) for the algorithm sets the mirror computes.

#include <benchmark/benchmark.h>

#include <string>

#include "core/digest.h"

namespace {

void BM_Hash(benchmark::State& state) {
  std::string chunk(128 * 1024, 'x');
  depot::Hasher h(static_cast<unsigned>(state.range(0)));
  for (auto _ : state) {
    h.update(chunk);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(h.finish());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_Hash)
    ->Arg(depot::digest_bit(depot::DigestAlgo::kSha256))
    ->Arg(depot::digest_bit(depot::DigestAlgo::kSha256) | depot::digest_bit(depot::DigestAlgo::kMd5))
    ->ArgName("algos");

}  // namespace
