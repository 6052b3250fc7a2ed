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
  program_values(target, deviation_.data(), fault_.data(), g_.size(), g_.data());
}

void DeviceArray::program(const uint32_t* index, const double* target, std::size_t n) {
  // Gathered, programmed by the same loop as a whole array, scattered back.
  std::vector<float> z(n);
  std::vector<uint8_t> fault(n);
  std::vector<double> g(n);
  for (std::size_t j = 0; j < n; ++j) {
    z[j] = deviation_[index[j]];
    fault[j] = fault_[index[j]];
  }
  program_values(target, z.data(), fault.data(), n, g.data());
  for (std::size_t j = 0; j < n; ++j) g_[index[j]] = g[j];
}

void DeviceArray::program_values(const double* __restrict target, const float* __restrict z,
                                 const uint8_t* __restrict fault, std::size_t n, double* __restrict g) const {
  const double sigma = device_.program_sigma;
  const double g_min = device_.g_min, g_max = device_.g_max, span = g_max - g_min;
  const bool absolute = device_.program_scale == VariationScale::Absolute;
  const bool lognormal = device_.program_shape == VariationShape::LogNormal;
  // level_of, then the device's variation, then the faults: one branch-free loop per variation
  // kind, so that each vectorizes.
  auto level = [&](std::size_t i) { return level_of(target[i]); };
  if (sigma <= 0) {
    for (std::size_t i = 0; i < n; ++i) g[i] = std::max(level(i), 0.0);
  } else if (absolute) {
    for (std::size_t i = 0; i < n; ++i) g[i] = std::max(level(i) + sigma * span * z[i], 0.0);
  } else if (lognormal) {
    for (std::size_t i = 0; i < n; ++i) g[i] = std::max(level(i) * std::exp(sigma * z[i]), 0.0);
  } else {
    for (std::size_t i = 0; i < n; ++i) g[i] = std::max(level(i) * (1.0 + sigma * z[i]), 0.0);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto f = static_cast<Fault>(fault[i]);
    g[i] = f == Fault::StuckOn ? g_max : f == Fault::StuckOff ? g_min : g[i];
  }
}

std::size_t DeviceArray::count(Fault f) const {
  return static_cast<std::size_t>(std::count(fault_.begin(), fault_.end(), static_cast<uint8_t>(f)));
}

}  // namespace txsim
