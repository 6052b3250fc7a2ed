#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <stdexcept>
#include <string>

#include <cblas.h>
#include <omp.h>

#include "txsim/parasitics.h"
#include "txsim/periphery.h"
#include "txsim/rng.h"

namespace txsim {
namespace {

int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

void IdealCircuit::effective(const double* g, int rows, int cols, Direction, double* eff) const {
  std::copy(g, g + static_cast<std::size_t>(rows) * cols, eff);
}

MappedMatrix::MappedMatrix(const CrossbarConfig& config, int in, int out, uint64_t seed, uint64_t layer,
                           std::shared_ptr<const CircuitModel> circuit)
    : config_(config), in_(in), out_(out), key_(derive_key(seed, layer)), circuit_(std::move(circuit)) {
  validate(config_);
  const CircuitConfig& k = config_.circuit;
  if (!circuit_)
    circuit_ = k.model == ParasiticModel::None && k.iv == IvKind::Linear
                   ? std::shared_ptr<const CircuitModel>(std::make_shared<IdealCircuit>())
                   : ParasiticCircuit::from(config_);
  if (k.refresh_every > 1) fast_circuit_ = ParasiticCircuit::from(config_, ParasiticModel::FirstOrder);
  if (in < 1 || out < 1)
    throw std::invalid_argument("MappedMatrix: shape " + std::to_string(out) + "x" + std::to_string(in) +
                                ": both dimensions must be >= 1");
  const ArrayConfig& a = config_.crossbar;
  row_tiles_ = ceil_div(in, a.rows);
  col_tiles_ = ceil_div(out, a.weight_cols());
  const int levels = config_.device.levels_for(a.bits_per_cell);
  for (int s = 0; s < a.slices(); ++s)
    for (int p = 0; p < polarities(); ++p)
      planes_.emplace_back(config_.device, in, out, levels, derive_key(key_, 100 + s * polarities() + p));
  if (a.mapping == Mapping::Offset) {
    // The reference column holds the digits of the offset 2^(weight_bits-1): zero weight.
    const double unit = (config_.device.g_max - config_.device.g_min) / ((1 << a.bits_per_cell) - 1);
    for (int s = 0; s < a.slices(); ++s) {
      references_.emplace_back(config_.device, in, col_tiles_, levels, derive_key(key_, 1000 + s));
      const int level = digit(0, s, 0);
      references_.back().program(
          std::vector<double>(static_cast<std::size_t>(in) * col_tiles_, config_.device.g_min + level * unit).data());
    }
  }
  program(std::vector<float>(static_cast<std::size_t>(in) * out, 0.0f).data());
}

const DeviceArray& MappedMatrix::plane(int slice, int polarity) const {
  if (slice < 0 || slice >= config_.crossbar.slices() || polarity < 0 || polarity >= polarities())
    throw std::out_of_range("MappedMatrix::plane: no plane (" + std::to_string(slice) + ", " +
                            std::to_string(polarity) + ")");
  return planes_[slice * polarities() + polarity];
}

const DeviceArray& MappedMatrix::reference(int slice) const {
  if (references_.empty() || slice < 0 || slice >= config_.crossbar.slices())
    throw std::out_of_range("MappedMatrix::reference: offset mapping only, slice " + std::to_string(slice));
  return references_[slice];
}

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
  w_step_ = scale > 0 ? scale / q_max : 0.0f;
  w_scale_ = scale;
  const float to_int = scale > 0 ? q_max / scale : 0.0f;

