#include "sweep.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "txsim/config.h"
#include "txsim/json_fields.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/network.h"
#include "txsim/tlm/cost_model/accounting.h"
#include "txsim/tlm/cost_model/mapping.h"
#include "txsim/tlm/cost_model/platform.h"

namespace txsim::sweep {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// Where a path points.
enum class Doc { Workload, Device, Platform, Run, File };
struct Target {
  Doc doc;
  std::string field;  // inside the document (Run: seed | limit_train | limit_test; File: the document's name)
};

const std::set<std::string> kPresetSections = {"name", "weight_range", "update", "crossbar", "device", "circuit"};

Target classify(const std::string& path) {
  if (path == "workload" || path == "device" || path == "platform") return {Doc::File, path};
  if (path == "seed" || path == "limit_train" || path == "limit_test") return {Doc::Run, path};
  if (path == "epochs" || path == "batch" || path == "lr") return {Doc::Workload, "train." + path};
  auto after = [&](const std::string& prefix) { return path.compare(0, prefix.size(), prefix) == 0 ? path.substr(prefix.size()) : std::string(); };
  if (!after("workload.").empty()) return {Doc::Workload, after("workload.")};
  if (!after("platform.").empty()) return {Doc::Platform, after("platform.")};
  const std::string rest = after("device.");
  if (!rest.empty() && kPresetSections.count(rest.substr(0, rest.find('.')))) return {Doc::Device, rest};
  return {Doc::Device, path};  // crossbar.rows, device.on_off_ratio, update.nu, circuit.wire_ohm ...
}

// Sets (or, for null, removes) a dotted field; the objects on the way are created.
void set_field(json& doc, const std::string& field, const json& value, const std::string& where) {
  std::string key;
  try {
    json& parent = json_path_parent(doc, field, where, key);
    if (value.is_null()) parent.erase(key);
    else parent[key] = value;
  } catch (const ConfigError& e) {
    throw SweepError(e.what());
  }
}

std::string hash_hex(const std::string& text) {  // FNV-1a, 64 bits
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string number(double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

struct Resolved {
  json workload, device, platform;
  std::string device_file, platform_file;
  uint64_t seed;
  int limit_train, limit_test;
};

class Resolver {
 public:
  explicit Resolver(const Spec& s) : spec_(s) {}

  json file(const std::string& path, const std::string& where) {
    auto it = cache_.find(path);
    if (it != cache_.end()) return it->second;
    try {
      return cache_[path] = read_json_file(path);
    } catch (const std::exception& e) {
      throw SweepError(where + ": " + e.what());
    }
  }

  // The base documents with every override applied: files first, then `set`, then the axes.
  Resolved resolve(const std::vector<std::pair<std::string, json>>& overrides) {
    std::string workload = spec_.workload, device = spec_.device, platform = spec_.platform;
    for (const auto& [path, value] : overrides) {
      const Target t = classify(path);
      if (t.doc != Doc::File) continue;
      if (!value.is_string() || value.get<std::string>().empty())
        throw SweepError(spec_.source + ": '" + path + "' = " + value.dump() + ": accepted a file name" +
                         (path == "device" ? " or \"digital\"" : ""));
      (t.field == "workload" ? workload : t.field == "device" ? device : platform) = value.get<std::string>();
    }
    Resolved r;
    r.workload = file(workload, spec_.source + ": workload");
    r.device_file = device;
    r.platform_file = platform;
    r.device = device == "digital" ? json() : file(device, spec_.source + ": device");
    r.platform = platform.empty() ? json() : file(platform, spec_.source + ": platform");
    r.seed = spec_.seed;
    r.limit_train = spec_.limit_train;
    r.limit_test = spec_.limit_test;
    for (const auto& [path, value] : overrides) {
      const Target t = classify(path);
      const std::string where = spec_.source + ": '" + path + "' = " + value.dump();
      switch (t.doc) {
        case Doc::File:
          break;
        case Doc::Run:
          if (t.field == "seed") {
            if (!value.is_number_unsigned()) throw SweepError(where + ": accepted an integer >= 0");
            r.seed = value.get<uint64_t>();
          } else {
            if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 100000000)
              throw SweepError(where + ": accepted an integer >= 0 (0: the whole set)");
            (t.field == "limit_train" ? r.limit_train : r.limit_test) = value.get<int>();
          }
          break;
        case Doc::Workload:
          set_field(r.workload, t.field, value, where);
          break;
        case Doc::Platform:
          if (r.platform.is_null()) throw SweepError(where + ": a platform field needs \"platform\" in the spec (timed points)");
          set_field(r.platform, t.field, value, where);
          break;
        case Doc::Device:
          if (r.device.is_null())
            throw SweepError(where + ": a device field needs a device preset, but the device is \"digital\"");
          set_field(r.device, t.field, value, where);
          break;
      }
    }
    // A measured curve's CSV is named relative to the preset's folder: keep it reachable from
    // the point's own copy of the preset.
    if (r.device.is_object() && r.device.contains("update") && r.device["update"].is_object() &&
        r.device["update"].contains("csv") && r.device["update"]["csv"].is_string()) {
      std::filesystem::path csv(r.device["update"]["csv"].get<std::string>());
      if (csv.is_relative()) csv = (std::filesystem::path(device).parent_path() / csv).lexically_normal();
      r.device["update"]["csv"] = csv.string();
    }
    return r;
  }

 private:
  const Spec& spec_;
  std::map<std::string, json> cache_;
};

void validate_point(const Spec& spec, const Resolved& r, const std::vector<std::pair<std::string, json>>& overrides,
                    const std::string& label) {
  const std::string where = spec.source + ": point " + label;
  try {
    const nn::Workload w = nn::workload_from_json(r.workload, where + ": workload");
    if (w.train.epochs < 1 || w.train.batch < 1 || !(w.train.lr > 0))
      throw SweepError(where + ": train.epochs and train.batch must be >= 1 and train.lr > 0");
    // Each point's network is built once, as training would build it (its layers fit together),
    // on cores without devices where it is analog (planning_factory checks the preset too).
    if (r.device.is_null()) {
      nn::build_network(w, 1);
      return;
    }
    nn::DevicePreset preset = nn::device_preset_from_json(r.device, where + ": device " + r.device_file);
    if (r.platform.is_null()) {
      nn::build_network(w, 1, nn::planning_factory(preset));
      return;
    }
    const hw::Platform platform = hw::platform_from_json(r.platform, where + ": platform");
    // A timed point's crossbar geometry and converters come from the platform.
    for (const auto& [path, value] : overrides) {
      const Target t = classify(path);
      if (t.doc != Doc::Device) continue;
      for (const hw::ImposedField& f : hw::kImposedFields)
        if (t.field == f.preset)
          throw SweepError(spec.source + ": '" + path + "': the platform sets " + t.field + " on timed points; sweep platform." +
                           f.platform + " instead");
    }
    platform.apply_to(preset.crossbar.crossbar, r.device_file);
    preset.source = where + ": device " + r.device_file + " on platform " + r.platform_file;
    validate(preset.crossbar, preset.source);
    // The network fits on the chip (the accelerator's DOES_NOT_FIT), checked on cores that have
    // the analog layers' crossbar counts but no devices.
    auto planned = nn::build_network(w, 1, nn::planning_factory(preset));
    std::vector<hw::LayerShape> shapes;
    for (nn::WeightCore* c : planned->cores()) shapes.push_back({c->analog(), c->in(), c->out(), c->crossbars(), c->in_array_update()});
    hw::map_layers(platform, shapes);
  } catch (const SweepError&) {
    throw;
  } catch (const std::exception& e) {
    throw SweepError(e.what());
  }
}

std::string join_values(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? " " : "") + names[i] + "=" + values[i];
  return s;
}

}  // namespace

