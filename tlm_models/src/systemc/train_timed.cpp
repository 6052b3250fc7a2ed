#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

#include "txsim/tlm/systemc/timed.h"

namespace txsim::hw {

TimedTraining train_timed(nn::Network& net, const nn::Split& data, nn::TrainOptions options, std::ostream& log,
                          const Platform& platform, const TimedOptions& timed) {
  const auto t0 = std::chrono::steady_clock::now();
  const ChipMap map = map_layers(platform, layer_shapes(net));
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  auto chip = std::make_unique<Chip>("chip", platform);
  chip->controller.configure(map, static_cast<int>(data.train.sample_size()));
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
  TimedTraining out;
  std::exception_ptr failure;
  options.observer = &chip->controller;
  chip->controller.set_work([&] {
    try {
      out.result = nn::train(net, data, options, log);
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
  out.hardware = chip->controller.report();
  out.hardware.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace txsim::hw
