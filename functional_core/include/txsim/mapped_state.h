// The state of a weight matrix mapped onto crossbars (MappedMatrix): everything its next read or
// update depends on beyond its configuration, as one object with one typed save and load, so
// that a new piece of state sits beside the code that checkpoints it.
#pragma once

#include <cstdint>
#include <vector>

#include "txsim/device_array.h"
#include "txsim/state_archive.h"

namespace txsim {

struct MappedState {
  std::vector<DeviceArray> planes;      // slice * polarities + polarity: the devices
  std::vector<DeviceArray> references;  // offset mapping: one per slice
  float w_step = 0.0f;                  // real value of one weight integer step
  float w_scale = 0.0f;                 // real value of the largest weight code
  std::vector<int32_t> codes;           // the signed weight code each weight was programmed to
  std::vector<float> step_scale;        // update: step factor per device (device order, G+ and G- interleaved)
  std::vector<float> nl_scale;          // update: nonlinearity factor per device (empty: all 1)
  std::vector<float> carry;             // update with mixed precision: sub-pulse remainders
  uint64_t key = 0;                     // the layer's stream key (devices, reads, updates)
  uint64_t reads = 0;                   // reads so far: the read-noise stream's counter
  // circuit.refresh_every > 1: read-matrix builds per direction since construction, and per
  // (direction, crossbar) the exact solve's correction to the first-order model at the last refresh.
  uint64_t builds[2] = {0, 0};
  std::vector<std::vector<float>> corrections[2];

  // Named, typed entries (state_archive.h). load() checks every size against the devices this
  // matrix was built with (weights: in x out) and every value's range; on an error nothing is
  // changed.
  void save(StateWriter& w) const;
  void load(StateReader& r, int in, int out);
};

}  // namespace txsim
