// Compiled with -ffast-math so that logf/sinf/cosf vectorize through glibc's libmvec.
#include "txsim/rng.h"

#include <cmath>

namespace txsim {

void fill_normal(uint64_t key, uint64_t first, std::size_t n, float* out) {
  constexpr float kTwoPi = 6.28318530717958647692f;
  constexpr float kScale = 0x1.0p-24f;
  const uint64_t first_pair = first / 2;
  const std::size_t pairs = n / 2;
#pragma omp simd
  for (std::size_t k = 0; k < pairs; ++k) {
    const uint64_t h = mix64(key + (first_pair + k) * 0x9E3779B97F4A7C15ULL);
    const float u1 = (static_cast<float>(static_cast<uint32_t>(h >> 40)) + 0.5f) * kScale;
    const float u2 = static_cast<float>(static_cast<uint32_t>(h & 0xFFFFFF)) * kScale;
    const float r = std::sqrt(-2.0f * std::log(u1));
    out[2 * k] = r * std::cos(kTwoPi * u2);
    out[2 * k + 1] = r * std::sin(kTwoPi * u2);
  }
  if (n % 2) {
    float tail[2];
    fill_normal(key, first + 2 * pairs, 2, tail);
    out[n - 1] = tail[0];
  }
}

}  // namespace txsim
