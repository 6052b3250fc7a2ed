// Compiled with -ffast-math so that logf/cosf/sinf vectorize through glibc's libmvec. The loops
// are kept separate (no interleaved stores, no sincos) because that is what GCC vectorizes.
#include "txsim/rng.h"

#include <algorithm>
#include <cmath>

namespace txsim {
namespace {

constexpr std::size_t kPairs = 256;
constexpr std::size_t kBlock = 2 * kPairs;  // normals per block; blocks are aligned in the stream

// Normals [block*kBlock, (block+1)*kBlock) of the stream: Box-Muller on pairs of 24-bit uniforms,
// cosine branch in the first half, sine branch in the second.
void normal_block(uint64_t key, uint64_t block, float* out) {
  constexpr float kTwoPi = 6.28318530717958647692f;
  constexpr float kScale = 0x1.0p-24f;
  float radius[kPairs], angle[kPairs];
  const uint64_t first = block * kPairs;
  for (std::size_t k = 0; k < kPairs; ++k) {
    const uint64_t h = mix64(key + (first + k) * 0x9E3779B97F4A7C15ULL);
    radius[k] = (static_cast<float>(static_cast<int32_t>(h >> 40)) + 0.5f) * kScale;
    angle[k] = kTwoPi * static_cast<float>(static_cast<int32_t>(h & 0xFFFFFF)) * kScale;
  }
  for (std::size_t k = 0; k < kPairs; ++k) radius[k] = std::sqrt(-2.0f * std::log(radius[k]));
  for (std::size_t k = 0; k < kPairs; ++k) out[k] = radius[k] * std::cos(angle[k]);
  for (std::size_t k = 0; k < kPairs; ++k) out[kPairs + k] = radius[k] * std::sin(angle[k]);
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
