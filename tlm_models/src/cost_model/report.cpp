#include "txsim/tlm/cost_model/report.h"
#include "txsim/tlm/cost_model/schedule.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace txsim::hw {

double HardwareReport::utilization(const PhaseTotals& t) const {
  const double cells = static_cast<double>(t.activity.crossbar_reads) * cells_per_crossbar;
  return cells > 0 ? t.activity.device_macs / cells : 0;
}

const char* PhaseTotals::bound_name() const {
  if (calls == 0) return "";
  return resource_name(static_cast<Resource>(std::max_element(bound_calls.begin(), bound_calls.end()) - bound_calls.begin()));
}

std::string csv_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

namespace {

}  // namespace

std::string layer_csv(const HardwareReport& r) {
  std::ostringstream out;
  out << "layer,kind,phase,calls,latency_ns,energy_pj,static_pj";
  for (const ComponentInfo& c : kComponentTable) out << "," << c.key << "_pj," << c.key << "_ops";
  out << ",crossbars,replicas,first_tile,tiles,utilization,bound";
  for (std::size_t l = 0; l < kLevels; ++l) out << ",placed_" << level_name(static_cast<Level>(l)) << "_bytes";
  out << ",macs,crossbar_reads,dac_conversions,adc_conversions,program_pulses,program_slots\n";
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    const LayerPlacement& l = r.map.layers.at(i);
    for (int ph = 0; ph < kPhases; ++ph) {
      const PhaseTotals& t = r.layers[i][ph];
      const Cost& c = t.cost;
      const bool read = l.shape.analog && (ph == 0 || ph == 1);
      out << i << "," << (l.shape.analog ? "analog" : "digital") << "," << phase_name(static_cast<Phase>(ph)) << ","
          << t.calls << "," << csv_number(c.latency_ns) << "," << csv_number(c.energy_pj()) << "," << csv_number(c.static_pj);
      for (const ComponentInfo& k : kComponentTable) out << "," << csv_number(c.pj(k.id)) << "," << csv_number(c.ops(k.id));
      out << "," << l.where.crossbars << "," << l.where.replicas << "," << l.where.first_tile << "," << l.where.tiles << ","
          << (read ? csv_number(r.utilization(t)) : "") << "," << t.bound_name();
      for (uint64_t b : t.placed) out << "," << b;
      out << "," << t.macs << "," << t.activity.crossbar_reads << "," << t.activity.dac_conversions << ","
          << t.activity.adc_conversions << "," << t.activity.program_pulses << "," << t.activity.program_slots << "\n";
    }
  }
  return out.str();
}

Cost training_total(const HardwareReport& r) {
  Cost total = r.input.cost;
  for (const auto& layer : r.layers)
    for (const PhaseTotals& t : layer) total += t.cost;
  return total;
}

std::pair<Level, double> tightest_capacity(const HardwareReport& r) {
  std::pair<Level, double> tight{Level::Tile, 0.0};
  for (Level l : {Level::Tile, Level::Global}) {
    const std::size_t k = static_cast<std::size_t>(l);
    if (r.capacity[k] == 0) continue;
    const double used = static_cast<double>(r.peak[k]) / r.capacity[k];
    if (used >= tight.second) tight = {l, used};
  }
  return tight;
}