  codes_.resize(count);
  for (std::size_t w_idx = 0; w_idx < count; ++w_idx) {
    // Weights beyond +-w_scale saturate at the largest code: the chosen weight range.
    const float code = w[w_idx] * to_int;
    const float rounded = rounding_key ? std::floor(code + static_cast<float>(uniform01(*rounding_key, w_idx)))
                                       : std::nearbyint(code);
    codes_[w_idx] = static_cast<int32_t>(std::clamp(rounded, float(-q_max), float(q_max)));
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
  std::vector<std::vector<double>> target(planes_.size(), std::vector<double>(count, g_min));
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i) {
      const int q = codes_[static_cast<std::size_t>(o) * in_ + i];
      const int polarity = a.mapping == Mapping::Differential && q < 0 ? 1 : 0;
      const std::size_t idx = static_cast<std::size_t>(i) * out_ + o;
      for (int s = 0; s < a.slices(); ++s) target[s * polarities() + polarity][idx] = g_min + digit(q, s, polarity) * unit;
    }
  for (std::size_t p = 0; p < planes_.size(); ++p) planes_[p].program(target[p].data());
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
}  // namespace

uint64_t MappedMatrix::pulsed_update(const float* x, const float* d, int rows, double lr, int bit_length,
                                     const UpdateConfig& u, uint64_t key) {
  if (!analog_cells())
    throw std::invalid_argument("MappedMatrix::pulsed_update: needs one slice per weight and differential mapping");
  if (bit_length < 1 || bit_length > 32) throw std::invalid_argument("MappedMatrix::pulsed_update: bit_length must be 1..32");
  if (!(w_scale_ > 0)) throw std::invalid_argument("MappedMatrix::pulsed_update: program the layer first");
  const double step = prepare_pulses(u);
  const double dw_min = 2 * step * w_scale_;  // one pulse on the pair: G+ one step up, G- one down
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  // Linear devices: pulses commute (up to clipping at the bounds within one batch), so the
  // coincidences of all rows are counted first, per device and direction, and applied once:
  // n_up (1 + a) - n_down (1 - a) steps, and the write noise of all n_up + n_down pulses as one
  // draw. Other models apply each row's pulses in order.
  const bool batched = u.kind == UpdateKind::Linear;
  double* gp = planes_[0].mutable_conductances();
  double* gn = planes_[1].mutable_conductances();
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const uint8_t* stuck_p = planes_[0].faults();
  const uint8_t* stuck_n = planes_[1].faults();
  // Rows are taken in groups: first every row's pulse trains (parallel over rows), then the
  // coincidences (parallel over blocks of inputs: each device belongs to one thread, and a
  // block's counters stay in L1 while the group's rows stream by), then, for linear devices,
  // one flush of the counters (parallel over devices). Every draw is keyed by row and device, so
  // the result does not depend on the number of threads.
  const int group_rows = std::min(rows, 256);  // uint16 counters: at most 32 pulses per row
  const std::size_t group_in = static_cast<std::size_t>(group_rows) * in_, group_out = static_cast<std::size_t>(group_rows) * out_;
  std::vector<uint32_t> bx(group_in), bd(group_out), d_negative(group_out);
  std::vector<uint8_t> x_negative(group_in);
  std::vector<uint16_t> n_up(batched ? count : 0), n_down(batched ? count : 0);
  std::vector<float> z;
  constexpr int kBlock = 16;  // inputs per block: 16 x 512 outputs x 2 counters x 2 bytes = 32 KB
  const int blocks = (in_ + kBlock - 1) / kBlock;
  uint64_t events = 0;
  for (int first = 0; first < rows; first += group_rows) {
    const int group = std::min(group_rows, rows - first);
#pragma omp parallel
    {
      std::vector<float> px(in_), pd(out_);
      std::vector<uint32_t> seeds(std::max(in_, out_)), thresholds(std::max(in_, out_));
#pragma omp for schedule(static)
      for (int g = 0; g < group; ++g) {
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
          x_negative[static_cast<std::size_t>(g) * in_ + i] = xr[i] < 0;
        }
        for (int j = 0; j < out_; ++j) {
          pd[j] = static_cast<float>(gain * std::fabs(dr[j]) / md);
          d_negative[static_cast<std::size_t>(g) * out_ + j] = dr[j] < 0;
        }
        const uint64_t row_key = derive_key(key, static_cast<uint64_t>(r));
        pulse_trains(px.data(), in_, bit_length, derive_key(row_key, 1), seeds.data(), thresholds.data(), bxr);
        pulse_trains(pd.data(), out_, bit_length, derive_key(row_key, 2), seeds.data(), thresholds.data(), bdr);
      }
      // Coincidences, one block of inputs at a time.
#pragma omp for schedule(dynamic, 1) reduction(+ : events)
      for (int block = 0; block < blocks; ++block) {
        const int i_end = std::min(in_, (block + 1) * kBlock);
        for (int g = 0; g < group; ++g) {
          const uint32_t* b = bd.data() + static_cast<std::size_t>(g) * out_;
          const uint32_t* neg = d_negative.data() + static_cast<std::size_t>(g) * out_;
          const uint64_t row_key = derive_key(key, static_cast<uint64_t>(first + g));
          for (int i = block * kBlock; i < i_end; ++i) {
            const uint32_t xi = bx[static_cast<std::size_t>(g) * in_ + i];
            if (!xi) continue;
            const uint32_t x_neg = x_negative[static_cast<std::size_t>(g) * in_ + i];
            const std::size_t base = static_cast<std::size_t>(i) * out_;
            if (batched) {  // branch-free over the outputs: vectorizes (popcount, masks)
              uint16_t* up = n_up.data() + base;
              uint16_t* down = n_down.data() + base;
              for (int j = 0; j < out_; ++j) {
                const uint16_t n = static_cast<uint16_t>(__builtin_popcount(xi & b[j]));
                const bool weight_up = (x_neg ^ neg[j]) != 0;  // -sign(x) sign(d) > 0
                up[j] = static_cast<uint16_t>(up[j] + (weight_up ? n : 0));
                down[j] = static_cast<uint16_t>(down[j] + (weight_up ? 0 : n));
              }
              continue;
            }
            // Other models: each row's pulses in row order, device by device.
            for (int j = 0; j < out_; ++j) {
              const int n = __builtin_popcount(xi & b[j]);
              if (n == 0) continue;
              events += n;
              const bool up = (x_neg ^ neg[j]) != 0;
              const std::size_t k = base + j;
              const uint64_t h = mix64(row_key ^ (k * 0x9E3779B97F4A7C15ULL));
              const double zp = u.write_noise > 0 ? normal_from_bits(static_cast<uint32_t>(h)) : 0.0;
              const double zn = u.write_noise > 0 ? normal_from_bits(static_cast<uint32_t>(h >> 32)) : 0.0;
              if (!stuck_p[k]) gp[k] = g_min + span * apply_pulses(u, step, (gp[k] - g_min) / span, n, up, step_scale_[2 * k], zp, nl_scale(2 * k));
              if (!stuck_n[k]) gn[k] = g_min + span * apply_pulses(u, step, (gn[k] - g_min) / span, n, !up, step_scale_[2 * k + 1], zn, nl_scale(2 * k + 1));
            }
          }
        }
      }
    }
    if (!batched) continue;
    // Linear devices: pulses commute (up to clipping at the bounds within one group), so each
    // device's counts are applied at once: n_up (1 + a) - n_down (1 - a) steps, and the write
    // noise of all n_up + n_down pulses as one draw.
    const uint64_t flush_key = derive_key(key, 0xF100 + static_cast<uint64_t>(first / group_rows));
    if (u.write_noise > 0) z.resize(2 * count);
    const double unit = step * span, up_factor = 1 + u.asymmetry, down_factor = 1 - u.asymmetry;
    const double noise_unit = u.write_noise * unit, g_max = g_min + span;
    const std::size_t chunk = 4096;
    const std::ptrdiff_t chunks = static_cast<std::ptrdiff_t>((count + chunk - 1) / chunk);
    uint64_t pulses = 0;
#pragma omp parallel for schedule(static) reduction(+ : pulses)
    for (std::ptrdiff_t c = 0; c < chunks; ++c) {
      const std::size_t k0 = static_cast<std::size_t>(c) * chunk, k1 = std::min(count, k0 + chunk);
      if (u.write_noise > 0) fill_normal(flush_key, 2 * k0, 2 * (k1 - k0), z.data() + 2 * k0);
      // Branch-free over devices (both planes' step factors interleaved): vectorizes.
      for (std::size_t k = k0; k < k1; ++k) {
        const double up = n_up[k], down = n_down[k];
        pulses += n_up[k] + n_down[k];
        const double noise = u.write_noise > 0 ? noise_unit * std::sqrt(up + down) : 0.0;
        const double zp = u.write_noise > 0 ? z[2 * k] : 0.0, zn = u.write_noise > 0 ? z[2 * k + 1] : 0.0;
        const double vp = gp[k] + unit * step_scale_[2 * k] * (up * up_factor - down * down_factor) + noise * zp;
        const double vn = gn[k] + unit * step_scale_[2 * k + 1] * (down * up_factor - up * down_factor) + noise * zn;
        gp[k] = stuck_p[k] ? gp[k] : std::clamp(vp, g_min, g_max);
        gn[k] = stuck_n[k] ? gn[k] : std::clamp(vn, g_min, g_max);
        n_up[k] = n_down[k] = 0;
      }
    }
    events += pulses;
  }
  forward_.valid = backward_.valid = false;
  // Each coincidence pulses both devices of its pair; every crossbar takes each row's trains at
  // once, one slot per bit.
  activity_.program_pulses += 2 * events;
  activity_.program_slots += static_cast<uint64_t>(rows) * bit_length;
  return events;
}

