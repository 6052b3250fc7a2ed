#include "txsim/tlm/cost_model/peak.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

namespace txsim::hw {

namespace {

bool absent(const ComponentSpec& s) { return s.energy_pj == 0 && s.static_mw == 0 && s.area_mm2 == 0; }

// Operations per second of one unit at peak inference throughput (0: idle then).
double peak_rate(const Platform& p, Component c) {
  const double cycle_s = p.read_cycle_ns() * 1e-9;
  const double per_ns = 1e9;
  switch (c) {
    case Component::Array:
    case Component::Dac:
    case Component::SampleHold: return 1 / cycle_s;
    case Component::Adc: return std::ceil(static_cast<double>(p.crossbar.cols) / p.adc.per_crossbar) / cycle_s;
    case Component::ShiftAdd: return p.crossbar.cols / cycle_s / p.shift_adds_per_crossbar;
    case Component::InputRegister: return p.crossbars_per_pe * p.crossbar.rows * p.dac.bits / 8.0 / cycle_s;
    case Component::OutputRegister: return p.crossbars_per_pe * static_cast<double>(p.crossbar.cols) / cycle_s;
    case Component::TileBuffer: return p.tile_buffer.latency_ns > 0 ? per_ns / p.tile_buffer.latency_ns : 0;
    case Component::TileBus: return p.tile_bus ? p.bus_bytes_per_ns * per_ns : 0;
    case Component::TileShiftAdd: return p.tile_shift_add_per_ns * per_ns;
    case Component::TileOutputRegister: return p.tile_output_register_per_ns * per_ns;
    case Component::Activation: return p.activation_per_ns * per_ns;
    case Component::Pooling: return p.pooling_per_ns * per_ns;
    case Component::Digital:
    case Component::WeightGradientUnit:
    case Component::Programming: return 0;
    case Component::Router: return p.noc.hop_ns > 0 ? p.noc.link_bytes / p.noc.hop_ns * per_ns : 0;
    case Component::GlobalBuffer: return p.global_buffer.latency_ns > 0 ? per_ns / p.global_buffer.latency_ns : 0;
    case Component::OffChipInterface: return p.offchip_gbps * per_ns;  // per channel
    case Component::Dram: return p.offchip_gbps * p.dram_channels * per_ns;
  }
  return 0;
}

}  // namespace

double PeakReport::power_w() const {
  double w = 0;
  for (const ComponentInfo& info : kComponentTable)
    if (!info.off_chip) w += parts[index_of(info.id)].power_w();
  return w;
}

PeakReport peak_report(const Platform& p) {
  PeakReport r;
  r.platform = p.name;
  r.chip_area_mm2 = p.area_mm2();
  for (const ComponentInfo& info : kComponentTable) {
    const ComponentSpec& s = p.part(info.id);
    ComponentPeak& c = r.parts[index_of(info.id)];
    c.units = p.units(info.id);
    c.absent = absent(s);
    c.rate_per_unit = peak_rate(p, info.id);
    c.area_mm2 = c.units * s.area_mm2;
    c.static_w = c.units * s.static_mw * 1e-3;
    c.dynamic_w = c.units * s.energy_pj * 1e-12 * c.rate_per_unit;
  }
  const int slices = (p.native.weight_bits + p.crossbar.bits_per_cell - 1) / p.crossbar.bits_per_cell;
  const int crossbars_per_weight = slices * (p.native.differential ? 2 : 1);
  const int cycles_per_input = (p.native.input_bits + p.dac.bits - 1) / p.dac.bits;
  r.peak_ops_per_s = 2.0 * p.crossbar.rows * p.crossbar.cols * p.crossbars() /
                     (static_cast<double>(crossbars_per_weight) * cycles_per_input * p.read_cycle_ns() * 1e-9);
  return r;
}

std::string peak_table(const PeakReport& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-30s %12s %12s %12s %12s %12s\n", "component", "units", "area mm2", "power W", "static W",
                "share of W");
  out << "platform " << r.platform << "\n" << line;
  const double all_w = r.power_w();
  for (const ComponentInfo& info : kComponentTable) {
    const ComponentPeak& c = r.parts[index_of(info.id)];
    if (c.absent) {
      std::snprintf(line, sizeof line, "%-30s %12.6g %12s %12s %12s %12s\n", info.label, c.units, "-", "-", "-",
                    "not in the platform (zero)");
    } else {
      std::snprintf(line, sizeof line, "%-30s %12.6g %12.6g %12.6g %12.6g %11.1f%%%s\n", info.label, c.units, c.area_mm2,
                    c.power_w(), c.static_w, all_w > 0 && !info.off_chip ? 100 * c.power_w() / all_w : 0.0,
                    info.off_chip        ? "  (off chip: not in the totals)"
                    : info.training_only ? "  (training only: static at peak)"
                                         : "");
    }
    out << line;
    if (!c.absent && c.area_mm2 == 0 && !info.off_chip) out << "  " << info.label << ": the platform gives no area\n";
  }
  std::snprintf(line, sizeof line,
                "total: area %.6g mm2, power %.6g W at peak, peak %.6g TOPS, %.4g TOPS/mm2, %.4g TOPS/W\n", r.area_mm2(),
                r.power_w(), r.peak_tops(), r.tops_per_mm2(), r.tops_per_w());
  out << line;
  return out.str();
}

nlohmann::json to_json(const PeakReport& r) {
  using nlohmann::json;
  json parts = json::object();
  double static_w = 0;
  for (const ComponentInfo& info : kComponentTable) {
    const ComponentPeak& c = r.parts[index_of(info.id)];
    if (!info.off_chip) static_w += c.static_w;
    parts[info.key] = {{"label", info.label},         {"units", c.units},         {"area_mm2", c.area_mm2},
                       {"power_w", c.power_w()},      {"static_w", c.static_w},   {"dynamic_w", c.dynamic_w},
                       {"training_only", info.training_only}, {"off_chip", info.off_chip}, {"absent", c.absent}};
  }
  return {{"platform", r.platform},       {"area_mm2", r.area_mm2()},        {"power_w", r.power_w()},
          {"static_power_w", static_w},   {"peak_tops", r.peak_tops()},      {"tops_per_mm2", r.tops_per_mm2()},
          {"tops_per_w", r.tops_per_w()}, {"components", parts}};
}

}  // namespace txsim::hw
