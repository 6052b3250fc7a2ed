#include "txsim/tlm/cost.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace txsim::hw {

Cost& Cost::operator+=(const Cost& o) {
  latency_ns += o.latency_ns;
  array_pj += o.array_pj;
  dac_pj += o.dac_pj;
  adc_pj += o.adc_pj;
  shift_add_pj += o.shift_add_pj;
  digital_pj += o.digital_pj;
  buffer_pj += o.buffer_pj;
  noc_pj += o.noc_pj;
  program_pj += o.program_pj;
  return *this;
}

Cost Cost::energy_scaled(double f) const {
  Cost s = *this;
  s.array_pj *= f;
  s.dac_pj *= f;
  s.adc_pj *= f;
  s.shift_add_pj *= f;
  s.digital_pj *= f;
  s.buffer_pj *= f;
  s.noc_pj *= f;
  s.program_pj *= f;
  return s;
}

Cost read_cost(const Platform& p, const Activity& a, const Placement& where) {
  if (where.crossbars < 1 || where.replicas < 1) throw std::invalid_argument("read_cost: a placement needs crossbars and replicas >= 1");
  Cost c;
  const double cycles_per_crossbar = static_cast<double>(a.crossbar_reads) / where.crossbars;
  c.latency_ns = std::ceil(cycles_per_crossbar / where.replicas) * p.read_cycle_ns();
  c.array_pj = a.crossbar_reads * p.crossbar.read_energy_pj;
  c.dac_pj = a.dac_conversions * p.dac.energy_pj;
  c.adc_pj = a.adc_conversions * p.adc.energy_pj;
  c.shift_add_pj = a.shift_adds * p.shift_add_energy_pj;
  return c;
}

Cost buffer_cost(const BufferSpec& b, uint64_t bytes) {
  Cost c;
  const uint64_t accesses = (bytes + b.width_bytes - 1) / b.width_bytes;
  c.latency_ns = accesses * b.latency_ns;
  c.buffer_pj = accesses * b.energy_pj;
  return c;
}

Cost noc_cost(const NocSpec& n, uint64_t bytes, int hops) {
  Cost c;
  if (bytes == 0) return c;
  const uint64_t flits = (bytes + n.link_bytes - 1) / n.link_bytes;
  c.latency_ns = (hops + static_cast<double>(flits) - 1) * n.hop_ns;
  c.noc_pj = static_cast<double>(bytes) * hops * n.energy_pj_per_byte_hop;
  return c;
}

int hops_between(const Platform& p, int from, int to) {
  if (from < 0 || to < 0 || from >= p.tiles || to >= p.tiles)
    throw std::out_of_range("hops_between: tile " + std::to_string(from) + " or " + std::to_string(to) + " beyond " +
                            std::to_string(p.tiles) + " tiles");
  switch (p.noc.kind) {
    case NocKind::Bus: return 1;
    case NocKind::Mesh: {
      const int width = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(p.tiles))));
      return std::abs(from % width - to % width) + std::abs(from / width - to / width);
    }
    case NocKind::HTree: {
      int levels = 0;
      for (int a = from, b = to; a != b; a >>= 1, b >>= 1) ++levels;
      return 2 * levels;
    }
  }
  return 0;
}

Cost digital_cost(const Platform& p, uint64_t macs, int tiles) {
  Cost c;
  c.latency_ns = static_cast<double>(macs) / (p.digital_macs_per_ns * std::max(1, tiles));
  c.digital_pj = static_cast<double>(macs) * p.digital_mac_energy_pj;
  return c;
}

Cost update_cost(const Platform& p, const Activity& a) {
  Cost c;
  c.latency_ns = static_cast<double>(a.program_slots) * p.crossbar.write_pulse_ns;
  c.program_pj = static_cast<double>(a.program_pulses) * p.crossbar.write_energy_pj;
  return c;
}

}  // namespace txsim::hw
