// A training or evaluation batch as a graph of tasks over (layer-phase, group of samples): what
// the controller schedules. Plain C++: built from the phases the functional core reported, in
// their order; tested without SystemC.
#pragma once

#include <cstdint>
#include <vector>

#include "txsim/activity.h"
#include "txsim/tlm/cost_model/platform.h"

namespace txsim::hw {

// A batch's samples in groups of `size` (the last one may be smaller). part() splits a whole
// batch's count among the groups so that the parts add up to it exactly.
class GroupSplit {
 public:
  GroupSplit(int samples, int size);
  int groups() const { return static_cast<int>(start_.size()) - 1; }
  int samples() const { return start_.back(); }
  // Group g's part of `whole` (g < 0: the whole).
  uint64_t part(uint64_t whole, int g) const;
  Activity part(const Activity& whole, int g) const;  // program_slots (a maximum) stays whole

 private:
  std::vector<int> start_;  // first sample of each group, then the samples
};

struct PhaseRef {
  int layer = 0;
  Phase phase = Phase::Forward;
  bool operator==(const PhaseRef& o) const { return layer == o.layer && phase == o.phase; }
};

struct BatchGraph {
  struct Node {
    int phase = -1;  // index into the batch's phases; -1: moving group's input in
    int group = 0;   // -1: the whole batch
    std::vector<int> next;  // nodes that wait for this one
    int waits_for = 0;      // how many it waits for
  };
  std::vector<Node> nodes;
};

// The nodes: every group's input first, then each phase for each group (the update once, for the
// whole batch). Pipeline::None: one group, every node after the one before. Pipeline::Layers:
// a forward waits for the group's previous forward (or its input); a WG or AG for the group's
// last AG before it (or its last forward: the loss); an update for every WG and AG of its layer.
BatchGraph batch_graph(const std::vector<PhaseRef>& phases, std::size_t layers, int groups, Pipeline mode);

}  // namespace txsim::hw
