// Timing a recorded run (nn::ActivityRecord): the chip and controller of a timed training
// (timed.h) fed the record's reports instead of a running training. One functional run is so
// charged on every platform that imposes the crossbar geometry and precision its activity was
// counted with, at a small part of the training's cost.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "txsim/nn/activity_record.h"
#include "txsim/tlm/systemc/timed.h"

namespace txsim::hw {

// The record's layers as the mapper sees them, once the platform is seen to impose on every
// analog layer the crossbar settings its activity was counted with (Platform::apply_to leaves
// them as they are); else ConfigError naming the record, the platform, the layer, the field and
// both values.
std::vector<LayerShape> recorded_shapes(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform);

// Maps the record's layers onto the platform and charges every batch of the record, as
// run_on_chip: once per process (run_in_child_process runs it again and again).
HardwareReport time_record(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform,
                           const TimedOptions& timed = {});

// Where a replay writes its Perfetto trace (of the first trace_batches training batches) and its
// VCD; empty paths: none.
struct ReplayFiles {
  std::string trace;
  int trace_batches = 1;
  std::string vcd;
};
// What a replay brings back from its child process: the report as hardware.json holds it, the
// summary txsim prints, and the text of layers.csv and units.csv.
struct ReplayOutputs {
  nlohmann::json hardware;
  std::string summary, layers_csv, units_csv;
};
// time_record in a child process (run_in_child_process), so one process can time a record on
// platform after platform (txsim time, txsim.time from Python).
ReplayOutputs time_record_in_child(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform,
                                   const ReplayFiles& files = {});

}  // namespace txsim::hw
