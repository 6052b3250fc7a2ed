// An accelerator platform: the architecture the timed model charges activity to. Loaded from
// JSON (platforms/*.json) with every field checked: a missing or out-of-range field, a wrong
// type or an unknown key is a ConfigError naming the file, the field, the value and what is
// accepted. Units are in the field names: ns, pJ, mm2, GS/s, GB/s, KiB.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "txsim/config.h"

namespace txsim::hw {

struct CrossbarSpec {
  int rows = 128, cols = 128;
  int bits_per_cell = 2;
  double read_ns = 100;           // one read cycle: every row driven with one input plane
  double read_energy_pj = 0;      // one read cycle of one crossbar (array and row drivers)
  double write_pulse_ns = 100;    // one programming pulse
  double write_energy_pj = 0;     // one programming pulse into one device
  double area_mm2 = 0;
};

struct ConverterSpec {            // DACs (one per row) and ADCs (per_crossbar, shared by the columns)
  int bits = 8;
  int per_crossbar = 1;           // ADC only; DACs: one per row
  double gsps = 1.28;             // ADC only: conversions per ns
  double energy_pj = 0;           // per conversion
  double area_mm2 = 0;            // per converter
};

struct BufferSpec {
  double kib = 64;
  int width_bytes = 32;           // bytes per access
  double latency_ns = 1;          // per access
  double energy_pj = 0;           // per access
  double area_mm2 = 0;
};

enum class NocKind { Mesh, HTree, Bus };

struct NocSpec {
  NocKind kind = NocKind::Mesh;
  double hop_ns = 1;              // per hop (router + link) per flit
  int link_bytes = 32;            // flit width
  double energy_pj_per_byte_hop = 0;
  double router_area_mm2 = 0;     // per tile (mesh, H-tree node) or once (bus)
};

struct Platform {
  std::string name, source;
  CrossbarSpec crossbar;
  ConverterSpec dac, adc;
  double shift_add_energy_pj = 0, shift_add_area_mm2 = 0;  // per operation, per crossbar
  int crossbars_per_pe = 8;
  int pes_per_tile = 12;
  int tiles = 16;
  bool replication = true;        // layers may be copied onto spare crossbars
  BufferSpec tile_buffer, global_buffer;
  double digital_macs_per_ns = 64;  // per tile: weight gradients and other digital work
  double digital_mac_energy_pj = 0;
  double activation_energy_pj = 0;  // per element (activation, pooling, accumulation)
  double tile_other_area_mm2 = 0;   // accumulators, activation unit, control
  NocSpec noc;
  int data_bytes = 2;             // bytes per activation or error value moved between units
  double offchip_gbps = 25.6;
  double offchip_energy_pj_per_byte = 0;

  int crossbars() const { return tiles * pes_per_tile * crossbars_per_pe; }
  // One read cycle of one crossbar: the array read, or its columns' conversions on the shared
  // ADCs if those take longer (they overlap with the next read), in ns.
  double read_cycle_ns() const;
  // One ADC's conversions of one read cycle's columns (its share of the crossbar's columns), in ns.
  double adc_cycle_ns() const;
  // Summed from the per-component areas, mm2.
  double area_mm2() const;
  // The crossbar geometry and periphery resolution the platform imposes on a device preset.
  void apply_to(ArrayConfig& array) const;
};

// The device-preset fields apply_to overwrites, each beside the platform field it takes.
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

}  // namespace txsim::hw
