// MappedMatrix, programming: weights to devices (write-verify, centered pairs), updates by pulse
// counts, and the programming activity they charge (pulse-train updates: mapped_matrix_pulses.cpp).
#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "txsim/parallel.h"
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
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const double g_min = config_.device.g_min;
  const double unit = digit_step();
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
  invalidate_effective();
  planes_follow_codes_ = true;
}

void MappedMatrix::program_changed(const std::vector<std::vector<uint32_t>>& changed) {
  const double g_min = config_.device.g_min;
  const double unit = digit_step();
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
  invalidate_effective(changed);
}

void MappedMatrix::invalidate_effective(const std::vector<std::vector<uint32_t>>& devices) {
  forward_.valid = backward_.valid = false;
  if (solved_.empty()) return;  // nothing kept yet: every crossbar is solved at the next build
  const ArrayConfig& a = config_.crossbar;
  const std::size_t planes = s_.planes.size();  // slices x polarities, the crossbars of a tile
  for (std::size_t p = 0; p < devices.size(); ++p)
    for (const uint32_t d : devices[p]) {
      const int i = static_cast<int>(d / out_), o = static_cast<int>(d % out_);
      const std::size_t tile = static_cast<std::size_t>(i / a.rows) * col_tiles_ + o / a.weight_cols();
      Changed& c = solved_[tile * planes + p].since_check;
      if (c == Changed::Nothing) c = Changed::Listed;
    }
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
  invalidate_effective();
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
      invalidate_effective();
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
  invalidate_effective();
}

}  // namespace txsim
