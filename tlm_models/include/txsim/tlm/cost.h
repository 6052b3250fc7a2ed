// The cost model: what the timed modules charge for the activity a functional operation reports.
// Plain functions of the platform and the activity (no SystemC), so every figure can be checked
// by hand. Latencies in ns, energies in pJ.
#pragma once

#include <cstdint>
#include <string>

#include "txsim/activity.h"
#include "txsim/tlm/platform.h"

namespace txsim::hw {

using txsim::Phase;
using txsim::phase_name;

struct Cost {
  double latency_ns = 0;
  // Energy by component.
  double array_pj = 0, dac_pj = 0, adc_pj = 0, shift_add_pj = 0, digital_pj = 0, buffer_pj = 0, noc_pj = 0,
         program_pj = 0;
  double energy_pj() const {
    return array_pj + dac_pj + adc_pj + shift_add_pj + digital_pj + buffer_pj + noc_pj + program_pj;
  }
  Cost& operator+=(const Cost& o);
  // The same latency, every energy times f (a unit's share of a layer's work).
  Cost energy_scaled(double f) const;
};

// Where a layer sits: its crossbars (one copy), how many copies, and its tiles.
struct Placement {
  int crossbars = 0;
  int replicas = 1;
  int first_tile = 0, tiles = 1;
};

// An analog read phase (FW or AG) of one layer for one batch. The crossbars of the layer (and
// of each replica) work in parallel; each crossbar takes its share of read cycles in sequence:
// latency = (crossbar_reads / crossbars) / replicas x read cycle. Energy: every crossbar read,
// DAC conversion, ADC conversion and shift-and-add, at the platform's per-operation energies.
Cost read_cost(const Platform& p, const Activity& a, const Placement& where);

// Moving `bytes` through a buffer (tile or global): one access per width_bytes, in sequence.
Cost buffer_cost(const BufferSpec& b, uint64_t bytes);

// Sending `bytes` over `hops` hops of the interconnect: ceil(bytes / link_bytes) flits
// pipelined behind the head: latency = (hops + flits - 1) x hop_ns; energy per byte and hop.
Cost noc_cost(const NocSpec& n, uint64_t bytes, int hops);

// Hops between two tiles: mesh: Manhattan distance on a ceil(sqrt(tiles))-wide grid (row-major
// tile numbers); H-tree: up to the common ancestor and down (2 x levels); bus: 1.
int hops_between(const Platform& p, int from_tile, int to_tile);

// Digital multiply-accumulates (the weight gradient) on `tiles` tiles' digital units.
Cost digital_cost(const Platform& p, uint64_t macs, int tiles);

// The weight update: every programming pulse's energy; the slowest crossbar's slots x the pulse.
Cost update_cost(const Platform& p, const Activity& a);

}  // namespace txsim::hw
