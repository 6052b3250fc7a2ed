// Platforms: the shipped files load, the arithmetic of read cycles and area, and bad files are
// errors naming the file, the field, the value and what is accepted.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include <set>

#include "txsim/tlm/cost_model/peak.h"
#include "txsim/tlm/cost_model/platform.h"
#include "txsim/tlm/cost_model/report.h"

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
// each with its array, 64 DACs, 64 sample-and-holds, 1 ADC and half a shift-and-add unit; per PE
// the input and output registers; per tile the buffer, the bus, the digital unit, the activation,
// shift-and-add, pooling and output-register units and a router (mesh); one global buffer and
// the off-chip interface.
TEST(Platform, AreaIsTheSumOfTheComponents) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  const double per_crossbar = 0.00000625 + 64 * 1.66015625e-7 + 64 * 3.90625e-8 + 1 * 0.0012 + 0.5 * 0.00006;
  const double per_pe = 0.00105 + 0.000385;
  const double per_tile = 0.04 + 0.02 + 0.048 + 0.0006 + 0.00006 + 0.00024 + 0.0032 + 0.03775;
  const double expected = 256 * per_crossbar + 64 * per_pe + 16 * per_tile + 0.3 + 1;
  EXPECT_NEAR(p.area_mm2(), expected, 1e-12);
  EXPECT_NEAR(p.area_mm2(), 4.1093, 1e-4);
}

// ISAAC's Table 6 (ISCA 2016), summed by hand: an IMA is ADC 0.0096 + DAC 0.00017 + S+H 0.00004
// + arrays 0.0002 + shift-and-add 0.00024 + IR 0.0021 + OR 0.00077 = 0.01312 mm2 and 24.08 mW;
// a tile is 12 IMAs + eDRAM 0.083 + bus 0.090 + a quarter router 0.03775 + sigmoid 0.0006 +
// shift-and-add 0.00006 + max-pool 0.00024 + OR 0.0032 mm2; 168 tiles + HyperTransport 22.88 mm2.
// Power: 12 x 24.08 + 20.7 + 7 + 10.5 + 0.52 + 0.05 + 0.4 + 1.68 mW per tile, x 168, + 10.4 W.
// Peak: 16128 crossbars / 8 per 16-bit weight, each 128 x 128 MACs per 16 cycles of 100 ns.
TEST(Platform, IsaacPeakReportMatchesTable6RowByRow) {
  const PeakReport r = peak_report(load_platform(kRoot + "/platforms/isaac.json"));
  const double ima_mm2 = 0.0096 + 0.00017 + 0.00004 + 0.0002 + 0.00024 + 0.0021 + 0.00077;
  const double tile_mm2 = 12 * ima_mm2 + 0.083 + 0.090 + 0.151 / 4 + 0.0006 + 0.00006 + 0.00024 + 0.0032;
  EXPECT_NEAR(r.area_mm2(), 168 * tile_mm2 + 22.88, 1e-9);
  const double tile_mw = 12 * (16 + 4 + 0.01 + 2.4 + 0.2 + 1.24 + 0.23) + 20.7 + 7 + 42.0 / 4 + 0.52 + 0.05 + 0.4 + 1.68;
  EXPECT_NEAR(r.power_w(), 168 * tile_mw * 1e-3 + 10.4, 1e-9);
  auto row = [&](Component c) { return r.parts[index_of(c)]; };
  EXPECT_NEAR(row(Component::Adc).power_w(), 168 * 12 * 16e-3, 1e-9);
  EXPECT_NEAR(row(Component::Dac).power_w(), 168 * 12 * 4e-3, 1e-9);
  EXPECT_NEAR(row(Component::SampleHold).power_w(), 168 * 12 * 10e-6, 1e-12);
  EXPECT_NEAR(row(Component::Array).power_w(), 168 * 12 * 2.4e-3, 1e-9);
  EXPECT_NEAR(row(Component::ShiftAdd).power_w(), 168 * 12 * 0.2e-3, 1e-9);
  EXPECT_NEAR(row(Component::InputRegister).power_w(), 168 * 12 * 1.24e-3, 1e-9);
  EXPECT_NEAR(row(Component::OutputRegister).power_w(), 168 * 12 * 0.23e-3, 1e-9);
  EXPECT_NEAR(row(Component::Router).power_w(), 42 * 42e-3, 1e-9);
  EXPECT_NEAR(row(Component::OffChipInterface).power_w(), 10.4, 1e-9);
  EXPECT_NEAR(r.peak_tops(), 2.0 * 128 * 128 * (16128 / 8) / (16 * 100e-9) * 1e-12, 1e-9);
  // Against the published totals: 85.4 mm2 and 65.8 W within 3%, 41.3 TOPS within 2%,
  // 0.48 TOPS/mm2 and 0.63 TOPS/W within 5%.
  EXPECT_NEAR(r.area_mm2() / 85.4, 1, 0.03);
  EXPECT_NEAR(r.power_w() / 65.8, 1, 0.03);
  EXPECT_NEAR(r.peak_tops() / 41.3, 1, 0.02);
  EXPECT_NEAR(r.tops_per_mm2() / 0.48, 1, 0.05);
  EXPECT_NEAR(r.tops_per_w() / 0.63, 1, 0.05);
  // A component the platform does not have is zero and says so.
  EXPECT_TRUE(row(Component::GlobalBuffer).absent);
  EXPECT_NE(peak_table(r).find("global buffer"), std::string::npos);
}