Spec spec_from_json(const ojson& j, const std::string& source) {
  if (!j.is_object()) throw SweepError(source + ": accepted a JSON object");
  static const std::set<std::string> known = {"name",  "workload", "device",          "platform", "seed", "limit_train",
                                              "limit_test", "threads", "ideal_reference", "set",      "grid", "out", "data"};
  for (const auto& item : j.items())
    if (!known.count(item.key()))
      throw SweepError(source + ": unknown key '" + item.key() +
                       "'; accepted keys: name, workload, device, platform, seed, limit_train, limit_test, threads, "
                       "ideal_reference, set, grid, out, data");
  Spec s;
  s.source = source;
  auto string_field = [&](const char* key, std::string& out, bool required) {
    if (!j.contains(key)) {
      if (required) throw SweepError(source + ": missing '" + key + "' (a file name)");
      return;
    }
    if (!j[key].is_string() || j[key].get<std::string>().empty())
      throw SweepError(source + ": field '" + key + "' = " + j[key].dump() + ": accepted a non-empty string");
    out = j[key].get<std::string>();
  };
  auto int_field = [&](const char* key, int& out, int lo, int hi) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < lo || j[key].get<int64_t>() > hi)
      throw SweepError(source + ": field '" + std::string(key) + "' = " + j[key].dump() + ": accepted an integer in " +
                       std::to_string(lo) + ".." + std::to_string(hi));
    out = j[key].get<int>();
  };
  s.name = std::filesystem::path(source).stem().string();
  string_field("name", s.name, false);
  for (char c : s.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      throw SweepError(source + ": field 'name' = \"" + s.name + "\": accepted letters, digits, '-', '_' and '.'");
  string_field("workload", s.workload, true);
  string_field("device", s.device, false);
  string_field("platform", s.platform, false);
  string_field("data", s.data, false);
  s.out = "runs/sweeps/" + s.name;
  string_field("out", s.out, false);
  if (j.contains("seed")) {
    if (!j["seed"].is_number_unsigned()) throw SweepError(source + ": field 'seed' = " + j["seed"].dump() + ": accepted an integer >= 0");
    s.seed = j["seed"].get<uint64_t>();
  }
  int_field("limit_train", s.limit_train, 0, 100000000);
  int_field("limit_test", s.limit_test, 0, 100000000);
  int_field("threads", s.threads, 1, 256);
  if (j.contains("ideal_reference")) {
    if (!j["ideal_reference"].is_boolean())
      throw SweepError(source + ": field 'ideal_reference' = " + j["ideal_reference"].dump() + ": accepted true or false");
    s.ideal_reference = j["ideal_reference"].get<bool>();
  }
  std::set<std::string> seen;
  auto check_path = [&](const std::string& path, const std::string& where) {
    if (path.empty() || path.front() == '.' || path.back() == '.' || path.find("..") != std::string::npos)
      throw SweepError(source + ": " + where + " '" + path + "': accepted a dotted path such as update.nu");
    if (!seen.insert(path).second) throw SweepError(source + ": " + where + " '" + path + "' is set twice");
  };
  if (j.contains("set")) {
    if (!j["set"].is_object()) throw SweepError(source + ": field 'set' = " + j["set"].dump() + ": accepted an object of path: value");
    for (const auto& item : j["set"].items()) {
      check_path(item.key(), "set");
      s.set.emplace_back(item.key(), json::parse(item.value().dump()));
    }
  }
  if (!j.contains("grid") || !j["grid"].is_object() || j["grid"].empty())
    throw SweepError(source + ": field 'grid' " + (j.contains("grid") ? "= " + j["grid"].dump() + ": " : "is missing; ") +
                     "accepted a non-empty object of path: [values], e.g. {\"update.nu\": [0, 0.5, 1]}");
  for (const auto& item : j["grid"].items()) {
    Axis a;
    a.name = item.key();
    std::stringstream names(a.name);
    for (std::string p; std::getline(names, p, ',');) {
      check_path(p, "grid");
      a.paths.push_back(p);
    }
    if (a.paths.empty()) throw SweepError(source + ": grid '" + a.name + "': no path");
    const bool files = std::any_of(a.paths.begin(), a.paths.end(), [](const std::string& p) { return classify(p).doc == Doc::File; });
    if (files && a.paths.size() > 1) throw SweepError(source + ": grid '" + a.name + "': a file axis (workload, device, platform) stands alone");
    if (!item.value().is_array() || item.value().empty())
      throw SweepError(source + ": grid '" + a.name + "' = " + item.value().dump() + ": accepted a non-empty array of values");
    std::set<std::string> distinct;
    for (const auto& v : item.value()) {
      if (!distinct.insert(v.dump()).second) throw SweepError(source + ": grid '" + a.name + "': the value " + v.dump() + " appears twice");
      a.values.push_back(json::parse(v.dump()));
    }
    s.axes.push_back(std::move(a));
  }
  return s;
}

