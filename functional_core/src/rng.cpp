// Vectorized Box-Muller. log, sin and cos are polynomials (errors below 1e-6, far under any
// statistical test's reach) written as plain loops over one 512-bit vector of pairs, which GCC
// turns into straight-line AVX-512 code: no libm calls, about 1 cycle per normal.
#include "txsim/rng.h"

#include <algorithm>
#include <cstring>

namespace txsim {
namespace {

constexpr std::size_t kPairs = 16;
constexpr std::size_t kBlock = 2 * kPairs;  // normals per block; blocks are aligned in the stream

inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// ln(u) for u in (0, 1]: u = 2^e * m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| < 0.172; the series to s^9 is accurate to 4e-9.
inline float log_unit(float u) {
  uint32_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  int e = static_cast<int>(bits >> 23) - 127;
  float m = bits_to_float((bits & 0x7FFFFFu) | 0x3F800000u);
  const bool high = m > 1.41421356f;
  m = high ? 0.5f * m : m;
  e = high ? e + 1 : e;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float series = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
  return static_cast<float>(e) * 0.69314718056f + 2.0f * s * series;
}

// sin and cos on [0, pi/2): Taylor to x^11 / x^12, errors below 6e-8 / 5e-7.
inline float sin_quarter(float x) {
  const float x2 = x * x;
  return x * (1.0f + x2 * (-1.0f / 6 + x2 * (1.0f / 120 + x2 * (-1.0f / 5040 + x2 * (1.0f / 362880 +
                                                                               x2 * (-1.0f / 39916800))))));
}
inline float cos_quarter(float x) {
  const float x2 = x * x;
  return 1.0f + x2 * (-0.5f + x2 * (1.0f / 24 + x2 * (-1.0f / 720 + x2 * (1.0f / 40320 + x2 * (-1.0f / 3628800 +
                                                                                        x2 * (1.0f / 479001600))))));
}

// Wellons' lowbias32: a 32-bit integer hash with near-ideal avalanche.
inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  return x ^ (x >> 16);
}

// Normals [block*kBlock, (block+1)*kBlock) of the stream. One 64-bit mix of (key, block) seeds
// the block; each pair then takes two 32-bit lane hashes: 24 bits for the radius, 2 for the
// quadrant and 22 for the angle within it.
// Inlined into fill_normal's loop over blocks, so that its constants stay in registers.
[[gnu::always_inline]] inline void normal_block(uint64_t key, uint64_t block, float* out) {
  constexpr float kHalfPi = 1.57079632679f;
  const uint64_t seed = mix64(key + block * 0x9E3779B97F4A7C15ULL);
  const uint32_t seed_radius = static_cast<uint32_t>(seed), seed_angle = static_cast<uint32_t>(seed >> 32);
  for (uint32_t k = 0; k < kPairs; ++k) {
    const uint32_t hr = hash32(seed_radius + k * 0x9E3779B9u);
    const uint32_t ha = hash32(seed_angle ^ (k * 0x85EBCA6Bu));
    const float u = (static_cast<float>(static_cast<int32_t>(hr >> 8)) + 0.5f) * 0x1.0p-24f;
    const int quadrant = static_cast<int>(ha >> 30);
    const float x = (static_cast<float>(static_cast<int32_t>(ha & 0x3FFFFF)) + 0.5f) * (kHalfPi * 0x1.0p-22f);
    const float r = __builtin_sqrtf(-2.0f * log_unit(u));
    const float c = cos_quarter(x), s = sin_quarter(x);
    // Rotate (cos x, sin x) by quadrant * pi/2.
    const float cq = quadrant == 0 ? c : quadrant == 1 ? -s : quadrant == 2 ? -c : s;
    const float sq = quadrant == 0 ? s : quadrant == 1 ? c : quadrant == 2 ? -s : -c;
    out[k] = r * cq;
    out[kPairs + k] = r * sq;
  }
}

}  // namespace

void fill_normal(uint64_t key, uint64_t first, std::size_t n, float* out) {
  float tmp[kBlock];
  while (n > 0) {
    const uint64_t block = first / kBlock;
    const std::size_t offset = first % kBlock;
    const std::size_t take = std::min(kBlock - offset, n);
    if (take == kBlock) {
      normal_block(key, block, out);
    } else {
      normal_block(key, block, tmp);
      std::copy_n(tmp + offset, take, out);
    }
    out += take;
    first += take;
    n -= take;
  }
}

}  // namespace txsim