// The state blob holds doubles bit for bit (two float slots each): a restored matrix is exact.
void MappedMatrix::save_state(StateWriter& w) const {
  w.put("weight_scale", static_cast<double>(w_scale_));
  w.put("weight_step", static_cast<double>(w_step_));
  std::vector<double> g;
  for (const auto* list : {&planes_, &references_})
    for (const DeviceArray& a : *list) g.insert(g.end(), a.conductances(), a.conductances() + a.rows() * a.cols());
  w.put("conductances", g);
  // The devices' fixed draws (deviation per device, fault map) and the layer's stream key: a
  // matrix built with another seed becomes these devices and continues these streams.
  std::vector<float> deviations;
  std::vector<int32_t> faults;
  for (const auto* list : {&planes_, &references_})
    for (const DeviceArray& a : *list) {
      deviations.insert(deviations.end(), a.deviations().begin(), a.deviations().end());
      faults.insert(faults.end(), a.faults(), a.faults() + static_cast<std::size_t>(a.rows()) * a.cols());
    }
  w.put("device_deviations", deviations);
  w.put("device_faults", faults);
  w.put("stream_key", key_);
  w.put("codes", codes_);
  w.put("step_d2d_factors", step_scale_);
  w.put("nonlinearity_d2d_factors", nl_scale_);
  w.put("mixed_precision_remainders", carry_);
  w.put("reads", reads_);
  for (int d = 0; d < 2; ++d) {
    const std::string dir = d == 0 ? "forward" : "backward";
    w.put(dir + "_effective_builds", builds_[d]);
    w.put(dir + "_effective_valid", static_cast<uint64_t>((d == 0 ? forward_ : backward_).valid));
    std::vector<float> flat;
    for (const auto& c : corrections_[d]) {
      flat.push_back(static_cast<float>(c.size()));
      flat.insert(flat.end(), c.begin(), c.end());
    }
    w.put(dir + "_parasitic_corrections", flat);
  }
}