nlohmann::json to_json(const HardwareReport& r) {
  using nlohmann::json;
  json layers = json::array();
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    json phases = json::object();
    for (int ph = 0; ph < kPhases; ++ph) {
      const PhaseTotals& t = r.layers[i][ph];
      json placed = json::object();
      for (std::size_t l = 0; l < kLevels; ++l) placed[level_name(static_cast<Level>(l))] = t.placed[l];
      phases[phase_name(static_cast<Phase>(ph))] = {{"calls", t.calls}, {"latency_ns", t.cost.latency_ns},
                                                    {"energy_pj", t.cost.energy_pj()}, {"placed_bytes", placed}};
    }
    const LayerPlacement& l = r.map.layers.at(i);
    layers.push_back({{"layer", i}, {"analog", l.shape.analog}, {"crossbars", l.where.crossbars}, {"phases", phases}});
  }
  // Breakdowns of the training batches (the sweep's bars): energy by component and time by phase,
  // summed over the layers; moving the batches in is its own entry.
  const Cost total = training_total(r);
  std::array<double, kPhases> phase_ns{};
  for (const auto& layer : r.layers)
    for (int ph = 0; ph < kPhases; ++ph) phase_ns[ph] += layer[ph].cost.latency_ns;
  json by_phase = json::object();
  for (int ph = 0; ph < kPhases; ++ph) by_phase[phase_name(static_cast<Phase>(ph))] = phase_ns[ph] * 1e-9;
  by_phase["input"] = r.input.cost.latency_ns * 1e-9;
  json by_component = json::object(), ops = json::object();
  for (const ComponentInfo& c : kComponentTable) {
    by_component[c.key] = total.pj(c.id) * 1e-12;
    ops[c.key] = total.ops(c.id);
  }
  by_component["static"] = total.static_pj * 1e-12;
  json memory = json::object();
  for (std::size_t l = 0; l < kLevels; ++l)
    memory[level_name(static_cast<Level>(l))] = {{"capacity_bytes", l + 1 < kLevels ? json(r.capacity[l]) : json(nullptr)},
                                                 {"peak_bytes", r.peak[l]}};
  memory["tightest"] = level_name(tightest_capacity(r).first);
  json epochs = json::array();
  for (const EpochHardware& e : r.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"train_seconds", e.train_ns * 1e-9}, {"eval_seconds", e.eval_ns * 1e-9},
                      {"train_joules", e.train_pj * 1e-12}, {"train_batches", e.train_batches}});
  return {{"platform", r.platform},
          {"area_mm2", r.area_mm2},
          {"static_power_w", r.static_mw * 1e-3},
          {"crossbars_used", r.map.crossbars_used},
          {"replicas", r.map.replicas},
          {"train_seconds", r.train_ns * 1e-9},
          {"batch_seconds", r.batch_ns() * 1e-9},
          {"images_per_second", r.images_per_second()},
          {"energy_per_image_joules", r.energy_per_image_pj() * 1e-12},
          {"tops_per_watt", r.tops_per_watt()},
          {"eval_seconds", r.eval_ns * 1e-9},
          {"eval_joules", r.eval_pj * 1e-12},
          {"train_samples", r.train_samples},
          {"eval_samples", r.eval_samples},
          {"simulated_images_per_wall_second", r.wall_seconds > 0 ? (r.train_samples + r.eval_samples) / r.wall_seconds : 0.0},
          {"train_energy_by_component_joules", by_component},
          {"train_operations_by_component", ops},
          {"train_latency_by_phase_seconds", by_phase},
          {"memory", memory},
          {"epochs", epochs},
          {"schedule", schedule_json(r)},
          {"layers", layers}};
}

