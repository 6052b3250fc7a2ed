// The timed model's cost: LeNet-5 with the TxSim-like preset (MNIST-shaped synthetic data, 6400
// training and 1000 test samples, one epoch) trained functionally, then timed on the default
// platform (SystemC, the same work and seed), then functionally again, in one process; the ratio
// divides the timed run's wall time by the mean of the two functional runs. SystemC elaborates
// once per process, so the timed run happens once.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/systemc/timed.h"

extern "C" int sc_main(int, char**) { return 1; }  // libsystemc's main needs the symbol; unused

int main() {
  using namespace txsim;
  const nn::Workload w = nn::load_workload(TXSIM_SOURCE_DIR "/workloads/lenet5.json");
  const hw::Platform platform = hw::load_platform(TXSIM_SOURCE_DIR "/platforms/default.json");
  nn::DevicePreset preset = nn::load_device_preset(TXSIM_SOURCE_DIR "/workloads/devices/txsim_reram.json");
  platform.apply_to(preset.crossbar.crossbar);
  nn::Split data;
  data.train = nn::synthetic(6400, {1, 28, 28}, 10, 1, 0);
  data.test = nn::synthetic(1000, {1, 28, 28}, 10, 1, 1);
  nn::TrainOptions o;
  o.config = w.train;
  o.config.epochs = 1;
  auto seconds = [&](bool timed, hw::HardwareReport* report) {
    auto net = nn::build_network(w, 1, nn::analog_factory(preset));
    std::ostringstream log;
    const auto t0 = std::chrono::steady_clock::now();
    if (timed) *report = hw::train_timed(*net, data, o, log, platform).hardware;
    else nn::train(*net, data, o, log);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  hw::HardwareReport report;
  const double f1 = seconds(false, nullptr);
  const double t = seconds(true, &report);
  const double f2 = seconds(false, nullptr);
  const double f = (f1 + f2) / 2;
  std::printf("functional %.2f s and %.2f s, timed %.2f s\n", f1, f2, t);
  std::printf("BENCH timed_over_functional %.3f x\n", t / f);
  std::printf("BENCH timed_simulated_images_per_wall_second %.0f images/s\n",
              (report.train_samples + report.eval_samples) / t);
  return 0;
}
