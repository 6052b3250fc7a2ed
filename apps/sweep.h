// txsim sweep: a grid of training runs over config fields, one CSV of results. This part is the
// plan (the spec, every point's resolved config and identity) and the CSV; sweep_command.cpp runs
// the points (child processes, locally or on MPI ranks).
//
// A SPEC (JSON):
//   {"name": "nu", "workload": "workloads/lenet5.json", "device": "workloads/devices/txsim_sliced.json",
//    "platform": "platforms/default.json",           optional: timed points
//    "seed": 1, "limit_train": 0, "limit_test": 0,   optional
//    "threads": 1,                                   BLAS/OpenMP threads per point (numbers depend on it)
//    "ideal_reference": true,                        train each workload/seed once with digital layers
//    "set": {"epochs": 1, "device.update.write_noise": 0},   fixed overrides
//    "grid": {"device.update.nu": [0, 0.5, 1], "platform.crossbar.rows,platform.crossbar.cols": [32, 64]},
//    "out": "runs/sweeps/nu"}                        optional (default runs/sweeps/<name>)
// A path names one document and a field in it:
//   workload | device | platform          the file itself (a grid of files; device may be "digital")
//   seed, limit_train, limit_test         the run
//   epochs, batch, lr                     workload.train.<field>
//   workload.<path>                       the workload file (e.g. workload.dataset)
//   platform.<path>                       the platform file (e.g. platform.adc.bits)
//   device.<path> or <path>               the device preset (crossbar.adc_bits, circuit.wire_ohm,
//                                         device.on_off_ratio, update.nu; "device." may prefix them)
// Several paths joined by commas take the same value. A null value removes the field.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace txsim::sweep {

// A bad spec or a results file that does not belong to it; the message names the file and field.
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Axis {
  std::string name;                 // as written in the spec: the CSV column
  std::vector<std::string> paths;   // the comma-separated paths
  std::vector<nlohmann::json> values;
};

struct Spec {
  std::string source;  // the spec file
  std::string name, out, data = "data";
  std::string workload, device = "digital", platform;  // platform empty: functional points
  uint64_t seed = 1;
  int limit_train = 0, limit_test = 0, threads = 1;
  bool ideal_reference = true;
  std::vector<std::pair<std::string, nlohmann::json>> set;
  std::vector<Axis> axes;
};

Spec spec_from_json(const nlohmann::ordered_json& j, const std::string& source);
Spec load_spec(const std::string& path);

// One training run of the sweep, fully resolved.
struct Point {
  int index = 0;       // the CSV's order: ideal references first, then the grid in row-major order
  bool ideal = false;  // an ideal reference (digital layers)
  std::string id;      // 16 hex digits of a hash of `config`
  std::string ideal_id;  // a grid point: its reference's id (empty without references)
  std::vector<std::string> axis_values;  // per axis, the value as JSON text; empty for a reference
  nlohmann::json workload, device, platform;  // device null: digital; platform null: functional
  uint64_t seed = 1;
  int limit_train = 0, limit_test = 0, threads = 1;
  nlohmann::json config;  // everything that decides the numbers
  std::string label;      // "device.update.nu=0.5 ..." or "ideal reference"
};

// Resolves and validates every point (the workload, device preset and platform parsers, the
// platform applied to the preset) before anything runs. Throws SweepError naming the spec, the
// axis and value, and what the parser said.
std::vector<Point> plan(const Spec& spec);

// The results CSV: one row per finished point, in point order.
using Row = std::map<std::string, std::string>;
std::vector<std::string> columns(const Spec& spec);
// Reads a results file (none: empty). Rows must have this spec's columns and ids: otherwise
// SweepError (the file belongs to another spec).
std::map<std::string, Row> read_results(const std::string& path, const Spec& spec, const std::vector<Point>& points);
// The CSV text of the finished rows (by id), in point order, with each grid point's ideal
// accuracy and drop filled from its reference when that has finished.
std::string results_csv(const Spec& spec, const std::vector<Point>& points, const std::map<std::string, Row>& rows);
// The row of a finished point from its output folder (metrics.json, hardware.json when timed).
// `status` is "ok" or "diverged".
Row row_from_outputs(const Spec& spec, const Point& p, const std::string& dir, const std::string& status);

// CSV fields: quoted when they hold a comma, quote or newline.
std::string csv_field(const std::string& s);
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source);

}  // namespace txsim::sweep
