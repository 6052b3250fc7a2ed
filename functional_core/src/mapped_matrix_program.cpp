// MappedMatrix, programming: weights to devices (write-verify, centered pairs), updates by pulse
// counts and by stochastic pulse trains, and the programming activity they charge.
#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include <cblas.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "txsim/parallel.h"
#include "txsim/parasitics.h"
#include "txsim/periphery.h"
#include "txsim/rng.h"

namespace txsim {

void MappedMatrix::program(const float* w, float w_scale, const uint64_t* rounding_key) {
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  float scale = w_scale;
  if (!(scale >= 0 && std::isfinite(scale)))
    throw std::invalid_argument("MappedMatrix::program: w_scale must be finite and >= 0");
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(w[i])) throw std::invalid_argument("MappedMatrix::program: weight " + std::to_string(i) +
                                                          " is not finite");
    if (w_scale == 0) scale = std::max(scale, std::fabs(w[i]));
  }
  const int q_max = this->q_max();
  s_.w_step = scale > 0 ? scale / q_max : 0.0f;
  s_.w_scale = scale;
  const float to_int = scale > 0 ? q_max / scale : 0.0f;

  s_.codes.resize(count);
  for (std::size_t w_idx = 0; w_idx < count; ++w_idx) {
    // Weights beyond +-w_scale saturate at the largest code: the chosen weight range.
    const float code = w[w_idx] * to_int;
    const float rounded = rounding_key ? std::floor(code + static_cast<float>(uniform01(*rounding_key, w_idx)))
                                       : std::nearbyint(code);
    s_.codes[w_idx] = static_cast<int32_t>(std::clamp(rounded, float(-q_max), float(q_max)));
  }
  program_codes();
}

void MappedMatrix::charge_row_serial(const std::vector<uint32_t>& row_max) {
  const int rows = config_.crossbar.rows, planes = static_cast<int>(row_max.size() / (static_cast<std::size_t>(in_) * col_tiles_));
  uint64_t slowest = 0;
  for (int p = 0; p < planes; ++p)
    for (int rt = 0; rt < row_tiles_; ++rt)
      for (int ct = 0; ct < col_tiles_; ++ct) {
        uint64_t slots = 0;
        for (int i = rt * rows; i < std::min(in_, (rt + 1) * rows); ++i)
          slots += row_max[(static_cast<std::size_t>(p) * in_ + i) * col_tiles_ + ct];
        slowest = std::max(slowest, slots);
      }
  activity_.program_slots += slowest;
}

void MappedMatrix::program_codes() {
  const ArrayConfig& a = config_.crossbar;
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const double g_min = config_.device.g_min;
  const double unit = (config_.device.g_max - config_.device.g_min) / ((1 << a.bits_per_cell) - 1);
  const int pols = polarities();
  // One device plane (slice s, polarity) per item: its targets from the codes, then programmed.
  parallel_for(s_.planes.size(), 1, [&](std::size_t p0, std::size_t p1) {
    std::vector<double> target(count);
    for (std::size_t p = p0; p < p1; ++p) {
      const int s = static_cast<int>(p) / pols, polarity = static_cast<int>(p) % pols;
      // Codes are (out x in), devices (in x out): blocks of 16 inputs keep both sides in cache.
      // The other polarity's device of a pair holds digit 0.
      for (int i0 = 0; i0 < in_; i0 += 16)
        for (int o = 0; o < out_; ++o)
          for (int i = i0; i < std::min(in_, i0 + 16); ++i)
            target[static_cast<std::size_t>(i) * out_ + o] =
                g_min + digit(s_.codes[static_cast<std::size_t>(o) * in_ + i], s, polarity) * unit;
      s_.planes[p].program(target.data());
    }
  });
  forward_.valid = backward_.valid = false;
  planes_follow_codes_ = true;
}