void MappedMatrix::load_state(StateReader& r) {
  const double scale = r.get_double("weight_scale"), step = r.get_double("weight_step");
  std::size_t cells = 0;
  for (const auto* list : {&planes_, &references_})
    for (const DeviceArray& a : *list) cells += static_cast<std::size_t>(a.rows()) * a.cols();
  std::vector<double> g;
  r.get("conductances", g, cells);
  for (double v : g)
    if (v < 0) throw StateError(r.source() + ": state 'conductances': a negative conductance (" + std::to_string(v) + ")");
  std::vector<float> deviations;
  r.get("device_deviations", deviations, r.peek_count("device_deviations"));
  std::vector<int32_t> faults;
  r.get("device_faults", faults, cells);
  for (int32_t f : faults)
    if (f < 0 || f > static_cast<int32_t>(Fault::StuckOff)) throw StateError(r.source() + ": state 'device_faults': " + std::to_string(f) + " is no fault kind");
  const uint64_t key = r.get_u64("stream_key");
  std::vector<int32_t> codes;
  r.get("codes", codes, r.peek_count("codes"));
  if (!codes.empty() && codes.size() != static_cast<std::size_t>(in_) * out_)
    throw StateError(r.source() + ": state 'codes': " + std::to_string(codes.size()) + " codes for " + std::to_string(in_ * out_) + " weights");
  const std::size_t devices = planes_.size() * in_ * out_;
  auto optional_factors = [&](const char* name, std::vector<float>& out) {
    const uint64_t n = r.peek_count(name);
    if (n != 0 && n != devices)
      throw StateError(r.source() + ": state '" + name + "': " + std::to_string(n) + " values for " + std::to_string(devices) + " devices");
    r.get(name, out, n);
  };
  optional_factors("step_d2d_factors", step_scale_);
  optional_factors("nonlinearity_d2d_factors", nl_scale_);
  const uint64_t nc = r.peek_count("mixed_precision_remainders");
  if (nc != 0 && nc != static_cast<uint64_t>(in_) * out_)
    throw StateError(r.source() + ": state 'mixed_precision_remainders': " + std::to_string(nc) + " values for " + std::to_string(in_ * out_) + " weights");
  r.get("mixed_precision_remainders", carry_, nc);
  reads_ = r.get_u64("reads");
  w_scale_ = static_cast<float>(scale);
  w_step_ = static_cast<float>(step);
  std::size_t expected_deviations = 0;
  for (const auto* list : {&planes_, &references_})
    for (const DeviceArray& a : *list) expected_deviations += a.deviations().size();
  if (deviations.size() != expected_deviations)
    throw StateError(r.source() + ": state 'device_deviations': " + std::to_string(deviations.size()) + " values for " +
                     std::to_string(expected_deviations));
  std::size_t k = 0, kd = 0;
  for (auto* list : {&planes_, &references_})
    for (DeviceArray& a : *list) {
      const std::size_t n = static_cast<std::size_t>(a.rows()) * a.cols(), nd = a.deviations().size();
      a.restore(g.data() + k);
      a.restore_fixed(std::vector<float>(deviations.begin() + kd, deviations.begin() + kd + nd),
                      std::vector<uint8_t>(faults.begin() + k, faults.begin() + k + n));
      k += n;
      kd += nd;
    }
  key_ = key;
  codes_ = std::move(codes);
  bool valid[2];
  for (int d = 0; d < 2; ++d) {
    const std::string dir = d == 0 ? "forward" : "backward";
    builds_[d] = r.get_u64(dir + "_effective_builds");
    valid[d] = r.get_u64(dir + "_effective_valid") != 0;
    std::vector<float> flat;
    r.get(dir + "_parasitic_corrections", flat, r.peek_count(dir + "_parasitic_corrections"));
    corrections_[d].clear();
    for (std::size_t at = 0; at < flat.size();) {
      const std::size_t n = static_cast<std::size_t>(flat[at]);
      if (flat[at] < 0 || n > flat.size() - at - 1) throw StateError(r.source() + ": state '" + dir + "_parasitic_corrections' is damaged");
      corrections_[d].emplace_back(flat.begin() + at + 1, flat.begin() + at + 1 + n);
      at += 1 + n;
    }
    if (valid[d] && builds_[d] == 0) throw StateError(r.source() + ": state '" + dir + "_effective_valid' with no build");
  }
  forward_.valid = backward_.valid = false;
  // The run saved had these read matrices built: build them again from the same build count
  // (and parasitic corrections), so that the refresh schedule of the circuit solves continues
  // as it would have.
  for (int d = 0; d < 2; ++d)
    if (valid[d]) {
      --builds_[d];
      effective(d == 0 ? Direction::Forward : Direction::Backward);
    }
}

double MappedMatrix::prepare_pulses(const UpdateConfig& u) {
  check_update(u, "update");
  if (step_scale_.empty()) {
    // One factor per device: device order, the planes of one weight side by side (a pair: G+, G-).
    step_scale_.assign(planes_.size() * in_ * out_, 1.0f);
    if (u.nl_d2d > 0) {
      nl_scale_.resize(step_scale_.size());
      fill_normal(derive_key(key_, 0xD2E), 0, nl_scale_.size(), nl_scale_.data());
      // Floor at 0.1: a nonlinearity cannot change sign (A > 0), nor become 10x stronger.
      for (float& s : nl_scale_) s = std::max(0.1f, 1.0f + static_cast<float>(u.nl_d2d) * s);
    }
    if (u.step_d2d > 0) {
      fill_normal(derive_key(key_, 0xD2D), 0, step_scale_.size(), step_scale_.data());
      for (float& s : step_scale_) s = std::max(0.0f, 1.0f + static_cast<float>(u.step_d2d) * s);
    }
  }
  const int levels = config_.device.levels_for(config_.crossbar.bits_per_cell);
  if (u.pulses == 0 && u.kind == UpdateKind::Measured) return 1.0 / u.measured->ltp_pulses();
  return 1.0 / (u.pulses > 0 ? u.pulses : levels - 1);
}

void MappedMatrix::pulse_device(const UpdateConfig& u, double step, std::size_t p, int i, int o, double n, bool up,
                                std::size_t f, double z) {
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  DeviceArray& plane = planes_[p];
  const double x = (plane.conductance(i, o) - g_min) / span;
  plane.set(i, o, g_min + span * apply_pulses(u, step, x, n, up, step_scale_[f], z, nl_scale(f)));
}

void MappedMatrix::program_centered(const float* w, float w_scale) {
  const ArrayConfig& a = config_.crossbar;
  if (!analog_cells())
    throw std::invalid_argument("MappedMatrix::program_centered: needs one slice per weight and differential mapping");
  if (!(w_scale > 0 && std::isfinite(w_scale))) throw std::invalid_argument("MappedMatrix::program_centered: w_scale must be > 0");
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const int q_max = (1 << a.weight_bits) - 1;
  w_step_ = w_scale / q_max;
  w_scale_ = w_scale;
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
  planes_[0].program(pos.data());
  planes_[1].program(neg.data());
  forward_.valid = backward_.valid = false;
}

