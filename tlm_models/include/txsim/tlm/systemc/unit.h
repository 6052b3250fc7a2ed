// A unit of the chip that can be busy (a PE's crossbars, an ADC bank, a buffer port, a NoC link,
// a DRAM channel, ...): a SystemC target that keeps when it is free. A Hold (a TLM_IGNORE_COMMAND
// payload) arriving at simulated time now + delay takes the unit for `ns` from the first free gap
// at or after its arrival; the wait is added to the delay with the hold itself (loosely timed,
// temporally decoupled: no wait() per access) and recorded with the unit's busy time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "txsim/tlm/cost_model/occupancy.h"
#include "txsim/tlm/cost_model/units.h"
#include "txsim/tlm/systemc/ns_time.h"
#include "txsim/trace/trace.h"

namespace txsim::hw {

// What a hold carries: its time and whose it is (for the record and the trace); its end comes
// back in the transport delay.
struct Hold : tlm::tlm_extension<Hold> {
  double ns = 0;
  std::size_t phase = 0;  // busy phase (kBusyPhases)
  bool counted = true;    // a training batch's (the report counts those)
  bool traced = false;
  const std::string* label = nullptr;
  const trace::SpanArgs* args = nullptr;

  tlm::tlm_extension_base* clone() const override { return new Hold(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const Hold&>(o); }
};

class Unit final : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Unit> socket;
  // `records` outlives the unit; record `id` is this unit's.
  Unit(sc_core::sc_module_name name, UnitKind kind, std::vector<UnitRecord>* records, std::size_t id);
  UnitKind unit_kind() const { return kind_; }
  Occupancy& occupancy() { return busy_; }  // in SystemC time ticks
  // Spans go to `sink` on a track named after the unit, grouped with `group` (its tile).
  void set_trace(trace::TraceSink* sink, const std::string& group);

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  UnitKind kind_;
  std::vector<UnitRecord>* records_;
  std::size_t id_;
  Occupancy busy_;
  double tick_ns_ = 0;  // SystemC's time resolution in ns (0: not looked up yet)
  NsTime ns_time_;
  trace::TraceSink* sink_ = nullptr;
  std::string group_;
  int track_ = -1;
};

}  // namespace txsim::hw
