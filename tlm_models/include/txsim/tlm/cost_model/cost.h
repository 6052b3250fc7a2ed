// The cost model: what the timed modules charge for the activity a functional operation reports.
// Plain functions of the platform and the activity (no SystemC), so every figure can be checked
// by hand. Latencies in ns, energies in pJ; every energy is booked to a component of the
// accounting table (accounting.h) with the operations it was charged for.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "txsim/activity.h"
#include "txsim/tlm/cost_model/accounting.h"
#include "txsim/tlm/cost_model/platform.h"

namespace txsim::hw {

using txsim::Phase;
using txsim::phase_name;

// The resources whose time a phase waits for; the largest is the phase's bound.
enum class Resource { Array, Adc, Buffer, Digital, Programming, Interconnect, OffChip };
constexpr std::size_t kResources = 7;
inline const char* resource_name(Resource r) {
  constexpr const char* names[kResources] = {"array", "adc", "buffer", "digital", "programming", "interconnect", "offchip"};
  return names[static_cast<int>(r)];
}

struct Cost {
  double latency_ns = 0;
  ComponentLedger parts;   // dynamic energy and operations by component
  double static_pj = 0;    // the chip's leakage over the latency (set by the controller)
  std::array<double, kResources> demand_ns{};  // what each resource needed (overlapping)

  double energy_pj() const { return parts.dynamic_pj() + static_pj; }
  double pj(Component c) const { return parts.pj[index_of(c)]; }
  double ops(Component c) const { return parts.ops[index_of(c)]; }
  Cost& operator+=(const Cost& o);
  // Every energy and operation times f (a unit's share of a layer's work; the latency and the
  // demands stay). In place: a Cost is 48 doubles, and the timed model's hot paths avoid copies.
  void scale_energy(double f);
  // The resource that needed the most time.
  Resource bound() const;
};

// Where a layer sits: its crossbars (one copy), how many copies, and its tiles.
struct Placement {
  int crossbars = 0;
  int replicas = 1;
  int first_tile = 0, tiles = 1;
};

// An analog read phase (FW or AG) of one layer for one batch. The crossbars of the layer (and of
// each copy) work in parallel. Each crossbar reads ceil(crossbar_reads / crossbars / copies)
// cycles of read_ns; its ADCs convert, beside the reads (pipelined), the conversions the
// activity reports, ceil(adc_conversions / (crossbars x copies x per_crossbar)) per ADC at gsps.
// The phase takes the longer of the two. Per-slice reads convert every column of every input
// plane and slice; folded reads (planes and slices summed in the analog domain, one conversion
// per output and row tile) convert far fewer, so their ADCs rarely bound the cycle. Energy:
// exactly the reads, DAC conversions, samples (one per conversion), conversions, shift-adds,
// input-register bytes (the DACs' bits) and output-register partial sums (one per shift-add)
// the activity reports; `outputs` elements pass the tile's shift-and-add and output register.
Cost read_cost(const Platform& p, const Activity& a, const Placement& where, uint64_t outputs);

// Two things done side by side, into a: energies and demands add, the latency is the longer one.
void overlap(Cost& a, const Cost& b);

// Moving `bytes` through a buffer (tile or global): one access per width_bytes, in sequence.
Cost buffer_cost(const BufferSpec& b, const ComponentSpec& spec, Component c, uint64_t bytes);
// A tile's buffer traffic: its accesses, and (where the platform has the bus) the bytes over the
// bus to the PEs at bus.bytes_per_ns beside them.
Cost tile_traffic_cost(const Platform& p, uint64_t bytes);

// Sending `bytes` over `hops` hops of the interconnect: ceil(bytes / link_bytes) flits
// pipelined behind the head: latency = (hops + flits - 1) x hop_ns; energy per byte and hop.
Cost noc_cost(const Platform& p, uint64_t bytes, int hops);

// Hops between two tiles: mesh: Manhattan distance on a ceil(sqrt(routers))-wide grid of
// routers (tile t on router t / tiles_per_router); H-tree: up to the common ancestor and down
// (2 x levels); bus: 1.
int hops_between(const Platform& p, int from_tile, int to_tile);

// Digital multiply-accumulates on `tiles` tiles' digital units (fractional: one tile's share).
Cost digital_cost(const Platform& p, double macs, int tiles);
// Weight-gradient MACs on the chip's dedicated weight-gradient unit.
Cost gradient_unit_cost(const Platform& p, uint64_t macs);

// The weight update: every programming pulse's energy; the slowest crossbar's slots x (the
// pulse + verify_reads array reads). A verify read checks a whole row: pulses x verify_reads /
// cols array reads are charged to the arrays.
Cost update_cost(const Platform& p, const Activity& a);

// Bytes to or from off-chip DRAM: bytes / (offchip.gbps x dram.channels); energy in the interface
// and in DRAM.
Cost offchip_cost(const Platform& p, uint64_t bytes);

}  // namespace txsim::hw