// Every component of the accounting table once, and every one of them in each place that
// reports components: the peak report's JSON and the platform's units.
TEST(Accounting, EachComponentOnceAndEverywhere) {
  std::set<std::string> keys;
  for (std::size_t k = 0; k < kComponentCount; ++k) {
    EXPECT_EQ(index_of(kComponentTable[k].id), k) << kComponentTable[k].key;
    EXPECT_TRUE(keys.insert(kComponentTable[k].key).second) << kComponentTable[k].key;
  }
  const nlohmann::json j = to_json(peak_report(load_platform(kRoot + "/platforms/default.json")));
  EXPECT_EQ(j.at("components").size(), kComponentCount);
  for (const std::string& k : keys) EXPECT_TRUE(j.at("components").contains(k)) << k;
  for (const char* top : {"area_mm2", "power_w", "peak_tops", "tops_per_mm2", "tops_per_w"}) EXPECT_TRUE(j.contains(top)) << top;
  // The hardware report: layers.csv has <key>_pj and <key>_ops once each, hardware.json the
  // energy and the operations of every component (and the leakage beside them).
  const std::string csv = layer_csv(HardwareReport{});
  const std::string header = "," + csv.substr(0, csv.find('\n')) + ",";
  const nlohmann::json h = to_json(HardwareReport{});
  EXPECT_EQ(h.at("train_energy_by_component_joules").size(), kComponentCount + 1);
  EXPECT_TRUE(h.at("train_energy_by_component_joules").contains("static"));
  EXPECT_EQ(h.at("train_operations_by_component").size(), kComponentCount);
  for (const std::string& k : keys) {
    for (const char* suffix : {"_pj,", "_ops,"}) {
      const std::string column = "," + k + suffix;
      const std::size_t at = header.find(column);
      EXPECT_NE(at, std::string::npos) << column;
      EXPECT_EQ(header.find(column, at + 1), std::string::npos) << column << " twice";
    }
    EXPECT_TRUE(h.at("train_energy_by_component_joules").contains(k)) << k;
    EXPECT_TRUE(h.at("train_operations_by_component").contains(k)) << k;
  }
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
  // A preset whose devices are analog (one 8-bit device per weight) keeps its cells on a
  // platform with analog cells, and is refused, naming both files, on ISAAC's 2-bit cells.
  ArrayConfig analog;
  analog.weight_bits = analog.bits_per_cell = 8;
  ArrayConfig on_default = analog;
  load_platform(kRoot + "/platforms/default.json").apply_to(on_default, "pcm.json");
  EXPECT_EQ(on_default.bits_per_cell, 8);
  EXPECT_EQ(on_default.rows, 64);
  try {
    p.apply_to(analog, "pcm.json");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("isaac.json and pcm.json"), std::string::npos) << what;
    EXPECT_NE(what.find("accepted: a platform with crossbar.cells \"analog\""), std::string::npos) << what;
  }
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
  EXPECT_DOUBLE_EQ(fixed.part(Component::Array).energy_pj, 7.5);  // no reference: the figures as written
  EXPECT_DOUBLE_EQ(fixed.part(Component::Adc).energy_pj, 1.5625);
  j["crossbar"]["scale_from"] = {{"rows", 64}, {"cols", 64}};
  j["adc"]["scale_from_bits"] = 8;
  const Platform scaled = platform_from_json(j, "scaled.json");
  EXPECT_DOUBLE_EQ(scaled.part(Component::Array).energy_pj, 15.0);  // 128 x 64 cells: twice 64 x 64
  EXPECT_DOUBLE_EQ(scaled.part(Component::Array).area_mm2, 2 * 0.00000625);
  EXPECT_DOUBLE_EQ(scaled.part(Component::Adc).energy_pj, 1.5625 / 8);  // 5 bits: 2^-3 of the 8-bit ADC
  EXPECT_DOUBLE_EQ(scaled.part(Component::Adc).area_mm2, 0.0012 / 8);
  EXPECT_DOUBLE_EQ(scaled.adc.gsps, fixed.adc.gsps);               // the rate is as written
  j["adc"]["bits"] = 10;
  EXPECT_DOUBLE_EQ(platform_from_json(j, "ten.json").part(Component::Adc).energy_pj, 1.5625 * 4);
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
  // The pipeline: a mode from the list; a group size only where it changes something.
  j = default_json();
  j["chip"]["pipeline"] = "samples";
  EXPECT_EQ(error_of(j), "bad_platform.json: chip.pipeline: \"samples\": accepted one of none, layers");
  j = default_json();
  j["chip"]["pipeline"] = "layers";
  j["chip"]["pipeline_group"] = 0;
  EXPECT_EQ(error_of(j), "bad_platform.json: chip.pipeline_group: 0: accepted an integer in 1..1048576");
  j = default_json();
  j["chip"]["pipeline_group"] = 4;  // without "layers" it would change nothing
  EXPECT_EQ(error_of(j), "bad_platform.json: chip.pipeline_group: 4: changes nothing unless chip.pipeline is \"layers\"");
}

}  // namespace
}  // namespace txsim::hw

