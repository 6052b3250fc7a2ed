// The activity of a functional run as the timed model consumes it: every batch, layer-phase
// (with what the crossbars did) and epoch end that the training reported to its observer, and
// the layers as the mapper sees them. A run records it once (txsim train --record-activity, or
// the Python front end) and the timed model charges it on any platform that imposes the same
// crossbar geometry and precision (txsim time), without running the training again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "txsim/activity.h"
#include "txsim/nn/layers.h"

namespace txsim::nn {

class Network;

// A weighted layer as the mapper sees it; for an analog layer also the crossbar settings its
// activity was counted with, those a platform imposes on a device preset (Platform::apply_to).
struct RecordedLayer {
  bool analog = false;
  int in = 0, out = 0;
  int crossbars = 0;
  bool in_array_update = false;
  int rows = 0, cols = 0, weight_bits = 0, bits_per_cell = 0, dac_bits = 0, adc_bits = 0;  // analog only
};

// One report of the run, as plain numbers (the file holds them as they are: no padding).
struct RecordedEvent {
  enum Kind : uint64_t { kBatch = 0, kPhase = 1, kEpoch = 2 };
  uint64_t kind = kBatch;
  uint64_t value = 0;  // batch: its samples; phase: the Phase (0 FW .. 3 WU); epoch: its number (from 1)
  uint64_t flag = 0;   // batch: 1 trains, 0 evaluates; phase: 1 analog
  uint64_t index = 0, rows = 0, in = 0, out = 0, input_values = 0;  // phase: PhaseEvent's
  Activity activity;                                               // phase: what the crossbars did
};
static_assert(sizeof(RecordedEvent) == 15 * sizeof(uint64_t), "RecordedEvent must have no padding");

struct ActivityRecord {
  std::string label;      // what ran (network / device), for the reports
  int sample_values = 0;  // values of one input sample
  std::vector<RecordedLayer> layers;
  std::vector<RecordedEvent> events;

  // Hands every event to `observer` in the order the run reported them.
  void replay(PhaseObserver& observer) const;
  uint64_t train_samples() const;
};

// A weighted layer's core as a record holds it, and the layers of a network (Network::cores() order).
RecordedLayer recorded_layer(const WeightCore& core);
std::vector<RecordedLayer> recorded_layers(Network& net);

// Records what a run reports and passes every call on to `next` (a timed run's controller) when
// there is one. Checkpoints hold the next observer's state only: a recorded run is not resumed.
class ActivityRecorder final : public PhaseObserver {
 public:
  explicit ActivityRecorder(PhaseObserver* next = nullptr) : next_(next) {}
  void set_next(PhaseObserver* next) { next_ = next; }
  ActivityRecord& record() { return record_; }
  const ActivityRecord& record() const { return record_; }

  void on_batch(int samples, bool train) override;
  void on_phase(const PhaseEvent& e) override;
  void on_epoch(int epoch) override;
  void save_state(StateWriter& w) const override {
    if (next_) next_->save_state(w);
  }
  void load_state(StateReader& r) override {
    if (next_) next_->load_state(r);
  }

 private:
  ActivityRecord record_;
  PhaseObserver* next_;
};

// The file: "TXSIMACT", then named entries (state_archive.h): the format, a JSON header (label,
// sample_values, layers) and the events. Written atomically (a kill leaves the old file or none).
std::string record_bytes(const ActivityRecord& r);
void save_record(const ActivityRecord& r, const std::string& path);
// Checks everything the timed model relies on (the header's fields and ranges, each event's kind,
// phase, layer and shape against its layer, phases only inside a batch, epochs counting up from
// 1), so a truncated or hostile file is a StateError naming `source` and what is wrong.
ActivityRecord record_from_bytes(const std::string& bytes, const std::string& source);
ActivityRecord load_record(const std::string& path);

}  // namespace txsim::nn
