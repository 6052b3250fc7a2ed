#include "txsim/trace/trace.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "txsim/config.h"

namespace txsim::trace {

using nlohmann::json;

int PerfettoTrace::track(const std::string& name, const std::string& group) {
  const auto key = std::make_pair(group, name);
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  const int id = static_cast<int>(names_.size());
  ids_.emplace(key, id);
  names_.push_back(key);
  return id;
}

void PerfettoTrace::span(int track, const std::string& name, double start_ns, double duration_ns, const SpanArgs& args) {
  if (track < 0 || track >= static_cast<int>(names_.size())) throw std::out_of_range("PerfettoTrace: no track " + std::to_string(track));
  if (!(duration_ns >= 0) || !(start_ns >= 0))
    throw std::invalid_argument("PerfettoTrace: span '" + name + "' on '" + names_[track].second + "' starts at " +
                                std::to_string(start_ns) + " ns for " + std::to_string(duration_ns) + " ns");
  spans_.push_back({track, name, start_ns, duration_ns, args});
}

void PerfettoTrace::count(const std::string& name, double t_ns, double delta) {
  if (!(t_ns >= 0) || !std::isfinite(delta))
    throw std::invalid_argument("PerfettoTrace: counter '" + name + "' at " + std::to_string(t_ns) + " ns by " + std::to_string(delta));
  counters_[name].emplace_back(t_ns, delta);
}

json PerfettoTrace::to_json() const {
  json events = json::array();
  // One process per group (the chip's own tracks first), one thread per track.
  std::map<std::string, int> pids{{"", 1}};
  for (const auto& [group, name] : names_) pids.emplace(group, 0);
  int next_pid = 1;
  for (auto& [group, pid] : pids) {
    pid = next_pid++;
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"tid", 0},
                      {"args", {{"name", group.empty() ? process_ : group}}}});
    events.push_back({{"name", "process_sort_index"}, {"ph", "M"}, {"pid", pid}, {"tid", 0}, {"args", {{"sort_index", pid}}}});
  }
  for (std::size_t t = 0; t < names_.size(); ++t) {
    const int tid = static_cast<int>(t) + 1, pid = pids.at(names_[t].first);
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", names_[t].second}}}});
    events.push_back({{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"sort_index", tid}}}});
  }
  // Per track in time order (a unit's spans never overlap; a zero-length span is kept).
  std::vector<const Span*> order;
  order.reserve(spans_.size());
  for (const Span& s : spans_) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const Span* a, const Span* b) {
    return a->track != b->track ? a->track < b->track : a->start_ns < b->start_ns;
  });
  // Times on SystemC's 1 ps grid, so that a span ending where the next begins reads the same.
  auto us = [](double ns) { return static_cast<double>(std::llround(ns * 1000.0)) / 1e6; };
  for (const Span* s : order) {
    const int tid = s->track + 1, pid = pids.at(names_[s->track].first);
    json b = {{"name", s->name}, {"ph", "B"}, {"pid", pid}, {"tid", tid}, {"ts", us(s->start_ns)}};
    if (!s->args.empty()) {
      json a = json::object();
      for (const auto& [k, v] : s->args) a[k] = v;
      b["args"] = std::move(a);
    }
    events.push_back(std::move(b));
    events.push_back({{"name", s->name}, {"ph", "E"}, {"pid", pid}, {"tid", tid}, {"ts", us(s->start_ns + s->duration_ns)}});
  }
  // Counters: the running sum of their changes, one "C" event per distinct time.
  for (const auto& [name, changes] : counters_) {
    std::vector<std::pair<double, double>> c = changes;
    std::stable_sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double value = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      value += c[i].second;
      if (i + 1 < c.size() && us(c[i + 1].first) == us(c[i].first)) continue;
      events.push_back({{"name", name}, {"ph", "C"}, {"pid", 1}, {"tid", 0}, {"ts", us(c[i].first)}, {"args", {{"value", value}}}});
    }
  }
  return {{"displayTimeUnit", "ns"}, {"traceEvents", std::move(events)}};
}

void PerfettoTrace::write(const std::string& path) const { write_atomically(path, to_json().dump() + "\n"); }

std::vector<std::string> validate_chrome_trace(const json& trace) {
  std::vector<std::string> problems;
  if (!trace.is_object() || !trace.contains("traceEvents") || !trace["traceEvents"].is_array()) {
    problems.push_back("no traceEvents array");
    return problems;
  }
  struct Track {
    double last_ts = -1;
    std::vector<std::string> open;
  };
  std::map<std::pair<long long, long long>, Track> tracks;
  std::map<std::pair<long long, std::string>, double> counters;
  std::size_t i = 0;
  for (const json& e : trace["traceEvents"]) {
    const std::string at = "event " + std::to_string(i++);
    if (!e.is_object()) {
      problems.push_back(at + ": not an object");
      continue;
    }
    bool ok = true;
    for (const char* key : {"name", "ph", "pid", "tid"})
      if (!e.contains(key)) {
        problems.push_back(at + ": no '" + key + "'");
        ok = false;
      }
    if (!ok) continue;
    if (!e["name"].is_string() || !e["ph"].is_string() || !e["pid"].is_number_integer() || !e["tid"].is_number_integer()) {
      problems.push_back(at + ": name and ph must be strings, pid and tid integers");
      continue;
    }
    const std::string ph = e["ph"];
    if (ph == "M") continue;
    if (!e.contains("ts") || !e["ts"].is_number()) {
      problems.push_back(at + ": no numeric 'ts'");
      continue;
    }
    if (ph == "C") {  // a counter is its own track, named within its process
      if (!e.contains("args") || !e["args"].is_object() || e["args"].empty()) problems.push_back(at + ": counter without a value");
      double& last = counters[{e["pid"].get<long long>(), e["name"].get<std::string>()}];
      if (e["ts"].get<double>() < last) problems.push_back(at + ": counter '" + e["name"].get<std::string>() + "' goes back in time");
      last = std::max(last, e["ts"].get<double>());
      continue;
    }
    Track& t = tracks[{e["pid"].get<long long>(), e["tid"].get<long long>()}];
    const double ts = e["ts"];
    if (ts < t.last_ts) problems.push_back(at + ": ts " + std::to_string(ts) + " goes back on its track (from " + std::to_string(t.last_ts) + ")");
    t.last_ts = std::max(t.last_ts, ts);
    if (ph == "B") {
      t.open.push_back(e["name"]);
    } else if (ph == "E") {
      if (t.open.empty()) problems.push_back(at + ": 'E' without an open 'B'");
      else if (t.open.back() != e["name"].get<std::string>())
        problems.push_back(at + ": 'E' of '" + e["name"].get<std::string>() + "' closes '" + t.open.back() + "'");
      if (!t.open.empty()) t.open.pop_back();
    } else if (ph != "X" && ph != "i") {
      problems.push_back(at + ": unknown phase '" + ph + "'");
    }
  }
  for (const auto& [id, t] : tracks)
    if (!t.open.empty()) problems.push_back("track " + std::to_string(id.second) + ": " + std::to_string(t.open.size()) + " 'B' never closed");
  return problems;
}

}  // namespace txsim::trace
