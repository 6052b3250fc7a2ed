// MappedMatrix, pulse-train updates (aihwkit-style stochastic pulses): every row's trains, their
// coincidences counted per device, and linear devices' counts applied once per group of rows.
#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "txsim/parallel.h"
#include "txsim/rng.h"
#include "txsim/update_model.h"
#include "txsim/wide_vectors.h"

namespace txsim {

namespace {

// Pulse trains of `bits` Bernoulli(p[k]) draws for n lines: each 32-bit hash gives two 16-bit
// uniforms. The loop over lines is innermost and branch-free, so it vectorizes.
TXSIM_WIDE_VECTORS void pulse_trains(const float* p, int n, int bits, uint64_t key, uint32_t* seeds, uint32_t* thresholds, uint32_t* out) {
  const uint32_t base = static_cast<uint32_t>(key), salt = static_cast<uint32_t>(key >> 32);
  for (int k = 0; k < n; ++k) {
    seeds[k] = hash32(base + static_cast<uint32_t>(k) * 0x9E3779B9u) ^ salt;
    thresholds[k] = static_cast<uint32_t>(std::min(1.0f, p[k]) * 65536.0f);
    out[k] = 0;
  }
  for (int b = 0; b < bits; b += 2) {
    const uint32_t step = static_cast<uint32_t>(b) * 0x85EBCA6Bu;
    const uint32_t second = b + 1 < bits ? 1u : 0u;
    for (int k = 0; k < n; ++k) {
      const uint32_t h = hash32(seeds[k] + step);
      out[k] |= static_cast<uint32_t>((h & 0xFFFFu) < thresholds[k]) << b;
      out[k] |= (static_cast<uint32_t>((h >> 16) < thresholds[k]) & second) << ((b + 1) & 31);
    }
  }
}
// One input's coincidences with every output's train, added to the devices' counters. Signs are
// 16-bit masks (0 or 0xFFFF), so the direction is one XOR. Restrict pointers spare alias checks.
TXSIM_WIDE_VECTORS void count_coincidences_scalar(uint32_t xi, uint16_t x_neg, const uint32_t* __restrict b, const uint16_t* __restrict neg,
                               int n, uint16_t* __restrict up, uint16_t* __restrict down) {
  for (int j = 0; j < n; ++j) {
    const uint16_t c = static_cast<uint16_t>(__builtin_popcount(xi & b[j]));
    const uint16_t weight_up = static_cast<uint16_t>(x_neg ^ neg[j]);  // -sign(x) sign(d) > 0
    up[j] = static_cast<uint16_t>(up[j] + (c & weight_up));
    down[j] = static_cast<uint16_t>(down[j] + (c & ~weight_up));
  }
}

#if defined(__AVX2__) && !defined(__AVX512VPOPCNTDQ__)
// Without a vector popcount (AVX2 CPUs), GCC leaves the loop above scalar. Bytes are counted by
// a 16-entry nibble table (pshufb), byte pairs summed into 16-bit halves, halves into words.
inline __m256i popcount_bytes(__m256i v) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i low = _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble));
  const __m256i high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
  return _mm256_add_epi8(low, high);
}

