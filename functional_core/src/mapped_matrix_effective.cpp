// MappedMatrix, effective matrices: what a read multiplies by, per direction, from the devices
// through the circuit (parasitic solves kept per crossbar, the fast model's refresh schedule),
// with the ADC's range per tile and line; and the float weights they represent.
#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <cblas.h>

#include "txsim/narrow_gemm.h"
#include "txsim/parallel.h"
#include "txsim/parasitics.h"
#include "txsim/periphery.h"
#include "txsim/scratch_buffer.h"

namespace txsim {

const MappedMatrix::Effective& MappedMatrix::effective(Direction dir) {
  Effective& e = dir == Direction::Forward ? forward_ : backward_;
  if (!e.valid) build_effective(dir, e);
  return e;
}

const MappedMatrix::Effective& MappedMatrix::effective_in_strips(Direction dir) {
  Effective& e = dir == Direction::Forward ? forward_ : backward_;
  if (!e.valid) build_effective(dir, e);
  if (e.strips_valid) return e;
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const int slices = a.read_mode == ReadMode::PerSlice ? a.slices() : 1, width = slices * sh.n;
  const int strips = ceil_div(sh.n, kNarrowGemmMaxColumns);
  const std::size_t per_strip = static_cast<std::size_t>(sh.k_tile) * kNarrowGemmMaxColumns;
  grow_to(e.strips, static_cast<std::size_t>(sh.k_tiles) * slices * strips * per_strip);
  parallel_for(static_cast<std::size_t>(sh.k_tiles) * slices, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      const int t = static_cast<int>(i) / slices, s = static_cast<int>(i) % slices;
      const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
      pack_narrow_strips(sh.n, kt, e.matrix.data() + static_cast<std::size_t>(k0) * width + s * sh.n, width,
                         e.strips.data() + i * strips * per_strip);
    }
  });
  e.strips_valid = true;
  return e;
}

