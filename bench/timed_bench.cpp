// The timed model's cost, pipelined (chip.pipeline "layers", groups of one sample: the most
// tasks per batch), in one process: a network trained functionally and timed (SystemC, the same
// work and seed) in turns, each timed run divided by the mean of the functional runs beside it.
// Two networks on one chip each (SystemC elaborates once per process): LeNet-5 with the TxSim-like
// preset on the default platform (MNIST-shaped synthetic data, 6400 training and 1000 test
// samples, one epoch; three timed runs) and ResNet-20 with the same preset on the ISAAC-like
// platform (CIFAR-shaped synthetic data, batch 128: 5 training batches, their batch-norm
// recalibration, 256 test samples: one partial epoch; one timed run).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/systemc/timed.h"

extern "C" int sc_main(int, char**) { return 1; }  // libsystemc's main needs the symbol; unused

namespace {

using namespace txsim;
using Clock = std::chrono::steady_clock;

struct Case {
  const char* name;
  int rounds;  // timed runs, each between two functional runs
  nn::Workload workload;
  hw::Platform platform;
  nn::DevicePreset preset;
  nn::Split data;
  nn::TrainOptions options;
  std::unique_ptr<hw::Chip> chip;
  std::vector<double> functional_s, timed_s;  // rounds + 1, rounds
};

std::unique_ptr<Case> make_case(const char* name, int rounds, const char* workload, const char* platform, nn::Split data,
                                int epochs) {
  auto c = std::make_unique<Case>();
  c->name = name;
  c->rounds = rounds;
  c->workload = nn::load_workload(std::string(TXSIM_SOURCE_DIR) + "/" + workload);
  c->platform = hw::load_platform(std::string(TXSIM_SOURCE_DIR) + "/" + platform);
  c->platform.pipeline = hw::Pipeline::Layers;
  c->platform.pipeline_group = 1;
  c->preset = nn::load_device_preset(TXSIM_SOURCE_DIR "/workloads/devices/txsim_reram.json");
  c->platform.apply_to(c->preset.crossbar.crossbar);
  c->data = std::move(data);
  c->options.config = c->workload.train;
  c->options.config.epochs = epochs;
  return c;
}

// One training of the case from a fresh network (the same seed each time): functional, or timed
// (its activity charged on the chip, whose report starts afresh). Its wall time.
double train_once(Case& c, bool timed) {
  auto net = nn::build_network(c.workload, 1, nn::analog_factory(c.preset));
  nn::TrainOptions o = c.options;
  o.observer = nullptr;
  if (timed) {
    c.chip->controller.configure(hw::map_layers(c.platform, hw::layer_shapes(*net)), static_cast<int>(c.data.train.sample_size()));
    o.observer = &c.chip->controller;
  }
  std::ostringstream log;
  const auto t0 = Clock::now();
  nn::train(*net, c.data, o, log);
  if (timed) c.chip->controller.sync();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  // An argument names the one case to run (lenet5 or resnet20); none runs both.
  const std::string only = argc > 1 ? argv[1] : "";
  nn::Split mnist{nn::synthetic(6400, {1, 28, 28}, 10, 1, 0), nn::synthetic(1000, {1, 28, 28}, 10, 1, 1)};
  nn::Split cifar{nn::synthetic(640, {3, 32, 32}, 10, 1, 0), nn::synthetic(256, {3, 32, 32}, 10, 1, 1)};
  std::vector<std::unique_ptr<Case>> cases;
  if (only.empty() || only == "lenet5")
    cases.push_back(make_case("lenet5", 3, "workloads/lenet5.json", "platforms/default.json", std::move(mnist), 1));
  if (only.empty() || only == "resnet20")
    cases.push_back(make_case("resnet20", 1, "workloads/resnet20.json", "platforms/isaac.json", std::move(cifar), 1));
  if (cases.empty()) {
    std::fprintf(stderr, "timed_bench: unknown case '%s' (accepted: lenet5, resnet20, or none for both)\n", only.c_str());
    return 2;
  }
  // One chip per network, elaborated together; each controller waits for the one before (so the
  // two never share the cores) and alternates functional and timed runs of its network: F T F T ...
  // F. Each timed run is divided by the mean of the functional runs beside it (the host's speed
  // drifts by 10-20% over a minute here); the figure is the median of those ratios.
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  sc_core::sc_event done[2];
  for (std::size_t k = 0; k < cases.size(); ++k) {
    Case* c = cases[k].get();
    c->chip = std::make_unique<hw::Chip>(c->name, c->platform);
    c->chip->controller.set_work([c, k, &done] {
      if (k > 0) sc_core::wait(done[k - 1]);
      c->functional_s.push_back(train_once(*c, false));
      for (int r = 0; r < c->rounds; ++r) {
        c->timed_s.push_back(train_once(*c, true));
        c->functional_s.push_back(train_once(*c, false));
      }
      done[k].notify(sc_core::SC_ZERO_TIME);
    });
  }
  sc_core::sc_start();
  for (auto& c : cases) {
    std::vector<double> ratios;
    std::printf("%s: functional", c->name);
    for (double f : c->functional_s) std::printf(" %.2f", f);
    std::printf(" s, timed (pipelined, groups of 1)");
    for (std::size_t r = 0; r < c->timed_s.size(); ++r) {
      ratios.push_back(c->timed_s[r] / ((c->functional_s[r] + c->functional_s[r + 1]) / 2));
      std::printf(" %.2f", c->timed_s[r]);
    }
    const hw::HardwareReport& report = c->chip->controller.report();  // the last timed run's
    std::printf(" s; %.4g ms per simulated batch\n", report.batch_ns() * 1e-6);
    const double ratio = median(ratios);
    if (std::string(c->name) == "lenet5") {
      std::printf("BENCH timed_over_functional %.3f x\n", ratio);
      std::printf("BENCH timed_simulated_images_per_wall_second %.0f images/s\n",
                  (report.train_samples + report.eval_samples) / median(c->timed_s));
    } else {
      std::printf("BENCH timed_over_functional_%s %.3f x\n", c->name, ratio);
    }
  }
  return 0;
}
