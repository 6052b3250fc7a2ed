// What a timed run reports: per layer and phase of the training batches, latency, energy by
// component, the activity charged and the crossbars' utilization; totals for training and
// evaluation; figures of merit (time per batch and epoch, images per second, energy per image,
// TOPS/W, area). Plain C++: the SystemC controller fills it, tests check it by hand.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "txsim/state_archive.h"
#include "txsim/tlm/cost_model/cost.h"
#include "txsim/tlm/cost_model/mapping.h"
#include "txsim/tlm/cost_model/memory.h"
#include "txsim/tlm/cost_model/units.h"

namespace txsim::hw {

struct PhaseTotals {
  uint64_t calls = 0;
  Cost cost;          // latency_ns summed over the calls
  Activity activity;  // what the crossbars did
  uint64_t macs = 0;  // logical multiply-accumulates (rows x in x out per read or gradient)
  LevelBytes placed{};  // FW: the input kept for the backward pass; WG: the error signal; by level
  std::array<uint64_t, kResources> bound_calls{};  // calls whose time each resource bound
  // The resource that bound the most calls ("" before any call).
  const char* bound_name() const;
};

struct EpochHardware {
  int epoch = 0;
  double train_ns = 0, eval_ns = 0, train_pj = 0, eval_pj = 0;
  uint64_t train_samples = 0, train_batches = 0;
};

struct HardwareReport {
  std::string platform;
  Pipeline pipeline = Pipeline::None;
  int pipeline_group = 1;
  double area_mm2 = 0;
  double static_mw = 0;     // the chip's leakage, charged over all simulated time
  LevelBytes capacity{};    // tile buffers together, global buffer (DRAM: unbounded)
  LevelBytes peak{};        // the most bytes held at once for the backward pass
  int cells_per_crossbar = 0;
  ChipMap map;
  std::vector<std::array<PhaseTotals, kPhases>> layers;  // training batches only
  PhaseTotals input;  // moving training batches in: off-chip port, global buffer, NoC
  double train_ns = 0, eval_ns = 0, train_pj = 0, eval_pj = 0;
  uint64_t train_samples = 0, train_batches = 0, eval_samples = 0;
  uint64_t train_ops = 0;  // 2 x the MACs of forward, activation-gradient and weight-gradient
  std::vector<EpochHardware> epochs;
  double wall_seconds = 0;  // the simulator's own time for the whole run (set by the caller)
  // Every unit of the chip and what it did in the training batches; the training batches'
  // critical paths by the kind of unit that set their time (schedule.h).
  std::vector<UnitRecord> units;
  std::array<double, kUnitKinds> critical_ns{};

  double images_per_second() const { return train_ns > 0 ? train_samples / (train_ns * 1e-9) : 0; }
  double energy_per_image_pj() const { return train_samples ? train_pj / train_samples : 0; }
  double tops_per_watt() const { return train_pj > 0 ? train_ops / train_pj : 0; }  // ops per pJ = TOPS/W
  double batch_ns() const { return train_batches ? train_ns / train_batches : 0; }
  // Fraction of the cells of the activated crossbars that did useful work in a read phase.
  double utilization(const PhaseTotals& t) const;
};

// One line per layer and phase (pipelined: a row's latency spans its groups, from the first one's
// start to the last one's end, so rows overlap and their sum exceeds the batch time): layer, kind, phase, calls, latency_ns, energy_pj, static_pj, then
// <component>_pj and <component>_ops for every component of the accounting table, crossbars,
// replicas, first_tile, tiles, utilization (reads only), bound (the resource that set the time of
// most calls), the bytes placed per memory level, then the activity charged (macs, crossbar
// reads, DAC and ADC conversions, programming pulses and slots).
std::string layer_csv(const HardwareReport& r);
// A number as the CSVs write it (%.10g).
std::string csv_number(double v);
nlohmann::json to_json(const HardwareReport& r);
// What a report has accumulated, for checkpoints (named, typed entries; the map and platform
// are the run's own and are checked, not restored).
void save_report(const HardwareReport& r, StateWriter& w);
void load_report(HardwareReport& r, StateReader& in);
// Everything the training batches cost, every layer and phase and the input's way in summed:
// latency, energy by component, leakage.
Cost training_total(const HardwareReport& r);
// The level whose capacity is the most used at the peak (tile_buffers or global_buffer), and
// that fraction (> 1: it overflowed into the next level).
std::pair<Level, double> tightest_capacity(const HardwareReport& r);
// The human summary printed after a timed run.
std::string summary(const HardwareReport& r);

}  // namespace txsim::hw
