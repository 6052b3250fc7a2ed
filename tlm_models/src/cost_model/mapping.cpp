#include "txsim/tlm/cost_model/mapping.h"

#include <algorithm>

namespace txsim::hw {

int LayerPlacement::crossbars_on(int tile, int c) const {
  const int first = copy_first_crossbar(c);
  const int lo = std::max(first, tile * crossbars_per_tile);
  const int hi = std::min(first + where.crossbars, (tile + 1) * crossbars_per_tile);
  return std::max(0, hi - lo);
}

Placement LayerPlacement::copy(int c) const {
  Placement w = where;
  if (!shape.analog) return w;
  const int first = copy_first_crossbar(c);
  w.replicas = 1;
  w.first_tile = first / crossbars_per_tile;
  w.tiles = (first + where.crossbars - 1) / crossbars_per_tile - w.first_tile + 1;
  return w;
}

ChipMap map_layers(const Platform& p, const std::vector<LayerShape>& layers) {
  ChipMap m;
  m.crossbars_per_tile = p.pes_per_tile * p.crossbars_per_pe;
  std::string needs;
  int next = 0, last_tile = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    LayerPlacement l;
    l.shape = layers[i];
    l.crossbars_per_tile = m.crossbars_per_tile;
    if (l.shape.analog) {
      if (l.shape.crossbars < 1) throw ConfigError("map_layers: analog layer " + std::to_string(i) + " has no crossbars");
      l.first_crossbar = next;
      l.where.crossbars = l.shape.crossbars;
      l.where.first_tile = next / m.crossbars_per_tile;
      l.where.tiles = (next + l.shape.crossbars - 1) / m.crossbars_per_tile - l.where.first_tile + 1;
      next += l.shape.crossbars;
      last_tile = l.where.first_tile;
      needs += (needs.empty() ? "" : ", ") + std::string("layer ") + std::to_string(i) + ": " + std::to_string(l.shape.crossbars);
    } else {
      l.where.first_tile = std::min(last_tile, p.tiles - 1);
      l.where.tiles = 1;
    }
    m.layers.push_back(l);
  }
  m.crossbars_used = next;
  if (next > p.crossbars())
    throw ConfigError(p.source + ": the workload needs " + std::to_string(next) + " crossbars of " +
                      std::to_string(p.crossbar.rows) + "x" + std::to_string(p.crossbar.cols) + " (" + needs +
                      ") but the platform has " + std::to_string(p.crossbars()) + " (chip.tiles " + std::to_string(p.tiles) +
                      " x tile.pes " + std::to_string(p.pes_per_tile) + " x pe.crossbars " + std::to_string(p.crossbars_per_pe) +
                      "); accepted: a platform with at least " + std::to_string(next) + " crossbars");
  m.replicas = p.replication && next > 0 ? p.crossbars() / next : 1;
  for (LayerPlacement& l : m.layers) {
    l.copy_stride = next;  // copy k of every layer follows the k-th copy of the whole network
    if (l.shape.analog) l.where.replicas = m.replicas;
  }
  return m;
}

}  // namespace txsim::hw
