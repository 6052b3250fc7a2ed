#include "txsim/tlm/systemc/ns_time.h"

#include <cmath>

namespace txsim::hw {

double NsTime::look_up() {
  const double resolution_fs = std::round(sc_core::sc_get_time_resolution().to_seconds() * 1e15);
  if (!(resolution_fs >= 1)) return -1;
  const double per_ns = 1e6 / resolution_fs;
  for (double ns : {0.001, 0.3, 1.0, 1.5, 2.0004999, 7.77, 123.456789, 1e6 + 0.25, 3.3e9})
    if (ticks(ns, per_ns) != sc_core::sc_time(ns, sc_core::SC_NS).value()) return -1;
  return per_ns;
}

}  // namespace txsim::hw