void MappedMatrix::update(const float* dw, const UpdateConfig& u, uint64_t key) {
  if (!(w_scale_ > 0)) throw std::invalid_argument("MappedMatrix::update: program the layer first");
  for (std::size_t k = 0, n = static_cast<std::size_t>(in_) * out_; k < n; ++k)
    if (!std::isfinite(dw[k])) throw NonFiniteInput("MappedMatrix::update: change [" + std::to_string(k) + "] is not finite");
  if (!analog_cells()) {  // read-modify-write of the codes
    const ArrayConfig& a = config_.crossbar;
    const int q_max = this->q_max();
    const uint64_t rounding = derive_key(key, 3), noise_key = derive_key(key, 1);
    const double to_codes = 1.0 / w_step_;
    const int cols = a.weight_cols();
    const std::size_t planes = planes_.size();
    // Open loop: one digit is 1 / (2^bits_per_cell - 1) of the range, as the reads decode it
    // (whatever levels the device has), pulses_per_digit nominal pulses.
    const double step = u.sliced_pulses ? prepare_pulses(u) : 0.0;
    const double pulses_per_digit = u.sliced_pulses ? 1.0 / (step * ((1 << a.bits_per_cell) - 1)) : 0.0;
    std::vector<uint32_t> row_max(planes * in_ * col_tiles_, 0);
    for (int o = 0; o < out_; ++o)
      for (int i = 0; i < in_; ++i) {
        const std::size_t k = static_cast<std::size_t>(o) * in_ + i;
        const int before = codes_[k];
        const double moved = std::floor(before + dw[k] * to_codes + uniform01(rounding, k));
        codes_[k] = static_cast<int32_t>(std::clamp(moved, double(-q_max), double(q_max)));
        if (codes_[k] == before) continue;
        // Each device moves by its change of digit: one digit's pulses per digit.
        const std::size_t device = static_cast<std::size_t>(i) * out_ + o;
        for (int s = 0; s < a.slices(); ++s)
          for (int pol = 0; pol < polarities(); ++pol) {
            const int change = digit(codes_[k], s, pol) - digit(before, s, pol);
            if (change == 0) continue;
            const std::size_t p = static_cast<std::size_t>(s * polarities() + pol);
            const double n = std::abs(change) * (u.sliced_pulses ? pulses_per_digit : 1.0);
            if (u.sliced_pulses) {
              const std::size_t f = device * planes + p;  // this device's factors and noise draw
              pulse_device(u, step, p, i, o, n, change > 0, f, u.write_noise > 0 ? normal_at(noise_key, f) : 0.0);
            }
            const uint32_t pulses = static_cast<uint32_t>(std::nearbyint(n));
            activity_.program_pulses += pulses;
            uint32_t& m = row_max[(p * in_ + i) * col_tiles_ + o / cols];
            m = std::max(m, pulses);
          }
      }
    charge_row_serial(row_max);
    if (u.sliced_pulses) forward_.valid = backward_.valid = false;
    else program_codes();
    return;
  }
  const double step = prepare_pulses(u);
  const std::size_t count = static_cast<std::size_t>(in_) * out_;
  const double g_min = config_.device.g_min, span = config_.device.g_max - g_min;
  if (u.mixed_precision && carry_.size() != count) carry_.assign(count, 0.0f);
  const uint64_t noise_key = derive_key(key, 1), round_key = derive_key(key, 2);
  DeviceArray& pos = planes_[0];
  DeviceArray& neg = planes_[1];
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
      double want = (u.one_sided ? 1.0 : 0.5) * dw[w_idx] / w_scale_ / step + (u.mixed_precision ? carry_[w_idx] : 0.0);
      const double magnitude = std::fabs(want);
      double n = std::floor(magnitude);
      if (u.stochastic && !u.mixed_precision) n += uniform01(round_key, w_idx) < magnitude - n ? 1 : 0;
      else if (!u.mixed_precision) n = std::nearbyint(magnitude);
      if (u.mixed_precision) carry_[w_idx] = static_cast<float>(want - std::copysign(n, want));
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

MappedMatrix::Shape MappedMatrix::shape(Direction dir) const {
  const ArrayConfig& a = config_.crossbar;
  if (dir == Direction::Forward) return {in_, out_, a.rows, row_tiles_};
  return {out_, in_, a.weight_cols(), col_tiles_};
}

const MappedMatrix::Effective& MappedMatrix::effective(Direction dir) {
  Effective& e = dir == Direction::Forward ? forward_ : backward_;
  if (!e.valid) build_effective(dir, e);
  return e;
}

void MappedMatrix::build_effective(Direction dir, Effective& e) {
  const ArrayConfig& a = config_.crossbar;
  const int rows = a.rows, cols = a.cols, wcols = a.weight_cols(), slices = a.slices();
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const bool differential = a.mapping == Mapping::Differential;
  const Shape sh = shape(dir);
  const int width = per_slice ? slices * sh.n : sh.n;
  const double g_min = config_.device.g_min;
  const double inv_unit = ((1 << a.bits_per_cell) - 1) / (config_.device.g_max - config_.device.g_min);
  e.matrix.assign(static_cast<std::size_t>(sh.k) * width, 0.0f);

  const std::size_t cells = static_cast<std::size_t>(rows) * cols;
  std::vector<double> g(cells), eff_pos(cells), eff_neg(cells), fast(fast_circuit_ ? cells : 0);
  // Refresh every L builds: exact now and keep its correction to the first-order model, or the
  // first-order model plus the correction kept at the last refresh.
  const int d = dir == Direction::Forward ? 0 : 1;
  const bool refresh = fast_circuit_ && builds_[d] % config_.circuit.refresh_every == 0;
  if (fast_circuit_) corrections_[d].resize(static_cast<std::size_t>(crossbars()));
  ++builds_[d];
  std::size_t crossbar = 0;
  for (int rt = 0; rt < row_tiles_; ++rt)
    for (int ct = 0; ct < col_tiles_; ++ct) {
      const int r0 = rt * rows, c0 = ct * wcols;
      const int nr = std::min(rows, in_ - r0), nc = std::min(wcols, out_ - c0);
      for (int s = 0; s < slices; ++s) {
        // Gather each physical crossbar (unused cells rest at g_min), solve it, take differences.
        auto solve = [&](const DeviceArray& plane, double* eff) {
          std::fill(g.begin(), g.end(), g_min);
          for (int r = 0; r < nr; ++r)
            for (int c = 0; c < nc; ++c) g[static_cast<std::size_t>(r) * cols + c] = plane.conductance(r0 + r, c0 + c);
          if (!differential)
            for (int r = 0; r < nr; ++r) g[static_cast<std::size_t>(r) * cols + cols - 1] = references_[s].conductance(r0 + r, ct);
          if (!fast_circuit_) {
            circuit_->effective(g.data(), rows, cols, dir, eff);
            return;
          }
          std::vector<float>& correction = corrections_[d][crossbar++];
          fast_circuit_->effective(g.data(), rows, cols, dir, fast.data());
          if (refresh) {
            circuit_->effective(g.data(), rows, cols, dir, eff);
            correction.resize(cells);
            for (std::size_t k = 0; k < cells; ++k) correction[k] = static_cast<float>(eff[k] - fast[k]);
          } else {
            for (std::size_t k = 0; k < cells; ++k) eff[k] = fast[k] + correction[k];
          }
        };
        solve(plane(s, 0), eff_pos.data());
        if (differential) solve(plane(s, 1), eff_neg.data());
        const float fold = std::ldexp(1.0f, a.bits_per_cell * s);
        for (int r = 0; r < nr; ++r)
          for (int c = 0; c < nc; ++c) {
            const std::size_t cell = static_cast<std::size_t>(r) * cols + c;
            const double reference =
                differential ? eff_neg[cell] : eff_pos[static_cast<std::size_t>(r) * cols + cols - 1];
            const float units = static_cast<float>((eff_pos[cell] - reference) * inv_unit);
            const int i = r0 + r, o = c0 + c;
            const int k = dir == Direction::Forward ? i : o;
            const int n = dir == Direction::Forward ? o : i;
            if (per_slice) e.matrix[static_cast<std::size_t>(k) * width + s * sh.n + n] = units;
            else e.matrix[static_cast<std::size_t>(k) * width + n] += fold * units;
          }
      }
    }

  // ADC LSB per k-tile and sensed output line.
  e.lsb.assign(static_cast<std::size_t>(sh.k_tiles) * width, 1.0f);
  e.inv_lsb.assign(e.lsb.size(), 1.0f);
  if (a.adc_model == AdcModel::Ideal) { e.valid = true; return; }
  const double max_input = per_slice ? (1 << a.dac_bits) - 1 : std::ldexp(1.0, a.input_magnitude_bits()) - 1;
  const double max_weight = per_slice ? (1 << a.bits_per_cell) - 1 : std::ldexp(1.0, a.weight_bits) - 1;
  for (int t = 0; t < sh.k_tiles; ++t) {
    const int k0 = t * sh.k_tile, k1 = std::min(sh.k, k0 + sh.k_tile);
    for (int col = 0; col < width; ++col) {
      double full = sh.k_tile * max_input * max_weight;  // every line at full input and weight
      if (a.adc_range == AdcRange::Calibrated) {
        double pos = 0, neg = 0;
        for (int k = k0; k < k1; ++k) {
          const float v = e.matrix[static_cast<std::size_t>(k) * width + col];
          (v > 0 ? pos : neg) += std::fabs(v);
        }
        full = max_input * std::max(pos, neg);
      }
      const float lsb = adc_lsb(full * a.adc_clip, a.adc_bits, a.adc_range);
      e.lsb[static_cast<std::size_t>(t) * width + col] = lsb;
      e.inv_lsb[static_cast<std::size_t>(t) * width + col] = 1.0f / lsb;
    }
  }
  e.valid = true;
}

std::vector<float> MappedMatrix::weights() {
  const Effective& e = effective(Direction::Forward);
  const ArrayConfig& a = config_.crossbar;
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const int slices = per_slice ? a.slices() : 1;
  const std::size_t width = static_cast<std::size_t>(slices) * out_;
  std::vector<float> w(static_cast<std::size_t>(out_) * in_, 0.0f);
  for (int i = 0; i < in_; ++i)
    for (int s = 0; s < slices; ++s) {
      const float fold = per_slice ? std::ldexp(1.0f, a.bits_per_cell * s) : 1.0f;
      for (int o = 0; o < out_; ++o)
        w[static_cast<std::size_t>(o) * in_ + i] += fold * e.matrix[i * width + static_cast<std::size_t>(s) * out_ + o];
    }
  for (float& v : w) v *= w_step_;
  return w;
}

void MappedMatrix::forward(const float* x, int batch, float* y) { read(Direction::Forward, x, batch, y); }
void MappedMatrix::backward(const float* d, int batch, float* dx) { read(Direction::Backward, d, batch, dx); }

PartialSumKernel MappedMatrix::partial_sum_kernel() const {
  const ArrayConfig& a = config_.crossbar;
  if (a.read_mode == ReadMode::Folded) return PartialSumKernel::Gemm;
  if (kernel_ != PartialSumKernel::Auto) return kernel_;
  // Lookup does dac_bits (x2 signed) table reads per 8 lines where SGEMM does 8 multiply-adds.
  return a.dac_bits * (a.input_signed ? 2 : 1) <= 2 ? PartialSumKernel::Lookup : PartialSumKernel::Gemm;
}

namespace {

// y += shift * ADC(c + std_dev * z), one sensed line per element. Restrict-qualified and
// branch-free inside so that it vectorizes without alias checks.
void convert_row(const float* __restrict c, const float* __restrict z, float std_dev, const float* __restrict lsb,
                 const float* __restrict inv, const AdcCodes& codes, bool quantize, float shift, int w,
                 float* __restrict y) {
  const float lo = codes.lo, hi = codes.hi;
  if (quantize && z) {
    for (int j = 0; j < w; ++j) y[j] += shift * std::clamp(std::nearbyint((c[j] + std_dev * z[j]) * inv[j]), lo, hi) * lsb[j];
  } else if (quantize) {
    for (int j = 0; j < w; ++j) y[j] += shift * std::clamp(std::nearbyint(c[j] * inv[j]), lo, hi) * lsb[j];
  } else if (z) {
    for (int j = 0; j < w; ++j) y[j] += shift * (c[j] + std_dev * z[j]);
  } else {
    for (int j = 0; j < w; ++j) y[j] += shift * c[j];
  }
}

}  // namespace

void MappedMatrix::convert(Direction dir, const Effective& e, int batch, int t, int s, int j0, int w,
                           const float* c, std::size_t ldc, uint64_t tile_key, float* y, std::vector<float>& z) const {
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const int width = (per_slice ? a.slices() : 1) * sh.n;
  const int m = (per_slice ? a.input_planes() : 1) * batch;
  const int col0 = s * sh.n + j0;  // first column in the tile's stacked matrix
  const bool noisy = config_.device.read_noise_sigma > 0;
  const bool quantize = a.adc_model == AdcModel::Uniform;
  const AdcCodes codes(a.adc_bits);
  const float* lsb = e.lsb.data() + static_cast<std::size_t>(t) * width + col0;
  const float* inv = e.inv_lsb.data() + static_cast<std::size_t>(t) * width + col0;
  if (noisy) z.resize(w);
  for (int r = 0; r < m; ++r) {
    const int p = r / batch, b = r % batch;
    const float* c_row = c + static_cast<std::size_t>(r) * ldc;
    const float std_dev = noisy ? noise_std_[static_cast<std::size_t>(t) * m + r] : 0.0f;
    // Draw (r, col) of the tile's stream: the same numbers however the columns are split.
    if (std_dev > 0) fill_normal(tile_key, static_cast<uint64_t>(r) * width + col0, w, z.data());
    const float shift = per_slice ? std::ldexp(1.0f, a.dac_bits * p + a.bits_per_cell * s) : 1.0f;
    convert_row(c_row, std_dev > 0 ? z.data() : nullptr, std_dev, lsb, inv, codes, quantize, shift, w,
                y + static_cast<std::size_t>(b) * sh.n + j0);
  }
}

void MappedMatrix::read_columns(Direction dir, const Effective& e, int batch, int n0, int nn, uint64_t key,
                                float* y, Scratch& scratch) const {
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const int slices = per_slice ? a.slices() : 1;
  const int width = slices * sh.n;
  const int m = (per_slice ? a.input_planes() : 1) * batch;
  const bool lookup = partial_sum_kernel() == PartialSumKernel::Lookup;
  scratch.c.resize(static_cast<std::size_t>(m) * (lookup ? kLookupWidth : nn));

  for (int t = 0; t < sh.k_tiles; ++t) {
    const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
    const uint64_t tile_key = derive_key(key, t);
    for (int s = 0; s < slices; ++s) {
      const float* e_block = e.matrix.data() + static_cast<std::size_t>(k0) * width + s * sh.n;
      if (lookup) {
        for (int j0 = n0; j0 < n0 + nn; j0 += kLookupWidth) {
          const int w = std::min(kLookupWidth, n0 + nn - j0);
          binary_plane_products(binary_planes_[t], e_block + j0, kt, width, w, scratch.c.data(), scratch.table);
          convert(dir, e, batch, t, s, j0, w, scratch.c.data(), kLookupWidth, tile_key, y, scratch.z);
        }
      } else {
        // Per-slice: the tile's stacked planes; folded: the quantized inputs in place.
        const float* a_tile = per_slice ? planes_buf_.data() + static_cast<std::size_t>(k0) * m : inputs_.ints.data() + k0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nn, kt, 1.0f, a_tile, per_slice ? kt : sh.k,
                    e_block + n0, width, 0.0f, scratch.c.data(), nn);
        convert(dir, e, batch, t, s, n0, nn, scratch.c.data(), nn, tile_key, y, scratch.z);
      }
    }
  }
}

