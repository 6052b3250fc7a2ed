// Analog weights: a WeightCore read forward and backward through the crossbar model and updated
// by programming its devices. Device presets (JSON) say which crossbar, device, circuit and
// update model; `weight_range` sets each layer's weight range in standard deviations of its
// initial weights.
#pragma once

#include <string>

#include "txsim/config.h"
#include "txsim/mapped_matrix.h"
#include "txsim/nn/layers.h"
#include "txsim/nn/network.h"
#include "txsim/update_model.h"

namespace txsim::nn {

struct DevicePreset {
  std::string name, source;
  CrossbarConfig crossbar;
  UpdateConfig update;
  double weight_range = 4.0;  // w_max = weight_range * sqrt(2 / fan_in)
  int bit_length = 0;         // > 0: stochastic pulse trains of this length (aihwkit), from the
                              // batch's inputs and errors at the learning rate; no momentum there
};

// {"name": ..., "weight_range": ..., "update": {...}, "crossbar": {...}, "device": {...},
// "circuit": {...}}; every field checked, errors name the file.
DevicePreset load_device_preset(const std::string& path);
DevicePreset device_preset_from_json(const nlohmann::json& j, const std::string& source);
// What an analog layer needs of its preset beyond the config's own ranges (pulse trains need
// analog cells; an update model needs analog cells or open-loop sliced pulses): ConfigError
// naming the field. AnalogCore checks it; a sweep checks every point with it before training.
void check_device_preset(const DevicePreset& preset);

class AnalogCore final : public WeightCore {
 public:
  AnalogCore(const DevicePreset& preset, int in, int out, uint64_t seed, int layer);
  void forward(const float* x, int rows, float* y) override;
  void forward(const RowSource& source, int rows, float* y) override;
  void backward(const float* dy, int rows, float* dx) override;
  void backward(const float* dy, int rows, const RowSink& sink) override;
  void apply(const std::vector<float>& step, double lr) override;
  bool analog() const override { return true; }
  MappedMatrix& matrix() { return m_; }
  // Programs the devices to w (out x in, row-major; the range as at construction) and takes the
  // weights they hold as this core's (weight().value): what a converted float layer starts from.
  void program_weights(const std::vector<float>& w);
  // Checkpoint state: the update stream's counter and the mapped matrix's whole state.
  void save_state(StateWriter& w) const override;
  void load_state(StateReader& r) override;
  int crossbars() const override { return m_.crossbars(); }
  bool in_array_update() const override { return bit_length_ > 0; }
  const ArrayConfig* array() const override { return &m_.config().crossbar; }

 protected:
  Activity take_activity() override {
    const Activity a = m_.activity();
    m_.reset_activity();
    return a;
  }

 private:
  UpdateConfig update_;
  MappedMatrix m_;
  uint64_t key_;
  float w_max_ = 0;  // the devices' weight range
  uint64_t updates_ = 0;
  bool pulsed_;
  int bit_length_;
  std::vector<float> x_, d_;  // pulse trains: the batch's rows of inputs and errors
  int rows_ = 0;
};

CoreFactory analog_factory(const DevicePreset& preset);
// Cores with the analog layers' shapes, crossbar counts and update kind but no devices: a
// network built with them is mapped onto a platform (to check that it fits) at the cost of its
// float weights only.
CoreFactory planning_factory(const DevicePreset& preset);

}  // namespace txsim::nn
