// Normals by inverse CDF. 32 random bits give a sign and a uniform u in (0, 1/2) with 31 bits;
// |z| = Q^-1(u), the upper-tail quantile, is a degree-5 polynomial in the mantissa of u with
// one coefficient set per binade of u (32 binades, so that the relative resolution is the same
// deep in the tail as near the median). The tables are built once from the exact quantile (Newton
// on erfc) by Chebyshev interpolation; the error is below 5e-6 everywhere (tested), a CDF error
// below 2e-6, which no sample a simulation draws can resolve. With AVX-512 the binade's
// coefficients come from registers (vpermi2ps), 16 normals per step, no gathers and no branches;
// with AVX2, 8 per step, from one permute when all eight lie in the first 8 binades (gathers
// otherwise); the scalar path computes the same operations, bit for bit. The cost is the number
// of vector operations (about one cycle each on Zen 4): degree 6 (errors 8e-7) was 10% slower.
#include "txsim/rng.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512CD__)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined operands.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define TXSIM_RNG_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TXSIM_RNG_AVX2 1
#endif

namespace txsim {
namespace {

constexpr int kDegree = 5;
constexpr int kBinades = 32;
constexpr std::size_t kBlock = 16;  // normals per seed block; blocks are aligned in the stream

constexpr uint32_t kLaneStep = 0x9E3779B9u;

inline uint64_t block_seed(uint64_t key, uint64_t block) { return mix64(key + block * 0x9E3779B97F4A7C15ULL); }

// Upper-tail quantile in double: z >= 0 with erfc(z / sqrt 2) / 2 = u, u in (0, 1/2].
double upper_quantile(double u) {
  double z = u > 0.2 ? 0.5 : std::sqrt(-2.0 * std::log(u));
  for (int i = 0; i < 100; ++i) {
    const double f = 0.5 * std::erfc(z * M_SQRT1_2) - u;
    const double slope = -std::exp(-0.5 * z * z) * 0.5 * M_2_SQRTPI * M_SQRT1_2;
    double next = z - f / slope;
    if (next < 0) next = 0.5 * z;
    if (std::fabs(next - z) < 1e-15 * (1 + z)) return next;
    z = next;
  }
  return z;
}

struct QuantileTables {
  // c[k][b]: coefficient of x^k in binade b, where u = 2^(-2-b) * m, m in [1, 2), x = 2m - 3.
  alignas(64) float c[kDegree + 1][kBinades];
};

QuantileTables build_tables() {
  QuantileTables t{};
  constexpr int n = kDegree + 1;
  for (int b = 0; b < kBinades; ++b) {
    const double low = std::ldexp(1.0, -2 - b);
    std::array<double, n> x{}, d{};
    for (int i = 0; i < n; ++i) {  // Chebyshev nodes on [-1, 1]
      x[i] = std::cos(M_PI * (i + 0.5) / n);
      d[i] = upper_quantile(low * (1.5 + 0.5 * x[i]));
    }
    for (int j = 1; j < n; ++j)  // Newton divided differences
      for (int i = n - 1; i >= j; --i) d[i] = (d[i] - d[i - 1]) / (x[i] - x[i - j]);
    std::array<double, n> p{};  // monomial form: p = p * (x - x_i) + d_i, from the last node
    for (int i = n - 1; i >= 0; --i) {
      std::array<double, n> q{};
      for (int k = 0; k + 1 < n; ++k) {
        q[k + 1] += p[k];
        q[k] -= p[k] * x[i];
      }
      q[0] += d[i];
      p = q;
    }
    for (int k = 0; k < n; ++k) t.c[k][b] = static_cast<float>(p[k]);
  }
  return t;
}

const QuantileTables& tables() {
  static const QuantileTables t = build_tables();
  return t;
}

inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// The one mapping from 32 bits to a normal; the vector path below is its transcription.
inline float normal_scalar(uint32_t h, const QuantileTables& t) {
  const uint32_t v = (h << 1) | 1u;  // u = v / 2^33, bits 0..30 of h; bit 31 is the sign
  const int b = __builtin_clz(v);
  const float m = bits_to_float((((v << b) >> 8) & 0x7FFFFFu) | 0x3F800000u);
  const float x = 2.0f * m - 3.0f;  // exact
  float z = t.c[kDegree][b];
  for (int k = kDegree - 1; k >= 0; --k) z = std::fma(z, x, t.c[k][b]);
  uint32_t bits;
  std::memcpy(&bits, &z, sizeof bits);
  return bits_to_float(bits ^ (h & 0x80000000u));
}

#ifdef TXSIM_RNG_AVX512
struct VectorTables {
  __m512 low[kDegree + 1], high[kDegree + 1];
  explicit VectorTables(const QuantileTables& t) {
    for (int k = 0; k <= kDegree; ++k) {
      low[k] = _mm512_load_ps(t.c[k]);
      high[k] = _mm512_load_ps(t.c[k] + 16);
    }
  }
};

inline __m512i hash32_v(__m512i x) {
  x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
  x = _mm512_mullo_epi32(x, _mm512_set1_epi32(0x7FEB352D));
  x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
  x = _mm512_mullo_epi32(x, _mm512_set1_epi32(static_cast<int>(0x846CA68Bu)));
  return _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
}

// N whole blocks side by side, blocks[i] into out[i]: their chains (two 32-bit multiplies, a
// degree-5 Horner chain) are independent, so N of them keep the vector units busy where one
// waits on its own latencies. Each lane is normal_scalar's operations, in the same order.
template <int N>
[[gnu::always_inline]] inline void normal_blocks_v(uint64_t key, const uint64_t* blocks, const VectorTables& t, float* const* out) {
  const __m512i lanes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(kLaneStep)));
  __m512i h[N], b[N];
  __m512 x[N], z[N];
  for (int i = 0; i < N; ++i)
    h[i] = hash32_v(_mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(block_seed(key, blocks[i])))), lanes));
  for (int i = 0; i < N; ++i) {
    const __m512i v = _mm512_or_si512(_mm512_slli_epi32(h[i], 1), _mm512_set1_epi32(1));
    b[i] = _mm512_lzcnt_epi32(v);
    const __m512i mant = _mm512_and_si512(_mm512_srli_epi32(_mm512_sllv_epi32(v, b[i]), 8), _mm512_set1_epi32(0x7FFFFF));
    const __m512 m = _mm512_castsi512_ps(_mm512_or_si512(mant, _mm512_set1_epi32(0x3F800000)));
    x[i] = _mm512_fmsub_ps(_mm512_set1_ps(2.0f), m, _mm512_set1_ps(3.0f));
    z[i] = _mm512_permutex2var_ps(t.low[kDegree], b[i], t.high[kDegree]);
  }
  for (int k = kDegree - 1; k >= 0; --k)
    for (int i = 0; i < N; ++i) z[i] = _mm512_fmadd_ps(z[i], x[i], _mm512_permutex2var_ps(t.low[k], b[i], t.high[k]));
  for (int i = 0; i < N; ++i) {
    const __m512i sign = _mm512_and_si512(h[i], _mm512_set1_epi32(static_cast<int>(0x80000000u)));
    _mm512_storeu_ps(out[i], _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(z[i]), sign)));
  }
}

