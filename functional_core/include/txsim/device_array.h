// The devices of one conductance plane: a rows x cols grid whose conductances are the state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>
#include <algorithm>

#include "txsim/config.h"

namespace txsim {

enum class Fault : uint8_t { None, StuckOn, StuckOff };

class DeviceArray {
 public:
  // Draws the fixed fault map and each device's fixed device-to-device deviation from `key`.
  DeviceArray(const DeviceConfig& device, int rows, int cols, int levels, uint64_t key);

  // Programs every device towards its target conductance (siemens, row-major rows x cols): the
  // target snaps to the nearest of the device's levels in [g_min, g_max], the device's own
  // deviation is applied, and a stuck device keeps its stuck value.
  void program(const double* target);
  // Programs only the devices index[0..n) towards target[0..n), exactly as program() would: the
  // same operations on each device (a reprogramming that changes a few devices costs a few).
  void program(const uint32_t* index, const double* target, std::size_t n);

  // Sets one device's conductance (siemens, clamped to [g_min, g_max]); a stuck device keeps its value.
  void set(int r, int c, double g) {
    const std::size_t i = index(r, c);
    if (fault_[i] == static_cast<uint8_t>(Fault::None)) g_[i] = std::min(std::max(g, device_.g_min), device_.g_max);
  }

  // Restores every conductance exactly as saved (checkpoints); no clamping, faults included.
  void restore(const double* g) { std::copy(g, g + g_.size(), g_.begin()); }
  // The fixed per-device draws (deviation, fault), for checkpoints: a restored array is the
  // same devices whatever key it was built with.
  const std::vector<float>& deviations() const { return deviation_; }
  void restore_fixed(const std::vector<float>& deviation, const std::vector<uint8_t>& faults) {
    deviation_ = deviation;
    fault_ = faults;
  }

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  double conductance(int r, int c) const { return g_[index(r, c)]; }
  const double* conductances() const { return g_.data(); }
  bool stuck(std::size_t i) const { return fault_[i] != static_cast<uint8_t>(Fault::None); }
  const uint8_t* faults() const { return fault_.data(); }  // non-zero: stuck
  // Direct access for in-place updates (pulsed training); callers keep stuck devices unchanged.
  double* mutable_conductances() { return g_.data(); }
  Fault fault(int r, int c) const { return static_cast<Fault>(fault_[index(r, c)]); }
  std::size_t count(Fault f) const;
  // The conductance an ideal device would hold for `target`: level quantization only.
  double level_of(double target) const;

 private:
  std::size_t index(int r, int c) const { return static_cast<std::size_t>(r) * cols_ + c; }
  // The one programming rule, on n devices held contiguously: level, deviation z, fault.
  void program_values(const double* target, const float* z, const uint8_t* fault, std::size_t n, double* g) const;

  DeviceConfig device_;
  int rows_, cols_, levels_;
  std::vector<double> g_;
  std::vector<float> deviation_;  // standard normal draw per device, fixed for its lifetime
  std::vector<uint8_t> fault_;
};

}  // namespace txsim
