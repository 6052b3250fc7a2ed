// Platforms: the shipped files load, the arithmetic of read cycles and area, and bad files are
// errors naming the file, the field, the value and what is accepted.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "txsim/tlm/platform.h"

namespace txsim::tlm {
namespace {

const std::string kRoot = TXSIM_SOURCE_DIR;

nlohmann::json default_json() { return read_json_file(kRoot + "/platforms/default.json"); }

TEST(Platform, ShippedPlatformsLoad) {
  for (const char* name : {"default", "isaac", "neurosim"}) {
    const Platform p = load_platform(kRoot + "/platforms/" + name + ".json");
    EXPECT_FALSE(p.name.empty()) << name;
    EXPECT_GT(p.area_mm2(), 0) << name;
  }
  const Platform isaac = load_platform(kRoot + "/platforms/isaac.json");
  EXPECT_EQ(isaac.crossbars(), 168 * 12 * 8);
  // 128 columns on one 1.28 GS/s ADC take exactly the 100 ns read: ISAAC's balanced pipeline.
  EXPECT_DOUBLE_EQ(isaac.read_cycle_ns(), 100.0);
}

// Area, by hand from platforms/default.json: 16 tiles x 4 PEs x 4 crossbars = 256 crossbars,
// each with its array, 64 DACs, 1 ADC and a shift-and-add unit; per tile a buffer, the other
// logic and a router (mesh); one global buffer.
TEST(Platform, AreaIsTheSumOfTheComponents) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  const double per_crossbar = 0.00000625 + 64 * 1.66e-7 + 1 * 0.0012 + 0.00003;
  const double expected = 256 * per_crossbar + 16 * (0.04 + 0.004) + 0.3 + 16 * 0.03775;
  EXPECT_NEAR(p.area_mm2(), expected, 1e-12);
  EXPECT_NEAR(p.area_mm2(), 1.9272, 1e-4);
}

// More ADCs per crossbar: a shorter read cycle while the conversions are the bottleneck (never
// below the array read), and more area.
TEST(Platform, MoreAdcsShortenAnAdcBoundCycleAndCostArea) {
  nlohmann::json j = default_json();
  j["crossbar"]["read_ns"] = 20;
  const Platform one = platform_from_json(j, "one.json");
  j["adc"]["per_crossbar"] = 4;
  const Platform four = platform_from_json(j, "four.json");
  j["adc"]["per_crossbar"] = 16;
  const Platform sixteen = platform_from_json(j, "sixteen.json");
  EXPECT_DOUBLE_EQ(one.read_cycle_ns(), 64 / 0.64);      // 100 ns of conversions
  EXPECT_DOUBLE_EQ(four.read_cycle_ns(), 16 / 0.64);     // 25 ns
  EXPECT_DOUBLE_EQ(sixteen.read_cycle_ns(), 20.0);       // the array read bounds it
  EXPECT_NEAR(four.area_mm2() - one.area_mm2(), 256 * 3 * 0.0012, 1e-12);
}

TEST(Platform, AppliesItsGeometryToADevicePreset) {
  const Platform p = load_platform(kRoot + "/platforms/isaac.json");
  ArrayConfig a;
  a.rows = a.cols = 64;
  a.bits_per_cell = 1;
  a.adc_bits = 4;
  p.apply_to(a);
  EXPECT_EQ(a.rows, 128);
  EXPECT_EQ(a.cols, 128);
  EXPECT_EQ(a.bits_per_cell, 2);
  EXPECT_EQ(a.dac_bits, 1);
  EXPECT_EQ(a.adc_bits, 8);
}

std::string error_of(const nlohmann::json& j) {
  try {
    platform_from_json(j, "bad_platform.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Platform, BadFilesNameFileFieldValueAndWhatIsAccepted) {
  nlohmann::json j = default_json();
  j["adc"]["per_crossbar"] = 65;
  EXPECT_EQ(error_of(j), "bad_platform.json: adc.per_crossbar: 65: accepted an integer in 1..64");
  j = default_json();
  j["crossbar"]["read_ns"] = -1;
  EXPECT_NE(error_of(j).find("bad_platform.json: crossbar.read_ns: -1: accepted a number in"), std::string::npos)
      << error_of(j);
  j = default_json();
  j["noc"]["kind"] = "ring";
  EXPECT_EQ(error_of(j), "bad_platform.json: noc.kind: \"ring\": accepted one of mesh, htree, bus");
  j = default_json();
  j["tile"]["buffer"]["kib"] = "64";
  EXPECT_NE(error_of(j).find("tile.buffer.kib: \"64\""), std::string::npos) << error_of(j);
  j = default_json();
  j["chip"]["tilez"] = 4;
  EXPECT_EQ(error_of(j), "bad_platform.json: chip: unknown key 'tilez'");
  j = default_json();
  j.erase("adc");
  EXPECT_EQ(error_of(j), "bad_platform.json: platform: missing 'adc'");
  j = default_json();
  j["crossbar"].erase("write_pulse_ns");
  EXPECT_EQ(error_of(j), "bad_platform.json: crossbar: missing 'write_pulse_ns'");
  j = default_json();
  j["pe"] = 4;
  EXPECT_EQ(error_of(j), "bad_platform.json: platform.pe: 4: accepted a JSON object");
  EXPECT_THROW(load_platform(kRoot + "/platforms/no_such_platform.json"), ConfigError);
}

}  // namespace
}  // namespace txsim::tlm
