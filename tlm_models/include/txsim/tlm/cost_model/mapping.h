// Weight-stationary mapping of a workload's layers onto the platform's crossbars: analog layers
// take consecutive crossbars in tile order (a layer may span tiles); digital layers run on the
// digital unit of the tile that holds the layer before them. With replication, every analog
// layer gets as many copies as the spare crossbars allow (the same count for all layers).
#pragma once

#include <string>
#include <vector>

#include "txsim/tlm/cost_model/cost.h"
#include "txsim/tlm/cost_model/platform.h"

namespace txsim::hw {

struct LayerShape {
  bool analog = false;
  int in = 0, out = 0;
  int crossbars = 0;             // physical crossbars of one copy (analog)
  bool in_array_update = false;  // the weight gradient forms in the array (pulse trains)
};

struct LayerPlacement {
  LayerShape shape;
  Placement where;         // crossbars, replicas, first_tile, tiles (digital: crossbars 0)
  int first_crossbar = 0;  // chip-wide index of the first crossbar of the first copy
  int crossbars_per_tile = 1;
  int copy_stride = 0;     // crossbars between one copy's first crossbar and the next copy's
  // Crossbars of copy `copy` (0: the first) on `tile`.
  int crossbars_on(int tile, int copy = 0) const;
  // Where copy `copy` of an analog layer sits: its crossbars and tiles, one copy.
  Placement copy(int copy) const;
  int copy_first_crossbar(int copy) const { return first_crossbar + copy * copy_stride; }
};

struct ChipMap {
  std::vector<LayerPlacement> layers;
  int crossbars_used = 0;  // one copy of every analog layer
  int replicas = 1;
  int crossbars_per_tile = 1;
};

// Throws ConfigError naming the platform file when the layers need more crossbars than it has.
ChipMap map_layers(const Platform& p, const std::vector<LayerShape>& layers);

}  // namespace txsim::hw
