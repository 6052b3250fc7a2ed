// The small platform, device preset and network of the timed model's hand-checked tests (the
// golden case), shared by the test files that build on them.
#pragma once

#include <nlohmann/json.hpp>

#include "txsim/nn/analog.h"
#include "txsim/nn/network.h"

namespace txsim::hw {

// A platform for hand arithmetic: 8x8 crossbars, 4 per tile (2 PEs of 2), 4 tiles on a 2x2 mesh.
inline nlohmann::json golden_platform() {
  return nlohmann::json::parse(R"({
    "name": "golden",
    "crossbar": {"rows": 8, "cols": 8, "bits_per_cell": 2, "read_ns": 10, "read_energy_pj": 1,
                 "write_pulse_ns": 5, "write_energy_pj": 0.5, "area_mm2": 0.001},
    "dac": {"bits": 1, "energy_pj": 0.01, "area_mm2": 0.0001},
    "adc": {"bits": 8, "per_crossbar": 2, "gsps": 0.5, "energy_pj": 0.2, "area_mm2": 0.002},
    "shift_add": {"energy_pj": 0.001, "area_mm2": 0.0001},
    "pe": {"crossbars": 2},
    "tile": {"pes": 2, "buffer": {"kib": 1, "width_bytes": 8, "latency_ns": 1, "energy_pj": 2, "area_mm2": 0.01},
             "digital": {"macs_per_ns": 4, "energy_pj_per_mac": 0.1, "area_mm2": 0.01}},
    "chip": {"tiles": 4, "replication": true, "data_bytes": 2,
             "global_buffer": {"kib": 4, "width_bytes": 16, "latency_ns": 2, "energy_pj": 5, "area_mm2": 0.02},
             "offchip": {"gbps": 1, "energy_pj_per_byte": 10},
             "native": {"weight_bits": 8, "input_bits": 8, "differential": true}},
    "noc": {"kind": "mesh", "hop_ns": 1, "link_bytes": 4, "energy_pj_per_byte_hop": 0.5, "router_area_mm2": 0.001}
  })");
}

inline nn::DevicePreset golden_preset() {
  return nn::device_preset_from_json(nlohmann::json::parse(R"({"name": "golden",
    "crossbar": {"rows": 8, "cols": 8, "weight_bits": 8, "bits_per_cell": 2, "input_bits": 8, "dac_bits": 1,
                 "read_mode": "folded", "adc_bits": 8, "adc_range": "calibrated"}})"), "golden preset");
}

// digital 6->8, relu, analog 8->4, relu, analog 4->3
inline nn::Workload golden_workload() {
  return nn::workload_from_json(nlohmann::json::parse(R"({"name": "golden", "dataset": "synthetic", "input": [1, 1, 6], "classes": 3,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 6, "out": 8}, {"type": "relu"},
               {"type": "linear", "in": 8, "out": 4, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 4, "out": 3, "analog": true}],
    "train": {"epochs": 1, "batch": 4, "lr": 0.05}})"), "golden workload");
}

}  // namespace txsim::hw