// N consecutive blocks from `block` into consecutive sixteens from `out`.
template <int N>
[[gnu::always_inline]] inline void normal_blocks_v(uint64_t key, uint64_t block, const VectorTables& t, float* out) {
  uint64_t blocks[N];
  float* outs[N];
  for (int i = 0; i < N; ++i) {
    blocks[i] = block + i;
    outs[i] = out + i * kBlock;
  }
  normal_blocks_v<N>(key, blocks, t, outs);
}
#elif defined(TXSIM_RNG_AVX2)
// AVX2 (no AVX-512: e.g. AMD Zen 2/3): normal_scalar eight lanes at a time; the same bits as
// the scalar path.
inline __m256i hash32_v8(__m256i x) {
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7FEB352D));
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(static_cast<int>(0x846CA68Bu)));
  return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
}

// x = 2m - 3 from v shifted so that its leading one is bit 31: m has the 23 bits below it.
inline __m256 mantissa_x(__m256i normalized) {
  const __m256i mant = _mm256_and_si256(_mm256_srli_epi32(normalized, 8), _mm256_set1_epi32(0x7FFFFF));
  const __m256 m = _mm256_castsi256_ps(_mm256_or_si256(mant, _mm256_set1_epi32(0x3F800000)));
  return _mm256_fmsub_ps(_mm256_set1_ps(2.0f), m, _mm256_set1_ps(3.0f));
}

