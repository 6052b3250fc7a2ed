// Issue 20: the thread count changes the speed, not a number; txsim runs OpenBLAS's fastest kernel.
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "txsim/blas_kernel.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/parallel.h"

namespace txsim::nn {
namespace {

struct Outcome {
  std::vector<EpochMetrics> epochs;
  std::vector<std::vector<float>> params;
};

// Two epochs of a workload on synthetic data at `threads` threads: every metric and every
// parameter (analog: the weights the devices hold) at the end.
Outcome train_at(int threads, const std::string& workload, const CoreFactory& factory, int samples, int batch) {
  set_threads(threads);
  Workload w = load_workload(std::string(TXSIM_SOURCE_DIR) + "/workloads/" + workload);
  w.train.epochs = 2;
  w.train.batch = batch;
  w.train.bn_recalibrate = std::min(w.train.bn_recalibrate, 1);
  Split data;
  data.train = synthetic(samples, w.input, w.classes, 7, 0);
  data.test = synthetic(samples / 2, w.input, w.classes, 7, 1);
  auto net = build_network(w, 3, factory);
  TrainOptions o;
  o.config = w.train;
  o.seed = 3;
  std::ostringstream log;
  Outcome out;
  out.epochs = train(*net, data, o, log).epochs;
  for (auto& [layer, p] : net->params()) out.params.push_back(p->value);
  set_threads(available_cores());
  return out;
}

void expect_identical(const Outcome& a, const Outcome& b) {
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    EXPECT_EQ(a.epochs[e].train_loss, b.epochs[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(a.epochs[e].train_accuracy, b.epochs[e].train_accuracy) << "epoch " << e + 1;
    EXPECT_EQ(a.epochs[e].test_accuracy, b.epochs[e].test_accuracy) << "epoch " << e + 1;
  }
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) EXPECT_EQ(a.params[i], b.params[i]) << "parameter " << i;
}

TEST(Threads, DigitalLenetSameNumbersAtOneAndTwoThreads) {
  const Outcome one = train_at(1, "lenet5.json", nullptr, 512, 32), two = train_at(2, "lenet5.json", nullptr, 512, 32);
  expect_identical(one, two);
  EXPECT_GT(one.epochs.back().train_loss, 0.0);  // it trained
}

// The TxSim-like ReRAM preset with train_bench's parasitics.
DevicePreset reram_with(ParasiticModel model, int refresh_every) {
  DevicePreset p = load_device_preset(std::string(TXSIM_SOURCE_DIR) + "/workloads/devices/txsim_reram.json");
  p.crossbar.circuit.model = model;
  p.crossbar.circuit.source_ohm = 100;
  p.crossbar.circuit.sink_ohm = 50;
  p.crossbar.circuit.wire_ohm = 1;
  p.crossbar.circuit.refresh_every = refresh_every;
  return p;
}

TEST(Threads, NonidealLenetWithParasiticsSameNumbersAtOneAndTwoThreads) {
  const DevicePreset p = reram_with(ParasiticModel::FirstOrder, 1);
  expect_identical(train_at(1, "lenet5.json", analog_factory(p), 256, 32), train_at(2, "lenet5.json", analog_factory(p), 256, 32));
}

TEST(Threads, PulsedResnetWithBatchNormSameNumbersAtOneAndTwoThreads) {
  const DevicePreset p = load_device_preset(std::string(TXSIM_SOURCE_DIR) + "/workloads/devices/txsim_update.json");
  expect_identical(train_at(1, "resnet20.json", analog_factory(p), 64, 32), train_at(2, "resnet20.json", analog_factory(p), 64, 32));
}

TEST(Threads, DigitalResnetSameNumbersAtOneAndTwoThreads) {
  expect_identical(train_at(1, "resnet20.json", nullptr, 64, 32), train_at(2, "resnet20.json", nullptr, 64, 32));
}

TEST(Threads, OutOfRangeIsRefused) {
  EXPECT_THROW(set_threads(0), std::invalid_argument);
  EXPECT_THROW(set_threads(kMaxThreads + 1), std::invalid_argument);
}

TEST(Threads, SerialOnThisThreadRunsEveryChunkOnTheCallingThread) {
  set_threads(2);
  std::mutex m;
  std::set<std::thread::id> seen;
  {
    SerialOnThisThread alone;
    EXPECT_EQ(threads_here(), 1);
    parallel_for(64, 1, [&](std::size_t, std::size_t) {
      std::lock_guard<std::mutex> lock(m);
      seen.insert(std::this_thread::get_id());
    });
  }
  EXPECT_EQ(seen, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(threads_here(), 2);
  set_threads(available_cores());
}

// The Python package builds the transposed read's matrices on a second thread after each update,
// while forward reads of the same core run (txsim/background.py). The oracle: the same core
// stepped the same way with the matrices built at the first transposed read, as txsim train does.
void expect_background_builds_change_nothing(const DevicePreset& p) {
  set_threads(2);
  constexpr int in = 48, out = 24, rows = 16;
  AnalogCore lazy(p, in, out, 5, 1), early(p, in, out, 5, 1);
  std::vector<float> w(static_cast<std::size_t>(in) * out), x(static_cast<std::size_t>(rows) * in),
      dy(static_cast<std::size_t>(rows) * out), step(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.4f * std::sin(0.37f * i);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * i);
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 0.1f * std::sin(0.23f * i + 1);
  lazy.program_weights(w);
  early.program_weights(w);
  for (int s = 0; s < 3; ++s) {  // with refresh_every 2: builds that refresh and builds that do not
    for (std::size_t i = 0; i < step.size(); ++i) step[i] = 0.02f * std::sin(0.7f * i + s);
    lazy.apply(step, 0.01);
    early.apply(step, 0.01);
    early.matrix().prepare_reads(Direction::Forward);
    std::thread build([&] {
      SerialOnThisThread alone;
      early.matrix().prepare_reads(Direction::Backward);
    });
    std::vector<float> y_lazy(static_cast<std::size_t>(rows) * out), y_early(y_lazy.size());
    lazy.forward(x.data(), rows, y_lazy.data());
    early.forward(x.data(), rows, y_early.data());  // beside the build
    build.join();
    std::vector<float> dx_lazy(x.size()), dx_early(x.size());
    lazy.backward(dy.data(), rows, dx_lazy.data());
    early.backward(dy.data(), rows, dx_early.data());
    EXPECT_EQ(y_lazy, y_early) << "step " << s;
    EXPECT_EQ(dx_lazy, dx_early) << "step " << s;
    EXPECT_EQ(lazy.weight().value, early.weight().value) << "step " << s;
  }
  set_threads(available_cores());
}

TEST(Threads, TransposedReadBuiltBesideForwardReadsGivesTheSameNumbersFirstOrder) {
  expect_background_builds_change_nothing(reram_with(ParasiticModel::FirstOrder, 1));
}

TEST(Threads, TransposedReadBuiltBesideForwardReadsGivesTheSameNumbersExactWithRefresh) {
  expect_background_builds_change_nothing(reram_with(ParasiticModel::Exact, 2));
}

TEST(Threads, TransposedReadBuiltBesideForwardReadsGivesTheSameNumbersPulsed) {
  expect_background_builds_change_nothing(
      load_device_preset(std::string(TXSIM_SOURCE_DIR) + "/workloads/devices/txsim_update.json"));
}

// What `txsim --version` reports with the environment given: its output, stderr included.
std::string txsim_version(const std::string& env) {
  const std::string cmd = env + " " + TXSIM_CLI + " --version 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (f && fgets(buf, sizeof buf, f)) out += buf;
  if (f) pclose(f);
  return out;
}

std::string core_in(const std::string& version) {
  const auto at = version.find("openblas core: ");
  return at == std::string::npos ? "" : version.substr(at + 15, version.find('\n', at) - at - 15);
}

// By default txsim runs a kernel no slower than the CPU allows (it starts again with
// OPENBLAS_CORETYPE set where OpenBLAS would fall back); a kernel the user chose is kept, with the advice.
TEST(Threads, TxsimRunsTheFastestBlasKernelByDefault) {
  const std::string version = txsim_version("env -u OPENBLAS_CORETYPE -u TXSIM_RESTARTED");
  const std::string core = core_in(version);
  ASSERT_FALSE(core.empty()) << version;
  std::printf("txsim selected the OpenBLAS core %s on this CPU\n", core.c_str());
  EXPECT_EQ(faster_blas_core(core, cpu_flags()), "") << core << " is slower than this CPU allows";
  EXPECT_EQ(version.find("warning"), std::string::npos) << version;
  const std::string chosen = txsim_version("OPENBLAS_CORETYPE=Prescott");
  EXPECT_EQ(core_in(chosen), "Prescott") << chosen;
  if (!faster_blas_core("Prescott", cpu_flags()).empty()) {
    EXPECT_NE(chosen.find("OPENBLAS_CORETYPE="), std::string::npos) << chosen;
  }
}

}  // namespace
}  // namespace txsim::nn
