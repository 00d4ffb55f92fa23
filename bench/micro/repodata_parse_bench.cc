// Parse throughput of conda repodata.json (records shaped like conda-forge's).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>

#include "sources/conda/repodata.h"

namespace {

std::string make_repodata(int n) {
  std::mt19937_64 rng(42);
  std::string out = R"({"info":{"subdir":"linux-64"},"packages":{},"packages.conda":{)";
  char buf[512];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf,
                  R"(%s"pkg-%d-1.%d-py311h%08llx_0.conda":{"build":"py311_0","build_number":0,)"
                  R"("depends":["python >=3.11,<3.12.0a0","libgcc-ng >=12"],"license":"BSD",)"
                  R"("md5":"%016llx%016llx","name":"pkg-%d","sha256":"%016llx%016llx%016llx%016llx",)"
                  R"("size":%llu,"subdir":"linux-64","timestamp":1690000000000,"version":"1.0"})",
                  i ? "," : "", i, i % 50, static_cast<unsigned long long>(rng() & 0xffffffff),
                  static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()), i,
                  static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng() % 10000000));
    out += buf;
  }
  out += "}}";
  return out;
}

void BM_ParseRepodata(benchmark::State& state) {
  std::string json = make_repodata(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = depot::conda::parse_repodata(json, "bench");
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseRepodata)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
