// Configuration: round trip, and clear errors for bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "txsim/config.h"

namespace txsim {
namespace {

using nlohmann::json;

TEST(Config, RoundTripsThroughJson) {
  CrossbarConfig c = default_crossbar_config();
  c.crossbar.mapping = Mapping::Offset;
  c.crossbar.read_mode = ReadMode::Folded;
  c.crossbar.adc_range = AdcRange::Calibrated;
  c.device.levels = 16;
  c.device.program_shape = VariationShape::LogNormal;
  c.circuit.model = ParasiticModel::Exact;
  c.circuit.source_ohm = 100;
  c.circuit.sink_ohm = 50;
  c.circuit.wire_ohm = 2.5;
  c.circuit.refresh_every = 10;
  c.circuit.iv = IvKind::Sinh;
  c.circuit.iv_a = 3;
  const json first = to_json(c);
  const json second = to_json(crossbar_config_from_json(first, "roundtrip"));
  EXPECT_EQ(first, second);
}

// Issue 17, defect 11: the round trip above starts from defaults, so a reader that ignored a
// defaulted field would pass. The oracle here is a checked-in file, written by hand, in which
// every field differs from its default: reading it and writing it back must give the file.
TEST(Issue17Defect11Config, ReadsAndWritesEveryFieldOfAHandWrittenReference) {
  const json reference = read_json_file(std::string(TXSIM_SOURCE_DIR) + "/tests/reference/crossbar_config_all_fields.json");
  const json defaults = to_json(CrossbarConfig{});
  int fields = 0;
  for (const auto& [section, members] : reference.items())
    for (const auto& [key, value] : members.items()) {
      ++fields;
      // A log-normal spread needs the relative scale, which is the default: the one exception.
      if (defaults.contains(section) && defaults[section].contains(key) && key != "program_scale") {
        EXPECT_NE(defaults[section][key], value) << section << "." << key << " is its default in the reference";
      }
    }
  EXPECT_EQ(fields, 30);
  EXPECT_EQ(to_json(crossbar_config_from_json(reference, "reference")), reference);
}

TEST(Config, OnOffRatioSetsGmin) {
  const auto c = crossbar_config_from_json(json::parse(R"({"device": {"g_max": 1e-4, "on_off_ratio": 8}})"), "t");
  EXPECT_DOUBLE_EQ(c.device.g_min, 1e-4 / 8);
}

// Each bad document must fail with a message naming the source, the field and the value.
struct BadCase {
  const char* document;
  const char* expected_in_message;
};
class RejectsBadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(RejectsBadConfig, NamesTheField) {
  const BadCase p = GetParam();
  try {
    crossbar_config_from_json(json::parse(p.document), "bad.json");
    FAIL() << "accepted: " << p.document;
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(p.expected_in_message), std::string::npos) << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Documents, RejectsBadConfig,
    ::testing::Values(
        BadCase{R"({"crossbar": {"rows": 0}})", "'crossbar.rows' = 0: accepted 1..4096"},
        BadCase{R"({"crossbar": {"adc_bits": 25}})", "'crossbar.adc_bits' = 25: accepted 1..24"},
        BadCase{R"({"crossbar": {"adc_bits": 0}})", "'crossbar.adc_bits' = 0"},
        BadCase{R"({"device": {"g_min": 2e-5, "g_max": 1e-5}})", "'device.g_max' = 1e-05: accepted siemens >"},
        BadCase{R"({"device": {"program_sigma": -0.1}})", "'device.program_sigma' = -0.1"},
        BadCase{R"({"device": {"read_noise_sigma": -1}})", "'device.read_noise_sigma' = -1"},
        BadCase{R"({"crossbar": {"weight_bits": 7, "bits_per_cell": 2}})",
                "'crossbar.weight_bits' = 7: accepted a multiple of crossbar.bits_per_cell (2)"},
        BadCase{R"({"crossbar": {"rowz": 64}})", "unknown key 'crossbar.rowz'"},
        BadCase{R"({"crosbar": {}})", "unknown key 'crosbar'"},
        BadCase{R"({"crossbar": {"rows": "64"}})", "'crossbar.rows' = \"64\": accepted an integer"},
        BadCase{R"({"crossbar": {"mapping": "balanced"}})",
                "'crossbar.mapping' = \"balanced\": accepted one of \"differential\", \"offset\""},
        BadCase{R"({"crossbar": {"adc_clip": 1.5}})", "'crossbar.adc_clip' = 1.5"},
        BadCase{R"({"crossbar": {"dac_bits": 8, "input_bits": 8}})", "'crossbar.dac_bits' = 8: accepted 1..7"},
        BadCase{R"({"device": {"levels": 3}})", "'device.levels' = 3: accepted 4.."},
        BadCase{R"({"device": {"stuck_on_rate": 0.7, "stuck_off_rate": 0.5}})", "'device.stuck_off_rate' = 0.5"},
        BadCase{R"({"device": {"g_min": 1e-6, "on_off_ratio": 10}})", "'device.on_off_ratio'"},
        BadCase{R"({"device": {"program_shape": "lognormal", "program_scale": "absolute"}})",
                "'device.program_shape'"},
        BadCase{R"({"circuit": {"model": "exact", "source_ohm": 100, "sink_ohm": 50, "wire_ohm": 0}})",
                "'circuit.wire_ohm' = 0: accepted ohms in (0, 1e9] with circuit.model \"exact\""},
        BadCase{R"({"circuit": {"model": "first_order", "source_ohm": -1, "sink_ohm": 50, "wire_ohm": 1}})",
                "'circuit.source_ohm' = -1"},
        BadCase{R"({"circuit": {"model": "spice"}})", "'circuit.model' = \"spice\": accepted one of \"ideal\""},
        BadCase{R"({"circuit": {"model": "short_path", "source_ohm": 1, "sink_ohm": 1, "wire_ohm": 1,
                                "refresh_every": 10}})",
                "'circuit.refresh_every' = 10: accepted 1 unless circuit.model is \"exact\""},
        BadCase{R"({"circuit": {"refresh_every": 0}})", "'circuit.refresh_every' = 0: accepted 1..1000000"},
        BadCase{R"({"circuit": {"iv": "sinh", "iv_a": 0}})", "'circuit.iv_a' = 0: accepted per volt in (0, 1000]"},
        BadCase{R"({"circuit": {"iv": "sinh", "iv_a": 500}})", "'circuit.iv_a' = 500: accepted a * crossbar.read_voltage <= 50"},
        BadCase{R"({"circuit": {"iv_a": 3}})", "'circuit.iv_a' = 3: accepted 0 (unset) unless circuit.iv is \"sinh\""},
        BadCase{R"({"circuit": {"wire": 1}})", "unknown key 'circuit.wire'"},
        BadCase{R"([1, 2])", "accepted a JSON object"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return "case" + std::to_string(info.index); });

