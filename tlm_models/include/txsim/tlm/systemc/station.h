// What the controller sends work to: a station (a tile, the interconnect, the global buffer, the
// off-chip port, the weight-gradient unit) turns a Job into its cost through the cost model and
// holds the units it is made of (unit.h) for the times that cost needs. A job's latency is its
// cost's when no unit it needs is busy, and longer by the waits when some are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "txsim/tlm/cost_model/cost.h"
#include "txsim/tlm/systemc/courier.h"
#include "txsim/tlm/systemc/ns_time.h"
#include "txsim/tlm/systemc/unit.h"

namespace txsim::hw {

// One unit of work, carried by a TLM_IGNORE_COMMAND payload: the station fills `cost` and
// `bound` and adds the job's time to the transport delay.
struct Job : tlm::tlm_extension<Job> {
  enum class Kind { Read, Digital, Update, Transfer, Buffer, OffChip, Gradient };
  Kind kind = Kind::Read;
  Phase phase = Phase::Forward;
  std::size_t busy_phase = 0;  // the phase the units' busy time is booked to (kBusyPhases)
  bool counted = true;         // a training batch's
  int layer = -1;
  const Activity* activity = nullptr;  // the work's (Read, Update)
  Placement where;    // the whole layer's (or the copy's)
  int first_crossbar = 0, crossbars = 0;  // Read, Update: the chip-wide crossbars whose PEs work
  double share = 1;   // this tile's fraction of the work (its crossbars / the layer's)
  uint64_t macs = 0;  // Digital, Gradient: the whole work's
  uint64_t outputs = 0;      // Read: output elements (tile shift-and-add, output register)
  uint64_t activations = 0;  // Read, Digital: elements through the activation unit
  uint64_t bytes = 0; // Read, Digital: this tile's buffer traffic; Transfer, Buffer, OffChip: moved
  int from = 0, to = 0;
  bool traced = false;
  const std::string* label = nullptr;
  Cost cost;                          // out
  UnitKind bound = UnitKind::Crossbars;  // out: the unit that finished last

  tlm::tlm_extension_base* clone() const override { return new Job(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override { *this = static_cast<const Job&>(other); }
};

class Station : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Station> socket;
  // Bound to its units, in order (none: a station the platform leaves out).
  tlm_utils::multi_passthrough_initiator_socket<Station, 32, tlm::tlm_base_protocol_types, 0, sc_core::SC_ZERO_OR_MORE_BOUND> unit_port;
  void set_trace(trace::TraceSink* sink);
  const std::vector<std::unique_ptr<Unit>>& units() const { return units_; }

 protected:
  // `records` (the controller's) receives one record per unit; `kind` is the units' kind a job
  // that holds none is booked to; `tile` the station's tile (-1: chip level).
  Station(sc_core::sc_module_name name, const Platform& p, UnitKind kind, std::vector<UnitRecord>* records, int tile);
  // Makes a unit and binds it to unit_port; returns its index there.
  int add_unit(const std::string& name, UnitKind kind);
  // Fills job.cost and holds units from `at` through hold(); returns the end of the last hold.
  virtual sc_core::sc_time serve(Job& job, sc_core::sc_time at) = 0;
  // Holds unit `u` (add_unit's index) for ns from `at` on behalf of `job`; returns when it is done.
  sc_core::sc_time hold(int u, double ns, Job& job, sc_core::sc_time at);
  const Platform& p_;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  UnitKind kind_;
  std::vector<UnitRecord>* records_;
  int tile_;
  std::vector<std::unique_ptr<Unit>> units_;
  Courier courier_;
  Hold h_;
  trace::SpanArgs args_;
  sc_core::sc_time latest_;
  NsTime ns_time_;
  trace::TraceSink* sink_ = nullptr;
};

}  // namespace txsim::hw