void MappedMatrix::program_changed(const std::vector<std::vector<uint32_t>>& changed) {
  const double g_min = config_.device.g_min;
  const double unit = (config_.device.g_max - config_.device.g_min) / ((1 << config_.crossbar.bits_per_cell) - 1);
  const int pols = polarities();
  parallel_for(s_.planes.size(), 1, [&](std::size_t p0, std::size_t p1) {
    std::vector<double> target;
    for (std::size_t p = p0; p < p1; ++p) {
      const int s = static_cast<int>(p) / pols, polarity = static_cast<int>(p) % pols;
      const std::vector<uint32_t>& devices = changed[p];
      target.resize(devices.size());
      for (std::size_t j = 0; j < devices.size(); ++j) {
        const std::size_t i = devices[j] / out_, o = devices[j] % out_;  // devices are (in x out)
        target[j] = g_min + digit(s_.codes[o * in_ + i], s, polarity) * unit;
      }
      s_.planes[p].program(devices.data(), target.data(), devices.size());
    }
  });
  forward_.valid = backward_.valid = false;
}

namespace {
// Pulse trains of `bits` Bernoulli(p[k]) draws for n lines: each 32-bit hash gives two 16-bit
// uniforms. The loop over lines is innermost and branch-free, so it vectorizes.
void pulse_trains(const float* p, int n, int bits, uint64_t key, uint32_t* seeds, uint32_t* thresholds, uint32_t* out) {
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
void count_coincidences_scalar(uint32_t xi, uint16_t x_neg, const uint32_t* __restrict b, const uint16_t* __restrict neg,
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
uint64_t apply_linear_pulses(const LinearPulses& c, std::size_t n, uint16_t* __restrict n_up, uint16_t* __restrict n_down,
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
    // Linear devices: pulses commute (up to clipping at the bounds within one group), so each
    // device's counts are applied at once when the group's rows are counted: n_up (1 + a) -
    // n_down (1 - a) steps, and the write noise of all n_up + n_down pulses as one draw (keyed
    // by device, whichever block applies it).
    const uint64_t flush_key = derive_key(key, 0xF100 + static_cast<uint64_t>(first / group_rows));
    const LinearPulses lp{step * span, 1 + u.asymmetry, 1 - u.asymmetry, u.write_noise * step * span, g_min, g_min + span};
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
  forward_.valid = backward_.valid = false;
  // Each coincidence pulses both devices of its pair; every crossbar takes each row's trains at
  // once, one slot per bit.
  activity_.program_pulses += 2 * events;
  activity_.program_slots += static_cast<uint64_t>(rows) * bit_length;
  return events;
}

double MappedMatrix::prepare_pulses(const UpdateConfig& u) {
  check_update(u, "update");
  if (s_.step_scale.empty()) {
    // One factor per device: device order, the planes of one weight side by side (a pair: G+, G-).
    s_.step_scale.assign(s_.planes.size() * in_ * out_, 1.0f);
    if (u.nl_d2d > 0) {
      s_.nl_scale.resize(s_.step_scale.size());
      fill_normal(derive_key(s_.key, 0xD2E), 0, s_.nl_scale.size(), s_.nl_scale.data());
      // Floor at 0.1: a nonlinearity cannot change sign (A > 0), nor become 10x stronger.
      for (float& s : s_.nl_scale) s = std::max(0.1f, 1.0f + static_cast<float>(u.nl_d2d) * s);
    }
    if (u.step_d2d > 0) {
      fill_normal(derive_key(s_.key, 0xD2D), 0, s_.step_scale.size(), s_.step_scale.data());
      for (float& s : s_.step_scale) s = std::max(0.0f, 1.0f + static_cast<float>(u.step_d2d) * s);
    }
  }
  const int levels = config_.device.levels_for(config_.crossbar.bits_per_cell);
  if (u.pulses == 0 && u.kind == UpdateKind::Measured) return 1.0 / u.measured->ltp_pulses();
  return 1.0 / (u.pulses > 0 ? u.pulses : levels - 1);
}

void MappedMatrix::pulse_device(const UpdateConfig& u, double step, std::size_t p, int i, int o, double n, bool up,
                                std::size_t f, double z) {
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  DeviceArray& plane = s_.planes[p];
  const double x = (plane.conductance(i, o) - g_min) / span;
  plane.set(i, o, g_min + span * apply_pulses(u, step, x, n, up, s_.step_scale[f], z, nl_scale(f)));
}

void MappedMatrix::program_centered(const float* w, float w_scale) {
  const ArrayConfig& a = config_.crossbar;
  if (!analog_cells())
    throw std::invalid_argument("MappedMatrix::program_centered: needs one slice per weight and differential mapping");
  if (!(w_scale > 0 && std::isfinite(w_scale))) throw std::invalid_argument("MappedMatrix::program_centered: w_scale must be > 0");
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const int q_max = (1 << a.weight_bits) - 1;
  s_.w_step = w_scale / q_max;
  s_.w_scale = w_scale;
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  std::vector<double> pos(count), neg(count);
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i) {
      const float v = w[static_cast<std::size_t>(o) * in_ + i];
      if (!std::isfinite(v)) throw std::invalid_argument("MappedMatrix::program_centered: weight is not finite");
      const double half = 0.5 * std::clamp(v / w_scale, -1.0f, 1.0f);
      pos[static_cast<std::size_t>(i) * out_ + o] = g_min + span * (0.5 + half);
      neg[static_cast<std::size_t>(i) * out_ + o] = g_min + span * (0.5 - half);
    }
  s_.planes[0].program(pos.data());
  s_.planes[1].program(neg.data());
  forward_.valid = backward_.valid = false;
  planes_follow_codes_ = false;
}

void MappedMatrix::update(const float* dw, const UpdateConfig& u, uint64_t key) {
  if (!(s_.w_scale > 0)) throw std::invalid_argument("MappedMatrix::update: program the layer first");
  for (std::size_t k = 0, n = static_cast<std::size_t>(in_) * out_; k < n; ++k)
    if (!std::isfinite(dw[k])) throw NonFiniteInput("MappedMatrix::update: change [" + std::to_string(k) + "] is not finite");
  if (!analog_cells()) {  // read-modify-write of the codes
    const ArrayConfig& a = config_.crossbar;
    const int q_max = this->q_max();
    const uint64_t rounding = derive_key(key, 3), noise_key = derive_key(key, 1);
    const double to_codes = 1.0 / s_.w_step;
    const int cols = a.weight_cols();
    const std::size_t planes = s_.planes.size();
    // Open loop: one digit is 1 / (2^bits_per_cell - 1) of the range, as the reads decode it
    // (whatever levels the device has), pulses_per_digit nominal pulses.
    const double step = u.sliced_pulses ? prepare_pulses(u) : 0.0;
    const double pulses_per_digit = u.sliced_pulses ? 1.0 / (step * ((1 << a.bits_per_cell) - 1)) : 0.0;
    std::vector<uint32_t> row_max(planes * in_ * col_tiles_, 0);
    // A column tile per item: its devices, and its row_max entries, are its own; the counts are
    // drawn by weight index, so the split changes nothing.
    std::vector<uint64_t> tile_pulses(col_tiles_, 0);
    // Without pulses the devices are reprogrammed from the codes: only those whose digit moved,
    // when the planes hold exactly the codes' programming (each device's programming depends on
    // its own target alone, so the others would come out as they are).
    if (u.sliced_pulses) planes_follow_codes_ = false;
    const bool incremental = planes_follow_codes_;
    std::vector<std::vector<uint32_t>> changed(incremental ? col_tiles_ * planes : 0);  // per (tile, plane)
    parallel_for(col_tiles_, 1, [&](std::size_t t0, std::size_t t1) {
      for (int o = static_cast<int>(t0) * cols; o < std::min(out_, static_cast<int>(t1) * cols); ++o)
        for (int i = 0; i < in_; ++i) {
          const std::size_t k = static_cast<std::size_t>(o) * in_ + i;
          const int before = s_.codes[k];
          const double moved = std::floor(before + dw[k] * to_codes + uniform01(rounding, k));
          s_.codes[k] = static_cast<int32_t>(std::clamp(moved, double(-q_max), double(q_max)));
          if (s_.codes[k] == before) continue;
          // Each device moves by its change of digit: one digit's pulses per digit.
          const std::size_t device = static_cast<std::size_t>(i) * out_ + o;
          for (int s = 0; s < a.slices(); ++s)
            for (int pol = 0; pol < polarities(); ++pol) {
              const int change = digit(s_.codes[k], s, pol) - digit(before, s, pol);
              if (change == 0) continue;
              const std::size_t p = static_cast<std::size_t>(s * polarities() + pol);
              const double n = std::abs(change) * (u.sliced_pulses ? pulses_per_digit : 1.0);
              if (u.sliced_pulses) {
                const std::size_t f = device * planes + p;  // this device's factors and noise draw
                pulse_device(u, step, p, i, o, n, change > 0, f, u.write_noise > 0 ? normal_at(noise_key, f) : 0.0);
              }
              if (incremental) changed[(o / cols) * planes + p].push_back(static_cast<uint32_t>(device));
              const uint32_t pulses = static_cast<uint32_t>(std::nearbyint(n));
              tile_pulses[o / cols] += pulses;
              uint32_t& m = row_max[(p * in_ + i) * col_tiles_ + o / cols];
              m = std::max(m, pulses);
            }
        }
    });
    for (uint64_t n : tile_pulses) activity_.program_pulses += n;
    charge_row_serial(row_max);
    if (u.sliced_pulses) {
      forward_.valid = backward_.valid = false;
    } else if (incremental) {
      std::vector<std::vector<uint32_t>> per_plane(planes);
      for (std::size_t p = 0; p < planes; ++p)
        for (int t = 0; t < col_tiles_; ++t) {
          const std::vector<uint32_t>& c = changed[static_cast<std::size_t>(t) * planes + p];
          per_plane[p].insert(per_plane[p].end(), c.begin(), c.end());
        }
      program_changed(per_plane);
    } else {
      program_codes();
    }
    return;
  }
  const double step = prepare_pulses(u);
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  if (u.mixed_precision && s_.carry.size() != count) s_.carry.assign(count, 0.0f);
  const uint64_t noise_key = derive_key(key, 1), round_key = derive_key(key, 2);
  DeviceArray& pos = s_.planes[0];
  DeviceArray& neg = s_.planes[1];
  const int cols = config_.crossbar.weight_cols();
  std::vector<uint32_t> row_max(2 * static_cast<std::size_t>(in_) * col_tiles_, 0);
  auto charge = [&](int plane, int i, int o, double n) {
    // Counts saturate rather than overflow (a diverging run can ask for absurd pulse counts).
    const double counted = std::min(n, double(std::numeric_limits<uint32_t>::max()));
    activity_.program_pulses += static_cast<uint64_t>(counted);
    uint32_t& m = row_max[(static_cast<std::size_t>(plane) * in_ + i) * col_tiles_ + o / cols];
    m = std::max(m, static_cast<uint32_t>(counted));
  };
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i) {
      const std::size_t w_idx = static_cast<std::size_t>(o) * in_ + i;
      // Pulses per device: the change in normalized units, in nominal steps (half of it each
      // when both devices move).
      double want = (u.one_sided ? 1.0 : 0.5) * dw[w_idx] / s_.w_scale / step + (u.mixed_precision ? s_.carry[w_idx] : 0.0);
      const double magnitude = std::fabs(want);
      double n = std::floor(magnitude);
      if (u.stochastic && !u.mixed_precision) n += uniform01(round_key, w_idx) < magnitude - n ? 1 : 0;
      else if (!u.mixed_precision) n = std::nearbyint(magnitude);
      if (u.mixed_precision) s_.carry[w_idx] = static_cast<float>(want - std::copysign(n, want));
      if (n == 0) continue;
      const bool up = want > 0;
      const double zp = u.write_noise > 0 ? normal_at(noise_key, 2 * w_idx) : 0.0;
      const double zn = u.write_noise > 0 ? normal_at(noise_key, 2 * w_idx + 1) : 0.0;
      const double xp = (pos.conductance(i, o) - g_min) / span, xn = (neg.conductance(i, o) - g_min) / span;
      const std::size_t k = static_cast<std::size_t>(i) * out_ + o;  // device order
      if (u.one_sided) {
        // The holder is the device above the other (at a tie, the one the change raises); it
        // saturates at g_min when the weight would cross zero, and the next update hands over.
        const bool positive_holds = xp > xn || (xp == xn && up);
        if (positive_holds) pulse_device(u, step, 0, i, o, n, up, 2 * k, zp);
        else pulse_device(u, step, 1, i, o, n, !up, 2 * k + 1, zn);
        charge(positive_holds ? 0 : 1, i, o, n);
        continue;
      }
      pulse_device(u, step, 0, i, o, n, up, 2 * k, zp);
      pulse_device(u, step, 1, i, o, n, !up, 2 * k + 1, zn);
      charge(0, i, o, n);
      charge(1, i, o, n);
    }
  charge_row_serial(row_max);
  forward_.valid = backward_.valid = false;
}

}  // namespace txsim
