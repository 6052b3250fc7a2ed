// Where a timed run's time went, from its units' records: per kind of unit the busy fraction, the
// busiest unit, the time jobs waited for units of the kind and its share of the critical path;
// the bottleneck (the busiest unit) of each phase and of the batch. Plain C++.
#pragma once

#include <array>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "txsim/tlm/cost_model/report.h"

namespace txsim::hw {

struct KindUse {
  int units = 0;
  uint64_t jobs = 0;
  double busy_ns = 0;          // all units of the kind together
  double wait_ns = 0;
  const UnitRecord* busiest = nullptr;
  // busy_ns / (units x the training time): how much of the kind's capacity the training used.
  double utilization = 0;
  double critical_share = 0;   // of the training batches' critical paths
};

std::array<KindUse, kUnitKinds> use_by_kind(const HardwareReport& r);
// The unit busiest in busy phase `phase` (kBusyPhases: over all of them); nullptr when none was.
const UnitRecord* bottleneck(const HardwareReport& r, std::size_t phase = kBusyPhases);
// One line per unit: name, kind, tile, jobs, busy_ns, busy_<phase>_ns, wait_ns, busy_fraction.
std::string unit_csv(const HardwareReport& r);
nlohmann::json schedule_json(const HardwareReport& r);
std::string schedule_summary(const HardwareReport& r);

}  // namespace txsim::hw