// The hash bits of lanes k0..k0+7 of a block.
inline __m256i lane_hashes(uint32_t seed, uint32_t k0) {
  const __m256i lanes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(kLaneStep)));
  return hash32_v8(_mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(seed + k0 * kLaneStep)), lanes));
}

inline __m256 with_sign(__m256 z, __m256i h) {
  const __m256i sign = _mm256_and_si256(h, _mm256_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(z), sign));
}

// Any binade: the leading-zero count by a binary search, the coefficients by gathers.
inline __m256 normal8_any(__m256i h, const QuantileTables& t) {
  __m256i v = _mm256_or_si256(_mm256_slli_epi32(h, 1), _mm256_set1_epi32(1));
  __m256i b = _mm256_setzero_si256();
  for (int shift : {16, 8, 4, 2, 1}) {  // v is never 0: shift left while the top bits are 0
    const __m256i zero_top = _mm256_cmpeq_epi32(_mm256_srli_epi32(v, 32 - shift), _mm256_setzero_si256());
    b = _mm256_add_epi32(b, _mm256_and_si256(zero_top, _mm256_set1_epi32(shift)));
    v = _mm256_blendv_epi8(v, _mm256_slli_epi32(v, shift), zero_top);
  }
  const __m256 x = mantissa_x(v);
  __m256 z = _mm256_i32gather_ps(t.c[kDegree], b, 4);
  for (int k = kDegree - 1; k >= 0; --k) z = _mm256_fmadd_ps(z, x, _mm256_i32gather_ps(t.c[k], b, 4));
  return with_sign(z, h);
}

// N vectors of eight normals (vector i: lanes k0[i].. of the block seeded seed[i]), computed side
// by side so that their chains of FMAs overlap. The leading-zero count comes from the exponent
// of v >> 8 as a float (exact: under 2^24), b = 31 - 8 - floor(log2(v >> 8)), right for every
// lane whose top 24 bits are not all 0. Binades 0..7 hold all but 1/256 of the lanes: one
// in-register permute per coefficient, and the vectors with a lane elsewhere again by the
// general path.
template <int N>
[[gnu::always_inline]] inline void normals8(const uint32_t* seed, const uint32_t* k0, const QuantileTables& t, float* out) {
  __m256i h[N], v[N], b[N], deep = _mm256_setzero_si256();
  for (int i = 0; i < N; ++i) {
    h[i] = lane_hashes(seed[i], k0[i]);
    v[i] = _mm256_or_si256(_mm256_slli_epi32(h[i], 1), _mm256_set1_epi32(1));
    const __m256i top = _mm256_srli_epi32(v[i], 8);
    b[i] = _mm256_sub_epi32(_mm256_set1_epi32(127 + 23), _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(top)), 23));
    deep = _mm256_or_si256(deep, b[i]);
  }
  __m256 x[N], z[N];
  const __m256 top_coefficients = _mm256_load_ps(t.c[kDegree]);
  for (int i = 0; i < N; ++i) {
    x[i] = mantissa_x(_mm256_sllv_epi32(v[i], b[i]));
    z[i] = _mm256_permutevar8x32_ps(top_coefficients, b[i]);
  }
  for (int k = kDegree - 1; k >= 0; --k) {
    const __m256 coefficients = _mm256_load_ps(t.c[k]);
    for (int i = 0; i < N; ++i) z[i] = _mm256_fmadd_ps(z[i], x[i], _mm256_permutevar8x32_ps(coefficients, b[i]));
  }
  for (int i = 0; i < N; ++i) _mm256_storeu_ps(out + 8 * i, with_sign(z[i], h[i]));
  // A vector with a lane past binade 7 (one in 32) is done again by the general path.
  if (!_mm256_testz_si256(deep, _mm256_set1_epi32(~7)))
    for (int i = 0; i < N; ++i)
      if (!_mm256_testz_si256(b[i], _mm256_set1_epi32(~7))) _mm256_storeu_ps(out + 8 * i, normal8_any(h[i], t));
}

void normal_block(uint64_t key, uint64_t block, const QuantileTables& t, float* out) {
  const uint32_t seed = static_cast<uint32_t>(block_seed(key, block));
  const uint32_t seeds[2] = {seed, seed}, k0[2] = {0, 8};
  normals8<2>(seeds, k0, t, out);
}