Spec load_spec(const std::string& path) {
  std::string text;
  try {
    text = read_text_file(path, kMaxConfigBytes);
  } catch (const ConfigError& e) {
    throw SweepError(std::string(e.what()) + " (the sweep spec)");
  }
  const ojson j = parse_json<SweepError, ojson>(text, path);
  return spec_from_json(j, path);
}

std::vector<Point> plan(const Spec& spec) {
  Resolver resolver(spec);
  std::vector<Point> grid, refs;
  std::map<std::string, int> ids;  // id -> point index, for duplicates
  std::vector<std::string> axis_names;
  for (const Axis& a : spec.axes) axis_names.push_back(a.name);
  std::size_t total = 1;
  for (const Axis& a : spec.axes) total *= a.values.size();
  if (total > 100000) throw SweepError(spec.source + ": the grid has " + std::to_string(total) + " points; accepted at most 100000");
  std::vector<std::size_t> at(spec.axes.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    // Row-major: the last axis changes fastest.
    std::size_t rest = n;
    for (std::size_t i = spec.axes.size(); i-- > 0;) {
      at[i] = rest % spec.axes[i].values.size();
      rest /= spec.axes[i].values.size();
    }
    std::vector<std::pair<std::string, json>> overrides = spec.set;
    Point p;
    for (std::size_t i = 0; i < spec.axes.size(); ++i) {
      const json& v = spec.axes[i].values[at[i]];
      for (const std::string& path : spec.axes[i].paths) overrides.emplace_back(path, v);
      p.axis_values.push_back(v.dump());
    }
    // Files first: a file axis picks the documents the field overrides then change.
    std::stable_partition(overrides.begin(), overrides.end(), [](const auto& o) { return classify(o.first).doc == Doc::File; });
    p.label = join_values(axis_names, p.axis_values);
    const Resolved r = resolver.resolve(overrides);
    validate_point(spec, r, overrides, p.label);
    p.workload = r.workload;
    p.device = r.device;
    p.platform = r.platform;
    p.seed = r.seed;
    p.limit_train = r.limit_train;
    p.limit_test = r.limit_test;
    p.threads = spec.threads;
    const json run = {{"seed", p.seed}, {"limit_train", p.limit_train}, {"limit_test", p.limit_test}, {"threads", p.threads}};
    p.config = {{"workload", p.workload}, {"device", p.device.is_null() ? json("digital") : p.device},
                {"platform", p.platform}, {"run", run}};
    p.id = hash_hex(p.config.dump());
    if (spec.ideal_reference) {
      Point ref;
      ref.ideal = true;
      ref.workload = p.workload;
      ref.seed = p.seed;
      ref.limit_train = p.limit_train;
      ref.limit_test = p.limit_test;
      ref.threads = p.threads;
      ref.config = {{"workload", p.workload}, {"device", "digital"}, {"platform", nullptr}, {"run", run}};
      ref.id = hash_hex(ref.config.dump());
      ref.label = "ideal reference";
      p.ideal_id = ref.id;
      bool known = false;
      for (const Point& q : refs) known = known || q.id == ref.id;
      if (!known) refs.push_back(std::move(ref));
    }
    const auto [it, fresh] = ids.emplace(p.id, static_cast<int>(n));
    if (!fresh)
      throw SweepError(spec.source + ": points " + grid[it->second].label + " and " + p.label +
                       " are the same configuration (an axis that changes nothing?)");
    grid.push_back(std::move(p));
  }
  std::vector<Point> all = std::move(refs);
  for (Point& p : grid) {
    if (p.device.is_null() && p.platform.is_null() && spec.ideal_reference)
      throw SweepError(spec.source + ": point " + p.label +
                       " is digital and functional: it is the ideal reference itself; leave \"digital\" out of the grid "
                       "(the references are trained anyway) or set \"ideal_reference\": false");
    all.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < all.size(); ++i) all[i].index = static_cast<int>(i);
  return all;
}

