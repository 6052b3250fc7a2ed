// Counter-based random numbers: draw i of a stream is a pure function of (stream key, i), so a
// result never depends on thread count, evaluation order or whether the run is timed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace txsim {

// splitmix64's finalizer: a bijective mix with full avalanche.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Wellons' lowbias32: a 32-bit integer hash with near-ideal avalanche.
inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  return x ^ (x >> 16);
}

// Derives an independent stream key from a parent key and a label (layer, plane, call, tile...).
inline uint64_t derive_key(uint64_t parent, uint64_t label) {
  return mix64(parent ^ mix64(label + 0x9E3779B97F4A7C15ULL));
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(uint64_t key, uint64_t i) {
  return static_cast<double>(mix64(key + i * 0x9E3779B97F4A7C15ULL) >> 11) * 0x1.0p-53;
}

// Fills out[0..n) with standard normal draws first..first+n of stream `key`. Inverse CDF of
// 31-bit uniforms (tails to 6.1 sigma), polynomial quantile with errors below 5e-6. Vectorized.
void fill_normal(uint64_t key, uint64_t first, std::size_t n, float* out);

// `runs` runs of n draws, run i from draw firsts[i] into out + i * n: fill_normal for each run,
// the same numbers, but short runs are computed side by side (a few sixteens of draws per run,
// as a read's rows take them, leave one run's chains waiting on their latencies).
void fill_normal_runs(uint64_t key, const uint64_t* firsts, std::size_t runs, std::size_t n, float* out);

// Draw i of stream `key`, computed one at a time: equal, bit for bit, to fill_normal's.
float normal_at(uint64_t key, uint64_t i);

// The standard normal whose sign is bit 31 of `bits` and whose magnitude is the upper-tail
// quantile of u = (2 * (bits mod 2^31) + 1) / 2^33, in (0, 1/2).
float normal_from_bits(uint32_t bits);

}  // namespace txsim
