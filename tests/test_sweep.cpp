// The sweep plan: spec validation (every point checked before anything trains), path resolution,
// point identities, and the results CSV. The runs themselves: tests/sweep_cli_test.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sweep.h"
#include "txsim/config.h"
#include "txsim/tlm/cost_model/accounting.h"

using namespace txsim::sweep;
using ojson = nlohmann::ordered_json;

namespace {

const std::string kRoot = TXSIM_SOURCE_DIR;

ojson base_spec() {
  ojson j;
  j["workload"] = kRoot + "/tests/sweep/tiny_mlp.json";
  j["device"] = kRoot + "/workloads/devices/txsim_update.json";
  j["grid"] = ojson::object();
  j["grid"]["update.nu"] = {0, 0.5, 1};
  j["grid"]["update.write_noise"] = {0, 5};
  return j;
}

// The message of the SweepError that spec parsing or planning throws ("" when none).
std::string rejection(const ojson& j) {
  try {
    plan(spec_from_json(j, "spec.json"));
  } catch (const SweepError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SweepPlan, GridIsRowMajorWithOneIdealReference) {
  const Spec s = spec_from_json(base_spec(), "spec.json");
  const auto points = plan(s);
  ASSERT_EQ(points.size(), 7u);  // one reference + 3 x 2
  EXPECT_TRUE(points[0].ideal);
  EXPECT_TRUE(points[0].device.is_null());
  EXPECT_EQ(points[1].label, "update.nu=0 update.write_noise=0");
  EXPECT_EQ(points[2].label, "update.nu=0 update.write_noise=5");
  EXPECT_EQ(points[6].label, "update.nu=1 update.write_noise=5");
  EXPECT_DOUBLE_EQ(points[6].device["update"]["nu"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(points[6].device["update"]["write_noise"].get<double>(), 5.0);
  for (int i = 1; i < 7; ++i) {
    EXPECT_EQ(points[i].ideal_id, points[0].id);
    EXPECT_EQ(points[i].index, i);
  }
  std::set<std::string> ids;
  for (const auto& p : points) ids.insert(p.id);
  EXPECT_EQ(ids.size(), points.size());
  // The identity is a function of the configuration, not of the grid that reached it: a spec of
  // one point with nu = 1 and write_noise = 5 (one as an axis, one fixed) names the same run.
  ojson single = base_spec();
  single["grid"] = ojson::object();
  single["grid"]["update.nu"] = {1};
  single["set"] = ojson::object();
  single["set"]["update.write_noise"] = 5;
  const auto one = plan(spec_from_json(single, "single.json"));
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[1].id, points[6].id);
  EXPECT_NE(one[1].id, points[5].id);
  EXPECT_EQ(one[0].id, points[0].id);  // the same ideal reference
}

TEST(SweepPlan, PathsReachEveryDocument) {
  ojson j = base_spec();
  j["grid"] = ojson::object();
  j["grid"]["device.device.program_sigma"] = {0.01};
  j["grid"]["device.on_off_ratio"] = {20};
  j["grid"]["epochs"] = {3};
  j["grid"]["workload.train.batch"] = {16};
  j["grid"]["seed"] = {7};
  j["grid"]["limit_train"] = {100};
  j["set"] = {{"device.g_min", nullptr}};  // null removes: the ratio then sets g_min
  const auto points = plan(spec_from_json(j, "spec.json"));
  ASSERT_EQ(points.size(), 2u);
  const Point& p = points[1];
  EXPECT_DOUBLE_EQ(p.device["device"]["program_sigma"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(p.device["device"]["on_off_ratio"].get<double>(), 20);
  EXPECT_FALSE(p.device["device"].contains("g_min"));
  EXPECT_EQ(p.workload["train"]["epochs"].get<int>(), 3);
  EXPECT_EQ(p.workload["train"]["batch"].get<int>(), 16);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_EQ(p.limit_train, 100);
  EXPECT_EQ(points[0].seed, 7u);  // the reference trains the same seed and data
  EXPECT_EQ(points[0].limit_train, 100);
}

TEST(SweepPlan, OneReferencePerWorkloadAndSeed) {
  ojson j = base_spec();
  j["grid"] = ojson::object();
  j["grid"]["seed"] = {1, 2};
  j["grid"]["update.nu"] = {0, 0.5};
  const auto points = plan(spec_from_json(j, "spec.json"));
  ASSERT_EQ(points.size(), 6u);  // 2 references + 4
  EXPECT_TRUE(points[0].ideal && points[1].ideal);
  EXPECT_EQ(points[2].ideal_id, points[0].id);
  EXPECT_EQ(points[4].ideal_id, points[1].id);
}

TEST(SweepPlan, CommaJoinedPathsTakeOneValue) {
  ojson j = base_spec();
  j["platform"] = kRoot + "/platforms/default.json";
  j["device"] = kRoot + "/workloads/devices/txsim_reram.json";
  j["grid"] = ojson::object();
  j["grid"]["platform.crossbar.rows,platform.crossbar.cols"] = {32, 128};
  const auto points = plan(spec_from_json(j, "spec.json"));
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[2].platform["crossbar"]["rows"].get<int>(), 128);
  EXPECT_EQ(points[2].platform["crossbar"]["cols"].get<int>(), 128);
}

TEST(SweepSpec, RejectsAnUnknownPathBeforeTraining) {
  ojson j = base_spec();
  j["grid"]["update.nuu"] = {0.1};
  const std::string m = rejection(j);
  EXPECT_NE(m.find("spec.json"), std::string::npos) << m;
  EXPECT_NE(m.find("update.nuu"), std::string::npos) << m;
  j = base_spec();
  j["grid"]["workload.trian.lr"] = {0.1};
  EXPECT_NE(rejection(j).find("trian"), std::string::npos) << rejection(j);
  j = base_spec();
  j["grid"]["platform.adc.bits"] = {4};  // no platform in the spec
  EXPECT_NE(rejection(j).find("needs \"platform\""), std::string::npos) << rejection(j);
}

TEST(SweepSpec, RejectsAnEmptyGrid) {
  ojson j = base_spec();
  j["grid"] = ojson::object();
  EXPECT_NE(rejection(j).find("'grid'"), std::string::npos) << rejection(j);
  j.erase("grid");
  EXPECT_NE(rejection(j).find("'grid' is missing"), std::string::npos) << rejection(j);
  j = base_spec();
  j["grid"]["update.nu"] = ojson::array();
  EXPECT_NE(rejection(j).find("non-empty array"), std::string::npos) << rejection(j);
  j["grid"]["update.nu"] = 0.5;
  EXPECT_NE(rejection(j).find("non-empty array"), std::string::npos) << rejection(j);
}

TEST(SweepSpec, RejectsATypeMismatch) {
  ojson j = base_spec();
  j["grid"]["update.nu"] = {0, "high"};
  std::string m = rejection(j);
  EXPECT_NE(m.find("update.nu"), std::string::npos) << m;
  EXPECT_NE(m.find("\"high\""), std::string::npos) << m;
  j = base_spec();
  j["grid"]["crossbar.rows"] = {64.5};
  EXPECT_NE(rejection(j).find("crossbar.rows"), std::string::npos) << rejection(j);
  j = base_spec();
  j["grid"]["seed"] = {-1};
  EXPECT_NE(rejection(j).find("'seed'"), std::string::npos) << rejection(j);
  j = base_spec();
  j["grid"]["update.nu"] = {0, 2};  // out of range: nu in [0, 1]
  EXPECT_NE(rejection(j).find("nu"), std::string::npos) << rejection(j);
}

TEST(SweepSpec, RejectsOtherMistakes) {
  ojson j = base_spec();
  j["grids"] = ojson::object();
  EXPECT_NE(rejection(j).find("unknown key 'grids'"), std::string::npos) << rejection(j);
  j = base_spec();
  j["grid"]["update.nu"] = {0.5, 0.5};
  EXPECT_NE(rejection(j).find("appears twice"), std::string::npos) << rejection(j);
  j = base_spec();
  j["set"] = {{"update.nu", 0.3}};  // also a grid axis
  EXPECT_NE(rejection(j).find("set twice"), std::string::npos) << rejection(j);
  j = base_spec();
  j["device"] = "digital";
  EXPECT_NE(rejection(j).find("device is \"digital\""), std::string::npos) << rejection(j);
  j = base_spec();
  j["workload"] = kRoot + "/no/such.json";
  EXPECT_NE(rejection(j).find("no/such.json"), std::string::npos) << rejection(j);
  j = base_spec();
  j["threads"] = 0;
  EXPECT_NE(rejection(j).find("'threads'"), std::string::npos) << rejection(j);
  // A timed sweep sets the crossbar size on the platform, which overrides the preset's.
  j = base_spec();
  j["platform"] = kRoot + "/platforms/default.json";
  j["device"] = kRoot + "/workloads/devices/txsim_reram.json";
  j["grid"] = ojson::object();
  j["grid"]["crossbar.adc_bits"] = {4, 6};
  EXPECT_NE(rejection(j).find("sweep platform.adc.bits instead"), std::string::npos) << rejection(j);
  // The platform's own checks run too.
  j["grid"] = ojson::object();
  j["grid"]["platform.adc.bits"] = {0};
  EXPECT_NE(rejection(j).find("adc"), std::string::npos) << rejection(j);
}

TEST(SweepCsv, FieldsRoundTripThroughQuotes) {
  const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "{\"k\":[1,2]}", "", "line\nbreak"};
  std::string text;
  for (std::size_t i = 0; i < fields.size(); ++i) text += (i ? "," : "") + csv_field(fields[i]);
  text += "\nx,y\n";
  const auto rows = parse_csv(text, "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], fields);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"x", "y"}));
  EXPECT_THROW(parse_csv("a,\"open\n", "t.csv"), SweepError);
}

TEST(SweepCsv, ResultsKeepPointOrderAndFillTheIdeal) {
  const Spec s = spec_from_json(base_spec(), "spec.json");
  const auto points = plan(s);
  std::map<std::string, Row> rows;
  auto finished = [&](const Point& p, const std::string& acc) {
    Row r;
    for (const std::string& c : columns(s)) r[c] = "";
    r["kind"] = p.ideal ? "ideal" : "grid";
    r["status"] = "ok";
    r["id"] = p.id;
    r["final_test_accuracy"] = acc;
    r["config"] = p.config.dump();
    rows[p.id] = r;
  };
  finished(points[3], "0.9");
  std::string csv = results_csv(s, points, rows);
  EXPECT_NE(csv.find(",0.9,,,"), std::string::npos) << csv;  // no reference yet: no ideal, no drop
  finished(points[0], "0.95");
  finished(points[1], "0.8");
  csv = results_csv(s, points, rows);
  const auto table = parse_csv(csv, "r.csv");
  ASSERT_EQ(table.size(), 4u);  // header + 3 rows, in point order
  EXPECT_EQ(table[1][0], "0");
  EXPECT_EQ(table[2][0], "1");
  EXPECT_EQ(table[3][0], "3");
  const auto col = [&](const std::string& name) {
    return std::find(table[0].begin(), table[0].end(), name) - table[0].begin();
  };
  EXPECT_EQ(table[3][col("ideal_test_accuracy")], "0.95");
  EXPECT_EQ(table[3][col("accuracy_drop")], "0.05");
  EXPECT_EQ(table[2][col("accuracy_drop")], "0.15");
  // Read back: the same rows; a file of another spec is refused.
  const std::string path = ::testing::TempDir() + "/sweep_results.csv";
  txsim::write_atomically(path, csv);
  EXPECT_EQ(read_results(path, s, points).size(), 3u);
  ojson other = base_spec();
  other["set"] = {{"epochs", 5}};  // every id changes
  const Spec s2 = spec_from_json(other, "other.json");
  EXPECT_THROW(read_results(path, s2, plan(s2)), SweepError);
  ojson more_axes = base_spec();
  more_axes["grid"]["crossbar.adc_bits"] = {8};  // the preset's own value: the same runs under another column
  const Spec s3 = spec_from_json(more_axes, "more.json");
  EXPECT_THROW(read_results(path, s3, plan(s3)), SweepError);  // other columns
  // A grid over the seed fills the seed column: no column of its own, so a single-seed axis of the
  // default seed is the same sweep, and its results are read back.
  ojson seed_axis = base_spec();
  seed_axis["grid"]["seed"] = {1};
  const Spec s4 = spec_from_json(seed_axis, "seed.json");
  const std::vector<std::string> cols4 = columns(s4);
  EXPECT_EQ(std::count(cols4.begin(), cols4.end(), "seed"), 1);
  EXPECT_EQ(read_results(path, s4, plan(s4)).size(), 3u);
  std::filesystem::remove(path);
}

// Issue 17, defect 3: a deeply nested sweep spec overflowed the stack; now the spec loader
// refuses it with the file's name.
TEST(Issue17Defect3, SweepSpecRefusesDeepNesting) {
  const std::string path = ::testing::TempDir() + "issue17_deep_spec.json";
  {
    std::ofstream out(path);
    out << "{\"grid\": " << std::string(60000, '[') << std::string(60000, ']') << "}";
  }
  try {
    load_spec(path);
    ADD_FAILURE() << "accepted";
  } catch (const SweepError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": JSON nested deeper than 64 levels"), std::string::npos) << e.what();
  }
}

// Issue 17, defect 10: the README's own example spec passed --dry-run and failed at its first
// point (txsim_update.json is bit-sliced on default.json, where its update model has no effect).
// Every point is now checked as training would build it: the example plans, and the old one is
// refused naming the field.
TEST(Issue17Defect10, DryRunChecksWhatTrainingWouldRefuse) {
  std::ifstream in(kRoot + "/README.md");
  const std::string readme(std::istreambuf_iterator<char>(in), {});
  const std::size_t at = readme.find("A spec (JSON; the full grammar");
  ASSERT_NE(at, std::string::npos);
  const std::size_t open = readme.find("```json\n", at), close = readme.find("```", open + 8);
  ojson example = ojson::parse(readme.substr(open + 8, close - open - 8));
  for (const char* file : {"workload", "device", "platform"}) example[file] = kRoot + "/" + example[file].get<std::string>();
  EXPECT_EQ(rejection(example), "");
  // (Since issue 18 the analog preset keeps its cells on default.json, whose cells are analog;
  // on ISAAC's write-verify 2-bit cells it is refused.)
  ojson old = example;
  old["device"] = kRoot + "/workloads/devices/txsim_update.json";
  EXPECT_EQ(rejection(old), "");
  old["platform"] = kRoot + "/platforms/isaac.json";
  const std::string e = rejection(old);
  EXPECT_NE(e.find("the preset's devices are analog"), std::string::npos) << e;
  EXPECT_NE(e.find("point "), std::string::npos) << e;
  // A timed point whose network needs more crossbars than the chip has (the accelerator's
  // DOES_NOT_FIT): the tiny MLP's analog 32 -> 16 layer takes 4 slices x 2 polarities = 8
  // crossbars of 64 x 64; a chip of one tile of one PE of one crossbar holds one.
  ojson small = base_spec();
  small["device"] = kRoot + "/workloads/devices/txsim_sliced.json";
  small["platform"] = kRoot + "/platforms/default.json";
  small["grid"] = ojson::object();
  small["grid"]["platform.chip.tiles,platform.tile.pes,platform.pe.crossbars"] = {1, 2};
  const std::string fit = rejection(small);
  EXPECT_NE(fit.find("the workload needs 8 crossbars of"), std::string::npos) << fit;
  small["grid"]["platform.chip.tiles,platform.tile.pes,platform.pe.crossbars"] = {2, 4};  // 8 crossbars: fits
  EXPECT_EQ(rejection(small), "");
  // A workload whose layers do not fit together is refused before training too.
  ojson bad = base_spec();
  bad["grid"] = ojson::object();
  bad["grid"]["workload.layers"] = ojson::array();
  bad["grid"]["workload.layers"].push_back(ojson::parse(R"([{"type": "flatten"}, {"type": "linear", "in": 63, "out": 4}])"));
  const std::string shapes = rejection(bad);
  EXPECT_NE(shapes.find("63"), std::string::npos) << shapes;
}

namespace {

// Issue 18: a timed sweep's results have one energy column per component of the accounting table
// (and the leakage), each once.
TEST(Accounting, SweepColumnsHaveEveryComponentOnce) {
  ojson timed = base_spec();
  timed["platform"] = kRoot + "/platforms/default.json";
  const std::vector<std::string> cols = columns(spec_from_json(timed, "timed.json"));
  for (const txsim::hw::ComponentInfo& c : txsim::hw::kComponentTable)
    EXPECT_EQ(std::count(cols.begin(), cols.end(), "energy_" + std::string(c.key) + "_joules_per_image"), 1) << c.key;
  EXPECT_EQ(std::count(cols.begin(), cols.end(), "energy_static_joules_per_image"), 1);
}

}  // namespace
