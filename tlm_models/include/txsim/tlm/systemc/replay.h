// Timing a recorded run (nn::ActivityRecord): the chip and controller of a timed training
// (timed.h) fed the record's reports instead of a running training. One functional run is so
// charged on every platform that imposes the crossbar geometry and precision its activity was
// counted with, at a small part of the training's cost.
#pragma once

#include <string>
#include <vector>

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

}  // namespace txsim::hw
