// The timed model (SystemC TLM-2.0, loosely timed): the chip of a platform, its stations (tiles
// with their PEs' crossbars and ADC banks, buffer port, digital unit and programming drivers; the
// interconnect's links; the global buffer; the off-chip port's DRAM channels; the weight-gradient
// unit) and the controller that schedules the training's work on them (controller.h). It never
// touches a number of the training, so a timed run gives the functional run's accuracy and
// conductances in every pipeline mode.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "txsim/nn/activity_record.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/cost_model/mapping.h"
#include "txsim/tlm/systemc/chip_memory.h"
#include "txsim/tlm/systemc/controller.h"
#include "txsim/tlm/systemc/interconnect.h"
#include "txsim/tlm/systemc/tile.h"
#include "txsim/trace/trace.h"

namespace txsim::hw {

// The chip: a controller, the tiles, the interconnect, the global buffer and the off-chip port,
// bound together.
class Chip final : public sc_core::sc_module {
 public:
  // The hardware is the platform's; a network is mapped onto it by controller.configure().
  Chip(sc_core::sc_module_name name, const Platform& p);
  Controller controller;
  std::vector<std::unique_ptr<Tile>> tiles;
  Interconnect noc;
  GlobalBuffer buffer;
  OffChipPort offchip;
  GradientEngine gradient_unit;
  void set_trace(trace::TraceSink* sink, int batches);
};

// The layers of a network as the mapper sees them (network.cores() order).
std::vector<LayerShape> layer_shapes(nn::Network& net);

struct TimedOptions {
  trace::TraceSink* trace = nullptr;  // spans of the first trace_batches training batches
  int trace_batches = 1;
  std::string vcd_path;               // busy, layer and phase over the whole run (written at the end)
  nn::ActivityRecorder* recorder = nullptr;  // train_timed: also records what the run reports
};

struct TimedTraining {
  nn::TrainResult result;
  HardwareReport hardware;
};

// Maps `layers` onto the platform (ConfigError when they do not fit), elaborates a chip and runs
// `work` in its controller's thread under sc_start, handing it the controller to report to; an
// exception of `work` is rethrown after the simulation ends. Once per process (SystemC elaborates
// once). The report's wall_seconds is the whole call's.
HardwareReport run_on_chip(const Platform& platform, const std::vector<LayerShape>& layers, int sample_values,
                           const TimedOptions& timed, const std::function<void(nn::PhaseObserver&)>& work);

// run_on_chip with nn::train as the work: the network's layers mapped, every batch charged as the
// training reports it; once per process, as run_on_chip. The hardware report's wall_seconds is
// the whole call's.
TimedTraining train_timed(nn::Network& net, const nn::Split& data, nn::TrainOptions options, std::ostream& log,
                          const Platform& platform, const TimedOptions& timed = {});

}  // namespace txsim::hw
