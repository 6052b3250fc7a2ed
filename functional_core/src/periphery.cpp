#include "txsim/periphery.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace txsim {

bool inputs_in_range(const float* x, std::size_t n, const ArrayConfig& array) {
  // Branch-free (it runs on every read): a NaN fails the comparison, so it counts as bad.
  const float lowest = array.input_signed ? -std::numeric_limits<float>::max() : 0.0f;
  const float highest = std::numeric_limits<float>::max();
  int bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= !((x[i] >= lowest) & (x[i] <= highest));
  return !bad;
}

void check_inputs(const float* x, int batch, int length, const ArrayConfig& array) {
  const std::size_t n = static_cast<std::size_t>(batch) * length;
  if (inputs_in_range(x, n, array)) return;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string where = "crossbar input [" + std::to_string(i / length) + "][" + std::to_string(i % length) + "]";
    if (!std::isfinite(x[i])) throw NonFiniteInput(where + " is not finite");
    if (x[i] < 0 && !array.input_signed)
      throw std::invalid_argument(where + " = " + std::to_string(x[i]) + " is negative but crossbar.input_signed is false");
  }
}

std::optional<float> quantize_sample(const float* x, int length, const ArrayConfig& array, float* out) {
  const float top = std::ldexp(1.0f, array.input_magnitude_bits()) - 1.0f;
  // One pass for the check and the largest magnitude, on the bits: the sign-cleared bits of a
  // float are at least 0x7F800000 exactly for inf and NaN, and its bits exceed 0x80000000
  // exactly when it is negative and not -0 (inputs_in_range's test). Non-negative finite floats
  // order as their bits do as unsigned integers, so the maximum is an integer maximum: one that
  // vectorizes, and the same in any order.
  const uint32_t negative_is_bad = array.input_signed ? 0u : 1u;
  uint32_t max_bits = 0, bad = 0;
  for (int k = 0; k < length; ++k) {
    uint32_t bits;
    std::memcpy(&bits, x + k, sizeof bits);
    const uint32_t magnitude = bits & 0x7FFFFFFFu;
    bad |= static_cast<uint32_t>(magnitude >= 0x7F800000u) | (static_cast<uint32_t>(bits > 0x80000000u) & negative_is_bad);
    max_bits = max_bits > magnitude ? max_bits : magnitude;
  }
  if (bad) return std::nullopt;
  float max_abs;
  std::memcpy(&max_abs, &max_bits, sizeof max_abs);
  const float inv = max_abs > 0 ? top / max_abs : 0.0f;
  for (int k = 0; k < length; ++k) out[k] = std::nearbyint(x[k] * inv);
  return max_abs / top;
}

void input_digits(const float* ints, int n, int plane, int dac_bits, float* out) {
  const int shift = plane * dac_bits;
  const int mask = (1 << dac_bits) - 1;
  for (int k = 0; k < n; ++k) {
    const int v = static_cast<int>(ints[k]);
    const int digit = ((v < 0 ? -v : v) >> shift) & mask;
    out[k] = static_cast<float>(v < 0 ? -digit : digit);
  }
}

float adc_lsb(double full_scale, int bits, AdcRange policy) {
  if (!(full_scale > 0)) return 1.0f;
  const double top = std::max(1.0, std::ldexp(1.0, bits - 1) - 1.0);
  const double lsb = full_scale / top;
  if (policy == AdcRange::Calibrated) return static_cast<float>(lsb);
  return static_cast<float>(std::exp2(std::ceil(std::log2(lsb))));
}

}  // namespace txsim
