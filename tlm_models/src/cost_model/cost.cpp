#include "txsim/tlm/cost_model/cost.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace txsim::hw {

namespace {
std::size_t at(Resource r) { return static_cast<std::size_t>(r); }
}  // namespace

Cost& Cost::operator+=(const Cost& o) {
  latency_ns += o.latency_ns;
  parts += o.parts;
  static_pj += o.static_pj;
  for (std::size_t k = 0; k < kResources; ++k) demand_ns[k] += o.demand_ns[k];
  return *this;
}

void Cost::scale_energy(double f) {
  parts.scale(f);
  static_pj *= f;
}

Resource Cost::bound() const {
  return static_cast<Resource>(std::max_element(demand_ns.begin(), demand_ns.end()) - demand_ns.begin());
}

Cost read_cost(const Platform& p, const Activity& a, const Placement& where, uint64_t outputs) {
  if (where.crossbars < 1 || where.replicas < 1) throw std::invalid_argument("read_cost: a placement needs crossbars and replicas >= 1");
  Cost c;
  const double crossbars = static_cast<double>(where.crossbars) * where.replicas;
  const double cycles = std::ceil(static_cast<double>(a.crossbar_reads) / crossbars);
  const double per_adc = std::ceil(static_cast<double>(a.adc_conversions) / (crossbars * p.adc.per_crossbar));
  c.demand_ns[at(Resource::Array)] = cycles * p.crossbar.read_ns;
  c.demand_ns[at(Resource::Adc)] = per_adc / p.adc.gsps;
  c.latency_ns = std::max(c.demand_ns[at(Resource::Array)], c.demand_ns[at(Resource::Adc)]);
  c.parts.charge(Component::Array, static_cast<double>(a.crossbar_reads), p.part(Component::Array));
  c.parts.charge(Component::Dac, static_cast<double>(a.dac_conversions), p.part(Component::Dac));
  c.parts.charge(Component::SampleHold, static_cast<double>(a.adc_conversions), p.part(Component::SampleHold));
  c.parts.charge(Component::Adc, static_cast<double>(a.adc_conversions), p.part(Component::Adc));
  c.parts.charge(Component::ShiftAdd, static_cast<double>(a.shift_adds), p.part(Component::ShiftAdd));
  c.parts.charge(Component::InputRegister, static_cast<double>(a.dac_conversions) * p.dac.bits / 8.0,
                 p.part(Component::InputRegister));
  c.parts.charge(Component::OutputRegister, static_cast<double>(a.shift_adds), p.part(Component::OutputRegister));
  c.parts.charge(Component::TileShiftAdd, static_cast<double>(outputs), p.part(Component::TileShiftAdd));
  c.parts.charge(Component::TileOutputRegister, static_cast<double>(outputs), p.part(Component::TileOutputRegister));
  return c;
}

Cost buffer_cost(const BufferSpec& b, const ComponentSpec& spec, Component component, uint64_t bytes) {
  Cost c;
  const uint64_t accesses = (bytes + b.width_bytes - 1) / b.width_bytes;
  c.latency_ns = accesses * b.latency_ns;
  c.demand_ns[at(Resource::Buffer)] = c.latency_ns;
  c.parts.charge(component, static_cast<double>(accesses), spec);
  return c;
}

void overlap(Cost& a, const Cost& b) {
  const double latency = std::max(a.latency_ns, b.latency_ns);
  a += b;
  a.latency_ns = latency;
}

Cost tile_traffic_cost(const Platform& p, uint64_t bytes) {
  Cost c = buffer_cost(p.tile_buffer, p.part(Component::TileBuffer), Component::TileBuffer, bytes);
  if (p.tile_bus) {  // the bus beside the accesses (overlapped, written out: no second Cost)
    const double bus_ns = static_cast<double>(bytes) / p.bus_bytes_per_ns;
    c.latency_ns = std::max(c.latency_ns, bus_ns);
    c.demand_ns[at(Resource::Buffer)] += bus_ns;
    c.parts.charge(Component::TileBus, static_cast<double>(bytes), p.part(Component::TileBus));
  }
  return c;
}

Cost noc_cost(const Platform& p, uint64_t bytes, int hops) {
  Cost c;
  if (bytes == 0) return c;
  const uint64_t flits = (bytes + p.noc.link_bytes - 1) / p.noc.link_bytes;
  c.latency_ns = (hops + static_cast<double>(flits) - 1) * p.noc.hop_ns;
  c.demand_ns[at(Resource::Interconnect)] = c.latency_ns;
  c.parts.charge(Component::Router, static_cast<double>(bytes) * hops, p.part(Component::Router));
  return c;
}

int hops_between(const Platform& p, int from, int to) {
  if (from < 0 || to < 0 || from >= p.tiles || to >= p.tiles)
    throw std::out_of_range("hops_between: tile " + std::to_string(from) + " or " + std::to_string(to) + " beyond " +
                            std::to_string(p.tiles) + " tiles");
  switch (p.noc.kind) {
    case NocKind::Bus: return 1;
    case NocKind::Mesh: {
      const int a = from / p.noc.tiles_per_router, b = to / p.noc.tiles_per_router;
      const int width = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(p.routers()))));
      return std::abs(a % width - b % width) + std::abs(a / width - b / width);
    }
    case NocKind::HTree: {
      int levels = 0;
      for (int a = from, b = to; a != b; a >>= 1, b >>= 1) ++levels;
      return 2 * levels;
    }
  }
  return 0;
}

Cost digital_cost(const Platform& p, double macs, int tiles) {
  Cost c;
  c.latency_ns = macs / (p.digital_macs_per_ns * std::max(1, tiles));
  c.demand_ns[at(Resource::Digital)] = c.latency_ns;
  c.parts.charge(Component::Digital, macs, p.part(Component::Digital));
  return c;
}

Cost gradient_unit_cost(const Platform& p, uint64_t macs) {
  Cost c;
  c.latency_ns = static_cast<double>(macs) / p.gradient_unit_macs_per_ns;
  c.demand_ns[at(Resource::Digital)] = c.latency_ns;
  c.parts.charge(Component::WeightGradientUnit, static_cast<double>(macs), p.part(Component::WeightGradientUnit));
  return c;
}

Cost update_cost(const Platform& p, const Activity& a) {
  Cost c;
  c.latency_ns = static_cast<double>(a.program_slots) * (p.crossbar.write_pulse_ns + p.crossbar.verify_reads * p.crossbar.read_ns);
  c.demand_ns[at(Resource::Programming)] = c.latency_ns;
  c.parts.charge(Component::Programming, static_cast<double>(a.program_pulses), p.part(Component::Programming));
  if (p.crossbar.verify_reads > 0)
    c.parts.charge(Component::Array, static_cast<double>(a.program_pulses) * p.crossbar.verify_reads / p.crossbar.cols,
                   p.part(Component::Array));
  return c;
}

Cost offchip_cost(const Platform& p, uint64_t bytes) {
  Cost c;
  c.latency_ns = static_cast<double>(bytes) / (p.offchip_gbps * p.dram_channels);  // GB/s = bytes per ns
  c.demand_ns[at(Resource::OffChip)] = c.latency_ns;
  c.parts.charge(Component::OffChipInterface, static_cast<double>(bytes), p.part(Component::OffChipInterface));
  c.parts.charge(Component::Dram, static_cast<double>(bytes), p.part(Component::Dram));
  return c;
}

}  // namespace txsim::hw
