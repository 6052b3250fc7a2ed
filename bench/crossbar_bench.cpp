// The crossbar read benchmark of the foundation issue. One run measures OpenBLAS SGEMM on the
// layer's float shape and on the stacked per-slice shape, then the non-ideal forward of a
// 1024x1024 layer on 128x128 crossbars (batch 128, 8-bit inputs on 1-bit DACs, 8-bit weights on
// 2-bit cells, 8-bit ADC, programming variation and read noise on) in both modes, and prints
// ratios, which survive a noisy shared machine better than absolute times.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "txsim/mapped_matrix.h"
#include "txsim/rng.h"

namespace {

constexpr int kIn = 1024, kOut = 1024, kBatch = 128;

txsim::CrossbarConfig bench_config(txsim::ReadMode mode) {
  txsim::CrossbarConfig c;
  c.crossbar.rows = c.crossbar.cols = 128;
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  c.crossbar.input_bits = 8;
  c.crossbar.input_signed = false;  // post-ReLU activations: 8 magnitude bits, 8 planes
  c.crossbar.dac_bits = 1;
  c.crossbar.adc_bits = 8;
  c.crossbar.read_mode = mode;
  c.device.program_sigma = 0.02;
  c.device.read_noise_sigma = 0.005;
  return c;
}

std::vector<float> random(std::size_t n, uint64_t seed, bool non_negative) {
  std::vector<float> v(n);
  txsim::fill_normal(seed, 0, n, v.data());
  if (non_negative)
    for (float& x : v) x = std::fabs(x);
  return v;
}

const std::vector<float>& weights() {
  static const std::vector<float> w = random(static_cast<std::size_t>(kOut) * kIn, 1, false);
  return w;
}
const std::vector<float>& inputs() {
  static const std::vector<float> x = random(static_cast<std::size_t>(kBatch) * kIn, 2, true);
  return x;
}

void sgemm_loop(benchmark::State& state, int m, int n, int k, int calls) {
  std::vector<float> a = random(static_cast<std::size_t>(m) * k, 3, false), b = random(static_cast<std::size_t>(k) * n, 4, false),
                     c(static_cast<std::size_t>(m) * n);
  for (auto _ : state) {
    for (int i = 0; i < calls; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * m * n * k * calls, benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

// The float layer: y = x W^T as one GEMM.
void BM_SgemmLayer(benchmark::State& state) { sgemm_loop(state, kBatch, kOut, kIn, 1); }
// The per-slice mode's GEMM shape: 8 planes x batch rows, 4 slices x outputs columns, one
// crossbar's 128 rows deep, once per row-tile.
void BM_SgemmStacked(benchmark::State& state) { sgemm_loop(state, 8 * kBatch, 4 * kOut, 128, kIn / 128); }

void read_loop(benchmark::State& state, txsim::ReadMode mode) {
  txsim::MappedMatrix layer(bench_config(mode), kIn, kOut, 7);
  layer.set_parallelism(static_cast<txsim::Parallelism>(state.range(0)));
  layer.program(weights().data());
  std::vector<float> y(static_cast<std::size_t>(kBatch) * kOut);
  layer.forward(inputs().data(), kBatch, y.data());  // builds the effective matrices once
  for (auto _ : state) {
    layer.forward(inputs().data(), kBatch, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  const auto& a = layer.config().crossbar;
  // Modeled analog MACs: every (bit plane, weight slice, weight) product, each pair counted once.
  const double macs = double(kBatch) * a.input_planes() * a.slices() * kIn * kOut;
  state.counters["GMACS"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}
void BM_PerSliceForward(benchmark::State& state) { read_loop(state, txsim::ReadMode::PerSlice); }
void BM_FoldedForward(benchmark::State& state) { read_loop(state, txsim::ReadMode::Folded); }

BENCHMARK(BM_SgemmLayer)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_SgemmStacked)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_PerSliceForward)->Arg(0)->Arg(1)->ArgName("columns_parallel")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_FoldedForward)->Arg(0)->Arg(1)->ArgName("columns_parallel")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();

// Keeps each run's seconds per iteration and counters so the headline ratios come from one run.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  CollectingReporter() : ConsoleReporter(OO_Tabular) {}
  struct Result {
    double seconds;
    std::map<std::string, double> counters;
  };
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      Result res{r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit), {}};
      for (const auto& [name, c] : r.counters) res.counters[name] = c.value;
      const std::string& args = r.run_name.args;
      results[r.run_name.function_name + (args.empty() ? "" : "/" + args)] = res;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, Result> results;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  CollectingReporter reporter;  // no colour codes: the BENCH lines must parse
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& r = reporter.results;
  auto get = [&](const std::string& name) -> const CollectingReporter::Result* {
    auto it = r.find(name);
    return it == r.end() ? nullptr : &it->second;
  };
  const auto *layer = get("BM_SgemmLayer"), *stacked = get("BM_SgemmStacked");
  if (!layer || !stacked) return 0;  // filtered run: no headline figures
  const double peak = std::max(layer->counters.at("GFLOPS"), stacked->counters.at("GFLOPS"));
  std::printf("BENCH sgemm_peak_gflops %.1f GFLOP/s\n", peak * 1e-9);
  auto best = [&](const std::string& name) {
    const CollectingReporter::Result* best = nullptr;
    for (const char* arg : {"/columns_parallel:0", "/columns_parallel:1"})
      if (const auto* x = get(name + arg); x && (!best || x->seconds < best->seconds)) best = x;
    return best;
  };
  if (const auto* ps = best("BM_PerSliceForward")) {
    std::printf("BENCH per_slice_ms %.2f ms\n", ps->seconds * 1e3);
    std::printf("BENCH per_slice_fraction_of_sgemm %.3f x\n", 2 * ps->counters.at("GMACS") / peak);
  }
  if (const auto* fo = best("BM_FoldedForward")) {
    std::printf("BENCH folded_ms %.3f ms\n", fo->seconds * 1e3);
    std::printf("BENCH folded_over_float_gemm %.3f x\n", fo->seconds / layer->seconds);
  }
  return 0;
}
