// The one accounting table of the timed model: every hardware component a platform may have,
// the operation it is charged for, and where it sits. The cost model, the platform's peak report,
// the hardware report, layers.csv, hardware.json, the sweep's columns and the plots all iterate
// over kComponentTable, so a new component is added here and nowhere else.
#pragma once

#include <array>
#include <cstddef>

namespace txsim::hw {

enum class Component {
  Array,               // the crossbar arrays and their row drivers: one read cycle of one crossbar
  Dac,                 // one input line driven for one input plane
  SampleHold,          // one bit-line sample held for its conversion
  Adc,                 // one conversion
  ShiftAdd,            // one digitized partial sum shifted and accumulated (in the PE)
  InputRegister,       // one byte of input streamed from the PE's input register into the DACs
  OutputRegister,      // one partial sum written to the PE's output register
  TileBuffer,          // one access of width_bytes to the tile buffer (eDRAM or SRAM)
  TileBus,             // one byte between the tile buffer and the PEs
  TileShiftAdd,        // one output element accumulated across the PEs of a tile
  TileOutputRegister,  // one output element held in the tile's output register
  Activation,          // one element through the activation / batch-norm unit (FW) or its derivative (AG)
  Pooling,             // one element through the pooling unit
  Digital,             // one multiply-accumulate on a tile's digital unit (weight gradients, digital layers)
  WeightGradientUnit,  // one multiply-accumulate on the chip's dedicated weight-gradient unit
  Programming,         // one programming pulse into one device (with its verify reads)
  Router,              // one byte over one hop of the interconnect
  GlobalBuffer,        // one access of width_bytes to the global buffer
  OffChipInterface,    // one byte through the off-chip interface (its PHY: HyperTransport, DDR)
  Dram,                // one byte read from or written to off-chip DRAM
};
constexpr std::size_t kComponentCount = 20;

// Where the units of a component sit (what its count is multiplied by).
enum class Scope { PerCrossbar, PerRow, PerColumn, PerPe, PerTile, PerRouter, PerChip };

struct ComponentInfo {
  Component id;
  const char* key;        // in JSON, CSV and sweep columns: energy_<key>_pj, energy_<key>_joules_per_image
  const char* label;      // in tables and plots
  const char* operation;  // what one charged operation is (the activity counter)
  Scope scope;
  bool training_only;     // idle at peak inference throughput: contributes its static power only
  bool off_chip = false;  // not part of the chip's area and power (its energy is charged in runs)
};

inline constexpr std::array<ComponentInfo, kComponentCount> kComponentTable = {{
    {Component::Array, "array", "crossbar arrays", "crossbar read cycles", Scope::PerCrossbar, false},
    {Component::Dac, "dac", "DACs", "DAC conversions", Scope::PerRow, false},
    {Component::SampleHold, "sample_hold", "sample-and-hold", "samples", Scope::PerColumn, false},
    {Component::Adc, "adc", "ADCs", "ADC conversions", Scope::PerCrossbar, false},
    {Component::ShiftAdd, "shift_add", "shift-and-add (PE)", "shift-adds", Scope::PerCrossbar, false},
    {Component::InputRegister, "input_register", "input register (PE)", "bytes", Scope::PerPe, false},
    {Component::OutputRegister, "output_register", "output register (PE)", "partial sums", Scope::PerPe, false},
    {Component::TileBuffer, "tile_buffer", "tile buffer", "accesses", Scope::PerTile, false},
    {Component::TileBus, "tile_bus", "tile buffer to PE bus", "bytes", Scope::PerTile, false},
    {Component::TileShiftAdd, "tile_shift_add", "shift-and-add (tile)", "elements", Scope::PerTile, false},
    {Component::TileOutputRegister, "tile_output_register", "output register (tile)", "elements", Scope::PerTile, false},
    {Component::Activation, "activation", "activation / batch-norm unit", "elements", Scope::PerTile, false},
    {Component::Pooling, "pooling", "pooling unit", "elements", Scope::PerTile, false},
    {Component::Digital, "digital", "digital unit (tile)", "MACs", Scope::PerTile, true},
    {Component::WeightGradientUnit, "weight_gradient_unit", "weight-gradient unit", "MACs", Scope::PerChip, true},
    {Component::Programming, "program", "programming drivers", "pulses", Scope::PerCrossbar, true},
    {Component::Router, "router", "routers and links", "byte-hops", Scope::PerRouter, false},
    {Component::GlobalBuffer, "global_buffer", "global buffer", "accesses", Scope::PerChip, false},
    {Component::OffChipInterface, "offchip_interface", "off-chip interface", "bytes", Scope::PerChip, false},
    {Component::Dram, "dram", "DRAM", "bytes", Scope::PerChip, false, true},
}};

constexpr std::size_t index_of(Component c) { return static_cast<std::size_t>(c); }
static_assert(kComponentTable.size() == kComponentCount);
static_assert(kComponentTable[kComponentCount - 1].id == Component::Dram);

// What one component of a platform costs: energy per operation, leakage per unit, area per unit.
struct ComponentSpec {
  double energy_pj = 0;  // per operation (the table's `operation`)
  double static_mw = 0;  // per unit, whenever the chip is powered
  double area_mm2 = 0;   // per unit
};

// Per component: the charged operations and their dynamic energy (pJ).
struct ComponentLedger {
  std::array<double, kComponentCount> ops{}, pj{};

  void charge(Component c, double operations, const ComponentSpec& spec) {
    ops[index_of(c)] += operations;
    pj[index_of(c)] += operations * spec.energy_pj;
  }
  double dynamic_pj() const {
    double s = 0;
    for (double v : pj) s += v;
    return s;
  }
  ComponentLedger& operator+=(const ComponentLedger& o) {
    for (std::size_t k = 0; k < kComponentCount; ++k) {
      ops[k] += o.ops[k];
      pj[k] += o.pj[k];
    }
    return *this;
  }
  void scale(double f) {
    for (std::size_t k = 0; k < kComponentCount; ++k) {
      ops[k] *= f;
      pj[k] *= f;
    }
  }
};

}  // namespace txsim::hw
