// The timed model (SystemC TLM-2.0, loosely timed): tiles (PEs of crossbars with their DACs,
// ADC banks and shift-and-add, the tile buffer and the digital unit), the interconnect, the
// global buffer and the off-chip port are targets that turn a job (what a layer's phase did) into
// delay and energy through the cost model. The controller is the initiator: it watches the
// training (nn::PhaseObserver), sends one job per layer-phase-tile plus the transfers, and keeps
// time with a tlm_quantumkeeper. It never touches a number of the training, so a timed run gives
// the functional run's accuracy and conductances.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "txsim/nn/layers.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/mapping.h"
#include "txsim/tlm/report.h"
#include "txsim/trace/trace.h"

namespace txsim::hw {

// One unit of work, carried by a TLM_IGNORE_COMMAND payload: the target fills `cost`.
struct Job : tlm::tlm_extension<Job> {
  enum class Kind { Read, Digital, Update, Transfer, Buffer, OffChip, Gradient };
  Kind kind = Kind::Read;
  Phase phase = Phase::Forward;
  int layer = -1;
  Activity activity;  // the whole layer's (Read, Update)
  Placement where;    // the whole layer's
  double share = 1;   // this tile's fraction of the layer's work (its crossbars / the layer's)
  uint64_t macs = 0;  // Digital, Gradient: the whole layer's
  uint64_t outputs = 0;      // Read: the layer's output elements (tile shift-and-add, output register)
  uint64_t activations = 0;  // Read, Digital: elements through the activation unit (the whole layer's)
  uint64_t bytes = 0; // Read, Digital: this tile's buffer traffic; Transfer, Buffer, OffChip: moved
  int from = 0, to = 0;
  bool traced = false;
  std::string label;
  Cost cost;  // out

  tlm::tlm_extension_base* clone() const override { return new Job(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override { *this = static_cast<const Job&>(other); }
};

// A target with a trace: the common part of the modules below.
class TimedUnit : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<TimedUnit> socket;
  TimedUnit(sc_core::sc_module_name name, const Platform& p);
  void set_trace(trace::TraceSink* sink);

 protected:
  // Fills job.cost; spans start at start_ns.
  virtual void serve(Job& job, double start_ns) = 0;
  void span(const char* unit, const Job& job, double start_ns, double ns);
  const Platform& p_;
  trace::TraceSink* sink_ = nullptr;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  std::vector<std::pair<std::string, int>> tracks_;
};

// A tile: PEs of crossbars (array, DACs, shared ADCs, shift-and-add), the tile buffer (streamed
// beside the reads: double buffering, so a read phase takes the longer of the two), the digital
// unit (weight gradients, digital layers) and the programming drivers.
class Tile final : public TimedUnit {
 public:
  Tile(sc_core::sc_module_name name, const Platform& p) : TimedUnit(name, p) {}

 protected:
  void serve(Job& job, double start_ns) override;
};

class Interconnect final : public TimedUnit {
 public:
  Interconnect(sc_core::sc_module_name name, const Platform& p) : TimedUnit(name, p) {}

 protected:
  void serve(Job& job, double start_ns) override;
};

class GlobalBuffer final : public TimedUnit {
 public:
  GlobalBuffer(sc_core::sc_module_name name, const Platform& p) : TimedUnit(name, p) {}

 protected:
  void serve(Job& job, double start_ns) override;
};

// The off-chip memory port: bytes / offchip_gbps, energy per byte in the interface and DRAM.
class OffChipPort final : public TimedUnit {
 public:
  OffChipPort(sc_core::sc_module_name name, const Platform& p) : TimedUnit(name, p) {}

 protected:
  void serve(Job& job, double start_ns) override;
};

// The chip's dedicated weight-gradient unit (chip.weight_gradient.unit "dedicated").
class GradientEngine final : public TimedUnit {
 public:
  GradientEngine(sc_core::sc_module_name name, const Platform& p) : TimedUnit(name, p) {}

