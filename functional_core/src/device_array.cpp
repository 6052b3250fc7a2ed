#include "txsim/device_array.h"

#include <algorithm>
#include <cmath>

#include "txsim/rng.h"

namespace txsim {

DeviceArray::DeviceArray(const DeviceConfig& device, int rows, int cols, int levels, uint64_t key)
    : device_(device), rows_(rows), cols_(cols), levels_(levels),
      g_(static_cast<std::size_t>(rows) * cols, device.g_min),
      deviation_(g_.size()), fault_(g_.size(), static_cast<uint8_t>(Fault::None)) {
  if (device.program_sigma > 0) fill_normal(derive_key(key, 1), 0, deviation_.size(), deviation_.data());
  const double on = device.stuck_on_rate, off = device.stuck_off_rate;
  if (on + off > 0) {
    const uint64_t fault_key = derive_key(key, 2);
    for (std::size_t i = 0; i < fault_.size(); ++i) {
      const double u = uniform01(fault_key, i);
      if (u < on) fault_[i] = static_cast<uint8_t>(Fault::StuckOn);
      else if (u < on + off) fault_[i] = static_cast<uint8_t>(Fault::StuckOff);
    }
  }
  program(std::vector<double>(g_.size(), device.g_min).data());
}

double DeviceArray::level_of(double target) const {
  const double span = device_.g_max - device_.g_min;
  // Programming saturates at the device's bounds.
  const double k = std::clamp(std::nearbyint((target - device_.g_min) / span * (levels_ - 1)), 0.0,
                              static_cast<double>(levels_ - 1));
  return device_.g_min + k * span / (levels_ - 1);
}

void DeviceArray::program(const double* target) {
  const double sigma = device_.program_sigma;
  const double span = device_.g_max - device_.g_min;
  for (std::size_t i = 0; i < g_.size(); ++i) {
    const auto f = static_cast<Fault>(fault_[i]);
    if (f == Fault::StuckOn) { g_[i] = device_.g_max; continue; }
    if (f == Fault::StuckOff) { g_[i] = device_.g_min; continue; }
    double g = level_of(target[i]);
    if (sigma > 0) {
      const double z = deviation_[i];
      if (device_.program_scale == VariationScale::Absolute) g += sigma * span * z;
      else if (device_.program_shape == VariationShape::LogNormal) g *= std::exp(sigma * z);
      else g *= 1.0 + sigma * z;
    }
    g_[i] = std::max(g, 0.0);  // a conductance cannot be negative
  }
}

std::size_t DeviceArray::count(Fault f) const {
  return static_cast<std::size_t>(std::count(fault_.begin(), fault_.end(), static_cast<uint8_t>(f)));
}

}  // namespace txsim