void count_coincidences(uint32_t xi, uint16_t x_neg, const uint32_t* __restrict b, const uint16_t* __restrict neg, int n,
                        uint16_t* __restrict up, uint16_t* __restrict down) {
  const __m256i x = _mm256_set1_epi32(static_cast<int>(xi));
  const __m256i x_mask = _mm256_set1_epi16(static_cast<short>(x_neg));
  const __m256i ones = _mm256_set1_epi8(1);
  int j = 0;
  for (; j + 16 <= n; j += 16) {  // 16 outputs: two vectors of trains, one of 16-bit counters
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j + 8));
    const __m256i h0 = _mm256_maddubs_epi16(popcount_bytes(_mm256_and_si256(x, b0)), ones);
    const __m256i h1 = _mm256_maddubs_epi16(popcount_bytes(_mm256_and_si256(x, b1)), ones);
    // hadd sums each word's halves, 128-bit lane by lane: (h0 lo, h1 lo | h0 hi, h1 hi), so the
    // middle quarters swap back into output order.
    const __m256i c = _mm256_permute4x64_epi64(_mm256_hadd_epi16(h0, h1), 0xD8);
    const __m256i weight_up = _mm256_xor_si256(x_mask, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(neg + j)));
    __m256i* u = reinterpret_cast<__m256i*>(up + j);
    __m256i* dn = reinterpret_cast<__m256i*>(down + j);
    _mm256_storeu_si256(u, _mm256_add_epi16(_mm256_loadu_si256(u), _mm256_and_si256(c, weight_up)));
    _mm256_storeu_si256(dn, _mm256_add_epi16(_mm256_loadu_si256(dn), _mm256_andnot_si256(weight_up, c)));
  }
  count_coincidences_scalar(xi, x_neg, b + j, neg + j, n - j, up + j, down + j);
}
#else
// With AVX-512 VPOPCNTDQ (or no AVX2 at all) the compiler's own loop is the one to run.
void count_coincidences(uint32_t xi, uint16_t x_neg, const uint32_t* __restrict b, const uint16_t* __restrict neg, int n,
                        uint16_t* __restrict up, uint16_t* __restrict down) {
  count_coincidences_scalar(xi, x_neg, b, neg, n, up, down);
}
#endif

// The constants of one flush of linear devices' counts.
struct LinearPulses {
  double unit, up_factor, down_factor, noise_unit, g_min, g_max;
};
// Applies n devices' counts at once (pulses commute on linear devices): n_up (1 + a) - n_down (1 - a)
// steps on G+, the mirror on G-, and the write noise of all n_up + n_down pulses as one draw per
// device (z: both planes' normals interleaved). Clears the counters; returns the pulses applied.
// Restrict pointers and no branches: vectorizes.
template <bool kNoise>
TXSIM_WIDE_VECTORS uint64_t apply_linear_pulses(const LinearPulses& c, std::size_t n, uint16_t* __restrict n_up, uint16_t* __restrict n_down,
                             const float* __restrict step_scale, const float* __restrict z, const uint8_t* __restrict stuck_p,
                             const uint8_t* __restrict stuck_n, double* __restrict gp, double* __restrict gn) {
  const double unit = c.unit, up_factor = c.up_factor, down_factor = c.down_factor, noise_unit = c.noise_unit;
  const double g_min = c.g_min, g_max = c.g_max;
  uint64_t pulses = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double up = n_up[k], down = n_down[k];
    pulses += static_cast<uint32_t>(n_up[k]) + n_down[k];
    const double noise = kNoise ? noise_unit * std::sqrt(up + down) : 0.0;
    const double zp = kNoise ? z[2 * k] : 0.0, zn = kNoise ? z[2 * k + 1] : 0.0;
    const double vp = gp[k] + unit * step_scale[2 * k] * (up * up_factor - down * down_factor) + noise * zp;
    const double vn = gn[k] + unit * step_scale[2 * k + 1] * (down * up_factor - up * down_factor) + noise * zn;
    gp[k] = stuck_p[k] ? gp[k] : std::clamp(vp, g_min, g_max);
    gn[k] = stuck_n[k] ? gn[k] : std::clamp(vn, g_min, g_max);
    n_up[k] = n_down[k] = 0;
  }
  return pulses;
}

}  // namespace

