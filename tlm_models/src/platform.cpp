#include "txsim/tlm/platform.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "txsim/json_fields.h"

namespace txsim::hw {

using nlohmann::json;
using Fields = JsonFields<ConfigError>;

double Platform::adc_cycle_ns() const {
  const int conversions = (crossbar.cols + adc.per_crossbar - 1) / adc.per_crossbar;  // per ADC
  return conversions / adc.gsps;
}

double Platform::read_cycle_ns() const { return std::max(crossbar.read_ns, adc_cycle_ns()); }

double Platform::area_mm2() const {
  const double n = crossbars();
  const double per_crossbar = crossbar.area_mm2 + crossbar.rows * dac.area_mm2 + adc.per_crossbar * adc.area_mm2 +
                              shift_add_area_mm2;
  const double routers = noc.kind == NocKind::Bus ? noc.router_area_mm2 : tiles * noc.router_area_mm2;
  return n * per_crossbar + tiles * (tile_buffer.area_mm2 + tile_other_area_mm2) + global_buffer.area_mm2 + routers;
}

// Keep kImposedFields (platform.h) in step with the fields set here.
void Platform::apply_to(ArrayConfig& array) const {
  array.rows = crossbar.rows;
  array.cols = crossbar.cols;
  array.bits_per_cell = crossbar.bits_per_cell;
  array.dac_bits = dac.bits;
  array.adc_bits = adc.bits;
}

namespace {

constexpr double kEnergy = 1e9, kArea = 1e4, kTime = 1e9;

BufferSpec buffer(const json& j, const std::string& where, const std::string& source) {
  Fields f(j, where, source);
  BufferSpec b;
  b.kib = f.number("kib", 1.0 / 1024, 1 << 20);
  b.width_bytes = f.integer("width_bytes", 1, 4096);
  b.latency_ns = f.number("latency_ns", 0, kTime);
  b.energy_pj = f.number("energy_pj", 0, kEnergy);
  b.area_mm2 = f.number("area_mm2", 0, kArea, 0.0);
  f.finish();
  return b;
}

}  // namespace

Platform platform_from_json(const json& j, const std::string& source) {
  Platform p;
  p.source = source;
  Fields top(j, "platform", source);
  if (const json* name = top.take("name")) {
    if (!name->is_string()) fail_at<ConfigError>(source, "platform.name", name->dump() + ": accepted a string");
    p.name = name->get<std::string>();
  } else {
    p.name = source;
  }
  if (const json* notes = top.take("notes"))  // where the numbers come from: free text
    if (!notes->is_string()) fail_at<ConfigError>(source, "platform.notes", notes->dump() + ": accepted a string");
  {
    Fields f(*top.object("crossbar", true), "crossbar", source);
    CrossbarSpec& c = p.crossbar;
    c.rows = f.integer("rows", 2, 4096);
    c.cols = f.integer("cols", 2, 4096);
    c.bits_per_cell = f.integer("bits_per_cell", 1, 8);
    c.read_ns = f.number("read_ns", 1e-3, kTime);
    c.read_energy_pj = f.number("read_energy_pj", 0, kEnergy);
    c.write_pulse_ns = f.number("write_pulse_ns", 1e-3, kTime);
    c.write_energy_pj = f.number("write_energy_pj", 0, kEnergy);
    c.area_mm2 = f.number("area_mm2", 0, kArea);
    // The read energy and the area are given for the array the platform describes. With
    // "scale_from": {"rows": R, "cols": C} they are given for an R x C array instead and scale with
    // the cell count, so a sweep over rows and columns changes them (one read drives every cell).
    if (const json* from = f.object("scale_from", false)) {
      Fields s(*from, "crossbar.scale_from", source);
      const double cells = static_cast<double>(s.integer("rows", 2, 4096)) * s.integer("cols", 2, 4096);
      s.finish();
      const double factor = static_cast<double>(c.rows) * c.cols / cells;
      c.read_energy_pj *= factor;
      c.area_mm2 *= factor;
    }
    f.finish();
  }
  {
    Fields f(*top.object("dac", true), "dac", source);
    p.dac.bits = f.integer("bits", 1, 8);
    p.dac.energy_pj = f.number("energy_pj", 0, kEnergy);
    p.dac.area_mm2 = f.number("area_mm2", 0, kArea);
    f.finish();
  }
  {
    Fields f(*top.object("adc", true), "adc", source);
    p.adc.bits = f.integer("bits", 1, 16);
    p.adc.per_crossbar = f.integer("per_crossbar", 1, p.crossbar.cols);
    p.adc.gsps = f.number("gsps", 1e-6, 1000);
    p.adc.energy_pj = f.number("energy_pj", 0, kEnergy);
    p.adc.area_mm2 = f.number("area_mm2", 0, kArea);
    // With "scale_from_bits": B, the energy per conversion and the area are given for a B-bit ADC
    // and double with every bit above B (halve below): a constant Walden figure of merit,
    // E = FOM * 2^bits. The conversion rate stays as written.
    const double factor = std::ldexp(1.0, p.adc.bits - f.integer("scale_from_bits", 1, 16, p.adc.bits));
    p.adc.energy_pj *= factor;
    p.adc.area_mm2 *= factor;
    f.finish();
  }
  {
    Fields f(*top.object("shift_add", true), "shift_add", source);
    p.shift_add_energy_pj = f.number("energy_pj", 0, kEnergy);
    p.shift_add_area_mm2 = f.number("area_mm2", 0, kArea);
    f.finish();
  }
  {
    Fields f(*top.object("pe", true), "pe", source);
    p.crossbars_per_pe = f.integer("crossbars", 1, 1024);
    f.finish();
  }
  {
    Fields f(*top.object("tile", true), "tile", source);
    p.pes_per_tile = f.integer("pes", 1, 1024);
    p.tile_buffer = buffer(*f.object("buffer", true), "tile.buffer", source);
    p.digital_macs_per_ns = f.number("digital_macs_per_ns", 1e-3, 1e6);
    p.digital_mac_energy_pj = f.number("digital_mac_energy_pj", 0, kEnergy);
    p.activation_energy_pj = f.number("activation_energy_pj", 0, kEnergy);
    p.tile_other_area_mm2 = f.number("other_area_mm2", 0, kArea, 0.0);
    f.finish();
  }
  {
    Fields f(*top.object("chip", true), "chip", source);
    p.tiles = f.integer("tiles", 1, 65536);
    p.replication = f.boolean("replication", true);
    p.global_buffer = buffer(*f.object("global_buffer", true), "chip.global_buffer", source);
    p.data_bytes = f.integer("data_bytes", 1, 8, 2);
    p.offchip_gbps = f.number("offchip_gbps", 1e-3, 1e6);
    p.offchip_energy_pj_per_byte = f.number("offchip_energy_pj_per_byte", 0, kEnergy);
    f.finish();
  }
  {
    Fields f(*top.object("noc", true), "noc", source);
    const std::string kind = f.string("kind", {"mesh", "htree", "bus"});
    p.noc.kind = kind == "mesh" ? NocKind::Mesh : kind == "htree" ? NocKind::HTree : NocKind::Bus;
    p.noc.hop_ns = f.number("hop_ns", 0, kTime);
    p.noc.link_bytes = f.integer("link_bytes", 1, 4096);
    p.noc.energy_pj_per_byte_hop = f.number("energy_pj_per_byte_hop", 0, kEnergy);
    p.noc.router_area_mm2 = f.number("router_area_mm2", 0, kArea, 0.0);
    f.finish();
  }
  top.finish();
  return p;
}

Platform load_platform(const std::string& path) { return platform_from_json(read_json_file(path), path); }

}  // namespace txsim::hw
