#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

#include "txsim/tlm/systemc/timed.h"

namespace txsim::hw {

HardwareReport run_on_chip(const Platform& platform, const std::vector<LayerShape>& layers, int sample_values,
                           const TimedOptions& timed, const std::function<void(nn::PhaseObserver&)>& work) {
  const auto t0 = std::chrono::steady_clock::now();
  const ChipMap map = map_layers(platform, layers);
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  auto chip = std::make_unique<Chip>("chip", platform);
  chip->controller.configure(map, sample_values);
  chip->set_trace(timed.trace, timed.trace_batches);
  sc_core::sc_trace_file* vcd = nullptr;
  const std::string vcd_tmp = timed.vcd_path + ".tmp";
  if (!timed.vcd_path.empty()) {
    vcd = sc_core::sc_create_vcd_trace_file(vcd_tmp.c_str());  // writes vcd_tmp + ".vcd"
    sc_core::sc_trace(vcd, chip->controller.busy, "busy");
    sc_core::sc_trace(vcd, chip->controller.layer, "layer");
    sc_core::sc_trace(vcd, chip->controller.phase, "phase");
    chip->controller.drive_signals(true);
  }
  std::exception_ptr failure;
  chip->controller.set_work([&] {
    try {
      work(chip->controller);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  sc_core::sc_start();
  if (vcd) {
    sc_core::sc_close_vcd_trace_file(vcd);
    std::filesystem::rename(vcd_tmp + ".vcd", timed.vcd_path);
  }
  if (failure) std::rethrow_exception(failure);
  HardwareReport report = chip->controller.report();
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

TimedTraining train_timed(nn::Network& net, const nn::Split& data, nn::TrainOptions options, std::ostream& log,
                          const Platform& platform, const TimedOptions& timed) {
  TimedTraining out;
  out.hardware = run_on_chip(platform, layer_shapes(net), static_cast<int>(data.train.sample_size()), timed,
                             [&](nn::PhaseObserver& controller) {
                               options.observer = &controller;
                               if (timed.recorder) {
                                 timed.recorder->set_next(&controller);
                                 options.observer = timed.recorder;
                               }
                               out.result = nn::train(net, data, options, log);
                             });
  return out;
}

}  // namespace txsim::hw
