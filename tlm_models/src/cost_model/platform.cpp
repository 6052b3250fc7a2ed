#include "txsim/tlm/cost_model/platform.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "txsim/json_fields.h"

namespace txsim::hw {

using nlohmann::json;
using Fields = JsonFields<ConfigError>;

double Platform::units(Component c) const {
  const double xbars = crossbars();
  switch (kComponentTable[index_of(c)].scope) {
    case Scope::PerCrossbar:
      if (c == Component::Adc) return xbars * adc.per_crossbar;
      if (c == Component::ShiftAdd) return xbars * shift_adds_per_crossbar;
      return xbars;
    case Scope::PerRow: return xbars * crossbar.rows;
    case Scope::PerColumn: return xbars * crossbar.cols;
    case Scope::PerPe: return static_cast<double>(tiles) * pes_per_tile;
    case Scope::PerTile: return tiles;
    case Scope::PerRouter: return noc.kind == NocKind::Bus ? 1 : routers();
    case Scope::PerChip:
      if (c == Component::WeightGradientUnit) return gradient_unit == GradientUnit::Dedicated ? 1 : 0;
      if (c == Component::GlobalBuffer) return global_buffer.kib > 0 ? 1 : 0;
      if (c == Component::OffChipInterface) return dram_channels;
      return 1;
  }
  return 0;
}

double Platform::adc_cycle_ns() const {
  const int conversions = (crossbar.cols + adc.per_crossbar - 1) / adc.per_crossbar;  // per ADC
  return conversions / adc.gsps;
}

double Platform::read_cycle_ns() const { return std::max(crossbar.read_ns, adc_cycle_ns()); }

double Platform::area_mm2() const {
  double a = 0;
  for (const ComponentInfo& c : kComponentTable)
    if (!c.off_chip) a += units(c.id) * part(c.id).area_mm2;
  return a;
}

double Platform::static_mw() const {
  double p = 0;
  for (const ComponentInfo& c : kComponentTable) p += units(c.id) * part(c.id).static_mw;
  return p;
}

bool Platform::keeps_cell_bits(const ArrayConfig& a) const {
  return a.bits_per_cell == a.weight_bits && a.bits_per_cell > crossbar.bits_per_cell;
}

// Keep kImposedFields (platform.h) in step with the fields set here.
void Platform::apply_to(ArrayConfig& array, const std::string& preset_source) const {
  if (keeps_cell_bits(array) && crossbar.cells != CellKind::Analog)
    throw ConfigError(source + " and " + preset_source + ": the preset's devices are analog (one device holds a " +
                      std::to_string(array.weight_bits) + "-bit weight: crossbar.bits_per_cell " +
                      std::to_string(array.bits_per_cell) + " = weight_bits) but the platform's cells are " +
                      std::to_string(crossbar.bits_per_cell) +
                      "-bit multi-level cells programmed by write-verify (crossbar.cells \"multi_level\"); accepted: "
                      "a platform with crossbar.cells \"analog\", or a preset whose weights are sliced onto cells of at most " +
                      std::to_string(crossbar.bits_per_cell) + " bits (crossbar.bits_per_cell < weight_bits)");
  array.rows = crossbar.rows;
  array.cols = crossbar.cols;
  if (!keeps_cell_bits(array)) array.bits_per_cell = crossbar.bits_per_cell;
  array.dac_bits = dac.bits;
  array.adc_bits = adc.bits;
}

namespace {

constexpr double kEnergy = 1e9, kArea = 1e4, kTime = 1e9, kPower = 1e9, kRate = 1e9;

// The static power and area of a component block (the energy key differs by component).
ComponentSpec part(Fields& f, const char* energy_key, bool energy_required = true) {
  ComponentSpec s;
  s.energy_pj = f.number(energy_key, 0, kEnergy, energy_required ? std::nullopt : std::optional<double>(0.0));
  s.static_mw = f.number("static_mw", 0, kPower, 0.0);
  s.area_mm2 = f.number("area_mm2", 0, kArea, 0.0);
  return s;
}

BufferSpec buffer(const json& j, const std::string& where, const std::string& source, ComponentSpec& cost) {
  Fields f(j, where, source);
  BufferSpec b;
  b.kib = f.number("kib", 1.0 / 1024, 1 << 20);
  b.width_bytes = f.integer("width_bytes", 1, 4096);
  b.latency_ns = f.number("latency_ns", 0, kTime);
  cost = part(f, "energy_pj");
  f.finish();
  return b;
}

// An element-wise unit of the tile (activation, pooling, accumulation, output register): its
// rate in elements per ns and its costs; absent: zero, at the rate of one element per ns.
double element_unit(Fields& tile, const char* key, const std::string& source, ComponentSpec& cost) {
  const json* j = tile.object(key, false);
  if (!j) return 1;
  Fields f(*j, std::string("tile.") + key, source);
  const double rate = f.number("elements_per_ns", 1e-6, kRate);
  cost = part(f, "energy_pj");
  f.finish();
  return rate;
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
    c.cells = f.string("cells", {"multi_level", "analog"}, "multi_level") == "analog" ? CellKind::Analog : CellKind::MultiLevel;
    c.read_ns = f.number("read_ns", 1e-3, kTime);
    ComponentSpec& array = p.part(Component::Array);
    array = part(f, "read_energy_pj");
    c.write_pulse_ns = f.number("write_pulse_ns", 1e-3, kTime);
    c.verify_reads = f.integer("verify_reads", 0, 64, 0);
    ComponentSpec& program = p.part(Component::Programming);
    program.energy_pj = f.number("write_energy_pj", 0, kEnergy);
    program.area_mm2 = f.number("write_driver_area_mm2", 0, kArea, 0.0);
    // The read energy, static power and area are given for the array the platform describes.
    // With "scale_from": {"rows": R, "cols": C} they are given for an R x C array instead and
    // scale with the cell count, so a sweep over rows and columns changes them.
    if (const json* from = f.object("scale_from", false)) {
      Fields s(*from, "crossbar.scale_from", source);
      const double cells = static_cast<double>(s.integer("rows", 2, 4096)) * s.integer("cols", 2, 4096);
      s.finish();
      const double factor = static_cast<double>(c.rows) * c.cols / cells;
      array.energy_pj *= factor;
      array.static_mw *= factor;
      array.area_mm2 *= factor;
    }
    f.finish();
  }
  {
    Fields f(*top.object("dac", true), "dac", source);
    p.dac.bits = f.integer("bits", 1, 8);
    p.part(Component::Dac) = part(f, "energy_pj");
    f.finish();
  }
  if (const json* sh = top.object("sample_hold", false)) {
    Fields f(*sh, "sample_hold", source);
    p.part(Component::SampleHold) = part(f, "energy_pj");
    f.finish();
  }
  {
    Fields f(*top.object("adc", true), "adc", source);
    p.adc.bits = f.integer("bits", 1, 16);
    p.adc.per_crossbar = f.integer("per_crossbar", 1, p.crossbar.cols);
    p.adc.gsps = f.number("gsps", 1e-6, 1000);
    ComponentSpec& adc = p.part(Component::Adc);
    adc = part(f, "energy_pj");
    // With "scale_from_bits": B, the energy per conversion, the static power and the area are
    // given for a B-bit ADC and double with every bit above B (halve below): a constant Walden
    // figure of merit, E = FOM * 2^bits. The conversion rate stays as written.
    const double factor = std::ldexp(1.0, p.adc.bits - f.integer("scale_from_bits", 1, 16, p.adc.bits));
    adc.energy_pj *= factor;
    adc.static_mw *= factor;
    adc.area_mm2 *= factor;
    f.finish();
  }
  {
    Fields f(*top.object("shift_add", true), "shift_add", source);
    p.part(Component::ShiftAdd) = part(f, "energy_pj");
    p.shift_adds_per_crossbar = f.number("per_crossbar", 1.0 / 64, 1024, 1.0);
    f.finish();
  }
  {
    Fields f(*top.object("pe", true), "pe", source);
    p.crossbars_per_pe = f.integer("crossbars", 1, 1024);
    for (auto [key, c] : {std::pair{"input_register", Component::InputRegister}, std::pair{"output_register", Component::OutputRegister}})
      if (const json* r = f.object(key, false)) {
        Fields g(*r, std::string("pe.") + key, source);
        p.part(c) = part(g, "energy_pj");
        g.finish();
      }
    f.finish();
  }
  {
    Fields f(*top.object("tile", true), "tile", source);
    p.pes_per_tile = f.integer("pes", 1, 1024);
    p.tile_buffer = buffer(*f.object("buffer", true), "tile.buffer", source, p.part(Component::TileBuffer));
    if (const json* bus = f.object("bus", false)) {
      Fields g(*bus, "tile.bus", source);
      p.tile_bus = true;
      p.bus_bytes_per_ns = g.number("bytes_per_ns", 1e-6, kRate);
      p.part(Component::TileBus) = part(g, "energy_pj_per_byte");
      g.finish();
    }
    {
      Fields g(*f.object("digital", true), "tile.digital", source);
      p.digital_macs_per_ns = g.number("macs_per_ns", 1e-3, 1e6);
      p.part(Component::Digital) = part(g, "energy_pj_per_mac");
      g.finish();
    }
    p.activation_per_ns = element_unit(f, "activation", source, p.part(Component::Activation));
    p.pooling_per_ns = element_unit(f, "pooling", source, p.part(Component::Pooling));
    p.tile_shift_add_per_ns = element_unit(f, "shift_add", source, p.part(Component::TileShiftAdd));
    p.tile_output_register_per_ns = element_unit(f, "output_register", source, p.part(Component::TileOutputRegister));
    f.finish();
  }
  {
    const json& chip = *top.object("chip", true);
    Fields f(chip, "chip", source);
    p.tiles = f.integer("tiles", 1, 65536);
    p.replication = f.boolean("replication", true);
    p.data_bytes = f.integer("data_bytes", 1, 8, 2);
    p.pipeline = f.string("pipeline", {"none", "layers"}, std::string("none")) == "none" ? Pipeline::None : Pipeline::Layers;
    if (p.pipeline == Pipeline::Layers) p.pipeline_group = f.integer("pipeline_group", 1, 1 << 20, 1);
    else if (chip.contains("pipeline_group"))  // it would change nothing: refused rather than ignored
      fail_at<ConfigError>(source, "chip.pipeline_group", chip["pipeline_group"].dump() +
                                                              ": changes nothing unless chip.pipeline is \"layers\"");
    if (const json* g = f.object("global_buffer", false))
      p.global_buffer = buffer(*g, "chip.global_buffer", source, p.part(Component::GlobalBuffer));
    else
      p.global_buffer.kib = 0;  // none: the tiles talk to the off-chip interface directly
    {
      Fields g(*f.object("offchip", true), "chip.offchip", source);
      p.offchip_gbps = g.number("gbps", 1e-3, 1e6);
      p.part(Component::OffChipInterface) = part(g, "energy_pj_per_byte");
      g.finish();
    }
    if (const json* d = f.object("dram", false)) {
      Fields g(*d, "chip.dram", source);
      p.part(Component::Dram) = part(g, "energy_pj_per_byte");
      p.dram_channels = g.integer("channels", 1, 64, 1);
      g.finish();
    }
    if (const json* w = f.object("weight_gradient", false)) {
      Fields g(*w, "chip.weight_gradient", source);
      const std::string unit = g.string("unit", {"layer_tiles", "all_tiles", "dedicated"});
      p.gradient_unit = unit == "layer_tiles" ? GradientUnit::LayerTiles : unit == "all_tiles" ? GradientUnit::AllTiles : GradientUnit::Dedicated;
      if (p.gradient_unit == GradientUnit::Dedicated) {
        p.gradient_unit_macs_per_ns = g.number("macs_per_ns", 1e-3, 1e6);
        p.part(Component::WeightGradientUnit) = part(g, "energy_pj_per_mac");
      }
      g.finish();  // the tiles' units take macs_per_ns and energies from tile.digital
    }
    {
      Fields g(*f.object("native", true), "chip.native", source);
      p.native.weight_bits = g.integer("weight_bits", 1, 64);
      p.native.input_bits = g.integer("input_bits", 1, 64);
      p.native.differential = g.boolean("differential", false);
      g.finish();
    }
    f.finish();
  }
  {
    Fields f(*top.object("noc", true), "noc", source);
    const std::string kind = f.string("kind", {"mesh", "htree", "bus"});
    p.noc.kind = kind == "mesh" ? NocKind::Mesh : kind == "htree" ? NocKind::HTree : NocKind::Bus;
    p.noc.hop_ns = f.number("hop_ns", 0, kTime);
    p.noc.link_bytes = f.integer("link_bytes", 1, 4096);
    p.noc.tiles_per_router = f.integer("tiles_per_router", 1, p.tiles, 1);
    ComponentSpec& router = p.part(Component::Router);
    router.energy_pj = f.number("energy_pj_per_byte_hop", 0, kEnergy);
    router.static_mw = f.number("router_static_mw", 0, kPower, 0.0);
    router.area_mm2 = f.number("router_area_mm2", 0, kArea, 0.0);
    f.finish();
  }
  top.finish();
  return p;
}

Platform load_platform(const std::string& path) { return platform_from_json(read_json_file(path), path); }

Platform load_platform(const std::string& path, const std::vector<std::string>& sets, const std::string& sets_source,
                       nlohmann::json* as_loaded) {
  nlohmann::json j = read_json_file(path);
  for (const std::string& s : sets) set_json_path(j, s, sets_source);
  Platform p = platform_from_json(j, sets.empty() ? path : path + " with " + sets_source);
  if (as_loaded) *as_loaded = std::move(j);
  return p;
}

}  // namespace txsim::hw