// ---------------------------------------------------------------------------------------------
// Results CSV

namespace {

const std::vector<std::string> kHardware = {"train_seconds", "images_per_second", "energy_per_image_joules", "tops_per_watt",
                                            "area_mm2"};
const std::vector<std::string> kPhasesCols = {"FW", "AG", "WG", "WU", "input"};
// Every component of the accounting table, then the chip's leakage.
std::vector<std::string> component_keys() {
  std::vector<std::string> keys;
  for (const hw::ComponentInfo& c : hw::kComponentTable) keys.push_back(c.key);
  keys.push_back("static");
  return keys;
}

}  // namespace

std::vector<std::string> columns(const Spec& spec) {
  std::vector<std::string> c = {"point", "kind", "status", "id"};
  for (const Axis& a : spec.axes)
    if (a.name != "seed") c.push_back(a.name);  // a grid over seeds fills the seed column
  for (const char* s : {"seed", "epochs", "final_test_accuracy", "ideal_test_accuracy", "accuracy_drop", "test_accuracy_by_epoch",
                        "train_loss_by_epoch"})
    c.push_back(s);
  if (!spec.platform.empty() || std::any_of(spec.axes.begin(), spec.axes.end(), [](const Axis& a) { return a.name == "platform"; })) {
    for (const std::string& h : kHardware) c.push_back(h);
    for (const std::string& p : kPhasesCols) c.push_back("latency_" + p + "_seconds_per_epoch");
    for (const std::string& e : component_keys()) c.push_back("energy_" + e + "_joules_per_image");
  }
  c.push_back("config");
  return c;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  int line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      if (!field.empty()) throw SweepError(source + ": line " + std::to_string(line) + ": a quote inside an unquoted field");
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
      ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted) throw SweepError(source + ": the file ends inside a quoted field (truncated?)");
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::map<std::string, Row> read_results(const std::string& path, const Spec& spec, const std::vector<Point>& points) {
  std::map<std::string, Row> rows;
  if (!std::filesystem::exists(path)) return rows;
  const auto table = parse_csv(read_text_file(path, kMaxConfigBytes), path);
  if (table.empty()) return rows;
  const std::vector<std::string> want = columns(spec);
  if (table[0] != want)
    throw SweepError(path + ": its columns are not this spec's (" + spec.source +
                     "): it belongs to another sweep; give this one another \"out\" or remove the file");
  std::set<std::string> ids;
  for (const Point& p : points) ids.insert(p.id);
  for (std::size_t i = 1; i < table.size(); ++i) {
    if (table[i].size() != want.size())
      throw SweepError(path + ": line " + std::to_string(i + 1) + " has " + std::to_string(table[i].size()) + " fields; the header has " +
                       std::to_string(want.size()));
    Row r;
    for (std::size_t k = 0; k < want.size(); ++k) r[want[k]] = table[i][k];
    if (!ids.count(r["id"]))
      throw SweepError(path + ": line " + std::to_string(i + 1) + " is point " + r["id"] + ", which " + spec.source +
                       " does not define (the spec changed since): give this sweep another \"out\" or remove the file");
    rows[r["id"]] = std::move(r);
  }
  return rows;
}

