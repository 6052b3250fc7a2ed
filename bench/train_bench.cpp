// Training speed against what users would run instead, each a ratio measured in this one run:
// - LeNet-5, one MNIST-shaped epoch (60000 samples, batch 32, the workload's recipe) and its test
//   evaluation (2000 samples): digital, and with the TxSim-like preset (folded reads; wire,
//   source and sink resistances through the first-order model, rebuilt after every
//   reprogramming: at 64x64, Rmin 100 kOhm, 1 Ohm wires its worst error against the exact solve
//   is 4e-4 of an output, `txsim circuit-error`), against Debian's PyTorch (python3-torch) on
//   the same network, recipe, data and thread count (bench/torch_reference.py);
// - ResNet-20 on 5000 CIFAR-shaped images (batch 128, its recipe: crops, flips, batch-norm
//   recalibration; 1000 test images), TxSim-like preset, against PyTorch's ideal ResNet-20;
// - the digital LeNet-5 epoch with 2 threads while another process keeps a core busy, over the
//   same with 1 thread.
// The data are synthetic (speed does not depend on the pixels) and written to files both read.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/parallel.h"

namespace {

using txsim::nn::CoreFactory;
using txsim::nn::Split;
using txsim::nn::Workload;

double epoch_seconds(const Workload& w, const CoreFactory& factory, const Split& data, int threads) {
  txsim::set_threads(threads);
  auto net = txsim::nn::build_network(w, 1, factory);
  txsim::nn::TrainOptions o;
  o.config = w.train;
  o.config.epochs = 1;
  std::ostringstream log;
  const auto t0 = std::chrono::steady_clock::now();
  txsim::nn::train(*net, data, o, log);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void write_dataset(const txsim::nn::Dataset& d, const std::string& prefix) {
  std::ofstream(prefix + ".images.f32", std::ios::binary)
      .write(reinterpret_cast<const char*>(d.images.data()), static_cast<std::streamsize>(d.images.size() * sizeof(float)));
  std::vector<int32_t> labels(d.labels.begin(), d.labels.end());
  std::ofstream(prefix + ".labels.i32", std::ios::binary)
      .write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size() * sizeof(int32_t)));
}

