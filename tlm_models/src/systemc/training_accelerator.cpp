#include "txsim/tlm/systemc/training_accelerator.h"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "txsim/json_fields.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/tlm/cost_model/job_format.h"

namespace txsim::hw {

using nlohmann::json;

TrainingAccelerator::TrainingAccelerator(sc_core::sc_module_name name, const Platform& platform)
    : sc_core::sc_module(name), top("top"), chip("chip", platform), p_(platform) {
  top.set_runner([this] { return run(); });
}

uint32_t TrainingAccelerator::fail(uint32_t code, const std::string& why) {
  error_ = why;
  return code;
}

uint32_t TrainingAccelerator::run() {
  error_.clear();
  log_.clear();
  RegisterFile& r = top.registers();
  constexpr uint32_t kMaxDescriptor = 16u << 20;
  const uint32_t net_size = r.get("NETWORK_SIZE"), data_size = r.get("DATA_SIZE"), result_size = r.get("RESULT_SIZE");
  if (net_size == 0 || net_size > kMaxDescriptor)
    return fail(errors::kBadDescriptor, "NETWORK_SIZE " + std::to_string(net_size) + ": accepted 1.." + std::to_string(kMaxDescriptor));
  std::string text(net_size, '\0');
  if (!top.dma_read(r.address("NETWORK_ADDR_LO"), text.data(), text.size()))
    return fail(errors::kDmaError, "reading the network descriptor at " + std::to_string(r.address("NETWORK_ADDR_LO")));
  // The region grows as system memory delivers it: a DATA_SIZE beyond the memory fails at the
  // first burst past its end, having allocated no more than the memory holds (plus one block).
  std::vector<unsigned char> region;
  constexpr std::size_t kBlock = 1 << 20;
  for (std::size_t done = 0; done < data_size;) {
    const std::size_t n = std::min<std::size_t>(kBlock, data_size - done);
    region.resize(done + n);
    if (!top.dma_read(r.address("DATA_ADDR_LO") + done, region.data() + done, n))
      return fail(errors::kDmaError, "reading the data region at " + std::to_string(r.address("DATA_ADDR_LO") + done) + " (DATA_SIZE " +
                                         std::to_string(data_size) + ")");
    done += n;
  }
  top.dma_sync();

  // The descriptor: the workload, the device, the recipe.
  const std::string where = "network descriptor";
  nn::Workload w;
  nn::CoreFactory factory;
  uint64_t seed = 1;
  try {
    const json d = parse_json<ConfigError>(text.c_str(), where);  // up to a NUL: a descriptor may be padded
    JsonFields<ConfigError> f(d, "descriptor", where);
    const json* wl = f.take("workload");
    if (!wl) throw ConfigError(where + ": missing 'workload'");
    w = nn::workload_from_json(*wl, where + " workload");
    if (const json* dev = f.take("device")) {
      nn::DevicePreset preset = nn::device_preset_from_json(*dev, where + " device");
      p_.apply_to(preset.crossbar.crossbar, where + " device");
      validate(preset.crossbar, where + " device on platform " + p_.source);
      factory = nn::analog_factory(preset);
    }
    seed = static_cast<uint64_t>(f.number("seed", 0, 9.007199254740992e15, 1.0));
    w.train.epochs = f.integer("epochs", 1, 100000, w.train.epochs);
    w.train.batch = f.integer("batch", 1, 1 << 20, w.train.batch);
    w.train.lr = f.number("lr", 1e-12, 1e6, w.train.lr);
    f.finish();
  } catch (const std::exception& e) {
    return fail(errors::kBadDescriptor, e.what());
  }
  nn::Split data;
  try {
    const IdxFiles files = unpack_data_region(region);
    data.train = nn::parse_idx(files[0], "data region: train images", files[1], "data region: train labels", w.classes);
    data.test = nn::parse_idx(files[2], "data region: test images", files[3], "data region: test labels", w.classes);
    nn::normalize_named(w.dataset, data.train);
    nn::normalize_named(w.dataset, data.test);
  } catch (const std::exception& e) {
    return fail(errors::kBadData, e.what());
  }
  std::unique_ptr<nn::Network> net;
  try {
    net = nn::build_network(w, seed, factory);
  } catch (const std::exception& e) {
    return fail(errors::kBadDescriptor, e.what());
  }
  try {
    chip.controller.configure(map_layers(p_, layer_shapes(*net)), static_cast<int>(data.train.sample_size()));
  } catch (const std::exception& e) {
    return fail(errors::kDoesNotFit, e.what());
  }

  // The chip's controller sees the training; between batches a RESET stops it.
  struct Abandonable final : nn::PhaseObserver {
    Accelerator& top;
    nn::PhaseObserver& chip;
    Abandonable(Accelerator& t, nn::PhaseObserver& c) : top(t), chip(c) {}
    void on_batch(int samples, bool train) override {
      top.check_abandoned();
      chip.on_batch(samples, train);
    }
    void on_phase(const nn::PhaseEvent& e) override { chip.on_phase(e); }
    void on_epoch(int epoch) override { chip.on_epoch(epoch); }
  } observer(top, chip.controller);
  nn::TrainOptions o;
  o.config = w.train;
  o.seed = seed;
  o.observer = &observer;
  std::ostringstream log;
  nn::TrainResult result;
  try {
    result = nn::train(*net, data, o, log);
  } catch (const std::exception& e) {
    log_ = log.str();
    return fail(errors::kBadDescriptor, e.what());
  }
  chip.controller.sync();
  log_ = log.str();
  if (result.diverged) return fail(errors::kDiverged, result.message);

  json epochs = json::array();
  for (const auto& e : result.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"lr", e.lr}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
                      {"test_accuracy", e.test_accuracy}});
  const json out = {{"final_test_accuracy", result.final_test_accuracy}, {"epochs", epochs},
                    {"hardware", to_json(chip.controller.report())}};
  const std::vector<unsigned char> packed = pack_result(out.dump(2));
  if (packed.size() > result_size)
    return fail(errors::kResultTooSmall, "the results take " + std::to_string(packed.size()) + " bytes; RESULT_SIZE is " +
                                             std::to_string(result_size));
  if (!top.dma_write(r.address("RESULT_ADDR_LO"), packed.data(), packed.size()))
    return fail(errors::kDmaError, "writing the results at " + std::to_string(r.address("RESULT_ADDR_LO")));
  return errors::kNone;
}

}  // namespace txsim::hw