// Two whole blocks: four vectors side by side.
void normal_block_pair(uint64_t key, uint64_t block, const QuantileTables& t, float* out) {
  const uint32_t s0 = static_cast<uint32_t>(block_seed(key, block)), s1 = static_cast<uint32_t>(block_seed(key, block + 1));
  const uint32_t seeds[4] = {s0, s0, s1, s1}, k0[4] = {0, 8, 0, 8};
  normals8<4>(seeds, k0, t, out);
}
#else
void normal_block(uint64_t key, uint64_t block, const QuantileTables& t, float* out) {
  const uint32_t seed = static_cast<uint32_t>(block_seed(key, block));
  for (uint32_t k = 0; k < kBlock; ++k) out[k] = normal_scalar(hash32(seed + k * kLaneStep), t);
}
#endif


}  // namespace

float normal_from_bits(uint32_t bits) { return normal_scalar(bits, tables()); }

float normal_at(uint64_t key, uint64_t i) {
  const uint32_t seed = static_cast<uint32_t>(block_seed(key, i / kBlock));
  return normal_from_bits(hash32(seed + static_cast<uint32_t>(i % kBlock) * kLaneStep));
}

void fill_normal(uint64_t key, uint64_t first, std::size_t n, float* out) {
  const QuantileTables& t = tables();
#ifdef TXSIM_RNG_AVX512
  const VectorTables vt(t);
#endif
  float tmp[kBlock];
#ifdef TXSIM_RNG_AVX512
  // Whole aligned blocks: four, then one, at a time.
  if (first % kBlock == 0) {
    for (; n >= 4 * kBlock; n -= 4 * kBlock, first += 4 * kBlock, out += 4 * kBlock) normal_blocks_v<4>(key, first / kBlock, vt, out);
    for (; n >= kBlock; n -= kBlock, first += kBlock, out += kBlock) normal_blocks_v<1>(key, first / kBlock, vt, out);
  }
#endif
#ifdef TXSIM_RNG_AVX2
  if (first % kBlock == 0)
    for (; n >= 2 * kBlock; n -= 2 * kBlock, first += 2 * kBlock, out += 2 * kBlock) normal_block_pair(key, first / kBlock, t, out);
#endif
  while (n > 0) {
    const uint64_t block = first / kBlock;
    const std::size_t offset = first % kBlock;
    const std::size_t take = std::min(kBlock - offset, n);
#ifdef TXSIM_RNG_AVX512
    if (take == kBlock) {
      normal_blocks_v<1>(key, block, vt, out);
    } else {
      normal_blocks_v<1>(key, block, vt, tmp);
      std::copy_n(tmp + offset, take, out);
    }
#else
    if (take == kBlock) {
      normal_block(key, block, t, out);
    } else {
      normal_block(key, block, t, tmp);
      std::copy_n(tmp + offset, take, out);
    }
#endif
    out += take;
    first += take;
    n -= take;
  }
}

void fill_normal_runs(uint64_t key, const uint64_t* firsts, std::size_t runs, std::size_t n, float* out) {
#ifdef TXSIM_RNG_AVX512
  // Runs of whole aligned blocks: their blocks four at a time, in any order (each block's
  // draws depend only on its index).
  bool aligned = n % kBlock == 0;
  for (std::size_t i = 0; aligned && i < runs; ++i) aligned = firsts[i] % kBlock == 0;
  if (aligned && n > 0) {
    const VectorTables vt(tables());
    const std::size_t per_run = n / kBlock, total = runs * per_run;
    constexpr int kSide = 4;
    uint64_t blocks[kSide];
    float* outs[kSide];
    int pending = 0;
    for (std::size_t q = 0; q < total; ++q) {
      const std::size_t run = q / per_run, j = q % per_run;
      blocks[pending] = firsts[run] / kBlock + j;
      outs[pending] = out + run * n + j * kBlock;
      if (++pending == kSide) {
        normal_blocks_v<kSide>(key, blocks, vt, outs);
        pending = 0;
      }
    }
    for (int i = 0; i < pending; ++i) normal_blocks_v<1>(key, blocks + i, vt, outs + i);
    return;
  }
#endif
  for (std::size_t i = 0; i < runs; ++i) fill_normal(key, firsts[i], n, out + i * n);
}

}  // namespace txsim
