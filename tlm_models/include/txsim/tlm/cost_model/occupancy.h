// When a unit of the chip is busy: a calendar of booked intervals. A job that arrives while the
// unit is busy takes the first free gap long enough for it, at or after its arrival (jobs may be
// booked out of time order: a scheduler books a later layer's job before an earlier one of the
// next group). Plain C++: the SystemC units wrap it; tests check it by hand.
#pragma once

#include <utility>
#include <vector>

namespace txsim::hw {

class Occupancy {
 public:
  // The earliest start at or after ready_ns at which the unit is free for ns.
  double earliest(double ready_ns, double ns) const;
  // Books ns from earliest(ready_ns, ns); returns the start.
  double book(double ready_ns, double ns);
  // Forgets the intervals that end at or before t_ns (no job can arrive before t_ns any more).
  void forget_before(double t_ns);

 private:
  std::vector<std::pair<double, double>> busy_;  // [start, end), sorted, disjoint
};

}  // namespace txsim::hw
