// One LeNet-5 epoch (60000 MNIST-shaped samples, batch 32) with the TxSim-like preset (folded
// reads; wire, source and sink resistances through the first-order model, rebuilt after every
// reprogramming: at 64x64, Rmin 100 kOhm, 1 Ohm wires its worst error against the exact solve is
// 4e-4 of an output, `txsim circuit-error`) against the same epoch with digital layers, in one run.
// The data are synthetic: speed does not depend on the pixels.
#include <chrono>
#include <cstdio>
#include <sstream>

#include <benchmark/benchmark.h>

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"

namespace {

double epoch_seconds(const txsim::nn::Workload& w, const txsim::nn::CoreFactory& factory, const txsim::nn::Split& data) {
  auto net = txsim::nn::build_network(w, 1, factory);
  txsim::nn::TrainOptions o;
  o.config = w.train;
  o.config.epochs = 1;
  std::ostringstream log;
  const auto t0 = std::chrono::steady_clock::now();
  txsim::nn::train(*net, data, o, log);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_LenetEpoch(benchmark::State& state) {
  const txsim::nn::Workload w = txsim::nn::load_workload(TXSIM_SOURCE_DIR "/workloads/lenet5.json");
  txsim::nn::DevicePreset preset = txsim::nn::load_device_preset(TXSIM_SOURCE_DIR "/workloads/devices/txsim_reram.json");
  preset.crossbar.circuit.model = txsim::ParasiticModel::FirstOrder;
  preset.crossbar.circuit.source_ohm = 100;
  preset.crossbar.circuit.sink_ohm = 50;
  preset.crossbar.circuit.wire_ohm = 1;
  txsim::nn::Split data;
  data.train = txsim::nn::synthetic(60000, {1, 28, 28}, 10, 1, 0);
  data.test = txsim::nn::synthetic(2000, {1, 28, 28}, 10, 1, 1);
  for (auto _ : state) {
    const double ideal = epoch_seconds(w, nullptr, data);
    const double nonideal = epoch_seconds(w, txsim::nn::analog_factory(preset), data);
    std::printf("BENCH lenet_epoch_ideal_s %.2f s\n", ideal);
    std::printf("BENCH lenet_epoch_nonideal_s %.2f s\n", nonideal);
    std::printf("BENCH lenet_epoch_nonideal_over_ideal %.2f x\n", nonideal / ideal);
  }
}

}  // namespace

BENCHMARK(BM_LenetEpoch)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_MAIN();
