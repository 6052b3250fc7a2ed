#include "txsim/tlm/systemc/tile.h"

#include <algorithm>

namespace txsim::hw {

using sc_core::sc_time;

Tile::Tile(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records, int index)
    : Station(name, p, UnitKind::Crossbars, records, index), index_(index) {
  for (int k = 0; k < p.pes_per_tile; ++k) {
    pes_.push_back(add_unit("pe" + std::to_string(k), UnitKind::Crossbars));
    adc_banks_.push_back(add_unit("adc_bank" + std::to_string(k), UnitKind::AdcBank));
  }
  buffer_port_ = add_unit("buffer_port", UnitKind::TileBuffer);
  digital_ = add_unit("digital", UnitKind::Digital);
  programming_ = add_unit("programming", UnitKind::Programming);
}

sc_time Tile::serve(Job& j, sc_time at) {
  // The PEs of this tile that hold some of the job's crossbars.
  const int per_pe = p_.crossbars_per_pe, tile_first = index_ * p_.pes_per_tile * per_pe;
  const int lo = std::max(j.first_crossbar, tile_first) - tile_first;
  const int hi = std::min(j.first_crossbar + j.crossbars, tile_first + p_.pes_per_tile * per_pe) - tile_first;
  auto each_pe = [&](auto&& f) {
    for (int k = lo / per_pe; hi > lo && k <= (hi - 1) / per_pe; ++k) f(k);
  };
  sc_time end = at;
  switch (j.kind) {
    case Job::Kind::Read: {
      // The read at its share of the energy, overlapped with the tile's traffic, built in j.cost.
      j.cost = read_cost(p_, *j.activity, j.where, j.outputs);
      const double array_ns = j.cost.demand_ns[static_cast<std::size_t>(Resource::Array)];
      const double adc_ns = j.cost.demand_ns[static_cast<std::size_t>(Resource::Adc)];
      j.cost.scale_energy(j.share);
      const Cost b = tile_traffic_cost(p_, j.bytes);
      overlap(j.cost, b);
      j.cost.parts.charge(Component::Activation, static_cast<double>(j.activations) * j.share, p_.part(Component::Activation));
      each_pe([&](int k) {
        end = std::max(end, hold(pes_[k], array_ns, j, at));
        end = std::max(end, hold(adc_banks_[k], adc_ns, j, at));
      });
      end = std::max(end, hold(buffer_port_, b.latency_ns, j, at));
      break;
    }
    case Job::Kind::Digital: {
      j.cost = digital_cost(p_, static_cast<double>(j.macs) * j.share, 1);
      const double digital_ns = j.cost.latency_ns;
      const Cost b = tile_traffic_cost(p_, j.bytes);
      overlap(j.cost, b);
      j.cost.parts.charge(Component::Activation, static_cast<double>(j.activations) * j.share, p_.part(Component::Activation));
      end = std::max(hold(digital_, digital_ns, j, at), hold(buffer_port_, b.latency_ns, j, at));
      break;
    }
    case Job::Kind::Update: {
      j.cost = update_cost(p_, *j.activity);
      j.cost.scale_energy(j.share * j.where.replicas);  // every copy is programmed
      end = hold(programming_, j.cost.latency_ns, j, at);
      break;
    }
    default: break;
  }
  return end;
}

}  // namespace txsim::hw
