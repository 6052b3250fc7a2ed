// The initiator of the timed model: it watches the training (nn::PhaseObserver), keeps each
// batch's phases as the functional core reports them, and at the batch's end issues them as a
// graph of jobs over (layer, phase, group of samples) to the stations, which hold their units
// (unit.h) and make a job wait where a unit is busy. chip.pipeline "none": every layer-phase of
// the whole batch after the previous one (the serial model). "layers": groups of pipeline_group
// samples stream through the layers; a layer's forward for a group starts when its input has
// arrived, the backward runs layer by layer in reverse per group, a layer's update follows its
// last group's gradients and transposed reads, and replicated layers take the groups round-robin,
// each copy on its own tiles. Loosely timed: one thread, time annotated on every transport, the
// quantum keeper synchronized once per batch. It never touches a number of the training.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "txsim/nn/layers.h"
#include "txsim/tlm/cost_model/batch_graph.h"
#include "txsim/tlm/cost_model/report.h"
#include "txsim/tlm/systemc/station.h"

namespace txsim::hw {

class Controller final : public sc_core::sc_module, public nn::PhaseObserver {
 public:
  tlm_utils::multi_passthrough_initiator_socket<Controller> tile_port;  // bound to tile 0, 1, ...
  tlm_utils::simple_initiator_socket<Controller> noc_port, buffer_port, offchip_port, gradient_port;
  sc_core::sc_signal<bool> busy;         // a training batch is being charged
  sc_core::sc_signal<int> layer, phase;  // "none": the layer-phase charged now (phase: 1 FW .. 4 WU)

  Controller(sc_core::sc_module_name name, const Platform& p);
  // Before a run: where the network's layers sit and the values of one input sample. Starts a
  // fresh report (the units stay; their records restart).
  void configure(ChipMap map, int sample_values);
  // Charges the batch in hand and catches the simulated time up (after the last phase of a run).
  void sync();
  void set_work(std::function<void()> work) { work_ = std::move(work); }
  // Spans of the first `batches` training batches go to `sink`.
  void set_trace(trace::TraceSink* sink, int batches);
  // Drive busy (and, "none", layer/phase) at their exact times (syncs every phase; for a VCD).
  void drive_signals(bool on) { signals_ = on; }
  // The records the chip's units write (report().units); a station's units are cleared between
  // batches through watch().
  std::vector<UnitRecord>* unit_records() { return &report_.units; }
  void watch(const Station& s);
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
  // A layer-phase of the batch in hand, as the functional core reported it, with what it moves
  // beyond the tile buffers.
  struct Pending {
    nn::PhaseEvent e;
    LevelBytes spill{}, reread{};
    LevelBytes placed{}, released{};  // what it puts in the memory levels, and frees when done
    int spill_times = 0;
    bool skipped = false;  // nothing to compute (in-array weight gradient): only the moves
  };
  // A node of the batch's graph as it ran: a layer-phase (or the input) for one group.
  struct Task {
    int pending = -1;  // index into pending_; -1: moving the group's input in
    int group = 0;     // -1: the whole batch
    sc_core::sc_time ready, end;
    int pred = -1;          // the dependency that finished last
    std::array<double, kUnitKinds> where{};  // the task's own time by the unit that set it
    Cost cost;
  };

  void run();
  void flush();  // schedules and charges the batch in hand
  void build_graph();
  void run_task(Task& t);
  void charge_batch(sc_core::sc_time start, sc_core::sc_time end);
  void add_time(double ns, double pj);
  // Sends a job to a station at absolute time `at`; returns when it completes, `bound` the unit
  // kind that finished last.
  sc_core::sc_time send(tlm::tlm_fw_transport_if<>& target, Job& job, sc_core::sc_time at, UnitKind& bound);
  // Books a task's time from `at` to `end` to the unit kind that bound it; returns `end`.
  sc_core::sc_time step(Task& t, sc_core::sc_time at, sc_core::sc_time end, UnitKind bound);
  // The next step of a task: sends `job` from `at`, books its cost and time; returns its end.
  sc_core::sc_time then(Task& t, tlm::tlm_fw_transport_if<>& target, Job& job, sc_core::sc_time at);
  sc_core::sc_time move_spilled(Task& t, const LevelBytes& placed, int times, const Job& base, sc_core::sc_time at);
  // Where a job goes: a tile, its part of the work (share / the spread's whole) and, for reads
  // and updates, the first crossbar of the copy whose PEs work there.
  struct Target {
    int tile, share, first_crossbar;
  };
  // Sends `base` to every target from `start`: each takes its share of the work and of `bytes`
  // (the last one what is left); returns when the slowest is done.
  sc_core::sc_time spread(Task& t, const Job& base, const std::vector<Target>& targets, int whole, uint64_t bytes,
                          sc_core::sc_time start);
  // The copies of a layer a group works on (group -1: the update, all of them): `count` from
  // `first`. "none": the first copy's tiles do the work of all copies (count 0), as the serial
  // model always did.
  struct Copies {
    int first = 0, count = 0;
  };
  Copies copies_for(const LayerPlacement& l, int group) const;
  int first_tile(const LayerPlacement& l, int group) const;
  sc_core::sc_time on_layer_tiles(Task& t, const Job& base, const LayerPlacement& l, Copies c, uint64_t bytes, sc_core::sc_time start);
  // "layers": the copies' partial weight gradients to the first copy and the update back.
  sc_core::sc_time gather_gradients(Task& t, const LayerPlacement& l, const Job& base, sc_core::sc_time at);
  sc_core::sc_time weight_gradient(Task& t, const LayerPlacement& l, Copies c, const Job& base, uint64_t bytes, sc_core::sc_time at);
  sc_core::sc_time local(sc_core::sc_time absolute) const { return absolute - sc_core::sc_time_stamp(); }

  const Platform& p_;
  Courier courier_;
  HardwareReport report_;
  int sample_values_ = 0;
  std::function<void()> work_;
  tlm_utils::tlm_quantumkeeper qk_;
  trace::TraceSink* sink_ = nullptr;
  int trace_batches_ = 0, batch_track_ = -1;
  bool train_ = false, traced_ = false, signals_ = false;
  EpochHardware epoch_;
  MemoryLedger memory_;
  std::vector<LevelBytes> kept_, errors_;  // per layer, in the training batch in hand
  std::vector<Unit*> units_;
  // The batch in hand.
  bool in_hand_ = false;
  int samples_ = 0;
  std::vector<Pending> pending_;
  GroupSplit split_{1, 1};
  BatchGraph graph_;
  std::vector<PhaseRef> graph_refs_, built_refs_;  // the batch in hand's phases; those graph_ was built for
  int built_groups_ = 0;  // 0: nothing built for the map in hand
  bool built_train_ = false;
  std::vector<Target> targets_;  // spread's targets, kept between calls
  std::vector<Task> tasks_;  // by graph node
  std::vector<Activity> group_activity_;  // by task
  std::vector<std::string> labels_;       // by pending (and the input's last)
  std::array<uint64_t, 2> pending_release_{};  // the running task's bytes freed at its end (trace)
};

}  // namespace txsim::hw
