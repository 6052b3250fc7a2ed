#include "txsim/periphery.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace txsim {

namespace {

uint32_t float_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}
constexpr uint32_t kMagnitude = 0x7FFFFFFFu;

// The range test on a float's bits, branch-free, so that loops of it vectorize: 1 when refused.
// The sign-cleared bits are at least 0x7F800000 exactly for inf and NaN, and the bits exceed
// 0x80000000 exactly for a negative value other than -0 (refused when negative_is_bad is 1).
uint32_t refused(uint32_t bits, uint32_t negative_is_bad) {
  return static_cast<uint32_t>((bits & kMagnitude) >= 0x7F800000u) | (static_cast<uint32_t>(bits > 0x80000000u) & negative_is_bad);
}
uint32_t negative_is_bad(const ArrayConfig& array) { return array.input_signed ? 0u : 1u; }

}  // namespace

bool inputs_in_range(const float* x, std::size_t n, const ArrayConfig& array) {
  const uint32_t negative = negative_is_bad(array);
  uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= refused(float_bits(x[i]), negative);
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
  // One pass for the check (inputs_in_range's) and the largest magnitude. Non-negative finite
  // floats order as their bits do as unsigned integers, so the maximum is an integer maximum of
  // the magnitudes' bits: one that vectorizes, and the same in any order.
  const uint32_t negative = negative_is_bad(array);
  uint32_t max_bits = 0, bad = 0;
  for (int k = 0; k < length; ++k) {
    const uint32_t bits = float_bits(x[k]), magnitude = bits & kMagnitude;
    bad |= refused(bits, negative);
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
