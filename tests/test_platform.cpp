// Platforms: the shipped files load, the arithmetic of read cycles and area, and bad files are
// errors naming the file, the field, the value and what is accepted.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "txsim/tlm/platform.h"

namespace txsim::hw {
namespace {

const std::string kRoot = TXSIM_SOURCE_DIR;

nlohmann::json default_json() { return read_json_file(kRoot + "/platforms/default.json"); }

TEST(Platform, ShippedPlatformsLoad) {
  for (const char* name : {"default", "isaac", "neurosim"}) {
    const Platform p = load_platform(kRoot + "/platforms/" + name + ".json");
    // The file's own name (read here without the loader), not one the loader filled in.
    EXPECT_EQ(p.name, read_json_file(kRoot + "/platforms/" + name + ".json").at("name").get<std::string>()) << name;
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

// scale_from (crossbar) and scale_from_bits (ADC): the file's figures hold for the reference array
// and ADC; other sizes scale with the cell count and with 2^bits (constant Walden figure of merit).
TEST(Platform, ScalesArrayAndAdcFiguresFromTheirReference) {
  nlohmann::json j = default_json();
  j["crossbar"].erase("scale_from");
  j["adc"].erase("scale_from_bits");
  j["crossbar"]["rows"] = 128;
  j["adc"]["bits"] = 5;
  const Platform fixed = platform_from_json(j, "fixed.json");
  EXPECT_DOUBLE_EQ(fixed.crossbar.read_energy_pj, 7.5);  // no reference: the figures as written
  EXPECT_DOUBLE_EQ(fixed.adc.energy_pj, 1.5625);
  j["crossbar"]["scale_from"] = {{"rows", 64}, {"cols", 64}};
  j["adc"]["scale_from_bits"] = 8;
  const Platform scaled = platform_from_json(j, "scaled.json");
  EXPECT_DOUBLE_EQ(scaled.crossbar.read_energy_pj, 15.0);         // 128 x 64 cells: twice 64 x 64
  EXPECT_DOUBLE_EQ(scaled.crossbar.area_mm2, 2 * 0.00000625);
  EXPECT_DOUBLE_EQ(scaled.adc.energy_pj, 1.5625 / 8);              // 5 bits: 2^-3 of the 8-bit ADC
  EXPECT_DOUBLE_EQ(scaled.adc.area_mm2, 0.0012 / 8);
  EXPECT_DOUBLE_EQ(scaled.adc.gsps, fixed.adc.gsps);               // the rate is as written
  j["adc"]["bits"] = 10;
  EXPECT_DOUBLE_EQ(platform_from_json(j, "ten.json").adc.energy_pj, 1.5625 * 4);
  j["adc"]["scale_from_bits"] = 0;
  EXPECT_THROW(platform_from_json(j, "zero.json"), ConfigError);
  j["adc"]["scale_from_bits"] = 8;
  j["crossbar"]["scale_from"] = {{"rows", 64}};
  EXPECT_THROW(platform_from_json(j, "half.json"), ConfigError);
  j["crossbar"]["scale_from"] = {{"rows", 64}, {"cols", 64}, {"depth", 2}};
  EXPECT_THROW(platform_from_json(j, "extra.json"), ConfigError);
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
  j = default_json();
  j["adc"]["scale_from_bits"] = 17;
  EXPECT_EQ(error_of(j), "bad_platform.json: adc.scale_from_bits: 17: accepted an integer in 1..16");
  j = default_json();
  j["crossbar"]["scale_from"] = {{"rows", 64}};
  EXPECT_EQ(error_of(j), "bad_platform.json: crossbar.scale_from: missing 'cols'");
  EXPECT_THROW(load_platform(kRoot + "/platforms/no_such_platform.json"), ConfigError);
}

}  // namespace
}  // namespace txsim::hw

#include "txsim/mapped_matrix.h"
#include "txsim/tlm/cost.h"

namespace txsim::hw {
namespace {

// A forward read of a 100 x 20 layer on the default platform's arrays (64 x 64, 8-bit weights on
// 2-bit cells: 4 slices x 2 polarities x 2 row tiles = 16 crossbars; 8-bit signed inputs on 1-bit
// DACs: 7 planes), batch 3, folded reads, then its cost by hand.
TEST(Cost, ReadPhaseByHand) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  CrossbarConfig c;
  p.apply_to(c.crossbar);
  c.crossbar.weight_bits = 8;
  c.crossbar.input_bits = 8;
  c.crossbar.read_mode = ReadMode::Folded;
  MappedMatrix m(c, 100, 20, 1);
  std::vector<float> w(2000, 0.01f), x(300, 0.5f), y(60);
  m.program(w.data());
  m.reset_activity();
  m.forward(x.data(), 3, y.data());
  const Activity& a = m.activity();
  ASSERT_EQ(m.crossbars(), 16);
  EXPECT_EQ(a.crossbar_reads, 3u * 7 * 16);
  Placement one{16, 1, 0, 1};
  const Cost c1 = read_cost(p, a, one);
  EXPECT_DOUBLE_EQ(c1.latency_ns, 21 * 100.0);           // 21 read cycles of 100 ns per crossbar
  EXPECT_DOUBLE_EQ(c1.array_pj, 336 * 7.5);
  EXPECT_DOUBLE_EQ(c1.dac_pj, a.dac_conversions * 0.00039);
  EXPECT_DOUBLE_EQ(c1.adc_pj, a.adc_conversions * 1.5625);
  EXPECT_DOUBLE_EQ(c1.shift_add_pj, a.shift_adds * 0.039);
  Placement two{16, 2, 0, 1};
  EXPECT_DOUBLE_EQ(read_cost(p, a, two).latency_ns, 11 * 100.0);  // ceil(21 / 2) cycles
  EXPECT_DOUBLE_EQ(read_cost(p, a, two).energy_pj(), c1.energy_pj());  // same work, same energy
}

TEST(Cost, BufferNocDigitalAndUpdateByHand) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  Cost b = buffer_cost(p.tile_buffer, 100);  // 4 accesses of 32 bytes, 1 ns and 10 pJ each
  EXPECT_DOUBLE_EQ(b.latency_ns, 4.0);
  EXPECT_DOUBLE_EQ(b.buffer_pj, 40.0);
  EXPECT_EQ(hops_between(p, 0, 15), 6);  // 16 tiles on a 4 x 4 mesh: corner to corner
  EXPECT_EQ(hops_between(p, 5, 6), 1);
  Cost n = noc_cost(p.noc, 100, 6);       // 4 flits behind a 6-hop head
  EXPECT_DOUBLE_EQ(n.latency_ns, 9.0);
  EXPECT_DOUBLE_EQ(n.noc_pj, 100 * 6 * 1.3);
  const Platform ns = load_platform(kRoot + "/platforms/neurosim.json");  // H-tree over 64 tiles
  EXPECT_EQ(hops_between(ns, 0, 1), 2);
  EXPECT_EQ(hops_between(ns, 0, 63), 12);
  Cost d = digital_cost(p, 1000, 2);  // 32 MAC/ns per tile
  EXPECT_DOUBLE_EQ(d.latency_ns, 1000 / 64.0);
  EXPECT_DOUBLE_EQ(d.digital_pj, 1000.0);
  Activity a;
  a.program_pulses = 500;
  a.program_slots = 64;
  Cost u = update_cost(p, a);
  EXPECT_DOUBLE_EQ(u.latency_ns, 64 * 50.0);
  EXPECT_DOUBLE_EQ(u.program_pj, 1000.0);
  EXPECT_THROW(hops_between(p, 0, 16), std::out_of_range);
}

// Faster write pulses shorten the update phase; the energy per pulse sets its energy.
TEST(Cost, FasterPulsesShortenTheUpdate) {
  nlohmann::json j = read_json_file(kRoot + "/platforms/default.json");
  Activity a;
  a.program_pulses = 10;
  a.program_slots = 7;
  const double slow = update_cost(platform_from_json(j, "slow"), a).latency_ns;
  j["crossbar"]["write_pulse_ns"] = 10;
  const double fast = update_cost(platform_from_json(j, "fast"), a).latency_ns;
  EXPECT_LT(fast, slow);
  EXPECT_DOUBLE_EQ(fast, 70.0);
}

}  // namespace
}  // namespace txsim::hw
