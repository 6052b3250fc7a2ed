#include "txsim/mapped_state.h"

#include <string>

namespace txsim {

namespace {
const char* direction_name(int d) { return d == 0 ? "forward" : "backward"; }
}  // namespace

void MappedState::save(StateWriter& w) const {
  w.put("weight_scale", static_cast<double>(w_scale));
  w.put("weight_step", static_cast<double>(w_step));
  // Conductances, and the devices' fixed draws (deviation per device, fault map): a matrix built
  // with another seed becomes these devices.
  std::vector<double> g;
  std::vector<float> deviations;
  std::vector<int32_t> faults;
  for (const auto* list : {&planes, &references})
    for (const DeviceArray& a : *list) {
      const std::size_t n = static_cast<std::size_t>(a.rows()) * a.cols();
      g.insert(g.end(), a.conductances(), a.conductances() + n);
      deviations.insert(deviations.end(), a.deviations().begin(), a.deviations().end());
      faults.insert(faults.end(), a.faults(), a.faults() + n);
    }
  w.put("conductances", g);
  w.put("device_deviations", deviations);
  w.put("device_faults", faults);
  w.put("stream_key", key);
  w.put("codes", codes);
  w.put("step_d2d_factors", step_scale);
  w.put("nonlinearity_d2d_factors", nl_scale);
  w.put("mixed_precision_remainders", carry);
  w.put("reads", reads);
  for (int d = 0; d < 2; ++d) {
    const std::string dir = direction_name(d);
    w.put(dir + "_effective_builds", builds[d]);
    std::vector<uint64_t> sizes;
    std::vector<float> flat;
    for (const auto& c : corrections[d]) {
      sizes.push_back(c.size());
      flat.insert(flat.end(), c.begin(), c.end());
    }
    w.put(dir + "_parasitic_correction_sizes", sizes);
    w.put(dir + "_parasitic_corrections", flat);
  }
}

void MappedState::load(StateReader& r, int in, int out) {
  const std::string& src = r.source();
  const std::size_t weights = static_cast<std::size_t>(in) * out, devices = planes.size() * weights;
  std::size_t cells = 0, expected_deviations = 0;
  for (const auto* list : {&planes, &references})
    for (const DeviceArray& a : *list) {
      cells += static_cast<std::size_t>(a.rows()) * a.cols();
      expected_deviations += a.deviations().size();
    }
  // Read everything first; assign only when all of it is valid.
  const double scale = r.get_double("weight_scale"), step = r.get_double("weight_step");
  std::vector<double> g;
  r.get("conductances", g, cells);
  for (double v : g)
    if (v < 0) throw StateError(src + ": state 'conductances': a negative conductance (" + std::to_string(v) + ")");
  std::vector<float> deviations;
  r.get("device_deviations", deviations, expected_deviations);
  std::vector<int32_t> faults;
  r.get("device_faults", faults, cells);
  for (int32_t f : faults)
    if (f < 0 || f > static_cast<int32_t>(Fault::StuckOff)) throw StateError(src + ": state 'device_faults': " + std::to_string(f) + " is no fault kind");
  const uint64_t stream_key = r.get_u64("stream_key");
  // Sized by the matrix, or empty where the state is not kept (centered pairs keep no codes;
  // factors and remainders exist once an update asked for them).
  auto optional = [&](const char* name, std::size_t size, auto& v) {
    const uint64_t n = r.peek_count(name);
    if (n != 0 && n != size)
      throw StateError(src + ": state '" + name + "': " + std::to_string(n) + " values for " + std::to_string(size));
    r.get(name, v, n);
  };
  std::vector<int32_t> new_codes;
  std::vector<float> steps, nls, remainders;
  optional("codes", weights, new_codes);
  optional("step_d2d_factors", devices, steps);
  optional("nonlinearity_d2d_factors", devices, nls);
  optional("mixed_precision_remainders", weights, remainders);
  const uint64_t new_reads = r.get_u64("reads");
  uint64_t new_builds[2];
  std::vector<std::vector<float>> new_corrections[2];
  for (int d = 0; d < 2; ++d) {
    const std::string dir = direction_name(d);
    new_builds[d] = r.get_u64(dir + "_effective_builds");
    std::vector<uint64_t> sizes;
    r.get(dir + "_parasitic_correction_sizes", sizes, r.peek_count(dir + "_parasitic_correction_sizes"));
    uint64_t total = 0;
    for (uint64_t n : sizes) {
      if (n > cells) throw StateError(src + ": state '" + dir + "_parasitic_correction_sizes': " + std::to_string(n) + " is more than the devices");
      total += n;
    }
    std::vector<float> flat;
    r.get(dir + "_parasitic_corrections", flat, total);
    std::size_t at = 0;
    for (uint64_t n : sizes) {
      new_corrections[d].emplace_back(flat.begin() + at, flat.begin() + at + n);
      at += n;
    }
  }
  w_scale = static_cast<float>(scale);
  w_step = static_cast<float>(step);
  std::size_t k = 0, kd = 0;
  for (auto* list : {&planes, &references})
    for (DeviceArray& a : *list) {
      const std::size_t n = static_cast<std::size_t>(a.rows()) * a.cols(), nd = a.deviations().size();
      a.restore(g.data() + k);
      a.restore_fixed(std::vector<float>(deviations.begin() + kd, deviations.begin() + kd + nd),
                      std::vector<uint8_t>(faults.begin() + k, faults.begin() + k + n));
      k += n;
      kd += nd;
    }
  key = stream_key;
  codes = std::move(new_codes);
  step_scale = std::move(steps);
  nl_scale = std::move(nls);
  carry = std::move(remainders);
  reads = new_reads;
  for (int d = 0; d < 2; ++d) {
    builds[d] = new_builds[d];
    corrections[d] = std::move(new_corrections[d]);
  }
}

}  // namespace txsim
