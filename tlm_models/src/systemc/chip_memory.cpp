#include "txsim/tlm/systemc/chip_memory.h"

#include <algorithm>

namespace txsim::hw {

using sc_core::sc_time;

GlobalBuffer::GlobalBuffer(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records)
    : Station(name, p, UnitKind::GlobalBuffer, records, -1), port_(add_unit("port", UnitKind::GlobalBuffer)) {}

sc_time GlobalBuffer::serve(Job& j, sc_time at) {
  j.cost = buffer_cost(p_.global_buffer, p_.part(Component::GlobalBuffer), Component::GlobalBuffer, j.bytes);
  return hold(port_, j.cost.latency_ns, j, at);
}

OffChipPort::OffChipPort(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records)
    : Station(name, p, UnitKind::OffChip, records, -1) {
  for (int c = 0; c < p.dram_channels; ++c) channels_.push_back(add_unit("channel" + std::to_string(c), UnitKind::OffChip));
}

sc_time OffChipPort::serve(Job& j, sc_time at) {
  j.cost = offchip_cost(p_, j.bytes);
  // Striped: every channel moves its share in the same time, so all of them are held for it.
  sc_time end = at;
  for (int c : channels_) end = std::max(end, hold(c, j.cost.latency_ns, j, at));
  return end;
}

GradientEngine::GradientEngine(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records)
    : Station(name, p, UnitKind::GradientUnit, records, -1) {
  if (p.gradient_unit == GradientUnit::Dedicated) engine_ = add_unit("engine", UnitKind::GradientUnit);
}

sc_time GradientEngine::serve(Job& j, sc_time at) {
  if (engine_ < 0) return at;  // the platform has none: the controller never sends here
  j.cost = gradient_unit_cost(p_, j.macs);
  return hold(engine_, j.cost.latency_ns, j, at);
}

}  // namespace txsim::hw
