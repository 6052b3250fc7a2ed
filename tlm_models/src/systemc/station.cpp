#include "txsim/tlm/systemc/station.h"

#include <algorithm>

namespace txsim::hw {

using sc_core::sc_time;

Station::Station(sc_core::sc_module_name name, const Platform& p, UnitKind kind, std::vector<UnitRecord>* records, int tile)
    : sc_core::sc_module(name), socket("socket"), unit_port("unit_port"), p_(p), kind_(kind), records_(records), tile_(tile) {
  socket.register_b_transport(this, &Station::b_transport);
}

int Station::add_unit(const std::string& name, UnitKind kind) {
  UnitRecord r;
  r.name = std::string(this->name()) + "." + name;
  r.kind = kind;
  r.tile = tile_;
  records_->push_back(r);
  units_.push_back(std::make_unique<Unit>(name.c_str(), kind, records_, records_->size() - 1));
  unit_port.bind(units_.back()->socket);
  return static_cast<int>(units_.size()) - 1;
}

void Station::set_trace(trace::TraceSink* sink) {
  sink_ = sink;
  for (auto& u : units_) u->set_trace(sink, basename());
}

sc_time Station::hold(int u, double ns, Job& job, sc_time at) {
  if (ns <= 0) return at;
  h_.ns = ns;
  h_.phase = job.busy_phase;
  h_.counted = job.counted;
  h_.traced = job.traced && sink_;
  h_.label = job.label;
  h_.args = &args_;
  if (h_.traced && args_.empty()) {  // the figures of the job, for the trace's details pane
    args_.emplace_back("energy_pj", job.cost.parts.dynamic_pj());
    if (job.macs) args_.emplace_back("macs", job.share * static_cast<double>(job.macs));
    if (job.bytes) args_.emplace_back("bytes", static_cast<double>(job.bytes));
    if (job.activity) args_.emplace_back("adc_conversions", job.share * static_cast<double>(job.activity->adc_conversions));
  }
  sc_time end = at;
  if (!courier_.carry(*unit_port[u], h_, end)) SC_REPORT_ERROR(name(), "a unit refused a hold");
  if (end > latest_) {  // ties: the unit held first (the crossbars before their ADC bank)
    latest_ = end;
    job.bound = units_[u]->unit_kind();
  }
  return end;
}

void Station::b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
  Job* job = nullptr;
  trans.get_extension(job);
  if (!job || trans.get_command() != tlm::TLM_IGNORE_COMMAND || job->busy_phase >= kBusyPhases) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  job->cost = Cost{};
  job->bound = kind_;
  latest_ = delay;
  args_.clear();
  const sc_time held = serve(*job, delay);
  // Unloaded, the job takes its cost's latency exactly (as the serial model always did); a unit
  // that was busy makes it longer.
  const sc_time unloaded = delay + ns_time_(job->cost.latency_ns);
  delay = std::max(unloaded, held);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace txsim::hw