 protected:
  void serve(Job& job, double start_ns) override;
};

// The initiator: charges every batch and phase of the training it observes.
class Controller final : public sc_core::sc_module, public nn::PhaseObserver {
 public:
  tlm_utils::multi_passthrough_initiator_socket<Controller> tile_port;  // bound to tile 0, 1, ...
  tlm_utils::simple_initiator_socket<Controller> noc_port, buffer_port, offchip_port, gradient_port;
  sc_core::sc_signal<bool> busy;         // a training batch is being charged
  sc_core::sc_signal<int> layer, phase;  // the layer-phase charged now (phase: 1 FW .. 4 WU)

  Controller(sc_core::sc_module_name name, const Platform& p);
  // Before a run: where the network's layers sit and the values of one input sample. Starts a
  // fresh report.
  void configure(ChipMap map, int sample_values);
  // Catches the simulated time up with the local offset (after the last phase of a run).
  void sync() { qk_.sync(); }
  // The work to run in the controller's thread once the simulation starts (the training).
  void set_work(std::function<void()> work) { work_ = std::move(work); }
  // Spans of the first `batches` training batches go to `sink`.
  void set_trace(trace::TraceSink* sink, int batches);
  // Drive busy/layer/phase at their exact times (syncs every phase; for a VCD).
  void drive_signals(bool on) { signals_ = on; }
  const HardwareReport& report() const { return report_; }

  void on_batch(int samples, bool train) override;
  void on_phase(const nn::PhaseEvent& e) override;
  void on_epoch(int epoch) override;
  void save_state(StateWriter& w) const override { save_report(report_, w); }
  void load_state(StateReader& r) override {
    load_report(report_, r);
    memory_.set_peak(report_.peak);
  }

 private:
  void run();
  double now_ns();  // simulated time including the local offset
  // Sends a job to a socket at local offset `at`; returns the offset when it completes.
  sc_core::sc_time send(tlm::tlm_fw_transport_if<>& target, Job& job, sc_core::sc_time at);
  void charge(double ns, Cost cost, PhaseTotals* totals);
  void advance(sc_core::sc_time end);
  // Moves the parts of `placed` beyond the tile buffers `times` times through the global buffer
  // and the off-chip port, after `at`; returns when done.
  sc_core::sc_time move_spilled(const LevelBytes& placed, int times, const Job& base, sc_core::sc_time at, Cost& total);
  // Sends `base` to `count` tiles from `first`: tile t takes share(t) / whole of the work and of
  // `bytes` (the last one what is left), all from `start`; returns when the slowest is done.
  sc_core::sc_time spread(const Job& base, int first, int count, const std::function<int(int)>& share, int whole,
                          uint64_t bytes, sc_core::sc_time start, Cost& total);
  // spread() over the tiles that hold layer `l`.
  sc_core::sc_time on_layer_tiles(const Job& base, const LayerPlacement& l, uint64_t bytes, sc_core::sc_time start,
                                  Cost& total);
  // The weight gradient of one layer on the unit the platform says; returns when done.
  sc_core::sc_time weight_gradient(const LayerPlacement& l, const Job& base, uint64_t bytes, sc_core::sc_time at,
                                   Cost& total);

  const Platform& p_;
  HardwareReport report_;
  int sample_values_ = 0;
  std::function<void()> work_;
  tlm_utils::tlm_quantumkeeper qk_;
  trace::TraceSink* sink_ = nullptr;
  int trace_batches_ = 0, control_track_ = -1;
  bool train_ = false, traced_ = false, signals_ = false;
  EpochHardware epoch_;
  MemoryLedger memory_;
  std::vector<LevelBytes> kept_, errors_;  // per layer, in the training batch being charged
};

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
};

struct TimedTraining {
  nn::TrainResult result;
  HardwareReport hardware;
};

// Maps the network onto the platform (ConfigError when it does not fit), elaborates a chip and
// runs nn::train in its controller's thread under sc_start. SystemC elaborates once per process,
// so this runs once per process. The hardware report's wall_seconds is the whole call's.
TimedTraining train_timed(nn::Network& net, const nn::Split& data, nn::TrainOptions options, std::ostream& log,
                          const Platform& platform, const TimedOptions& timed = {});

}  // namespace txsim::hw
