// MappedMatrix, layout: tiles, slices and polarities of the devices, and its state's checkpoint.
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
void IdealCircuit::effective(const double* g, int rows, int cols, Direction, double* eff) const {
  std::copy(g, g + static_cast<std::size_t>(rows) * cols, eff);
}

MappedMatrix::MappedMatrix(const CrossbarConfig& config, int in, int out, uint64_t seed, uint64_t layer,
                           std::shared_ptr<const CircuitModel> circuit)
    : config_(config), in_(in), out_(out), circuit_(std::move(circuit)) {
  s_.key = derive_key(seed, layer);
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
      s_.planes.emplace_back(config_.device, in, out, levels, derive_key(s_.key, 100 + s * polarities() + p));
  if (a.mapping == Mapping::Offset) {
    // The reference column holds the digits of the offset 2^(weight_bits-1): zero weight.
    const double unit = digit_step();
    for (int s = 0; s < a.slices(); ++s) {
      s_.references.emplace_back(config_.device, in, col_tiles_, levels, derive_key(s_.key, 1000 + s));
      const int level = digit(0, s, 0);
      s_.references.back().program(
          std::vector<double>(static_cast<std::size_t>(in) * col_tiles_, config_.device.g_min + level * unit).data());
    }
  }
  program(std::vector<float>(static_cast<std::size_t>(in) * out, 0.0f).data());
}

const DeviceArray& MappedMatrix::plane(int slice, int polarity) const {
  if (slice < 0 || slice >= config_.crossbar.slices() || polarity < 0 || polarity >= polarities())
    throw std::out_of_range("MappedMatrix::plane: no plane (" + std::to_string(slice) + ", " +
                            std::to_string(polarity) + ")");
  return s_.planes[slice * polarities() + polarity];
}

const DeviceArray& MappedMatrix::reference(int slice) const {
  if (s_.references.empty() || slice < 0 || slice >= config_.crossbar.slices())
    throw std::out_of_range("MappedMatrix::reference: offset mapping only, slice " + std::to_string(slice));
  return s_.references[slice];
}

void MappedMatrix::save_state(StateWriter& w) const {
  s_.save(w);
  w.put("forward_effective_valid", static_cast<uint64_t>(forward_.valid));
  w.put("backward_effective_valid", static_cast<uint64_t>(backward_.valid));
}

void MappedMatrix::load_state(StateReader& r) {
  s_.load(r, in_, out_);
  planes_follow_codes_ = false;  // the loaded conductances are taken as they are
  const bool valid[2] = {r.get_u64("forward_effective_valid") != 0, r.get_u64("backward_effective_valid") != 0};
  invalidate_effective();
  // The run saved had these read matrices built: build them again from the same build count
  // (and parasitic corrections), so that the refresh schedule of the circuit solves continues
  // as it would have.
  for (int d = 0; d < 2; ++d)
    if (valid[d]) {
      if (s_.builds[d] == 0) throw StateError(r.source() + ": state: a read matrix marked built that was never built");
      --s_.builds[d];
      effective(d == 0 ? Direction::Forward : Direction::Backward);
    }
}

MappedMatrix::Shape MappedMatrix::shape(Direction dir) const {
  const ArrayConfig& a = config_.crossbar;
  if (dir == Direction::Forward) return {in_, out_, a.rows, row_tiles_};
  return {out_, in_, a.weight_cols(), col_tiles_};
}

}  // namespace txsim
