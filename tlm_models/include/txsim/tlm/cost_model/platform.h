// An accelerator platform: the architecture the timed model charges activity to. Loaded from
// JSON (platforms/*.json) with every field checked: a missing or out-of-range field, a wrong
// type or an unknown key is a ConfigError naming the file, the field, the value and what is
// accepted. Units are in the field names: ns, pJ, mW, mm2, GS/s, GB/s, KiB. Every component of
// the accounting table (accounting.h) has an energy per operation, a static power and an area
// per unit; a component a platform leaves out is zero, and the platform report says so.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "txsim/config.h"
#include "txsim/tlm/cost_model/accounting.h"

namespace txsim::hw {

// What the cells of a platform's arrays hold: multi-level cells programmed by write-verify
// (weights are bit-sliced onto them; the platform imposes its cell bits on a preset), or analog
// cells with open-loop pulse programming (a preset with pulsed devices keeps its update model).
enum class CellKind { MultiLevel, Analog };

struct CrossbarSpec {
  int rows = 128, cols = 128;
  int bits_per_cell = 2;
  CellKind cells = CellKind::MultiLevel;
  double read_ns = 100;           // one read cycle: every row driven with one input plane
  double write_pulse_ns = 100;    // one programming pulse
  int verify_reads = 0;           // write-verify: array reads after every pulse slot
};

struct ConverterSpec {            // DACs (one per row) and ADCs (per_crossbar, shared by the columns)
  int bits = 8;
  int per_crossbar = 1;           // ADC only; DACs: one per row
  double gsps = 1.28;             // ADC only: conversions per ns
};

struct BufferSpec {
  double kib = 64;
  int width_bytes = 32;           // bytes per access
  double latency_ns = 1;          // per access
};

enum class NocKind { Mesh, HTree, Bus };

struct NocSpec {
  NocKind kind = NocKind::Mesh;
  double hop_ns = 1;              // per hop (router + link) per flit
  int link_bytes = 32;            // flit width
  int tiles_per_router = 1;       // a concentrated mesh shares one router among several tiles
};

// Where the weight gradients are computed.
enum class GradientUnit { LayerTiles, AllTiles, Dedicated };

// How the controller orders a batch's work: "none" runs every layer-phase after the previous one
// (the whole batch at once); "layers" streams groups of pipeline_group samples through the
// layers, each layer starting a group as soon as its input has arrived (ISAAC, PipeLayer).
enum class Pipeline { None, Layers };

// The precision at which the platform's peak throughput is quoted.
struct NativePrecision {
  int weight_bits = 16, input_bits = 16;
  bool differential = false;      // two arrays per weight slice (G+ and G-) or one (offset encoding)
};

struct Platform {
  std::string name, source;
  std::array<ComponentSpec, kComponentCount> parts{};  // by Component
  CrossbarSpec crossbar;
  ConverterSpec dac, adc;
  double shift_adds_per_crossbar = 1;   // shift-and-add units per crossbar (ISAAC: one per two ADCs)
  double activation_per_ns = 1, pooling_per_ns = 1, tile_shift_add_per_ns = 1, tile_output_register_per_ns = 1;
  bool tile_bus = false;          // the platform describes the bus from the tile buffer to the PEs
  double bus_bytes_per_ns = 32;
  int crossbars_per_pe = 8;
  int pes_per_tile = 12;
  int tiles = 16;
  bool replication = true;        // layers may be copied onto spare crossbars
  BufferSpec tile_buffer, global_buffer;
  double digital_macs_per_ns = 64;  // per tile: weight gradients and other digital work
  GradientUnit gradient_unit = GradientUnit::LayerTiles;
  double gradient_unit_macs_per_ns = 0;  // Dedicated only
  NocSpec noc;
  Pipeline pipeline = Pipeline::None;
  int pipeline_group = 1;         // samples per group ("layers")
  int data_bytes = 2;             // bytes per activation or error value moved between units
  double offchip_gbps = 25.6;     // one channel of the off-chip interface and DRAM
  int dram_channels = 1;          // channels side by side, each with its interface (PHY)
  NativePrecision native;

  const ComponentSpec& part(Component c) const { return parts[index_of(c)]; }
  ComponentSpec& part(Component c) { return parts[index_of(c)]; }
  int crossbars() const { return tiles * pes_per_tile * crossbars_per_pe; }
  int routers() const { return (tiles + noc.tiles_per_router - 1) / noc.tiles_per_router; }
  // Units of a component on the chip (its Scope times the counts); the dedicated weight-gradient
  // unit is one unit when the platform has it.
  double units(Component c) const;
  // One ADC's conversions of one read cycle's columns (its share of the crossbar's columns), in ns.
  double adc_cycle_ns() const;
  // The read cycle at full rate: the array read, or one cycle's columns on the shared ADCs if
  // those take longer (they overlap with the next read).
  double read_cycle_ns() const;
  double area_mm2() const;
  double static_mw() const;       // the whole chip's leakage
  // The crossbar geometry and periphery resolution the platform imposes on a device preset's
  // array. A preset whose devices are analog (one device holds a whole weight at more levels
  // than the platform's cells) keeps its cell bits and update model on a platform with analog
  // cells, and is refused (ConfigError naming both files and what would fit) on one with
  // multi-level cells.
  void apply_to(ArrayConfig& array, const std::string& preset_source = "the device preset") const;
  // Whether apply_to keeps the preset's own cell bits.
  bool keeps_cell_bits(const ArrayConfig& array) const;
};

// The device-preset fields apply_to overwrites, each beside the platform field it takes
// (crossbar.bits_per_cell only for presets with multi-level cells).
struct ImposedField {
  const char* preset;    // path in a device preset
  const char* platform;  // path in a platform file
};
inline constexpr ImposedField kImposedFields[] = {{"crossbar.rows", "crossbar.rows"},
                                                  {"crossbar.cols", "crossbar.cols"},
                                                  {"crossbar.bits_per_cell", "crossbar.bits_per_cell"},
                                                  {"crossbar.dac_bits", "dac.bits"},
                                                  {"crossbar.adc_bits", "adc.bits"}};

Platform platform_from_json(const nlohmann::json& j, const std::string& source);
Platform load_platform(const std::string& path);
// A platform file with PATH=VALUE assignments applied in order (set_json_path; errors blame
// `sets_source`, e.g. "command line --platform-set"); `as_loaded`, when given, receives the JSON
// after them (what a checkpoint records).
Platform load_platform(const std::string& path, const std::vector<std::string>& sets, const std::string& sets_source,
                       nlohmann::json* as_loaded = nullptr);

}  // namespace txsim::hw
