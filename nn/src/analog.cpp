#include "txsim/nn/analog.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "txsim/rng.h"

namespace txsim::nn {

using nlohmann::json;

DevicePreset device_preset_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw ConfigError(source + ": accepted a JSON object");
  DevicePreset p;
  p.source = source;
  json rest = j;
  auto fail = [&](const std::string& field, const json& v, const std::string& accepted) {
    throw ConfigError(source + ": field '" + field + "' = " + v.dump() + ": accepted " + accepted);
  };
  if (rest.contains("name")) {
    if (!rest["name"].is_string()) fail("name", rest["name"], "a string");
    p.name = rest["name"];
    rest.erase("name");
  }
  if (rest.contains("weight_range")) {
    const json& v = rest["weight_range"];
    if (!v.is_number() || !(v.get<double>() > 0 && v.get<double>() <= 100)) fail("weight_range", v, "a number in (0, 100]");
    p.weight_range = v;
    rest.erase("weight_range");
  }
  if (rest.contains("update")) {
    const json u = rest["update"];
    if (!u.is_object()) fail("update", u, "a JSON object");
    for (const auto& item : u.items()) {
      const std::string key = item.key(), field = "update." + key;
      const json& v = item.value();
      auto number = [&]() {
        if (!v.is_number()) fail(field, v, "a number");
        return v.get<double>();
      };
      if (key == "kind") {
        if (v == "linear") p.update.kind = UpdateKind::Linear;
        else if (v == "soft_bounds") p.update.kind = UpdateKind::SoftBounds;
        else if (v == "exponential") p.update.kind = UpdateKind::Exponential;
        else if (v == "txsim") p.update.kind = UpdateKind::TxSim;
        else if (v == "measured") p.update.kind = UpdateKind::Measured;
        else fail(field, v, "one of \"linear\", \"soft_bounds\", \"exponential\", \"txsim\", \"measured\"");
      } else if (key == "pair") {
        if (v == "centered") p.update.one_sided = false;
        else if (v == "one_sided") p.update.one_sided = true;
        else fail(field, v, "\"centered\" (both devices around the middle) or \"one_sided\" (one device holds |w|)");
      } else if (key == "sliced") {
        if (v == "verify") p.update.sliced_pulses = false;
        else if (v == "pulses") p.update.sliced_pulses = true;
        else fail(field, v, "\"verify\" (a changed digit is reprogrammed to its level) or \"pulses\" (open-loop pulses along the update model)");
      } else if (key == "csv") {
        if (!v.is_string()) fail(field, v, "a CSV file name (relative to the preset's folder)");
        std::filesystem::path csv(v.get<std::string>());
        if (csv.is_relative()) csv = std::filesystem::path(source).parent_path() / csv;
        try {
          p.update.measured = load_measured_curve(csv.string());
        } catch (const std::runtime_error& e) {
          throw ConfigError(source + ": field '" + field + "': " + e.what());
        }
      } else if (key == "pulses") {
        if (!v.is_number_integer()) fail(field, v, "an integer");
        p.update.pulses = v;
      } else if (key == "asymmetry") p.update.asymmetry = number();
      else if (key == "nl_ltp") p.update.nl_ltp = number();
      else if (key == "nl_ltd") p.update.nl_ltd = number();
      else if (key == "nu") p.update.nu = number();
      else if (key == "write_noise") p.update.write_noise = number();
      else if (key == "step_d2d") p.update.step_d2d = number();
      else if (key == "nl_d2d") p.update.nl_d2d = number();
      else if (key == "bit_length") {
        if (!v.is_number_integer() || v.get<int>() < 0 || v.get<int>() > 32) fail(field, v, "an integer in 0..32 (0: pulse counts from the optimizer step)");
        p.bit_length = v;
      }
      else if (key == "stochastic" || key == "mixed_precision") {
        if (!v.is_boolean()) fail(field, v, "true or false");
        (key == "stochastic" ? p.update.stochastic : p.update.mixed_precision) = v.get<bool>();
      } else {
        throw ConfigError(source + ": unknown key '" + field + "'; accepted keys: kind, pulses, asymmetry, nl_ltp, "
                          "nl_ltd, nu, csv, pair, sliced, write_noise, step_d2d, nl_d2d, stochastic, mixed_precision, bit_length");
      }
    }
    // A field the chosen update model has no use for would change nothing: say so.
    const std::string kind = u.contains("kind") ? u.at("kind").get<std::string>() : "linear";
    for (const auto& [field, models] : {std::pair<const char*, std::vector<UpdateKind>>{"nu", {UpdateKind::TxSim}},
                                        {"nl_ltp", {UpdateKind::Exponential}},
                                        {"nl_ltd", {UpdateKind::Exponential}},
                                        {"nl_d2d", {UpdateKind::Exponential, UpdateKind::TxSim}}})
      if (u.contains(field) && std::find(models.begin(), models.end(), p.update.kind) == models.end())
        throw ConfigError(source + ": field 'update." + field + "' = " + u.at(field).dump() + " has no effect on update.kind \"" +
                          kind + "\"; accepted: update.kind " +
                          (models.size() == 1 ? (models[0] == UpdateKind::TxSim ? "\"txsim\"" : "\"exponential\"")
                                              : "\"exponential\" or \"txsim\"") +
                          ", or leave the field out");
    if ((p.update.kind == UpdateKind::Measured) != (p.update.measured != nullptr))
      fail("update.csv", u.value("csv", json()), "a CSV exactly when update.kind is \"measured\"");
    try {
      check_update(p.update, source.c_str());
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    rest.erase("update");
  }
  p.crossbar = crossbar_config_from_json(rest, source);
  return p;
}

DevicePreset load_device_preset(const std::string& path) {
  DevicePreset p = device_preset_from_json(read_json_file(path), path);
  if (p.name.empty()) p.name = path;
  return p;
}

void check_device_preset(const DevicePreset& preset) {
  const ArrayConfig& a = preset.crossbar.crossbar;
  const bool analog_cells = MappedMatrix::analog_cells(a);
  if (preset.bit_length > 0 && !analog_cells)
    throw ConfigError(preset.source + ": field 'update.bit_length' = " + std::to_string(preset.bit_length) +
                      ": accepted 0 unless crossbar.bits_per_cell == crossbar.weight_bits (pulse trains program one device pair per weight)");
  if (!analog_cells && !preset.update.sliced_pulses) {
    // Write-verify reprograms a changed digit to its level: an update model would have no effect.
    const UpdateConfig& u = preset.update;
    const char* field = u.kind != UpdateKind::Linear ? "kind"
                        : u.write_noise > 0          ? "write_noise"
                        : u.asymmetry != 0           ? "asymmetry"
                        : u.step_d2d > 0             ? "step_d2d"
                        : u.nl_d2d > 0               ? "nl_d2d"
                                                     : nullptr;
    if (field)
      throw ConfigError(preset.source + ": field 'update." + field + "' has no effect on bit-sliced weights (crossbar.bits_per_cell " +
                        std::to_string(preset.crossbar.crossbar.bits_per_cell) + " < weight_bits " +
                        std::to_string(preset.crossbar.crossbar.weight_bits) +
                        "), whose changed digits are reprogrammed by write-verify; accepted: update.sliced = \"pulses\" "
                        "(open-loop pulses along the update model) or bits_per_cell == weight_bits");
  }
  if (preset.bit_length > 0 && preset.update.one_sided)
    throw ConfigError(preset.source + ": field 'update.pair' = \"one_sided\": accepted \"centered\" with pulse trains (update.bit_length > 0)");
}

AnalogCore::AnalogCore(const DevicePreset& preset, int in, int out, uint64_t seed, int layer)
    : WeightCore(in, out, seed), update_(preset.update), m_(preset.crossbar, in, out, seed, static_cast<uint64_t>(layer)),
      key_(derive_key(seed, 0xA7A7)), bit_length_(preset.bit_length) {
  check_device_preset(preset);
  pulsed_ = m_.analog_cells();
  w_max_ = static_cast<float>(preset.weight_range * std::sqrt(2.0 / in));
  program_weights(w_.value);
}

void AnalogCore::program_weights(const std::vector<float>& w) {
  if (w.size() != w_.value.size())
    throw std::invalid_argument("AnalogCore::program_weights: " + std::to_string(w.size()) + " values for a " +
                                std::to_string(out_) + "x" + std::to_string(in_) + " layer");
  if (pulsed_ && !update_.one_sided) m_.program_centered(w.data(), w_max_);
  else m_.program(w.data(), w_max_);
  w_.value = m_.weights();  // the weights the devices hold
}

void AnalogCore::forward(const float* x, int rows, float* y) {
  if (bit_length_ > 0) {
    x_.assign(x, x + static_cast<std::size_t>(rows) * in_);
    rows_ = rows;
  }
  m_.forward(x, rows, y);
}

// Pulse trains keep the batch's inputs: made all at once, then read as a matrix.
void AnalogCore::forward(const RowSource& source, int rows, float* y) {
  if (bit_length_ == 0) return m_.forward(source, rows, y);
  x_.resize(static_cast<std::size_t>(rows) * in_);
  source.make(0, rows, x_.data());
  rows_ = rows;
  m_.forward(x_.data(), rows, y);
}

void AnalogCore::backward(const float* dy, int rows, float* dx) {
  if (bit_length_ > 0) d_.assign(dy, dy + static_cast<std::size_t>(rows) * out_);
  m_.backward(dy, rows, dx);
}

void AnalogCore::backward(const float* dy, int rows, const RowSink& sink) {
  if (bit_length_ > 0) d_.assign(dy, dy + static_cast<std::size_t>(rows) * out_);
  m_.backward(dy, rows, sink);
}

void AnalogCore::apply(const std::vector<float>& step, double lr) {
  if (bit_length_ > 0 && rows_ > 0 && d_.size() == static_cast<std::size_t>(rows_) * out_)
    m_.pulsed_update(x_.data(), d_.data(), rows_, lr, bit_length_, update_, derive_key(key_, ++updates_));
  else
    m_.update(step.data(), update_, derive_key(key_, ++updates_));
  w_.value = m_.weights();
}

void AnalogCore::save_state(StateWriter& w) const {
  w.put("updates", updates_);
  w.put("update_key", key_);
  m_.save_state(w);
}

void AnalogCore::load_state(StateReader& r) {
  updates_ = r.get_u64("updates");
  key_ = r.get_u64("update_key");
  m_.load_state(r);
  w_.value = m_.weights();
}

CoreFactory analog_factory(const DevicePreset& preset) {
  return [preset](int in, int out, uint64_t seed, int layer) -> std::unique_ptr<WeightCore> {
    return std::make_unique<AnalogCore>(preset, in, out, seed, layer);
  };
}

namespace {
class PlannedAnalogCore final : public WeightCore {
 public:
  PlannedAnalogCore(const DevicePreset& p, int in, int out, uint64_t seed)
      : WeightCore(in, out, seed), crossbars_(MappedMatrix::crossbars_for(p.crossbar.crossbar, in, out)), pulse_trains_(p.bit_length > 0) {}
  bool analog() const override { return true; }
  int crossbars() const override { return crossbars_; }
  bool in_array_update() const override { return pulse_trains_; }

 private:
  int crossbars_;
  bool pulse_trains_;
};
}  // namespace

CoreFactory planning_factory(const DevicePreset& preset) {
  check_device_preset(preset);
  return [preset](int in, int out, uint64_t seed, int) -> std::unique_ptr<WeightCore> {
    return std::make_unique<PlannedAnalogCore>(preset, in, out, seed);
  };
}

}  // namespace txsim::nn