// Debian's python3 (the one python3-torch installs into), else the python3 on PATH.
std::string python() { return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

// PyTorch's epoch and evaluation, in seconds (0 when PyTorch cannot run here).
double torch_seconds(const std::string& network, const Workload& w, const std::string& dir, int threads) {
  char cmd[2048];
  std::snprintf(cmd, sizeof cmd,
                "%s %s/bench/torch_reference.py --network %s --train %s/train --test %s/test --threads %d --batch %d --lr %g "
                "--momentum %g --weight-decay %g --crop-padding %d %s --bn-recalibrate %d",
                python().c_str(), TXSIM_SOURCE_DIR, network.c_str(), dir.c_str(), dir.c_str(), threads, w.train.batch, w.train.lr,
                w.train.momentum, w.train.weight_decay, w.train.crop_padding, w.train.flip ? "--flip" : "", w.train.bn_recalibrate);
  FILE* p = popen(cmd, "r");
  double seconds = 0;
  char line[256];
  while (p && std::fgets(line, sizeof line, p)) std::sscanf(line, "seconds %lf", &seconds);
  if (p && pclose(p) != 0) seconds = 0;
  if (seconds == 0) std::fprintf(stderr, "train_bench: PyTorch did not run (%s); the README's set-up installs python3-torch\n", cmd);
  return seconds;
}

// Synthetic train and test sets, also written to a temporary folder for PyTorch; removed at the end.
struct BenchData {
  Split data;
  std::string dir;
  BenchData(int train, int test, const std::vector<int>& shape) {
    data.train = txsim::nn::synthetic(train, shape, 10, 1, 0);
    data.test = txsim::nn::synthetic(test, shape, 10, 1, 1);
    char tmpl[] = "/tmp/txsim_bench_XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    dir = tmpl;
    write_dataset(data.train, dir + "/train");
    write_dataset(data.test, dir + "/test");
  }
  ~BenchData() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// A process that keeps one core busy until killed.
pid_t start_load() {
  const pid_t pid = fork();
  if (pid == 0) {
    volatile unsigned long x = 0;
    for (;;) x = x + 1;
  }
  return pid;
}

txsim::nn::DevicePreset txsim_like() {
  txsim::nn::DevicePreset preset = txsim::nn::load_device_preset(TXSIM_SOURCE_DIR "/workloads/devices/txsim_reram.json");
  preset.crossbar.circuit.model = txsim::ParasiticModel::FirstOrder;
  preset.crossbar.circuit.source_ohm = 100;
  preset.crossbar.circuit.sink_ohm = 50;
  preset.crossbar.circuit.wire_ohm = 1;
  return preset;
}

void BM_LenetEpoch(benchmark::State& state) {
  const Workload w = txsim::nn::load_workload(TXSIM_SOURCE_DIR "/workloads/lenet5.json");
  const int threads = txsim::available_cores();
  const BenchData bench(60000, 2000, {1, 28, 28});
  const Split& data = bench.data;
  const std::string& dir = bench.dir;
  for (auto _ : state) {
    const double ideal = epoch_seconds(w, nullptr, data, threads);
    const double nonideal = epoch_seconds(w, txsim::nn::analog_factory(txsim_like()), data, threads);
    const double torch = torch_seconds("lenet5", w, dir, threads);
    std::printf("BENCH threads %d\n", threads);
    std::printf("BENCH lenet_epoch_ideal_s %.2f s\n", ideal);
    std::printf("BENCH lenet_epoch_nonideal_s %.2f s\n", nonideal);
    std::printf("BENCH lenet_epoch_nonideal_over_ideal %.2f x\n", nonideal / ideal);
    if (torch > 0) {
      std::printf("BENCH lenet_epoch_torch_s %.2f s\n", torch);
      std::printf("BENCH lenet_epoch_ideal_over_torch %.3f x\n", ideal / torch);
      std::printf("BENCH lenet_epoch_nonideal_over_torch %.3f x\n", nonideal / torch);
    }
    // Loaded: another process keeps one core busy during both runs.
    const pid_t load = start_load();
    const double loaded_two = epoch_seconds(w, nullptr, data, 2), loaded_one = epoch_seconds(w, nullptr, data, 1);
    kill(load, SIGKILL);
    waitpid(load, nullptr, 0);
    std::printf("BENCH lenet_epoch_loaded_two_threads_s %.2f s\n", loaded_two);
    std::printf("BENCH lenet_epoch_loaded_one_thread_s %.2f s\n", loaded_one);
    std::printf("BENCH loaded_two_threads_over_one %.3f x\n", loaded_two / loaded_one);
  }
}

void BM_Resnet20Epoch(benchmark::State& state) {
  const Workload w = txsim::nn::load_workload(TXSIM_SOURCE_DIR "/workloads/resnet20.json");
  const int threads = txsim::available_cores();
  const BenchData bench(5000, 1000, {3, 32, 32});
  const Split& data = bench.data;
  const std::string& dir = bench.dir;
  for (auto _ : state) {
    const double ideal = epoch_seconds(w, nullptr, data, threads);
    const double nonideal = epoch_seconds(w, txsim::nn::analog_factory(txsim_like()), data, threads);
    const double torch = torch_seconds("resnet20", w, dir, threads);
    std::printf("BENCH resnet20_epoch_ideal_s %.2f s\n", ideal);
    std::printf("BENCH resnet20_epoch_nonideal_s %.2f s\n", nonideal);
    if (torch > 0) {
      std::printf("BENCH resnet20_epoch_torch_s %.2f s\n", torch);
      std::printf("BENCH resnet20_epoch_nonideal_over_torch %.3f x\n", nonideal / torch);
    }
  }
}

}  // namespace

BENCHMARK(BM_LenetEpoch)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_Resnet20Epoch)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_MAIN();