std::string summary(const HardwareReport& r) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "hardware: platform %s, area %.3f mm2, %d crossbars hold the analog layers (x%d replicas)\n",
                r.platform.c_str(), r.area_mm2, r.map.crossbars_used, r.map.replicas);
  out << line;
  for (const EpochHardware& e : r.epochs) {
    std::snprintf(line, sizeof line, "  epoch %d: training %.6g s simulated (%.6g ms per batch), evaluation %.6g s\n", e.epoch,
                  e.train_ns * 1e-9, e.train_batches ? e.train_ns / e.train_batches * 1e-6 : 0.0, e.eval_ns * 1e-9);
    out << line;
  }
  std::snprintf(line, sizeof line,
                "  training: %.6g images/s, %.6g uJ per image, %.4g TOPS/W (%.4g J for %llu images)\n",
                r.images_per_second(), r.energy_per_image_pj() * 1e-6, r.tops_per_watt(), r.train_pj * 1e-12,
                static_cast<unsigned long long>(r.train_samples));
  out << line;
  const Cost total = training_total(r);
  {
    const ComponentLedger& parts = total.parts;
    const double all = r.train_pj > 0 ? r.train_pj : 1;
    out << "  training energy by component:";
    for (const ComponentInfo& c : kComponentTable)
      if (parts.pj[index_of(c.id)] > 0) {
        std::snprintf(line, sizeof line, " %s %.1f%%,", c.key, 100 * parts.pj[index_of(c.id)] / all);
        out << line;
      }
    std::snprintf(line, sizeof line, " static %.1f%%\n", 100 * total.static_pj / all);
    out << line;
    const auto [level, used] = tightest_capacity(r);
    std::snprintf(line, sizeof line,
                  "  kept for the backward pass, at the peak: tile buffers %.4g of %.4g KiB, global buffer %.4g of %.4g KiB, "
                  "DRAM %.4g KiB; tightest: %s (%.0f%%)\n",
                  r.peak[0] / 1024.0, r.capacity[0] / 1024.0, r.peak[1] / 1024.0, r.capacity[1] / 1024.0, r.peak[2] / 1024.0,
                  level_name(level), 100 * used);
    out << line;
  }
  out << "  per layer and phase (training): latency share, energy share\n";
  const double total_ns = total.latency_ns, total_pj = total.energy_pj();
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    out << "    layer " << i << (r.map.layers[i].shape.analog ? " analog " : " digital");
    for (int ph = 0; ph < kPhases; ++ph) {
      const PhaseTotals& t = r.layers[i][ph];
      std::snprintf(line, sizeof line, "  %s %5.1f%% %5.1f%%", phase_name(static_cast<Phase>(ph)),
                    total_ns > 0 ? 100 * t.cost.latency_ns / total_ns : 0.0, total_pj > 0 ? 100 * t.cost.energy_pj() / total_pj : 0.0);
      out << line;
    }
    const PhaseTotals& reads = r.layers[i][static_cast<int>(Phase::Forward)];
    if (r.map.layers[i].shape.analog && reads.calls > 0) out << "  (reads bound by " << reads.bound_name() << ")";
    out << "\n";
  }
  std::snprintf(line, sizeof line, "    input (off-chip, global buffer, NoC): %5.1f%% %5.1f%%\n",
                total_ns > 0 ? 100 * r.input.cost.latency_ns / total_ns : 0.0, total_pj > 0 ? 100 * r.input.cost.energy_pj() / total_pj : 0.0);
  out << line;
  out << schedule_summary(r);
  if (r.wall_seconds > 0) {
    std::snprintf(line, sizeof line, "  simulator: %.6g simulated images per wall second (%.1f s wall)\n",
                  (r.train_samples + r.eval_samples) / r.wall_seconds, r.wall_seconds);
    out << line;
  }
  return out.str();
}

namespace {
// The report's scalar totals, once for save and load (const or not).
template <class Report>
auto report_totals(Report& r) {
  return std::array{&r.train_ns, &r.eval_ns, &r.train_pj, &r.eval_pj};
}
template <class Report>
auto report_counts(Report& r) {
  return std::array{&r.train_samples, &r.train_batches, &r.eval_samples, &r.train_ops};
}
// An epoch's the same way (its number is saved beside its counts).
template <class Epoch>
auto epoch_totals(Epoch& e) {
  return std::array{&e.train_ns, &e.eval_ns, &e.train_pj, &e.eval_pj};
}
template <class Epoch>
auto epoch_counts(Epoch& e) {
  return std::array{&e.train_samples, &e.train_batches};
}
// Saved values per epoch: its number, then epoch_counts; epoch_totals.
constexpr std::size_t kEpochCounts = 1 + std::tuple_size_v<decltype(epoch_counts(std::declval<EpochHardware&>()))>;
constexpr std::size_t kEpochTotals = std::tuple_size_v<decltype(epoch_totals(std::declval<EpochHardware&>()))>;
}  // namespace

void save_report(const HardwareReport& r, StateWriter& w) {
  w.put_text("hardware platform", r.platform);
  std::vector<PhaseTotals> phases;
  for (const auto& layer : r.layers) phases.insert(phases.end(), layer.begin(), layer.end());
  phases.push_back(r.input);
  w.put_raw("hardware phase totals", phases);
  std::vector<double> totals;
  for (const double* v : report_totals(r)) totals.push_back(*v);
  w.put("hardware totals", totals);
  std::vector<uint64_t> counts;
  for (const uint64_t* v : report_counts(r)) counts.push_back(*v);
  w.put("hardware counts", counts);
  w.put("hardware memory peak", std::vector<uint64_t>(r.peak.begin(), r.peak.end()));
  // Field by field, not as raw structs: EpochHardware has padding after `epoch`, whose bytes
  // are indeterminate, and a checkpoint must be the same bytes for the same state.
  std::vector<uint64_t> counts_of_epochs;
  std::vector<double> totals_of_epochs;
  for (const EpochHardware& e : r.epochs) {
    counts_of_epochs.push_back(static_cast<uint64_t>(e.epoch));
    for (const uint64_t* v : epoch_counts(e)) counts_of_epochs.push_back(*v);
    for (const double* v : epoch_totals(e)) totals_of_epochs.push_back(*v);
  }
  w.put("hardware epoch counts", counts_of_epochs);
  w.put("hardware epoch totals", totals_of_epochs);
  std::vector<uint64_t> jobs;
  std::vector<double> busy;
  for (const UnitRecord& u : r.units) {
    jobs.push_back(u.jobs);
    busy.insert(busy.end(), u.busy_ns.begin(), u.busy_ns.end());
    busy.push_back(u.wait_ns);
  }
  w.put("hardware unit jobs", jobs);
  w.put("hardware unit busy and wait", busy);
  w.put("hardware critical path", std::vector<double>(r.critical_ns.begin(), r.critical_ns.end()));
}