void MappedMatrix::read(Direction dir, const float* x, int batch, float* y) {
  if (batch < 1) throw std::invalid_argument("MappedMatrix read: batch must be >= 1");
  const Effective& e = effective(dir);
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  check_inputs(x, batch, sh.k, a);  // before the parallel region: exceptions cannot leave it
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const bool lookup = partial_sum_kernel() == PartialSumKernel::Lookup;
  const int planes = per_slice ? a.input_planes() : 1;
  const int m = planes * batch;
  const uint64_t key = derive_key(derive_key(key_, dir == Direction::Forward ? 0xF0 : 0xB0), ++reads_);
  const double unit_sigma = config_.device.read_noise_sigma * ((1 << a.bits_per_cell) - 1);
  double fold_power = 0;  // folded reads: each slice's devices add noise scaled by the slice weight
  for (int s = 0; s < (per_slice ? 1 : a.slices()); ++s) fold_power += std::ldexp(1.0, 2 * a.bits_per_cell * s);

  QuantizedInputs& q = inputs_;
  q.ints.resize(static_cast<std::size_t>(batch) * sh.k);
  q.step.resize(batch);
  if (per_slice) planes_buf_.resize(static_cast<std::size_t>(m) * sh.k);
  if (unit_sigma > 0) noise_std_.resize(static_cast<std::size_t>(sh.k_tiles) * m);
  if (lookup) binary_planes_.resize(sh.k_tiles);
  const bool parallel = parallelism_ == Parallelism::Columns;
  scratch_.resize(parallel ? omp_get_max_threads() : 1);
  // Blocks of whole lookup widths. The lookup kernel takes a few per thread so that a slow core
  // does not hold the rest; SGEMM takes one per thread, since small GEMMs repack their inputs.
  const int per_thread = lookup ? 4 : 1;
  const int block = kLookupWidth * ceil_div(ceil_div(sh.n, per_thread * static_cast<int>(scratch_.size())), kLookupWidth);
  const int blocks = ceil_div(sh.n, block);

  // One parallel region for the whole read (a team of one when OpenBLAS parallelizes instead).
  // Every output accumulates its row-tiles in order, whoever computes it: results do not depend
  // on the thread count or on the parallelism chosen.
#pragma omp parallel if (parallel)
  {
    // Per sample: quantize; per-slice reads stack its digit planes into each tile's rows (one
    // GEMM or lookup pass then covers every (plane, slice) partial sum of a crossbar row-tile);
    // read noise: independent per device and read, so each sensed current gets a Gaussian whose
    // variance sums over its devices: sigma^2 * 2 devices (the pair, or the device and its
    // reference) * sum_k input_k^2 * fold_power.
#pragma omp for schedule(static)
    for (int b = 0; b < batch; ++b) {
      float* ints = q.ints.data() + static_cast<std::size_t>(b) * sh.k;
      q.step[b] = quantize_sample(x + static_cast<std::size_t>(b) * sh.k, sh.k, a, ints);
      std::fill(y + static_cast<std::size_t>(b) * sh.n, y + static_cast<std::size_t>(b + 1) * sh.n, 0.0f);
      for (int t = 0; t < sh.k_tiles; ++t) {
        const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
        for (int p = 0; p < planes; ++p) {
          const int r = p * batch + b;
          const float* row = ints + k0;
          if (per_slice) {
            float* digits = planes_buf_.data() + static_cast<std::size_t>(k0) * m + static_cast<std::size_t>(r) * kt;
            input_digits(row, kt, p, a.dac_bits, digits);
            row = digits;
          }
          if (unit_sigma > 0) {
            double power = 0;
            for (int k = 0; k < kt; ++k) power += double(row[k]) * row[k];
            noise_std_[static_cast<std::size_t>(t) * m + r] = static_cast<float>(unit_sigma * std::sqrt(2.0 * fold_power * power));
          }
        }
      }
    }
    if (lookup) {
#pragma omp for schedule(dynamic, 1)
      for (int t = 0; t < sh.k_tiles; ++t) {
        const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
        split_binary_planes(planes_buf_.data() + static_cast<std::size_t>(k0) * m, m, kt, a.dac_bits, a.input_signed,
                            binary_planes_[t]);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < blocks; ++i) {
      const int n0 = i * block, nn = std::min(block, sh.n - n0);
      read_columns(dir, e, batch, n0, nn, key, y, scratch_[omp_get_thread_num()]);
      for (int b = 0; b < batch; ++b) {  // integer units back to real values
        const float scale = q.step[b] * w_step_;
        float* row = y + static_cast<std::size_t>(b) * sh.n + n0;
        for (int n = 0; n < nn; ++n) row[n] *= scale;
      }
    }
  }

  // Hardware activity: the array is read once per input plane whatever the read mode (folded
  // reads accumulate the planes and slices in the analog domain before one conversion).
  const uint64_t n_side_tiles = dir == Direction::Forward ? col_tiles_ : row_tiles_;
  const uint64_t devices_per_weight = static_cast<uint64_t>(a.slices()) * polarities();
  const uint64_t hw_planes = a.input_planes();
  activity_.crossbar_reads += batch * hw_planes * crossbars();
  activity_.dac_conversions += batch * hw_planes * sh.k * n_side_tiles * devices_per_weight;
  const uint64_t conversions = batch * planes * (per_slice ? a.slices() : 1) * sh.n * sh.k_tiles;
  activity_.adc_conversions += conversions;
  activity_.shift_adds += conversions;
  activity_.device_macs += batch * hw_planes * devices_per_weight * sh.k * sh.n;
}

}  // namespace txsim
