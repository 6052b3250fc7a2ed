#include "txsim/tlm/cost_model/schedule.h"

#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

namespace txsim::hw {

namespace {

const char* busy_phase_name(std::size_t k) { return k < kPhases ? phase_name(static_cast<Phase>(k)) : "input"; }

}  // namespace

std::array<KindUse, kUnitKinds> use_by_kind(const HardwareReport& r) {
  std::array<KindUse, kUnitKinds> use{};
  for (const UnitRecord& u : r.units) {
    KindUse& k = use[static_cast<std::size_t>(u.kind)];
    ++k.units;
    k.jobs += u.jobs;
    k.busy_ns += u.busy_total_ns();
    k.wait_ns += u.wait_ns;
    if (!k.busiest || u.busy_total_ns() > k.busiest->busy_total_ns()) k.busiest = &u;
  }
  double critical = 0;
  for (double c : r.critical_ns) critical += c;
  for (std::size_t k = 0; k < kUnitKinds; ++k) {
    if (use[k].units > 0 && r.train_ns > 0) use[k].utilization = use[k].busy_ns / (use[k].units * r.train_ns);
    if (critical > 0) use[k].critical_share = r.critical_ns[k] / critical;
  }
  return use;
}

const UnitRecord* bottleneck(const HardwareReport& r, std::size_t phase) {
  const UnitRecord* best = nullptr;
  double most = 0;
  for (const UnitRecord& u : r.units) {
    const double b = phase < kBusyPhases ? u.busy_ns[phase] : u.busy_total_ns();
    if (b > most) most = b, best = &u;
  }
  return best;
}

std::string unit_csv(const HardwareReport& r) {
  std::ostringstream out;
  out << "unit,kind,tile,jobs,busy_ns";
  for (std::size_t k = 0; k < kBusyPhases; ++k) out << ",busy_" << busy_phase_name(k) << "_ns";
  out << ",wait_ns,busy_fraction\n";
  for (const UnitRecord& u : r.units) {
    out << u.name << "," << unit_kind_key(u.kind) << "," << u.tile << "," << u.jobs << "," << csv_number(u.busy_total_ns());
    for (double b : u.busy_ns) out << "," << csv_number(b);
    out << "," << csv_number(u.wait_ns) << "," << csv_number(r.train_ns > 0 ? u.busy_total_ns() / r.train_ns : 0) << "\n";
  }
  return out.str();
}

nlohmann::json schedule_json(const HardwareReport& r) {
  using nlohmann::json;
  auto unit = [&](const UnitRecord* u, std::size_t phase) -> json {
    if (!u) return nullptr;
    const double b = phase < kBusyPhases ? u->busy_ns[phase] : u->busy_total_ns();
    return {{"unit", u->name}, {"kind", unit_kind_key(u->kind)}, {"busy_seconds", b * 1e-9},
            {"busy_fraction", r.train_ns > 0 ? b / r.train_ns : 0.0}};
  };
  json kinds = json::object();
  const auto use = use_by_kind(r);
  for (std::size_t i = 0; i < kUnitKinds; ++i) {
    const KindUse& k = use[i];
    kinds[kUnitKindTable[i].key] = {{"units", k.units},       {"jobs", k.jobs},
                                    {"busy_seconds", k.busy_ns * 1e-9}, {"utilization", k.utilization},
                                    {"wait_seconds", k.wait_ns * 1e-9}, {"critical_path_share", k.critical_share},
                                    {"busiest", unit(k.busiest, kBusyPhases)}};
  }
  json phases = json::object();
  for (std::size_t p = 0; p < kBusyPhases; ++p) phases[busy_phase_name(p)] = unit(bottleneck(r, p), p);
  return {{"pipeline", r.pipeline == Pipeline::None ? "none" : "layers"},
          {"pipeline_group", r.pipeline == Pipeline::None ? json(nullptr) : json(r.pipeline_group)},
          {"bottleneck", unit(bottleneck(r), kBusyPhases)},
          {"bottleneck_by_phase", phases},
          {"by_kind", kinds}};
}

std::string schedule_summary(const HardwareReport& r) {
  std::ostringstream out;
  char line[512];
  if (r.pipeline == Pipeline::None) out << "  schedule: serial (chip.pipeline none)\n";
  else out << "  schedule: layers pipelined over groups of " << r.pipeline_group << " samples\n";
  if (const UnitRecord* b = bottleneck(r)) {
    std::snprintf(line, sizeof line, "  bottleneck: %s (%s), busy %.1f%% of the training time\n", b->name.c_str(),
                  unit_kind_key(b->kind), r.train_ns > 0 ? 100 * b->busy_total_ns() / r.train_ns : 0.0);
    out << line;
  }
  out << "  units by kind: utilization, busiest unit's busy share, waits, critical-path share\n";
  const auto use = use_by_kind(r);
  for (std::size_t k = 0; k < kUnitKinds; ++k) {
    const KindUse& u = use[k];
    if (u.jobs == 0) continue;
    std::snprintf(line, sizeof line, "    %-14s %5d units %6.2f%%  busiest %6.2f%%  waits %.4g ms  critical %5.1f%%\n",
                  kUnitKindTable[k].key, u.units, 100 * u.utilization,
                  r.train_ns > 0 && u.busiest ? 100 * u.busiest->busy_total_ns() / r.train_ns : 0.0, u.wait_ns * 1e-6,
                  100 * u.critical_share);
    out << line;
  }
  return out.str();
}

}  // namespace txsim::hw