void MappedMatrix::build_effective(Direction dir, Effective& e) {
  e.strips_valid = false;
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
  // Refresh every L builds: exact now and keep its correction to the first-order model, or the
  // first-order model plus the correction kept at the last refresh.
  const int d = dir == Direction::Forward ? 0 : 1;
  const bool refresh = fast_circuit_ && s_.builds[d] % config_.circuit.refresh_every == 0;
  if (fast_circuit_) s_.corrections[d].resize(static_cast<std::size_t>(crossbars()));
  ++s_.builds[d];
  const int planes = differential ? 2 : 1;
  // Solves worth keeping: any circuit but the ideal one, whose solve is a copy.
  const bool cache = config_.circuit.model != ParasiticModel::None || config_.circuit.iv != IvKind::Linear;
  if (cache) solved_.resize(static_cast<std::size_t>(crossbars()));
  // Crossbar tiles in parallel: each writes its own part of the matrix, its slices in order. The
  // exact solve runs its own two threads, so builds that call it stay serial.
  const bool exact = (!fast_circuit_ || refresh) && config_.circuit.model == ParasiticModel::Exact;
  const std::size_t tiles = static_cast<std::size_t>(row_tiles_) * col_tiles_;
  // Physical crossbar q = (tile * slices + slice) * planes + polarity, as the tiles see it: its
  // line r holds `used` conductances of the plane (at src), then g_min, and (offset mapping) the
  // reference device last.
  struct Crossbar {
    const DeviceArray& plane;
    int r0, c0, nr, nc, ct, slice;
  };
  auto crossbar = [&](std::size_t tile, int slice, int polarity) {
    const int rt = static_cast<int>(tile) / col_tiles_, ct = static_cast<int>(tile) % col_tiles_;
    const int r0 = rt * rows, c0 = ct * wcols;
    return Crossbar{plane(slice, polarity), r0, c0, std::min(rows, in_ - r0), std::min(wcols, out_ - c0), ct, slice};
  };
  auto line = [&](const Crossbar& x, int r, int& used) {
    used = r < x.nr ? x.nc : 0;
    return x.plane.conductances() + static_cast<std::size_t>(x.r0 + std::min(r, x.nr - 1)) * x.plane.cols() + x.c0;
  };
  auto reference = [&](const Crossbar& x, int r) { return s_.references[x.slice].conductance(x.r0 + r, x.ct); };
  auto gather = [&](const Crossbar& x, std::vector<double>& to) {
    to.resize(cells);
    for (int r = 0; r < rows; ++r) {
      int used;
      const double* src = line(x, r, used);
      double* dst = to.data() + static_cast<std::size_t>(r) * cols;
      std::copy_n(src, used, dst);
      std::fill(dst + used, dst + cols, g_min);
      if (!differential && r < x.nr) dst[cols - 1] = reference(x, r);
    }
  };
  auto unchanged = [&](const Crossbar& x, const std::vector<double>& kept) {  // kept == what gather would give
    if (kept.size() != cells) return false;
    for (int r = 0; r < rows; ++r) {
      int used;
      const double* src = line(x, r, used);
      const double* k = kept.data() + static_cast<std::size_t>(r) * cols;
      const int last = !differential && r < x.nr ? cols - 1 : cols;
      if (!std::equal(src, src + used, k) || std::any_of(k + used, k + last, [&](double v) { return v != g_min; }) ||
          (last < cols && k[last] != reference(x, r)))
        return false;
    }
    return true;
  };
  // Kept solves first, a crossbar per item (a tile holds slices x planes of them, and a layer may
  // have fewer tiles than threads): an unchanged crossbar keeps its solve.
  const bool kept = cache && !fast_circuit_;
  if (kept) {
    auto solve_kept = [&](std::size_t q0, std::size_t q1) {
      for (std::size_t q = q0; q < q1; ++q) {
        const Crossbar x = crossbar(q / (slices * planes), static_cast<int>(q / planes % slices), static_cast<int>(q % planes));
        Solved& last = solved_[q];
        // Exactly the same conductances: the same solve.
        if (last.since_check == Changed::Listed || (last.since_check == Changed::Unknown && !unchanged(x, last.g))) {
          gather(x, last.g);
          ++last.version;
        }
        last.since_check = Changed::Nothing;
        if (last.solved[d] == last.version) continue;
        last.eff[d].resize(cells);
        circuit_->effective(last.g.data(), rows, cols, dir, last.eff[d].data());
        last.solved[d] = last.version;
      }
    };
    if (exact) solve_kept(0, solved_.size());
    else parallel_for(solved_.size(), 1, solve_kept);
  }
  auto build_tiles = [&](std::size_t t0, std::size_t t1) {
    // Solve buffers for the paths that solve here (kept solves have their own).
    const std::size_t solving = kept ? 0 : cells;
    std::vector<double> g(solving), eff_pos(solving), eff_neg(solving), fast(fast_circuit_ ? cells : 0);
    for (std::size_t tile = t0; tile < t1; ++tile) {
      const Crossbar span = crossbar(tile, 0, 0);  // the tile's lines and columns
      const int r0 = span.r0, c0 = span.c0, nr = span.nr, nc = span.nc;
      for (int s = 0; s < slices; ++s) {
        // Each physical crossbar's effective conductances, then their differences: a kept solve's
        // own (no copies), or `eff`.
        auto solve = [&](int polarity, double* eff) -> const double* {
          const std::size_t q = (tile * slices + s) * planes + polarity;
          if (kept) return solved_[q].eff[d].data();
          gather(crossbar(tile, s, polarity), g);
          if (!fast_circuit_) {  // the ideal circuit: a copy
            circuit_->effective(g.data(), rows, cols, dir, eff);
            return eff;
          }
          std::vector<float>& correction = s_.corrections[d][q];
          fast_circuit_->effective(g.data(), rows, cols, dir, fast.data());
          if (refresh) {
            circuit_->effective(g.data(), rows, cols, dir, eff);
            correction.resize(cells);
            for (std::size_t k = 0; k < cells; ++k) correction[k] = static_cast<float>(eff[k] - fast[k]);
          } else {
            for (std::size_t k = 0; k < cells; ++k) eff[k] = fast[k] + correction[k];
          }
          return eff;
        };
        const double* pos = solve(0, eff_pos.data());
        const double* neg = differential ? solve(1, eff_neg.data()) : nullptr;
        const float fold = std::ldexp(1.0f, a.bits_per_cell * s);
        // Cell (r, c) into the matrix's line k, entry n: along a line of the matrix (c inner
        // forward, r inner backward), so that its writes are consecutive.
        auto put = [&](int r, int c) {
          const std::size_t cell = static_cast<std::size_t>(r) * cols + c;
          const double reference = differential ? neg[cell] : pos[static_cast<std::size_t>(r) * cols + cols - 1];
          const float units = static_cast<float>((pos[cell] - reference) * inv_unit);
          const int i = r0 + r, o = c0 + c;
          const int k = dir == Direction::Forward ? i : o;
          const int n = dir == Direction::Forward ? o : i;
          if (per_slice) e.matrix[static_cast<std::size_t>(k) * width + s * sh.n + n] = units;
          else e.matrix[static_cast<std::size_t>(k) * width + n] += fold * units;
        };
        if (dir == Direction::Forward)
          for (int r = 0; r < nr; ++r)
            for (int c = 0; c < nc; ++c) put(r, c);
        else
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r) put(r, c);
      }
    }
  };
  if (exact) build_tiles(0, tiles);
  else parallel_for(tiles, 1, build_tiles);

  // ADC LSB per k-tile and sensed output line.
  e.lsb.assign(static_cast<std::size_t>(sh.k_tiles) * width, 1.0f);
  e.inv_lsb.assign(e.lsb.size(), 1.0f);
  if (a.adc_model == AdcModel::Ideal) { e.valid = true; return; }
  const double max_input = per_slice ? (1 << a.dac_bits) - 1 : std::ldexp(1.0, a.input_magnitude_bits()) - 1;
  const double max_weight = per_slice ? (1 << a.bits_per_cell) - 1 : std::ldexp(1.0, a.weight_bits) - 1;
  // Calibrated: each sensed line's largest total of positive and of negative units, summed over
  // the tile's lines in order (a row of the matrix at a time, every column side by side).
  std::vector<double> pos(width), neg(width);
  for (int t = 0; t < sh.k_tiles; ++t) {
    const int k0 = t * sh.k_tile, k1 = std::min(sh.k, k0 + sh.k_tile);
    if (a.adc_range == AdcRange::Calibrated) {
      std::fill(pos.begin(), pos.end(), 0.0);
      std::fill(neg.begin(), neg.end(), 0.0);
      for (int k = k0; k < k1; ++k) {
        const float* row = e.matrix.data() + static_cast<std::size_t>(k) * width;
        for (int col = 0; col < width; ++col) {
          const double v = row[col];
          pos[col] += v > 0 ? v : 0.0;
          neg[col] += v > 0 ? 0.0 : -v;
        }
      }
    }
    for (int col = 0; col < width; ++col) {
      double full = sh.k_tile * max_input * max_weight;  // every line at full input and weight
      if (a.adc_range == AdcRange::Calibrated) full = max_input * std::max(pos[col], neg[col]);
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
  std::vector<float> w(static_cast<std::size_t>(out_) * in_, 0.0f);
  if (a.read_mode != ReadMode::PerSlice) {  // one slice: W = w_step (the matrix, in x out) transposed
    cblas_somatcopy(CblasRowMajor, CblasTrans, in_, out_, s_.w_step, e.matrix.data(), out_, w.data(), in_);
    return w;
  }
  const int slices = a.slices();
  const std::size_t width = static_cast<std::size_t>(slices) * out_;
  parallel_for(in_, 16, [&](std::size_t i0, std::size_t i1) {  // an input line per item
    for (std::size_t i = i0; i < i1; ++i) {
      for (int s = 0; s < slices; ++s) {
        const float fold = std::ldexp(1.0f, a.bits_per_cell * s);
        for (int o = 0; o < out_; ++o)
          w[static_cast<std::size_t>(o) * in_ + i] += fold * e.matrix[i * width + static_cast<std::size_t>(s) * out_ + o];
      }
      for (int o = 0; o < out_; ++o) w[static_cast<std::size_t>(o) * in_ + i] *= s_.w_step;
    }
  });
  return w;
}

}  // namespace txsim
