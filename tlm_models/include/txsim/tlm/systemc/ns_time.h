// sc_time(ns, SC_NS) for the timed model's hot paths: SystemC's constructor looks up the
// simulation context's time parameters on every call (7% of the pipelined model's scheduling).
// This does the constructor's own arithmetic (SystemC 2.3: ticks = int64(ns x ticks-per-ns + 0.5),
// the product and the sum each rounded) with ticks-per-ns read once; at that first use it checks
// itself against the constructor on a few values and, where they differ (another SystemC),
// calls the constructor from then on. A test compares the two on many values.
#pragma once

#include <systemc>

namespace txsim::hw {

class NsTime {
 public:
  sc_core::sc_time operator()(double ns) {
    if (per_ns_ == 0) per_ns_ = look_up();
    if (per_ns_ < 0) return sc_core::sc_time(ns, sc_core::SC_NS);
    if (ns == 0) return sc_core::SC_ZERO_TIME;
    return sc_core::sc_time::from_value(ticks(ns, per_ns_));
  }
  // Whether this SystemC's constructor is the arithmetic above (else operator() calls it).
  static bool reproduces_systemc() { return look_up() > 0; }

 private:
  static sc_dt::uint64 ticks(double ns, double per_ns) {
    volatile double product = ns * per_ns;  // rounded on its own, as in the library (no fused multiply-add)
    const double rounded = product + 0.5;
    return static_cast<sc_dt::uint64>(static_cast<sc_dt::int64>(rounded));
  }
  // Ticks per ns as SystemC computes it (1e6 fs over the resolution in fs, a power of ten), or -1
  // where this arithmetic does not reproduce the constructor.
  static double look_up();
  double per_ns_ = 0;
};

}  // namespace txsim::hw
