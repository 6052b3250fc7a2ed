// What a platform can do at best, from its file alone: peak throughput at its native precision,
// area and power by component, and the figures of merit an architect lays beside a paper's
// table. Plain C++ (no SystemC).
//
// Peak throughput: every crossbar reads one input plane per read cycle; a native weight takes
// ceil(weight_bits / bits_per_cell) crossbars (twice that when differential) and a native input
// ceil(input_bits / dac_bits) cycles, so peak ops/s = 2 x rows x cols x crossbars /
// (crossbars per weight x cycles per input x read cycle).
// Peak power: every component's leakage, plus, for the units that work during peak inference,
// their energy per operation at their full rate (arrays, DACs and sample-and-holds once per read
// cycle, ADCs at the rate one read cycle's columns give them, shift-and-adds and output
// registers per conversion, input registers the DACs' bits, buffers one access per latency, the
// bus and the off-chip interface at their bandwidth, element units at their rate, routers a link
// per hop time). Training-only units (tile digital units, the weight-gradient unit, programming
// drivers) add only their leakage.
#pragma once

#include <array>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "txsim/tlm/cost_model/platform.h"

namespace txsim::hw {

struct ComponentPeak {
  double units = 0;
  double rate_per_unit = 0;  // operations per second of one unit at peak (0: idle at peak)
  double area_mm2 = 0;       // all units
  double static_w = 0, dynamic_w = 0;
  bool absent = true;        // no energy, leakage or area in the platform
  double power_w() const { return static_w + dynamic_w; }
};

struct PeakReport {
  std::string platform;
  std::array<ComponentPeak, kComponentCount> parts{};
  double peak_ops_per_s = 0;
  double chip_area_mm2 = 0;  // Platform::area_mm2(): the on-chip rows summed
  double area_mm2() const { return chip_area_mm2; }
  double power_w() const;
  double peak_tops() const { return peak_ops_per_s * 1e-12; }
  double tops_per_mm2() const { return peak_tops() / area_mm2(); }
  double tops_per_w() const { return peak_tops() / power_w(); }
};

PeakReport peak_report(const Platform& p);
// The table `txsim platform FILE` prints; absent components say so.
std::string peak_table(const PeakReport& r);
// {"platform", "area_mm2", "power_w", "static_power_w", "peak_tops", "tops_per_mm2", "tops_per_w",
//  "components": {key: {"units", "area_mm2", "power_w", "static_w", "dynamic_w", "absent"}}}
nlohmann::json to_json(const PeakReport& r);

}  // namespace txsim::hw