std::string results_csv(const Spec& spec, const std::vector<Point>& points, const std::map<std::string, Row>& rows) {
  const std::vector<std::string> cols = columns(spec);
  std::string out;
  for (std::size_t k = 0; k < cols.size(); ++k) out += (k ? "," : "") + csv_field(cols[k]);
  out += "\n";
  for (const Point& p : points) {
    auto it = rows.find(p.id);
    if (it == rows.end()) continue;
    Row r = it->second;
    if (!p.ideal && !p.ideal_id.empty()) {
      auto ref = rows.find(p.ideal_id);
      const std::string ideal = ref == rows.end() ? "" : ref->second.at("final_test_accuracy");
      r["ideal_test_accuracy"] = ideal;
      r["accuracy_drop"] = ideal.empty() || r["final_test_accuracy"].empty()
                               ? ""
                               : number(std::stod(ideal) - std::stod(r["final_test_accuracy"]));
    }
    r["point"] = std::to_string(p.index);
    for (std::size_t k = 0; k < cols.size(); ++k) out += (k ? "," : "") + csv_field(r[cols[k]]);
    out += "\n";
  }
  return out;
}

Row row_from_outputs(const Spec& spec, const Point& p, const std::string& dir, const std::string& status) {
  Row r;
  r["point"] = std::to_string(p.index);
  r["kind"] = p.ideal ? "ideal" : "grid";
  r["status"] = status;
  r["id"] = p.id;
  for (std::size_t i = 0; i < spec.axes.size(); ++i) r[spec.axes[i].name] = p.ideal ? "" : p.axis_values[i];
  r["seed"] = std::to_string(p.seed);
  r["config"] = p.config.dump();
  json metrics = json::object();
  if (std::filesystem::exists(dir + "/metrics.json")) metrics = read_json_file(dir + "/metrics.json");
  else if (status == "ok") throw SweepError(dir + "/metrics.json: missing after a finished run");
  std::string acc, loss;
  int epochs = 0;
  for (const auto& e : metrics.value("epochs", json::array())) {
    acc += (epochs ? ";" : "") + number(e.at("test_accuracy").get<double>());
    loss += (epochs ? ";" : "") + number(e.at("train_loss").get<double>());
    ++epochs;
  }
  r["epochs"] = std::to_string(epochs);
  r["test_accuracy_by_epoch"] = acc;
  r["train_loss_by_epoch"] = loss;
  r["final_test_accuracy"] = status == "ok" ? number(metrics.at("final_test_accuracy").get<double>()) : "";
  if (!p.platform.is_null() && status == "ok") {
    const json h = read_json_file(dir + "/hardware.json");
    for (const std::string& k : kHardware) r[k] = number(h.at(k).get<double>());
    const double samples = h.at("train_samples").get<double>();
    for (const std::string& ph : kPhasesCols)
      r["latency_" + ph + "_seconds_per_epoch"] =
          number(h.at("train_latency_by_phase_seconds").at(ph).get<double>() / std::max(1, epochs));
    for (const std::string& c : component_keys())
      r["energy_" + c + "_joules_per_image"] =
          number(samples > 0 ? h.at("train_energy_by_component_joules").at(c).get<double>() / samples : 0.0);
  }
  return r;
}

}  // namespace txsim::sweep