void load_report(HardwareReport& r, StateReader& in) {
  const std::string platform = in.get_text("hardware platform", 4096);
  if (platform != r.platform)
    throw StateError(in.source() + ": a checkpoint of a run timed on platform '" + platform + "'; this run is on '" + r.platform + "'");
  std::vector<PhaseTotals> phases;
  in.get_raw("hardware phase totals", phases, r.layers.size() * kPhases + 1);
  for (std::size_t l = 0; l < r.layers.size(); ++l)
    for (int p = 0; p < kPhases; ++p) r.layers[l][p] = phases[l * kPhases + p];
  r.input = phases.back();
  const auto totals_at = report_totals(r);
  std::vector<double> totals;
  in.get("hardware totals", totals, totals_at.size());
  for (std::size_t k = 0; k < totals.size(); ++k) *totals_at[k] = totals[k];
  const auto counts_at = report_counts(r);
  std::vector<uint64_t> counts;
  in.get("hardware counts", counts, counts_at.size());
  for (std::size_t k = 0; k < counts.size(); ++k) *counts_at[k] = counts[k];
  std::vector<uint64_t> peak;
  in.get("hardware memory peak", peak, kLevels);
  std::copy(peak.begin(), peak.end(), r.peak.begin());
  const uint64_t epochs = in.peek_count("hardware epoch counts") / kEpochCounts;
  std::vector<uint64_t> counts_of_epochs;
  std::vector<double> totals_of_epochs;
  in.get("hardware epoch counts", counts_of_epochs, epochs * kEpochCounts);
  in.get("hardware epoch totals", totals_of_epochs, epochs * kEpochTotals);
  r.epochs.assign(epochs, EpochHardware{});
  for (std::size_t k = 0; k < epochs; ++k) {
    EpochHardware& e = r.epochs[k];
    const uint64_t* c = counts_of_epochs.data() + k * kEpochCounts;
    if (c[0] > 1u << 30) throw StateError(in.source() + ": a timed epoch numbered " + std::to_string(c[0]));
    e.epoch = static_cast<int>(c[0]);
    for (uint64_t* v : epoch_counts(e)) *v = *++c;
    const double* t = totals_of_epochs.data() + k * kEpochTotals;
    for (double* v : epoch_totals(e)) *v = *t++;
  }
  std::vector<uint64_t> jobs;
  in.get("hardware unit jobs", jobs, r.units.size());
  std::vector<double> busy;
  in.get("hardware unit busy and wait", busy, r.units.size() * (kBusyPhases + 1));
  if (jobs.size() != r.units.size() || busy.size() != r.units.size() * (kBusyPhases + 1))
    throw StateError(in.source() + ": a checkpoint of a chip with " + std::to_string(jobs.size()) + " units; this one has " +
                     std::to_string(r.units.size()));
  for (std::size_t u = 0; u < r.units.size(); ++u) {
    r.units[u].jobs = jobs[u];
    std::copy_n(busy.begin() + u * (kBusyPhases + 1), kBusyPhases, r.units[u].busy_ns.begin());
    r.units[u].wait_ns = busy[u * (kBusyPhases + 1) + kBusyPhases];
  }
  std::vector<double> critical;
  in.get("hardware critical path", critical, kUnitKinds);
  std::copy(critical.begin(), critical.end(), r.critical_ns.begin());
}

}  // namespace txsim::hw
