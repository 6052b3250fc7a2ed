// The crossbar read benchmark of the foundation issue. One run measures OpenBLAS SGEMM on the
// layer's float shape and on the stacked per-slice shape, then the non-ideal forward of a
// 1024x1024 layer on 128x128 crossbars (batch 128, 8-bit inputs on 1-bit DACs, 8-bit weights on
// 2-bit cells, 8-bit ADC, programming variation and read noise on) in both modes, and prints
// ratios, which survive a noisy shared machine better than absolute times.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <omp.h>

#include "txsim/blas_kernel.h"
#include "txsim/mapped_matrix.h"
#include "txsim/parallel.h"
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

// Modeled analog MACs of one batch: every (bit plane, weight slice, weight) product, each
// differential pair counted once.
double modeled_macs(const txsim::ArrayConfig& a) {
  return double(kBatch) * a.input_planes() * a.slices() * kIn * kOut;
}

// The per-slice mode's GEMM shape: planes x batch rows, slices x outputs columns, one crossbar's
// rows deep, once per row-tile. Exactly the modeled MACs.
struct StackedShape {
  int m, n, k, calls;
};
StackedShape stacked_shape() {
  const txsim::ArrayConfig a = bench_config(txsim::ReadMode::PerSlice).crossbar;
  return {a.input_planes() * kBatch, a.slices() * kOut, a.rows, kIn / a.rows};
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
void BM_SgemmStacked(benchmark::State& state) {
  const StackedShape sh = stacked_shape();
  sgemm_loop(state, sh.m, sh.n, sh.k, sh.calls);
}

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
  state.counters["GMACS"] = benchmark::Counter(modeled_macs(layer.config().crossbar), benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}
void BM_PerSliceForward(benchmark::State& state) { read_loop(state, txsim::ReadMode::PerSlice); }
void BM_FoldedForward(benchmark::State& state) { read_loop(state, txsim::ReadMode::Folded); }

// The headline ratios, each the median of back-to-back pairs so that both sides of a ratio see
// the same load on a shared machine.
template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

void BM_PairedRatios(benchmark::State& state) {
  txsim::MappedMatrix per_slice(bench_config(txsim::ReadMode::PerSlice), kIn, kOut, 7);
  txsim::MappedMatrix folded(bench_config(txsim::ReadMode::Folded), kIn, kOut, 7);
  per_slice.program(weights().data());
  folded.program(weights().data());
  const double macs = modeled_macs(per_slice.config().crossbar);
  std::vector<float> y(static_cast<std::size_t>(kBatch) * kOut);
  const StackedShape sh = stacked_shape();
  std::vector<float> xa = random(static_cast<std::size_t>(sh.m) * sh.k, 3, false),
                     xb = random(static_cast<std::size_t>(sh.k) * sh.n, 4, false), xc(static_cast<std::size_t>(sh.m) * sh.n);
  // The references run OpenBLAS at its best: on every core (TxSim keeps it single-threaded
  // elsewhere, for results that do not depend on the thread count).
  const int cores = txsim::available_cores();
  auto layer_gemm = [&] {
    omp_set_num_threads(cores);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kBatch, kOut, kIn, 1.0f, inputs().data(), kIn,
                weights().data(), kIn, 0.0f, y.data(), kOut);
    omp_set_num_threads(1);
  };
  auto stacked_gemm = [&] {
    omp_set_num_threads(cores);
    for (int t = 0; t < sh.calls; ++t)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, sh.m, sh.n, sh.k, 1.0f, xa.data(), sh.k, xb.data(), sh.n,
                  0.0f, xc.data(), sh.n);
    omp_set_num_threads(1);
  };
  per_slice.forward(inputs().data(), kBatch, y.data());
  folded.forward(inputs().data(), kBatch, y.data());
  std::vector<double> fractions, folded_ratios, peaks;
  for (auto _ : state) {
    for (int i = 0; i < 9; ++i) {
      const double t_layer = seconds(layer_gemm), t_stacked = seconds(stacked_gemm);
      const double t_read = seconds([&] { per_slice.forward(inputs().data(), kBatch, y.data()); });
      const double peak = std::max(2.0 * kBatch * kIn * kOut / t_layer, 2.0 * macs / t_stacked);
      peaks.push_back(peak);
      fractions.push_back(2.0 * macs / t_read / peak);
    }
    for (int i = 0; i < 101; ++i) {
      const double t_float = seconds(layer_gemm);
      folded_ratios.push_back(seconds([&] { folded.forward(inputs().data(), kBatch, y.data()); }) / t_float);
    }
  }
  state.counters["sgemm_peak_gflops"] = median(peaks) * 1e-9;
  state.counters["per_slice_fraction_of_sgemm"] = median(fractions);
  state.counters["folded_over_float_gemm"] = median(folded_ratios);
}

BENCHMARK(BM_SgemmLayer)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_SgemmStacked)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_PerSliceForward)->Arg(0)->Arg(1)->ArgName("columns_parallel")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(BM_FoldedForward)->Arg(0)->Arg(1)->ArgName("columns_parallel")->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
void BM_FillNormal(benchmark::State& state) {
  std::vector<float> z(1 << 16);
  uint64_t key = 0;
  for (auto _ : state) {
    txsim::fill_normal(++key, 0, z.size(), z.data());
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(z.size()));
}

BENCHMARK(BM_FillNormal)->Unit(benchmark::kMicrosecond)->MinTime(0.3);
BENCHMARK(BM_PairedRatios)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps each run's counters so that the headline figures can be printed after the table.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  CollectingReporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes: BENCH lines must parse
  struct Result {
    std::map<std::string, double> counters;
  };
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      Result res;
      for (const auto& [name, c] : r.counters) res.counters[name] = c.value;
      results[r.run_name.function_name] = res;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, Result> results;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // The reference is only as good as the kernel OpenBLAS runs: name it, and say when the CPU
  // has a faster one (the ratios against SGEMM flatter us on a generic kernel).
  const std::string advice = txsim::blas_kernel_advice();
  std::printf("openblas core: %s%s%s\n", txsim::blas_core_name().c_str(), advice.empty() ? "" : "; ", advice.c_str());
  std::fflush(stdout);
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& r = reporter.results;
  auto it = r.find("BM_PairedRatios");
  if (it == r.end()) return 0;  // filtered run: no headline figures
  const auto& c = it->second.counters;
  std::printf("BENCH sgemm_peak_gflops %.1f GFLOP/s\n", c.at("sgemm_peak_gflops"));
  std::printf("BENCH per_slice_fraction_of_sgemm %.3f x\n", c.at("per_slice_fraction_of_sgemm"));
  std::printf("BENCH folded_over_float_gemm %.3f x\n", c.at("folded_over_float_gemm"));
  return 0;
}
