// The timed model's cost, pipelined (chip.pipeline "layers", groups of one sample: the most
// tasks per batch), in one process: a network trained functionally, then timed (SystemC, the same
// work and seed), then functionally again, each right after the other; the ratio divides the
// timed run's wall time by the mean of the two functional runs. Two networks on one chip each (SystemC elaborates once per process):
// LeNet-5 with the TxSim-like preset on the default platform (MNIST-shaped synthetic data, 6400
// training and 1000 test samples, one epoch) and ResNet-20 with the same preset on the ISAAC-like
// platform (CIFAR-shaped synthetic data, batch 128: 5 training batches, their batch-norm
// recalibration, 256 test samples: one partial epoch).
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
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
  nn::Workload workload;
  hw::Platform platform;
  nn::DevicePreset preset;
  nn::Split data;
  nn::TrainOptions options;
  std::unique_ptr<nn::Network> net;
  std::unique_ptr<hw::Chip> chip;
  double functional_s[2] = {0, 0}, timed_s = 0;
};

std::unique_ptr<Case> make_case(const char* name, const char* workload, const char* platform, nn::Split data, int epochs) {
  auto c = std::make_unique<Case>();
  c->name = name;
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

double functional(Case& c) {
  auto net = nn::build_network(c.workload, 1, nn::analog_factory(c.preset));
  std::ostringstream log;
  nn::TrainOptions o = c.options;
  o.observer = nullptr;
  const auto t0 = Clock::now();
  nn::train(*net, c.data, o, log);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  nn::Split mnist{nn::synthetic(6400, {1, 28, 28}, 10, 1, 0), nn::synthetic(1000, {1, 28, 28}, 10, 1, 1)};
  nn::Split cifar{nn::synthetic(640, {3, 32, 32}, 10, 1, 0), nn::synthetic(256, {3, 32, 32}, 10, 1, 1)};
  std::vector<std::unique_ptr<Case>> cases;
  cases.push_back(make_case("lenet5", "workloads/lenet5.json", "platforms/default.json", std::move(mnist), 1));
  cases.push_back(make_case("resnet20", "workloads/resnet20.json", "platforms/isaac.json", std::move(cifar), 1));
  // One chip per network, elaborated together; each controller waits for the one before (so the
  // two never share the cores) and runs its network's functional runs around its timed one.
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  sc_core::sc_event done[2];
  for (std::size_t k = 0; k < cases.size(); ++k) {
    Case* c = cases[k].get();
    c->net = nn::build_network(c->workload, 1, nn::analog_factory(c->preset));
    c->chip = std::make_unique<hw::Chip>(c->name, c->platform);
    c->chip->controller.configure(hw::map_layers(c->platform, hw::layer_shapes(*c->net)), static_cast<int>(c->data.train.sample_size()));
    c->options.observer = &c->chip->controller;
    c->chip->controller.set_work([c, k, &done] {
      if (k > 0) sc_core::wait(done[k - 1]);
      c->functional_s[0] = functional(*c);
      std::ostringstream log;
      const auto t0 = Clock::now();
      nn::train(*c->net, c->data, c->options, log);
      c->chip->controller.sync();
      c->timed_s = std::chrono::duration<double>(Clock::now() - t0).count();
      c->functional_s[1] = functional(*c);
      done[k].notify(sc_core::SC_ZERO_TIME);
    });
  }
  sc_core::sc_start();
  for (auto& c : cases) {
    const double f = (c->functional_s[0] + c->functional_s[1]) / 2;
    const hw::HardwareReport& r = c->chip->controller.report();
    std::printf("%s: functional %.2f s and %.2f s, timed (pipelined, groups of 1) %.2f s; %.4g ms per simulated batch\n", c->name,
                c->functional_s[0], c->functional_s[1], c->timed_s, r.batch_ns() * 1e-6);
    if (std::string(c->name) == "lenet5") {
      std::printf("BENCH timed_over_functional %.3f x\n", c->timed_s / f);
      std::printf("BENCH timed_simulated_images_per_wall_second %.0f images/s\n", (r.train_samples + r.eval_samples) / c->timed_s);
    } else {
      std::printf("BENCH timed_over_functional_%s %.3f x\n", c->name, c->timed_s / f);
    }
  }
  return 0;
}
