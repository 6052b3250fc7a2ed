#include "txsim/tlm/cost_model/batch_graph.h"

#include <algorithm>
#include <stdexcept>

namespace txsim::hw {

GroupSplit::GroupSplit(int samples, int size) {
  if (size < 1) throw std::invalid_argument("GroupSplit: a group needs at least one sample");
  const int n = std::max(1, samples);
  for (int s = 0; s < n; s += size) start_.push_back(s);
  start_.push_back(n);
}

uint64_t GroupSplit::part(uint64_t whole, int g) const {
  if (g < 0) return whole;
  const auto n = static_cast<uint64_t>(start_.back());
  // floor(whole x start / n), in 64 bits where the product fits (the 128-bit division is a library call).
  auto upto = [&](int k) {
    uint64_t product;
    if (!__builtin_mul_overflow(whole, static_cast<uint64_t>(start_[k]), &product)) return product / n;
    return static_cast<uint64_t>(static_cast<unsigned __int128>(whole) * start_[k] / n);
  };
  return upto(g + 1) - upto(g);
}

Activity GroupSplit::part(const Activity& a, int g) const {
  Activity s;
  s.crossbar_reads = part(a.crossbar_reads, g);
  s.dac_conversions = part(a.dac_conversions, g);
  s.adc_conversions = part(a.adc_conversions, g);
  s.shift_adds = part(a.shift_adds, g);
  s.device_macs = part(a.device_macs, g);
  s.program_pulses = part(a.program_pulses, g);
  s.program_slots = a.program_slots;
  return s;
}

BatchGraph batch_graph(const std::vector<PhaseRef>& phases, std::size_t layers, int groups, Pipeline mode) {
  const bool serial = mode == Pipeline::None;
  if (serial) groups = 1;
  BatchGraph g;
  auto add = [&](int phase, int group) {
    BatchGraph::Node n;
    n.phase = phase;
    n.group = group;
    g.nodes.push_back(std::move(n));
    return static_cast<int>(g.nodes.size()) - 1;
  };
  auto depend = [&](int before, int after) {
    g.nodes[before].next.push_back(after);
    ++g.nodes[after].waits_for;
  };
  // Per group: the last forward (what the next forward waits for) and the last task that
  // produced an error signal (what the next backward task waits for).
  std::vector<int> last_fw(groups), last_error(groups);
  for (int k = 0; k < groups; ++k) last_fw[k] = last_error[k] = add(-1, k);
  std::vector<std::vector<int>> backward(layers);  // a layer's WG and AG nodes
  int previous = 0;
  for (int pi = 0; pi < static_cast<int>(phases.size()); ++pi) {
    const PhaseRef& p = phases[pi];
    if (p.phase == Phase::WeightUpdate) {
      const int n = add(pi, -1);
      if (serial) depend(previous, n);
      else
        for (int b : backward.at(p.layer)) depend(b, n);
      previous = n;
      continue;
    }
    for (int k = 0; k < groups; ++k) {
      const int n = add(pi, serial ? -1 : k);
      if (serial) {
        depend(previous, n);
      } else if (p.phase == Phase::Forward) {
        depend(last_fw[k], n);
        last_fw[k] = last_error[k] = n;
      } else {
        depend(last_error[k], n);
        backward.at(p.layer).push_back(n);
        if (p.phase == Phase::ActivationGradient) last_error[k] = n;
      }
      previous = n;
    }
  }
  return g;
}

}  // namespace txsim::hw
