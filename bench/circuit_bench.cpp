// The parasitic circuit benchmark: the exact effective matrix of one 64x64 and one 128x128
// crossbar (both read directions are separate matrices; one is timed), against one ideal
// 128-sample forward read of the same crossbar in the same run, and the fast models.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <vector>

#include <benchmark/benchmark.h>

#include "txsim/mapped_matrix.h"
#include "txsim/parasitics.h"
#include "txsim/rng.h"

namespace {

const txsim::Parasitics kParasitics{100, 50, 2.5};

std::vector<double> conductances(int n) {
  std::vector<double> g(static_cast<std::size_t>(n) * n);
  for (std::size_t k = 0; k < g.size(); ++k) g[k] = 1e-5 + 9e-5 * txsim::uniform01(n, k);
  return g;
}

void BM_EffectiveMatrix(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto model = static_cast<txsim::ParasiticModel>(state.range(1));
  const auto g = conductances(n);
  std::vector<double> eff(g.size());
  for (auto _ : state) {
    txsim::effective_matrix(model, g.data(), n, n, txsim::Direction::Forward, kParasitics, eff.data());
    benchmark::DoNotOptimize(eff.data());
  }
  state.SetLabel(txsim::name(model));
}

// One ideal forward read of a whole n x n crossbar layer, batch 128.
struct IdealRead {
  explicit IdealRead(int n) : layer(config(n), n, n, 1), x(static_cast<std::size_t>(128) * n), y(x.size()) {
    std::vector<float> w(static_cast<std::size_t>(n) * n);
    txsim::fill_normal(3, 0, w.size(), w.data());
    txsim::fill_normal(4, 0, x.size(), x.data());
    layer.program(w.data());
    layer.forward(x.data(), 128, y.data());  // builds the effective matrix outside the timing
  }
  static txsim::CrossbarConfig config(int n) {
    txsim::CrossbarConfig c;
    c.crossbar.rows = c.crossbar.cols = n;
    c.crossbar.read_mode = txsim::ReadMode::Folded;
    c.crossbar.adc_model = txsim::AdcModel::Ideal;
    return c;
  }
  void run() { layer.forward(x.data(), 128, y.data()); }
  txsim::MappedMatrix layer;
  std::vector<float> x, y;
};

template <class F>
double median_seconds(F&& f, int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[reps / 2];
}

// Headline figures: median times over interleaved repetitions, and the ratio to the ideal read.
void BM_CircuitHeadlines(benchmark::State& state) {
  for (auto _ : state) {
    for (int n : {64, 128}) {
      const auto g = conductances(n);
      std::vector<double> eff(g.size());
      IdealRead read(n);
      const int reps = n == 64 ? 41 : 15;
      const double t_exact = median_seconds(
          [&] { txsim::effective_matrix(txsim::ParasiticModel::Exact, g.data(), n, n, txsim::Direction::Forward,
                                        kParasitics, eff.data()); }, reps);
      const double t_read = median_seconds([&] { read.run(); }, reps);
      std::printf("BENCH effective_matrix_%d_ms %.3f ms\n", n, 1e3 * t_exact);
      std::printf("BENCH effective_matrix_%d_over_ideal_forward %.2f x\n", n, t_exact / t_read);
    }
  }
}

// A read with parasitics, once its matrices are built, against the same read without: both are
// the same GEMMs. 512x512 layer on 128x128 crossbars, batch 128, the folded and per-slice reads
// of the crossbar benchmark's periphery, read noise on.
txsim::CrossbarConfig layer_config(txsim::ReadMode mode, bool parasitics) {
  txsim::CrossbarConfig c;
  c.crossbar.rows = c.crossbar.cols = 128;
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  c.crossbar.input_bits = 8;
  c.crossbar.input_signed = false;
  c.crossbar.adc_bits = 8;
  c.crossbar.read_mode = mode;
  c.device.program_sigma = 0.02;
  c.device.read_noise_sigma = 0.005;
  if (parasitics) {
    c.circuit.model = txsim::ParasiticModel::Exact;
    c.circuit.source_ohm = kParasitics.source_ohm;
    c.circuit.sink_ohm = kParasitics.sink_ohm;
    c.circuit.wire_ohm = kParasitics.wire_ohm;
  }
  return c;
}

void BM_ParasiticReadCost(benchmark::State& state) {
  constexpr int kN = 512, kBatch = 128;
  std::vector<float> w(static_cast<std::size_t>(kN) * kN), x(static_cast<std::size_t>(kBatch) * kN), y(x.size());
  txsim::fill_normal(5, 0, w.size(), w.data());
  txsim::fill_normal(6, 0, x.size(), x.data());
  for (float& v : x) v = std::fabs(v);
  for (auto _ : state) {
    for (txsim::ReadMode mode : {txsim::ReadMode::Folded, txsim::ReadMode::PerSlice}) {
      txsim::MappedMatrix plain(layer_config(mode, false), kN, kN, 1), parasitic(layer_config(mode, true), kN, kN, 1);
      plain.program(w.data());
      parasitic.program(w.data());
      const auto t0 = std::chrono::steady_clock::now();
      parasitic.forward(x.data(), kBatch, y.data());  // builds the exact matrices of all crossbars
      const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      plain.forward(x.data(), kBatch, y.data());
      std::vector<double> ratios;  // back-to-back pairs: both sides see the same machine load
      for (int r = 0; r < 15; ++r) {
        const double a = median_seconds([&] { plain.forward(x.data(), kBatch, y.data()); }, 1);
        const double b = median_seconds([&] { parasitic.forward(x.data(), kBatch, y.data()); }, 1);
        ratios.push_back(b / a);
      }
      std::nth_element(ratios.begin(), ratios.begin() + 7, ratios.end());
      const char* name = mode == txsim::ReadMode::Folded ? "folded" : "per_slice";
      std::printf("BENCH parasitic_over_ideal_read_%s %.3f x\n", name, ratios[7]);
      std::printf("BENCH parasitic_build_%s_s %.2f s\n", name, build_s);
    }
  }
}

}  // namespace

BENCHMARK(BM_EffectiveMatrix)
    ->ArgsProduct({{64, 128}, {static_cast<int>(txsim::ParasiticModel::Exact), static_cast<int>(txsim::ParasiticModel::FirstOrder),
                               static_cast<int>(txsim::ParasiticModel::ShortPath)}})
    ->ArgNames({"n", "model"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_CircuitHeadlines)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ParasiticReadCost)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