uint64_t MappedMatrix::pulsed_update(const float* x, const float* d, int rows, double lr, int bit_length,
                                     const UpdateConfig& u, uint64_t key) {
  if (!analog_cells())
    throw std::invalid_argument("MappedMatrix::pulsed_update: needs one slice per weight and differential mapping");
  if (bit_length < 1 || bit_length > 32) throw std::invalid_argument("MappedMatrix::pulsed_update: bit_length must be 1..32");
  if (!(s_.w_scale > 0)) throw std::invalid_argument("MappedMatrix::pulsed_update: program the layer first");
  const double step = prepare_pulses(u);
  const double dw_min = 2 * step * s_.w_scale;  // one pulse on the pair: G+ one step up, G- one down
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  // Linear devices: pulses commute (up to clipping at the bounds within one batch), so the
  // coincidences of all rows are counted first, per device and direction, and applied once:
  // n_up (1 + a) - n_down (1 - a) steps, and the write noise of all n_up + n_down pulses as one
  // draw. Other models apply each row's pulses in order.
  const bool batched = u.kind == UpdateKind::Linear;
  planes_follow_codes_ = false;
  double* gp = s_.planes[0].mutable_conductances();
  double* gn = s_.planes[1].mutable_conductances();
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const uint8_t* stuck_p = s_.planes[0].faults();
  const uint8_t* stuck_n = s_.planes[1].faults();
  // Rows are taken in groups: first every row's pulse trains (parallel over rows), then the
  // coincidences (parallel over blocks of inputs: each device belongs to one thread, and a
  // block's counters stay in L1 while the group's rows stream by), and, for linear devices, the
  // block's counts applied at the end of the group. Every draw is keyed by row and device, so
  // the result does not depend on the number of threads.
  const int group_rows = std::min(rows, 256);  // uint16 counters: at most 32 pulses per row
  const std::size_t group_in = static_cast<std::size_t>(group_rows) * in_, group_out = static_cast<std::size_t>(group_rows) * out_;
  std::vector<uint32_t> bx(group_in), bd(group_out);
  std::vector<uint16_t> x_negative(group_in), d_negative(group_out);  // signs as masks: 0 or 0xFFFF
  // The counters, kept per calling thread and left at zero by every flush (a fresh megabyte per
  // call, zeroed and first-touched, cost more than a small batch's coincidences); zeroed again
  // after a call that did not finish. References, because the loops below run on other threads.
  thread_local std::vector<uint16_t> kept_up, kept_down;
  thread_local bool kept_zero = true;
  std::vector<uint16_t>& n_up = kept_up;
  std::vector<uint16_t>& n_down = kept_down;
  if (batched && (n_up.size() < count || !kept_zero)) {
    n_up.assign(count, 0);
    n_down.assign(count, 0);
  }
  kept_zero = false;
  constexpr int kBlock = 16;  // inputs per block: 16 x 512 outputs x 2 counters x 2 bytes = 32 KB
  const int blocks = (in_ + kBlock - 1) / kBlock;
  const LinearPulses lp{step * span, 1 + u.asymmetry, 1 - u.asymmetry, u.write_noise * step * span, g_min, g_min + span};
  uint64_t events = 0;
  std::atomic<uint64_t> events_total{0};  // counts are summed, so any order gives the same
  for (int first = 0; first < rows; first += group_rows) {
    const int group = std::min(group_rows, rows - first);
    // Each row's pulse trains (parallel over rows), then the coincidences (over blocks of inputs).
    parallel_for(group, 8, [&](std::size_t g0, std::size_t g1) {
      std::vector<float> px(in_), pd(out_);
      std::vector<uint32_t> seeds(std::max(in_, out_)), thresholds(std::max(in_, out_));
      for (int g = static_cast<int>(g0); g < static_cast<int>(g1); ++g) {
        const int r = first + g;
        const float* xr = x + static_cast<std::size_t>(r) * in_;
        const float* dr = d + static_cast<std::size_t>(r) * out_;
        uint32_t* bxr = bx.data() + static_cast<std::size_t>(g) * in_;
        uint32_t* bdr = bd.data() + static_cast<std::size_t>(g) * out_;
        float mx = 0, md = 0;
        for (int i = 0; i < in_; ++i) mx = std::max(mx, std::fabs(xr[i]));
        for (int j = 0; j < out_; ++j) md = std::max(md, std::fabs(dr[j]));
        if (mx == 0 || md == 0) {
          std::fill(bxr, bxr + in_, 0u);
          continue;
        }
        // E[coincidences] = bits px pd = lr |x| |d| / dw_min, with px and pd scaled alike.
        const double gain = std::sqrt(lr / (dw_min * bit_length) * mx * md);
        for (int i = 0; i < in_; ++i) {
          px[i] = static_cast<float>(gain * std::fabs(xr[i]) / mx);
          x_negative[static_cast<std::size_t>(g) * in_ + i] = xr[i] < 0 ? 0xFFFF : 0;
        }
        for (int j = 0; j < out_; ++j) {
          pd[j] = static_cast<float>(gain * std::fabs(dr[j]) / md);
          d_negative[static_cast<std::size_t>(g) * out_ + j] = dr[j] < 0 ? 0xFFFF : 0;
        }
        const uint64_t row_key = derive_key(key, static_cast<uint64_t>(r));
        pulse_trains(px.data(), in_, bit_length, derive_key(row_key, 1), seeds.data(), thresholds.data(), bxr);
        pulse_trains(pd.data(), out_, bit_length, derive_key(row_key, 2), seeds.data(), thresholds.data(), bdr);
      }
    });
    // Linear devices' write noise, one draw per device and group (keyed by device, whichever
    // block applies it).
    const uint64_t flush_key = derive_key(key, 0xF100 + static_cast<uint64_t>(first / group_rows));
    // Coincidences, one block of inputs at a time (a block's devices are its own), then, for
    // linear devices, the block's counts applied while they are in L1.
    parallel_for(blocks, 1, [&](std::size_t block0, std::size_t block1) {
      uint64_t block_events = 0;
      std::vector<float> z;
      for (int block = static_cast<int>(block0); block < static_cast<int>(block1); ++block) {
        const int i_end = std::min(in_, (block + 1) * kBlock);
        for (int g = 0; g < group; ++g) {
          const uint32_t* b = bd.data() + static_cast<std::size_t>(g) * out_;
          const uint16_t* neg = d_negative.data() + static_cast<std::size_t>(g) * out_;
          const uint64_t row_key = derive_key(key, static_cast<uint64_t>(first + g));
          for (int i = block * kBlock; i < i_end; ++i) {
            const uint32_t xi = bx[static_cast<std::size_t>(g) * in_ + i];
            if (!xi) continue;
            const uint16_t x_neg = x_negative[static_cast<std::size_t>(g) * in_ + i];
            const std::size_t base = static_cast<std::size_t>(i) * out_;
            if (batched) {  // branch-free over the outputs: vectorizes (popcount, masks)
              count_coincidences(xi, x_neg, b, neg, out_, n_up.data() + base, n_down.data() + base);
              continue;
            }
            // Other models: each row's pulses in row order, device by device.
            for (int j = 0; j < out_; ++j) {
              const int n = __builtin_popcount(xi & b[j]);
              if (n == 0) continue;
              block_events += n;
              const bool up = (x_neg ^ neg[j]) != 0;
              const std::size_t k = base + j;
              const uint64_t h = mix64(row_key ^ (k * 0x9E3779B97F4A7C15ULL));
              const double zp = u.write_noise > 0 ? normal_from_bits(static_cast<uint32_t>(h)) : 0.0;
              const double zn = u.write_noise > 0 ? normal_from_bits(static_cast<uint32_t>(h >> 32)) : 0.0;
              if (!stuck_p[k]) gp[k] = g_min + span * apply_pulses(u, step, (gp[k] - g_min) / span, n, up, s_.step_scale[2 * k], zp, nl_scale(2 * k));
              if (!stuck_n[k]) gn[k] = g_min + span * apply_pulses(u, step, (gn[k] - g_min) / span, n, !up, s_.step_scale[2 * k + 1], zn, nl_scale(2 * k + 1));
            }
          }
        }
        if (!batched) continue;
        const std::size_t k0 = static_cast<std::size_t>(block) * kBlock * out_, n = static_cast<std::size_t>(i_end) * out_ - k0;
        if (u.write_noise > 0) {
          z.resize(2 * n);
          fill_normal(flush_key, 2 * k0, 2 * n, z.data());
          block_events += apply_linear_pulses<true>(lp, n, n_up.data() + k0, n_down.data() + k0, s_.step_scale.data() + 2 * k0,
                                                    z.data(), stuck_p + k0, stuck_n + k0, gp + k0, gn + k0);
        } else {
          block_events += apply_linear_pulses<false>(lp, n, n_up.data() + k0, n_down.data() + k0, s_.step_scale.data() + 2 * k0,
                                                     nullptr, stuck_p + k0, stuck_n + k0, gp + k0, gn + k0);
        }
      }
      events_total += block_events;
    });
    events += events_total.exchange(0);
  }
  kept_zero = true;
  invalidate_effective();
  // Each coincidence pulses both devices of its pair; every crossbar takes each row's trains at
  // once, one slot per bit.
  activity_.program_pulses += 2 * events;
  activity_.program_slots += static_cast<uint64_t>(rows) * bit_length;
  return events;
}

}  // namespace txsim
