#include "txsim/tlm/cost_model/occupancy.h"

#include <algorithm>

namespace txsim::hw {

// The earliest start and the first interval after the gap that holds the job (end() if none).
template <class It>
static std::pair<double, It> first_fit(It begin, It end, double ready, double ns) {
  // The first interval that ends after `ready`; a gap before it may hold the job.
  auto it = std::upper_bound(begin, end, ready, [](double t, const auto& b) { return t < b.second; });
  double start = ready;
  for (; it != end; ++it) {
    if (start + ns <= it->first) break;
    start = std::max(start, it->second);
  }
  return {start, it};
}

double Occupancy::earliest(double ready, double ns) const { return first_fit(busy_.begin(), busy_.end(), ready, ns).first; }

double Occupancy::book(double ready, double ns) {
  const auto [start, after] = first_fit(busy_.begin(), busy_.end(), ready, ns);
  if (ns <= 0) return start;
  const std::pair<double, double> b{start, start + ns};
  // Every interval before `after` ends by `start` and every one from it starts at or after b's
  // end: b goes right before it, as the sorted order has it.
  auto it = after;
  // Touching neighbours merge, so a unit kept busy back to back stays one interval.
  if (it != busy_.begin() && std::prev(it)->second == b.first) {
    auto prev = std::prev(it);
    prev->second = b.second;
    if (it != busy_.end() && it->first == prev->second) {
      prev->second = it->second;
      busy_.erase(it);
    }
  } else if (it != busy_.end() && it->first == b.second) {
    it->first = b.first;
  } else {
    busy_.insert(it, b);
  }
  return start;
}

void Occupancy::forget_before(double t) {
  auto it = std::upper_bound(busy_.begin(), busy_.end(), t, [](double x, const auto& b) { return x < b.second; });
  busy_.erase(busy_.begin(), it);
}

}  // namespace txsim::hw