TEST(Config, FileErrorsNameTheFile) {
  EXPECT_THROW(load_crossbar_config("/nonexistent/x.json"), ConfigError);
  const std::string path = ::testing::TempDir() + "truncated.json";
  std::ofstream(path) << R"({"crossbar": {"rows": 6)";
  try {
    load_crossbar_config(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": not valid JSON"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace txsim

#include "txsim/blas_kernel.h"

namespace txsim {
namespace {

// Which OpenBLAS kernel a CPU should run, by hand (the flags as /proc/cpuinfo spells them).
TEST(BlasKernel, GenericKernelsOnFasterCpusGetAdvice) {
  const std::vector<std::string> avx512 = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"};
  const std::vector<std::string> avx2 = {"sse4_2", "avx", "avx2", "fma"};
  const std::vector<std::string> sse = {"sse2", "sse4_2"};
  EXPECT_EQ(faster_blas_core("Prescott", avx512), "SkylakeX");  // issue 20's machine: family 6, model 207
  EXPECT_EQ(faster_blas_core("Haswell", avx512), "SkylakeX");
  EXPECT_EQ(faster_blas_core("SkylakeX", avx512), "");
  EXPECT_EQ(faster_blas_core("Prescott", avx2), "Haswell");
  EXPECT_EQ(faster_blas_core("prescott", avx2), "Haswell");  // any case
  EXPECT_EQ(faster_blas_core("Zen", avx2), "");
  EXPECT_EQ(faster_blas_core("Haswell", avx2), "");
  EXPECT_EQ(faster_blas_core("Prescott", sse), "");  // nothing faster to run
  EXPECT_EQ(faster_blas_core("Prescott", {}), "");
  EXPECT_FALSE(blas_core_name().empty());
}

}  // namespace
}  // namespace txsim
