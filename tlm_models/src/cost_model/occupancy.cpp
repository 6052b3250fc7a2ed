#include "txsim/tlm/cost_model/occupancy.h"

#include <algorithm>

namespace txsim::hw {

double Occupancy::earliest(double ready, double ns) const {
  // The first interval that ends after `ready`; a gap before it may hold the job.
  auto it = std::upper_bound(busy_.begin(), busy_.end(), ready, [](double t, const auto& b) { return t < b.second; });
  double start = ready;
  for (; it != busy_.end(); ++it) {
    if (start + ns <= it->first) break;
    start = std::max(start, it->second);
  }
  return start;
}

double Occupancy::book(double ready, double ns) {
  const double start = earliest(ready, ns);
  if (ns <= 0) return start;
  const std::pair<double, double> b{start, start + ns};
  auto it = std::lower_bound(busy_.begin(), busy_.end(), b);
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