#include "txsim/mapped_matrix.h"
#include "txsim/tlm/cost_model/cost.h"

#include <cmath>

namespace txsim::hw {
namespace {

// A forward read of a 100 x 20 layer on the default platform's arrays (64 x 64, 8-bit weights on
// 2-bit cells: 4 slices x 2 polarities x 2 row tiles = 16 crossbars; 8-bit signed inputs on 1-bit
// DACs: 7 planes), batch 3, folded reads, then its cost by hand.
// What the crossbars of a 100 x 20 layer (8-bit weights and inputs) on the platform's arrays did
// in one forward read of 3 samples.
Activity forward_activity(const Platform& p, ReadMode mode, int* crossbars = nullptr) {
  CrossbarConfig c;
  p.apply_to(c.crossbar);
  c.crossbar.weight_bits = 8;
  c.crossbar.input_bits = 8;
  c.crossbar.read_mode = mode;
  MappedMatrix m(c, 100, 20, 1);
  std::vector<float> w(2000, 0.01f), x(300, 0.5f), y(60);
  m.program(w.data());
  m.reset_activity();
  m.forward(x.data(), 3, y.data());
  if (crossbars) *crossbars = m.crossbars();
  return m.activity();
}

TEST(Cost, ReadPhaseByHand) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  int crossbars = 0;
  const Activity a = forward_activity(p, ReadMode::Folded, &crossbars);
  ASSERT_EQ(crossbars, 16);
  EXPECT_EQ(a.crossbar_reads, 3u * 7 * 16);
  Placement one{16, 1, 0, 1};
  // Folded: one conversion per output, sample and row tile: 3 x 20 x 2 = 120.
  EXPECT_EQ(a.adc_conversions, 120u);
  const Cost c1 = read_cost(p, a, one, 60);
  EXPECT_DOUBLE_EQ(c1.latency_ns, 21 * 100.0);           // 21 read cycles of 100 ns per crossbar
  EXPECT_EQ(c1.bound(), Resource::Array);
  EXPECT_DOUBLE_EQ(c1.pj(Component::Array), 336 * 7.5);
  EXPECT_DOUBLE_EQ(c1.pj(Component::Dac), a.dac_conversions * 0.390625);
  EXPECT_DOUBLE_EQ(c1.pj(Component::SampleHold), 120 * 0.0009765625);
  EXPECT_DOUBLE_EQ(c1.pj(Component::Adc), 120 * 1.5625);
  EXPECT_DOUBLE_EQ(c1.pj(Component::ShiftAdd), a.shift_adds * 0.01953125);
  EXPECT_DOUBLE_EQ(c1.ops(Component::InputRegister), a.dac_conversions / 8.0);  // 1-bit DACs: a bit each
  EXPECT_DOUBLE_EQ(c1.pj(Component::TileOutputRegister), 60 * 1.4);
  Placement two{16, 2, 0, 1};
  EXPECT_DOUBLE_EQ(read_cost(p, a, two, 60).latency_ns, 11 * 100.0);  // ceil(21 / 2) cycles
  EXPECT_DOUBLE_EQ(read_cost(p, a, two, 60).energy_pj(), c1.energy_pj());  // same work, same energy
}

// Per-slice and folded reads of the same layer charge in energy exactly the conversions they
// charge in time: the ADC time is ceil(conversions / (crossbars x ADCs)) / gsps with the count
// the energy uses. Per slice, the 64 x 64 arrays' 4 slices x 7 planes x 20 outputs x 2 row tiles
// x 3 samples = 3360 conversions on 16 ADCs: 210 each at 0.64 GS/s = 328.125 ns, under the
// 2100 ns of array reads; with a 1 ns array read the ADCs bound the per-slice phase.
TEST(Cost, ReadModesChargeTheConversionsTheyTime) {
  nlohmann::json j = read_json_file(kRoot + "/platforms/default.json");
  j["crossbar"]["read_ns"] = 1;
  const Platform p = platform_from_json(j, "fast_array.json");
  for (ReadMode mode : {ReadMode::PerSlice, ReadMode::Folded}) {
    const Activity a = forward_activity(p, mode);
    const uint64_t expected = mode == ReadMode::PerSlice ? 3360 : 120;
    ASSERT_EQ(a.adc_conversions, expected);
    const Cost cost = read_cost(p, a, Placement{16, 1, 0, 1}, 60);
    const double per_adc = std::ceil(expected / 16.0);
    EXPECT_DOUBLE_EQ(cost.demand_ns[static_cast<std::size_t>(Resource::Adc)], per_adc / 0.64);
    EXPECT_DOUBLE_EQ(cost.ops(Component::Adc), static_cast<double>(expected));
    EXPECT_DOUBLE_EQ(cost.pj(Component::Adc), expected * 1.5625);
    EXPECT_DOUBLE_EQ(cost.ops(Component::SampleHold), static_cast<double>(expected));
    EXPECT_DOUBLE_EQ(cost.latency_ns, std::max(21 * 1.0, per_adc / 0.64));
    // Per slice the ADCs bound the phase (328.125 ns); folded, 8 conversions per ADC take 12.5 ns
    // and the 21 array reads bound it.
    EXPECT_EQ(cost.bound(), mode == ReadMode::PerSlice ? Resource::Adc : Resource::Array);
  }
}

TEST(Cost, BufferNocDigitalAndUpdateByHand) {
  const Platform p = load_platform(kRoot + "/platforms/default.json");
  Cost b = buffer_cost(p.tile_buffer, p.part(Component::TileBuffer), Component::TileBuffer, 100);
  EXPECT_DOUBLE_EQ(b.latency_ns, 4.0);  // 4 accesses of 32 bytes, 1 ns and 10 pJ each
  EXPECT_DOUBLE_EQ(b.pj(Component::TileBuffer), 40.0);
  Cost t = tile_traffic_cost(p, 100);  // and 100 bytes over the 32 B/ns bus at 0.12 pJ per byte
  EXPECT_DOUBLE_EQ(t.latency_ns, 4.0);
  EXPECT_DOUBLE_EQ(t.pj(Component::TileBus), 12.0);
  EXPECT_EQ(hops_between(p, 0, 15), 6);  // 16 tiles on a 4 x 4 mesh: corner to corner
  EXPECT_EQ(hops_between(p, 5, 6), 1);
  Cost n = noc_cost(p, 100, 6);       // 4 flits behind a 6-hop head
  EXPECT_DOUBLE_EQ(n.latency_ns, 9.0);
  EXPECT_DOUBLE_EQ(n.pj(Component::Router), 100 * 6 * 1.3125);
  const Platform isaac = load_platform(kRoot + "/platforms/isaac.json");  // 42 routers of 4 tiles, 7 x 7 grid
  EXPECT_EQ(hops_between(isaac, 0, 3), 0);
  EXPECT_EQ(hops_between(isaac, 0, 4), 1);
  EXPECT_EQ(hops_between(isaac, 0, 167), 6 + 5);  // router 41: column 6, row 5
  const Platform ns = load_platform(kRoot + "/platforms/neurosim.json");  // H-tree over 64 tiles
  EXPECT_EQ(hops_between(ns, 0, 1), 2);
  EXPECT_EQ(hops_between(ns, 0, 63), 12);
  Cost d = digital_cost(p, 1000, 2);  // 32 MAC/ns per tile
  EXPECT_DOUBLE_EQ(d.latency_ns, 1000 / 64.0);
  EXPECT_DOUBLE_EQ(d.pj(Component::Digital), 1000.0);
  Cost off = offchip_cost(p, 128);  // 12.8 GB/s; 40 pJ per byte in the interface, 160 in DRAM
  EXPECT_DOUBLE_EQ(off.latency_ns, 10.0);
  EXPECT_DOUBLE_EQ(off.pj(Component::OffChipInterface), 128 * 40.0);
  EXPECT_DOUBLE_EQ(off.pj(Component::Dram), 128 * 160.0);
  nlohmann::json two = read_json_file(kRoot + "/platforms/default.json");
  two["chip"]["dram"]["channels"] = 2;  // twice the bandwidth, two PHYs
  const Platform p2 = platform_from_json(two, "two_channels.json");
  EXPECT_DOUBLE_EQ(offchip_cost(p2, 128).latency_ns, 5.0);
  EXPECT_DOUBLE_EQ(p2.area_mm2() - p.area_mm2(), 1.0);
  Activity a;
  a.program_pulses = 500;
  a.program_slots = 64;
  Cost u = update_cost(p, a);
  EXPECT_DOUBLE_EQ(u.latency_ns, 64 * 50.0);
  EXPECT_DOUBLE_EQ(u.pj(Component::Programming), 1000.0);
  nlohmann::json j = read_json_file(kRoot + "/platforms/default.json");
  j["crossbar"]["verify_reads"] = 2;  // write-verify: 2 reads of 100 ns after every slot
  const Platform verify = platform_from_json(j, "verify.json");
  Cost v = update_cost(verify, a);
  EXPECT_DOUBLE_EQ(v.latency_ns, 64 * (50.0 + 2 * 100));
  EXPECT_DOUBLE_EQ(v.ops(Component::Array), 500.0 * 2 / 64);  // a read verifies a row of 64 devices
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

#include <algorithm>

#include "txsim/tlm/cost_model/batch_graph.h"

namespace txsim::hw {
namespace {

// A batch's split into groups by hand: 10 samples in groups of 4 are 4, 4 and 2; a count's parts
// add up to it exactly, in proportion to the samples.
TEST(BatchGraph, GroupsSplitCountsExactly) {
  const GroupSplit s(10, 4);
  ASSERT_EQ(s.groups(), 3);
  EXPECT_EQ(s.part(100, 0), 40u);
  EXPECT_EQ(s.part(100, 1), 40u);
  EXPECT_EQ(s.part(100, 2), 20u);
  EXPECT_EQ(s.part(7, 0) + s.part(7, 1) + s.part(7, 2), 7u);  // 2 + 3 + 2
  EXPECT_EQ(s.part(7, -1), 7u);
  EXPECT_EQ(GroupSplit(10, 10).groups(), 1);
  EXPECT_EQ(GroupSplit(10, 10).part(123456789012345ULL, 0), 123456789012345ULL);
  EXPECT_THROW(GroupSplit(10, 0), std::invalid_argument);
}

// The dependencies of a 2-layer training batch, by hand: FW0 FW1 WG1 AG1 WG0 WU0 WU1 (the first
// layer's AG is skipped), 2 groups.
TEST(BatchGraph, DependenciesOfAPipelinedBatch) {
  const std::vector<PhaseRef> phases = {{0, Phase::Forward},        {1, Phase::Forward},      {1, Phase::WeightGradient},
                                        {1, Phase::ActivationGradient}, {0, Phase::WeightGradient}, {0, Phase::WeightUpdate},
                                        {1, Phase::WeightUpdate}};
  const BatchGraph g = batch_graph(phases, 2, 2, Pipeline::Layers);
  // Nodes: in(0) in(1), then per phase both groups, the updates once: 2 + 5 x 2 + 2.
  ASSERT_EQ(g.nodes.size(), 14u);
  auto node = [&](int phase, int group) {
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].phase == phase && g.nodes[i].group == group) return static_cast<int>(i);
    return -1;
  };
  auto waits = [&](int before, int after) {
    const auto& n = g.nodes[before].next;
    return std::find(n.begin(), n.end(), after) != n.end();
  };
  for (int k = 0; k < 2; ++k) {
    EXPECT_TRUE(waits(node(-1, k), node(0, k)));  // FW0 after its input
    EXPECT_TRUE(waits(node(0, k), node(1, k)));   // FW1 after FW0
    EXPECT_TRUE(waits(node(1, k), node(2, k)));   // WG1 after FW1 (the loss)
    EXPECT_TRUE(waits(node(1, k), node(3, k)));   // AG1 too, beside WG1
    EXPECT_FALSE(waits(node(2, k), node(3, k)));
    EXPECT_TRUE(waits(node(3, k), node(4, k)));   // WG0 after AG1
    EXPECT_EQ(g.nodes[node(0, k)].waits_for, 1);
  }
  EXPECT_FALSE(waits(node(0, 0), node(0, 1)));  // groups do not wait for each other (units may)
  const int wu0 = node(5, -1), wu1 = node(6, -1);
  EXPECT_EQ(g.nodes[wu0].waits_for, 2);  // WG0 of both groups
  EXPECT_EQ(g.nodes[wu1].waits_for, 4);  // WG1 and AG1 of both groups
  // Serial: one group, a chain in the reported order.
  const BatchGraph s = batch_graph(phases, 2, 5, Pipeline::None);
  ASSERT_EQ(s.nodes.size(), 8u);
  for (std::size_t i = 0; i + 1 < s.nodes.size(); ++i) {
    ASSERT_EQ(s.nodes[i].next.size(), 1u);
    EXPECT_EQ(s.nodes[i].next[0], static_cast<int>(i) + 1);
  }
}

// A checkpoint is the same bytes for the same state: the report's epochs are written field by
// field, so whatever their padding bytes held does not reach the file (a kill-and-resume run
// rebuilt them in fresh memory and its checkpoint differed from the uninterrupted run's).
TEST(HardwareReport, SameStateGivesTheSameCheckpointBytesAndLoadsBack) {
  auto report = [](unsigned char fill) {
    HardwareReport r;
    r.platform = "p";
    r.epochs.resize(2);
    std::memset(static_cast<void*>(r.epochs.data()), fill, r.epochs.size() * sizeof(EpochHardware));
    for (int k = 0; k < 2; ++k) {
      EpochHardware& e = r.epochs[k];
      e.epoch = k + 1;
      e.train_ns = 1.5e6 * (k + 1);
      e.eval_ns = 2.5e5;
      e.train_pj = 3.25e7;
      e.eval_pj = 1e6 / 3;
      e.train_samples = 2000;
      e.train_batches = 63;
    }
    StateWriter w;
    save_report(r, w);
    return w.bytes();
  };
  const std::string zeros = report(0x00), ones = report(0xFF);
  EXPECT_TRUE(zeros == ones) << "the checkpoint holds bytes that are not the state";
  HardwareReport back;
  back.platform = "p";
  StateReader in(ones, "test");
  load_report(back, in);
  ASSERT_EQ(back.epochs.size(), 2u);
  EXPECT_EQ(back.epochs[1].epoch, 2);
  EXPECT_EQ(back.epochs[1].train_ns, 3e6);
  EXPECT_EQ(back.epochs[0].eval_pj, 1e6 / 3);
  EXPECT_EQ(back.epochs[0].train_batches, 63u);
  EXPECT_TRUE(in.done());
}

}  // namespace
}  // namespace txsim::hw
