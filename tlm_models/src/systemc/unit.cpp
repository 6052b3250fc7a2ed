#include "txsim/tlm/systemc/unit.h"

namespace txsim::hw {

using sc_core::sc_time;

Unit::Unit(sc_core::sc_module_name name, UnitKind kind, std::vector<UnitRecord>* records, std::size_t id)
    : sc_core::sc_module(name), socket("socket"), kind_(kind), records_(records), id_(id) {
  socket.register_b_transport(this, &Unit::b_transport);
}

void Unit::set_trace(trace::TraceSink* sink, const std::string& group) {
  sink_ = sink;
  group_ = group;
  track_ = -1;
}

void Unit::b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
  Hold* h = nullptr;
  trans.get_extension(h);
  if (!h || trans.get_command() != tlm::TLM_IGNORE_COMMAND || !(h->ns >= 0) || h->phase >= kBusyPhases) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  // On SystemC's time grid (whole ticks, exact in a double), so that a job arriving as the last
  // one ends finds the unit free, not busy for a rounding error.
  // The resolution is fixed once simulation runs: looked up on the first job only.
  if (tick_ns_ == 0) tick_ns_ = sc_core::sc_get_time_resolution().to_seconds() * 1e9;
  const double tick_ns = tick_ns_;
  const double arrival = static_cast<double>((sc_core::sc_time_stamp() + delay).value());
  const double ticks = static_cast<double>(ns_time_(h->ns).value());
  const double start = busy_.book(arrival, ticks);
  const double start_ns = start * tick_ns;
  if (h->counted && h->ns > 0) {
    UnitRecord& r = (*records_)[id_];
    ++r.jobs;
    r.busy_ns[h->phase] += h->ns;
    r.wait_ns += (start - arrival) * tick_ns;
  }
  if (sink_ && h->traced && h->ns > 0) {
    if (track_ < 0) track_ = sink_->track(basename(), group_);
    sink_->span(track_, h->label ? *h->label : std::string(), start_ns, h->ns, h->args ? *h->args : trace::SpanArgs{});
    if (kind_ == UnitKind::Link) {  // link utilization: how many links carry flits at once
      sink_->count("NoC links busy", start_ns, 1);
      sink_->count("NoC links busy", start_ns + h->ns, -1);
    }
  }
  delay += sc_time::from_value(static_cast<sc_dt::uint64>(start - arrival + ticks));
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace txsim::hw
