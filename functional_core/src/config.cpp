#include "txsim/config.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "txsim/json_fields.h"

namespace txsim {
namespace {

using nlohmann::json;

template <class E>
using EnumNames = std::vector<std::pair<const char*, E>>;

const EnumNames<Mapping> kMappings = {{"differential", Mapping::Differential}, {"offset", Mapping::Offset}};
const EnumNames<ReadMode> kReadModes = {{"per_slice", ReadMode::PerSlice}, {"folded", ReadMode::Folded}};
const EnumNames<AdcModel> kAdcModels = {{"ideal", AdcModel::Ideal}, {"uniform", AdcModel::Uniform}};
const EnumNames<AdcRange> kAdcRanges = {{"fixed", AdcRange::Fixed}, {"calibrated", AdcRange::Calibrated}};
const EnumNames<VariationShape> kShapes = {{"gaussian", VariationShape::Gaussian},
                                           {"lognormal", VariationShape::LogNormal}};
const EnumNames<ParasiticModel> kCircuitModels = {{"ideal", ParasiticModel::None},
                                                  {"exact", ParasiticModel::Exact},
                                                  {"first_order", ParasiticModel::FirstOrder},
                                                  {"short_path", ParasiticModel::ShortPath}};
const EnumNames<IvKind> kIvKinds = {{"linear", IvKind::Linear}, {"sinh", IvKind::Sinh}};
const EnumNames<VariationScale> kScales = {{"relative", VariationScale::Relative},
                                           {"absolute", VariationScale::Absolute}};

template <class E>
const char* enum_name(E value, const EnumNames<E>& names) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

template <class E>
std::string accepted_names(const EnumNames<E>& names) {
  std::string s;
  for (const auto& [name, v] : names) s += (s.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  return s;
}

[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& value,
                       const std::string& accepted) {
  throw ConfigError(source + ": field '" + field + "' = " + value + ": accepted " + accepted);
}

std::string show(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Reads the members of one JSON object, each at most once, and rejects whatever it did not read.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path, const std::string& source)
      : object_(object), path_(std::move(path)), source_(source) {
    if (!object_.is_object()) fail(source_, path_, object_.dump(), "a JSON object");
  }

  bool has(const char* key) const { return object_.contains(key); }

  void read(const char* key, int& out) {
    const json* v = take(key);
    if (!v) return;
    const std::optional<long long> i = json_integer(*v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
    if (!i) fail(source_, field(key), v->dump(), v->is_number_integer() ? "an integer that fits in 32 bits" : "an integer");
    out = static_cast<int>(*i);
  }
  void read(const char* key, double& out) {
    const json* v = take(key);
    if (!v) return;
    if (!v->is_number()) fail(source_, field(key), v->dump(), "a number");
    out = v->get<double>();
  }
  void read(const char* key, bool& out) {
    const json* v = take(key);
    if (!v) return;
    if (!v->is_boolean()) fail(source_, field(key), v->dump(), "true or false");
    out = v->get<bool>();
  }
  void read(const char* key, std::optional<int>& out) {
    if (!has(key)) return;
    int value = 0;
    read(key, value);
    out = value;
  }
  template <class E>
  void read(const char* key, E& out, const EnumNames<E>& names) {
    const json* v = take(key);
    if (!v) return;
    if (v->is_string())
      for (const auto& [name, value] : names)
        if (*v == name) { out = value; return; }
    fail(source_, field(key), v->dump(), "one of " + accepted_names(names));
  }
  const json* take(const char* key) {
    auto it = object_.find(key);
    if (it == object_.end()) return nullptr;
    seen_.insert(key);
    return &*it;
  }
  // Every member must have been read: a misspelt key is an error, never silently ignored.
  void finish(const std::string& accepted) const {
    for (const auto& item : object_.items())
      if (!seen_.count(item.key()))
        throw ConfigError(source_ + ": unknown key '" + field(item.key().c_str()) + "'; accepted keys: " +
                          accepted);
  }
  std::string field(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  const json& object_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

void check_int(const std::string& source, const char* field, int v, int lo, int hi) {
  if (v < lo || v > hi) fail(source, field, std::to_string(v), std::to_string(lo) + ".." + std::to_string(hi));
}
void check_range(const std::string& source, const char* field, double v, double lo, double hi,
                 const char* accepted) {
  if (!(v >= lo && v <= hi)) fail(source, field, show(v), accepted);
}

}  // namespace

void validate(const CrossbarConfig& config, const std::string& source) {
  const ArrayConfig& a = config.crossbar;
  const DeviceConfig& d = config.device;
  check_int(source, "crossbar.rows", a.rows, 1, 4096);
  check_int(source, "crossbar.cols", a.cols, a.mapping == Mapping::Offset ? 2 : 1, 4096);
  check_int(source, "crossbar.weight_bits", a.weight_bits, 1, 24);
  if (a.mapping == Mapping::Offset)
    check_int(source, "crossbar.weight_bits", a.weight_bits, 2, 24);  // offset binary needs a sign bit
  check_int(source, "crossbar.bits_per_cell", a.bits_per_cell, 1, a.weight_bits);
  if (a.weight_bits % a.bits_per_cell != 0)
    fail(source, "crossbar.weight_bits", std::to_string(a.weight_bits),
         "a multiple of crossbar.bits_per_cell (" + std::to_string(a.bits_per_cell) + ")");
  check_int(source, "crossbar.input_bits", a.input_bits, a.input_signed ? 2 : 1, 24);
  check_int(source, "crossbar.dac_bits", a.dac_bits, 1, a.input_magnitude_bits());
  check_int(source, "crossbar.adc_bits", a.adc_bits, 1, 24);
  check_range(source, "crossbar.adc_clip", a.adc_clip, 1e-6, 1.0, "a fraction in (0, 1]");
  check_range(source, "crossbar.read_voltage", a.read_voltage, 1e-6, 10.0, "volts in (0, 10]");

  if (!(d.g_min > 0 && std::isfinite(d.g_min)))
    fail(source, "device.g_min", show(d.g_min), "siemens > 0");
  if (!(d.g_max > d.g_min && std::isfinite(d.g_max)))
    fail(source, "device.g_max", show(d.g_max), "siemens > device.g_min (" + show(d.g_min) + ")");
  const int needed = 1 << a.bits_per_cell;
  if (d.levels) check_int(source, "device.levels", *d.levels, needed, 1 << 24);
  check_range(source, "device.program_sigma", d.program_sigma, 0.0, 10.0, "0..10");
  if (d.program_scale == VariationScale::Absolute && d.program_shape == VariationShape::LogNormal)
    fail(source, "device.program_shape", "\"lognormal\"", "only \"gaussian\" with program_scale \"absolute\"");
  check_range(source, "device.read_noise_sigma", d.read_noise_sigma, 0.0, 10.0, "0..10");
  check_range(source, "device.stuck_on_rate", d.stuck_on_rate, 0.0, 1.0, "a fraction in [0, 1]");
  check_range(source, "device.stuck_off_rate", d.stuck_off_rate, 0.0, 1.0 - d.stuck_on_rate,
              "a fraction in [0, 1 - device.stuck_on_rate]");

  const CircuitConfig& k = config.circuit;
  if (k.model != ParasiticModel::None) {
    const std::string with = " with circuit.model \"" + std::string(enum_name(k.model, kCircuitModels)) + "\"";
    const std::pair<const char*, double> ohms[] = {
        {"circuit.source_ohm", k.source_ohm}, {"circuit.sink_ohm", k.sink_ohm}, {"circuit.wire_ohm", k.wire_ohm}};
    for (const auto& [field, v] : ohms)
      if (!(v > 0 && v <= 1e9)) fail(source, field, show(v), "ohms in (0, 1e9]" + with);
  }
  check_int(source, "circuit.refresh_every", k.refresh_every, 1, 1000000);
  if (k.refresh_every > 1 && k.model != ParasiticModel::Exact)
    fail(source, "circuit.refresh_every", std::to_string(k.refresh_every), "1 unless circuit.model is \"exact\"");
  if (k.iv == IvKind::Sinh) {
    check_range(source, "circuit.iv_a", k.iv_a, 1e-9, 1000.0, "per volt in (0, 1000] with circuit.iv \"sinh\"");
    if (k.iv_a * a.read_voltage > 50)
      fail(source, "circuit.iv_a", show(k.iv_a),
           "a * crossbar.read_voltage <= 50 (here " + show(k.iv_a * a.read_voltage) + "; sinh leaves the model)");
  } else if (k.iv_a != 0) {
    fail(source, "circuit.iv_a", show(k.iv_a), "0 (unset) unless circuit.iv is \"sinh\"");
  }
}

CrossbarConfig crossbar_config_from_json(const json& j, const std::string& source) {
  CrossbarConfig c;
  ObjectReader top(j, "", source);
  if (const json* xj = top.take("crossbar")) {
    ObjectReader r(*xj, "crossbar", source);
    ArrayConfig& a = c.crossbar;
    r.read("rows", a.rows);
    r.read("cols", a.cols);
    r.read("weight_bits", a.weight_bits);
    r.read("bits_per_cell", a.bits_per_cell);
    r.read("input_bits", a.input_bits);
    r.read("dac_bits", a.dac_bits);
    r.read("input_signed", a.input_signed);
    r.read("mapping", a.mapping, kMappings);
    r.read("read_mode", a.read_mode, kReadModes);
    r.read("adc_model", a.adc_model, kAdcModels);
    r.read("adc_bits", a.adc_bits);
    r.read("adc_range", a.adc_range, kAdcRanges);
    r.read("adc_clip", a.adc_clip);
    r.read("read_voltage", a.read_voltage);
    r.finish("rows, cols, weight_bits, bits_per_cell, input_bits, dac_bits, input_signed, mapping, "
             "read_mode, adc_model, adc_bits, adc_range, adc_clip, read_voltage");
  }
  if (const json* dj = top.take("device")) {
    ObjectReader r(*dj, "device", source);
    DeviceConfig& d = c.device;
    r.read("g_max", d.g_max);
    // The off state is given either directly or as the ON/OFF ratio, never both.
    if (r.has("g_min") && r.has("on_off_ratio"))
      fail(source, "device.on_off_ratio", r.take("on_off_ratio")->dump(), "only without device.g_min");
    r.read("g_min", d.g_min);
    if (r.has("on_off_ratio")) {
      double ratio = 0;
      r.read("on_off_ratio", ratio);
      if (!(ratio > 1 && std::isfinite(ratio))) fail(source, "device.on_off_ratio", show(ratio), "a ratio > 1");
      d.g_min = d.g_max / ratio;
    }
    r.read("levels", d.levels);
    r.read("program_sigma", d.program_sigma);
    r.read("program_shape", d.program_shape, kShapes);
    r.read("program_scale", d.program_scale, kScales);
    r.read("read_noise_sigma", d.read_noise_sigma);
    r.read("stuck_on_rate", d.stuck_on_rate);
    r.read("stuck_off_rate", d.stuck_off_rate);
    r.finish("g_min, g_max, on_off_ratio, levels, program_sigma, program_shape, program_scale, "
             "read_noise_sigma, stuck_on_rate, stuck_off_rate");
  }
  if (const json* cj = top.take("circuit")) {
    ObjectReader r(*cj, "circuit", source);
    CircuitConfig& k = c.circuit;
    r.read("model", k.model, kCircuitModels);
    r.read("source_ohm", k.source_ohm);
    r.read("sink_ohm", k.sink_ohm);
    r.read("wire_ohm", k.wire_ohm);
    r.read("refresh_every", k.refresh_every);
    r.read("iv", k.iv, kIvKinds);
    r.read("iv_a", k.iv_a);
    r.finish("model, source_ohm, sink_ohm, wire_ohm, refresh_every, iv, iv_a");
  }
  top.finish("crossbar, device, circuit");
  validate(c, source);
  return c;
}

json to_json(const CrossbarConfig& c) {
  const ArrayConfig& a = c.crossbar;
  const DeviceConfig& d = c.device;
  json device = {{"g_min", d.g_min},
                 {"g_max", d.g_max},
                 {"program_sigma", d.program_sigma},
                 {"program_shape", enum_name(d.program_shape, kShapes)},
                 {"program_scale", enum_name(d.program_scale, kScales)},
                 {"read_noise_sigma", d.read_noise_sigma},
                 {"stuck_on_rate", d.stuck_on_rate},
                 {"stuck_off_rate", d.stuck_off_rate}};
  if (d.levels) device["levels"] = *d.levels;
  return {{"crossbar",
           {{"rows", a.rows},
            {"cols", a.cols},
            {"weight_bits", a.weight_bits},
            {"bits_per_cell", a.bits_per_cell},
            {"input_bits", a.input_bits},
            {"dac_bits", a.dac_bits},
            {"input_signed", a.input_signed},
            {"mapping", enum_name(a.mapping, kMappings)},
            {"read_mode", enum_name(a.read_mode, kReadModes)},
            {"adc_model", enum_name(a.adc_model, kAdcModels)},
            {"adc_bits", a.adc_bits},
            {"adc_range", enum_name(a.adc_range, kAdcRanges)},
            {"adc_clip", a.adc_clip},
            {"read_voltage", a.read_voltage}}},
          {"device", device},
          {"circuit",
           {{"model", enum_name(c.circuit.model, kCircuitModels)},
            {"source_ohm", c.circuit.source_ohm},
            {"sink_ohm", c.circuit.sink_ohm},
            {"wire_ohm", c.circuit.wire_ohm},
            {"refresh_every", c.circuit.refresh_every},
            {"iv", enum_name(c.circuit.iv, kIvKinds)},
            {"iv_a", c.circuit.iv_a}}}};
}

std::vector<std::vector<double>> read_numeric_csv(const std::string& path, std::vector<std::string>* header) {
  std::istringstream in(read_text_file(path, kMaxConfigBytes));
  std::vector<std::vector<double>> rows;
  std::string line;
  int number = 0;
  bool want_header = header != nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t,") == std::string::npos) continue;
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    std::string field;
    if (want_header) {
      while (fields >> field) header->push_back(field);
      want_header = false;
      continue;
    }
    std::vector<double> row;
    while (fields >> field) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != field.size() || !std::isfinite(v))
        throw std::runtime_error(path + ": line " + std::to_string(number) + ", field " + std::to_string(row.size() + 1) +
                                 " = '" + field + "': accepted a finite number");
      row.push_back(v);
    }
    const std::size_t want = header ? header->size() : rows.empty() ? row.size() : rows.front().size();
    if (row.size() != want)
      throw std::runtime_error(path + ": line " + std::to_string(number) + " has " + std::to_string(row.size()) +
                               " fields where " + (header ? "the header has " : "the first line has ") + std::to_string(want));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw std::runtime_error(path + ": no data");
  return rows;
}

json& json_path_parent(json& j, const std::string& path, const std::string& source, std::string& key) {
  json* node = &j;
  std::size_t start = 0;
  while (true) {
    if (!node->is_object())
      throw ConfigError(source + ": '" + path + "': '" + path.substr(0, start ? start - 1 : 0) + "' is not an object");
    const std::size_t dot = path.find('.', start);
    key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError(source + ": '" + path + "': empty name in the path");
    if (dot == std::string::npos) return *node;
    node = &(*node)[key];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

void set_json_path(json& j, const std::string& assignment, const std::string& source) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(source + ": '" + assignment + "': accepted PATH=VALUE (e.g. update.nu=0.5)");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  std::string key;
  json_path_parent(j, path, source, key)[key] = value;
}

json parse_json_text(const std::string& text, const std::string& source) { return parse_json<ConfigError>(text, source); }

std::string read_text_file(const std::string& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": is a folder; accepted a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the file for reading");
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      throw ConfigError(path + ": larger than " + std::to_string(max_bytes >> 20) + " MiB; accepted a file of at most that size");
  }
  return text;
}

json read_json_file(const std::string& path) { return parse_json_text(read_text_file(path, kMaxConfigBytes), path); }

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": cannot write");
  }
  std::filesystem::rename(tmp, path);
  // Fault injection for the kill-and-resume test (tests/kill_resume_test.sh):
  // TXSIM_KILL_AFTER_WRITE=N kills this process with SIGKILL right after its Nth atomic write,
  // so that every point between two writes can be tried exactly.
  static const long kill_after = [] {
    const char* v = std::getenv("TXSIM_KILL_AFTER_WRITE");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  static long writes = 0;
  if (kill_after > 0 && ++writes == kill_after) ::kill(::getpid(), SIGKILL);
}

CrossbarConfig load_crossbar_config(const std::string& path) { return crossbar_config_from_json(read_json_file(path), path); }

CrossbarConfig default_crossbar_config() {
  CrossbarConfig c;
  c.crossbar.rows = 128;
  c.crossbar.cols = 128;
  c.device.g_min = 1e-6;
  c.device.g_max = 1e-5;
  c.crossbar.adc_range = AdcRange::Calibrated;
  c.device.program_sigma = 0.02;
  c.device.read_noise_sigma = 0.005;
  return c;
}

}  // namespace txsim
