// The timed model end to end (SystemC; one process per test). Several chips may share one
// simulation: each controller trains its own network in its own thread.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tlm_utils/simple_initiator_socket.h>

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/cost_model/job_format.h"
#include "txsim/tlm/systemc/timed.h"
#include "txsim/tlm/systemc/training_accelerator.h"
#include "txsim/tlm/systemc/vp.h"
#include "txsim/trace/trace.h"
#include "timed_fixtures.h"

namespace txsim::hw {
namespace {

using nlohmann::json;

// One chip training one network in the shared simulation.
struct Case {
  Platform platform;
  std::unique_ptr<nn::Network> net;
  std::unique_ptr<Chip> chip;
  nn::TrainResult result;
  std::ostringstream log;
};

std::unique_ptr<Case> add_case(const char* name, const Platform& p, const nn::Workload& w, nn::DevicePreset preset,
                               const nn::Split& data, uint64_t seed = 7) {
  auto c = std::make_unique<Case>();
  c->platform = p;
  c->platform.apply_to(preset.crossbar.crossbar);
  c->net = nn::build_network(w, seed, nn::analog_factory(preset));
  c->chip = std::make_unique<Chip>(name, c->platform);
  c->chip->controller.configure(map_layers(c->platform, layer_shapes(*c->net)), static_cast<int>(data.train.sample_size()));
  Case* raw = c.get();
  raw->chip->controller.set_work([raw, w, seed, &data] {
    nn::TrainOptions o;
    o.config = w.train;
    o.seed = seed;
    o.observer = &raw->chip->controller;
    raw->result = nn::train(*raw->net, data, o, raw->log);
  });
  return c;
}

// The same training without the timed model (the oracle for "the timed model changes no
// number"): `preset` as the platform imposes it, `net` receives the trained network.
nn::TrainResult functional_run(const nn::Workload& w, const nn::DevicePreset& preset, const nn::Split& data, uint64_t seed,
                               std::unique_ptr<nn::Network>* net = nullptr) {
  auto n = nn::build_network(w, seed, nn::analog_factory(preset));
  nn::TrainOptions o;
  o.config = w.train;
  o.seed = seed;
  std::ostringstream log;
  nn::TrainResult r = nn::train(*n, data, o, log);
  if (net) *net = std::move(n);
  return r;
}

nn::Split synthetic_split(int train, int test, std::vector<int> shape, int classes) {
  return {nn::synthetic(train, shape, classes, 3, 0), nn::synthetic(test, shape, classes, 3, 1)};
}

std::vector<std::map<std::string, std::string>> parse_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::istringstream h(line);
    for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  }
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> row;
    std::istringstream l(line);
    std::size_t i = 0;
    for (std::string f; i < header.size(); ++i) {
      if (!std::getline(l, f, ',')) f.clear();
      row[header[i]] = f;
    }
    rows.push_back(row);
  }
  return rows;
}

// Acceptance: the per-layer CSV of a small platform and workload equals the arithmetic from the
// platform file. Two training batches of 4 samples, so every figure is twice one batch's.
TEST(TimedGolden, PerLayerCsvMatchesHandArithmetic) {
  const Platform p = platform_from_json(golden_platform(), "golden platform");
  // Read cycle: the array's 10 ns, or 8 columns / 2 ADCs = 4 conversions at 0.5 GS/s = 8 ns: 10 ns.
  ASSERT_DOUBLE_EQ(p.read_cycle_ns(), 10.0);
  const nn::Split data = synthetic_split(8, 4, {1, 1, 6}, 3);
  auto c = add_case("golden", p, golden_workload(), golden_preset(), data);
  sc_core::sc_start();
  const HardwareReport& r = c->chip->controller.report();
  // Mapping: 8 weight bits / 2 bits per cell = 4 slices x 2 (differential) = 8 crossbars per
  // analog layer (each fits one 8x8 array): layer 2 on crossbars 0-7 (tiles 0, 1), layer 4 on
  // 8-15 (tiles 2, 3). 16 of 16 used: one copy. The digital layer 0 sits on tile 0.
  ASSERT_EQ(r.map.crossbars_used, 16);
  ASSERT_EQ(r.map.replicas, 1);
  ASSERT_EQ(r.map.layers[1].where.first_tile, 0);
  ASSERT_EQ(r.map.layers[2].where.first_tile, 2);

  // Acceptance (issue 19): chip.pipeline "none" (the default) gives the per-layer CSV this test
  // produced before the concurrent model existed, byte for byte.
  {
    std::ifstream f(TXSIM_SOURCE_DIR "/tests/reference/timed_golden_layers.csv");
    ASSERT_TRUE(f) << "tests/reference/timed_golden_layers.csv";
    const std::string before((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(layer_csv(r), before);
  }
  const auto rows = parse_csv(layer_csv(r));
  ASSERT_EQ(rows.size(), 12u);
  auto at = [&](int layer, const char* phase) -> const std::map<std::string, std::string>& {
    for (const auto& row : rows)
      if (row.at("layer") == std::to_string(layer) && row.at("phase") == phase) return row;
    throw std::runtime_error("no row");
  };
  auto num = [](const std::map<std::string, std::string>& row, const char* k) { return std::stod(row.at(k)); };
  auto expect = [&](int layer, const char* phase, double calls, double ns, double pj) {
    const auto& row = at(layer, phase);
    EXPECT_EQ(num(row, "calls"), calls) << layer << phase;
    EXPECT_DOUBLE_EQ(num(row, "latency_ns"), ns) << layer << phase;
    EXPECT_NEAR(num(row, "energy_pj"), pj, 1e-9 * pj) << layer << phase;
  };
  // Layer 0, digital 6->8 on tile 0. FW: 4 x 6 x 8 = 192 MACs at 4 per ns = 48 ns, 19.2 pJ; the
  // buffer moves 4 x (6 + 8) values x 2 bytes = 112 bytes = 14 accesses of 8 bytes: 14 ns (beside
  // the MACs), 28 pJ. Layer 2 is on the same tile: no NoC. 48 ns, 47.2 pJ per batch.
  expect(0, "FW", 2, 2 * 48, 2 * 47.2);
  expect(0, "AG", 0, 0, 0);  // the input needs no gradient
  expect(0, "WG", 2, 2 * 48, 2 * 47.2);  // the same MACs and traffic
  expect(0, "WU", 2, 2 * 12, 2 * 4.8);   // 48 weights: 48 / 4 = 12 ns, 4.8 pJ
  // Layer 2, analog 8->4, FW: 7 input planes (8-bit signed, 1-bit DAC) x 4 samples x 8 crossbars
  // = 224 crossbar reads, 28 per crossbar: 280 ns; 224 pJ. DAC: 224 reads x 8 rows = 1792
  // conversions: 17.92 pJ. ADC (folded: one per output per sample): 16: 3.2 pJ; shift-adds
  // 0.016 pJ. Buffer: 4 x (8 + 4) x 2 = 96 bytes, 48 per tile: 6 accesses each, 24 pJ. The output
  // goes to tile 2: one hop (2x2 mesh), 32 bytes = 8 flits of 4: (1 + 8 - 1) x 1 = 8 ns, 32 x
  // 0.5 = 16 pJ. 288 ns, 285.136 pJ.
  expect(1, "FW", 2, 2 * 288, 2 * (224 + 17.92 + 3.2 + 0.016 + 24 + 16));
  EXPECT_DOUBLE_EQ(num(at(1, "FW"), "utilization"), 0.5);  // 8x4 weights in 8x8 arrays
  // AG (the transposed read): 224 reads, 280 ns, 224 pJ; DAC 224 x 4 rows = 896: 8.96 pJ; ADC
  // 4 x 8 = 32: 6.4 pJ, 0.032 pJ; buffer 24 pJ; to layer 0 on tile 0: no NoC.
  expect(1, "AG", 2, 2 * 280, 2 * (224 + 8.96 + 6.4 + 0.032 + 24));
  // WG: 4 x 8 x 4 = 128 MACs split over tiles 0 and 1: 64 / 4 = 16 ns, 12.8 pJ; buffer 96 bytes
  // (6 ns per tile, 24 pJ).
  expect(1, "WG", 2, 2 * 16, 2 * (12.8 + 24));
  // WU: every slot of the slowest crossbar takes a 5 ns pulse; every pulse 0.5 pJ (one copy).
  const auto& wu = at(1, "WU");
  EXPECT_GT(num(wu, "program_pulses"), 0);
  EXPECT_DOUBLE_EQ(num(wu, "latency_ns"), 5 * num(wu, "program_slots"));
  EXPECT_NEAR(num(wu, "energy_pj"), 0.5 * num(wu, "program_pulses"), 1e-9 * num(wu, "energy_pj"));
  // Layer 4, analog 4->3 on tiles 2, 3. FW: 224 reads: 280 ns, 224 pJ; DAC 224 x 4 = 896:
  // 8.96 pJ; ADC 12: 2.4 pJ, 0.012 pJ; buffer 4 x (4 + 3) x 2 = 56 bytes, 28 per tile = 4
  // accesses each: 16 pJ. Last layer: no transfer.
  expect(2, "FW", 2, 2 * 280, 2 * (224 + 8.96 + 2.4 + 0.012 + 16));
  EXPECT_DOUBLE_EQ(num(at(2, "FW"), "utilization"), 4.0 * 3 / 64);
  // AG: 224 reads: 280 ns, 224 pJ; DAC 224 x 3 = 672: 6.72 pJ; ADC 4 x 4 = 16: 3.2 pJ, 0.016 pJ;
  // buffer 16 pJ; 4 x 4 x 2 = 32 bytes back to tile 0: one hop, 8 ns, 16 pJ.
  expect(2, "AG", 2, 2 * 288, 2 * (224 + 6.72 + 3.2 + 0.016 + 16 + 16));
  // WG: 48 MACs over two tiles: 6 ns, 4.8 pJ; buffer 56 bytes: 4 ns per tile, 16 pJ.
  expect(2, "WG", 2, 2 * 6, 2 * (4.8 + 16));
  // The batch input: 4 x 6 values x 2 bytes = 48 bytes off chip at 1 GB/s: 48 ns, 480 pJ; into
  // the global buffer: 3 accesses of 16 bytes: 6 ns, 15 pJ; layer 0 is on tile 0: no NoC.
  EXPECT_DOUBLE_EQ(r.input.cost.latency_ns, 2 * 54.0);
  EXPECT_NEAR(r.input.cost.energy_pj(), 2 * 495.0, 1e-9);
  // Totals: every row plus the input.
  double ns = r.input.cost.latency_ns, pj = r.input.cost.energy_pj();
  for (const auto& row : rows) {
    ns += num(row, "latency_ns");
    pj += num(row, "energy_pj");
  }
  EXPECT_NEAR(r.train_ns, ns, 1e-9 * ns);
  EXPECT_NEAR(r.train_pj, pj, 1e-9 * pj);
  EXPECT_EQ(r.train_samples, 8u);
  EXPECT_EQ(r.eval_samples, 4u);
  // 2 x MACs of FW, AG and WG of the training batches: (192 + 0 + 192) + 3 x 128 + 3 x 48, twice.
  // (The functional core computes the first layer's AG, which the hardware skips.)
  EXPECT_EQ(r.train_ops, 2u * 2 * (192 + 192 + 3 * 128 + 3 * 48));
}

// Acceptance (memory hierarchy): the golden network with 16-byte tile buffers (64 bytes on the
// chip) and no global buffer. Per batch of 4, 2 bytes a value, the layers keep their inputs
// 48, 64 and 32 bytes and hold error signals of 24 (layer 2), 32 (layer 1) and 64 (layer 0):
//   FW0 keeps 48 in the tiles; FW1 16 in the tiles, 48 to DRAM (written); FW2 32 to DRAM.
//   WG2: its error 24 to DRAM (written, read), its input 32 read back: 80; AG2 reads the error: 24.
//   WG1: 32 to DRAM (2 x 32) and 48 read back: 112; AG1: 32.
//   WG0: 16 of the error fit in the tiles the input of layer 1 left, 48 to DRAM (2 x 48); its
//   input is in the tiles: 96. AG0 is skipped.
// 424 bytes off-chip per batch (1 ns each at 1 GB/s), twice. A 64 KiB tile buffer spills nothing.
TEST(TimedMemory, SpillsTheBytesTheArithmeticGivesAndABigBufferNone) {
  json small = golden_platform(), big = golden_platform();
  small["tile"]["buffer"]["kib"] = 16.0 / 1024;
  small["chip"].erase("global_buffer");
  big["chip"].erase("global_buffer");
  big["tile"]["buffer"]["kib"] = 64;
  const Platform ps = platform_from_json(small, "small buffers"), pb = platform_from_json(big, "big buffers");
  const nn::Split data = synthetic_split(8, 4, {1, 1, 6}, 3);
  auto a = add_case("small_buffers", ps, golden_workload(), golden_preset(), data);
  auto b = add_case("big_buffers", pb, golden_workload(), golden_preset(), data);
  sc_core::sc_start();
  const HardwareReport &rs = a->chip->controller.report(), &rb = b->chip->controller.report();
  auto dram = [](const HardwareReport& r, int layer, Phase ph) { return r.layers[layer][static_cast<int>(ph)].cost.ops(Component::Dram); };
  EXPECT_DOUBLE_EQ(dram(rs, 0, Phase::Forward), 0);
  EXPECT_DOUBLE_EQ(dram(rs, 1, Phase::Forward), 2 * 48.0);
  EXPECT_DOUBLE_EQ(dram(rs, 2, Phase::Forward), 2 * 32.0);
  EXPECT_DOUBLE_EQ(dram(rs, 2, Phase::WeightGradient), 2 * 80.0);
  EXPECT_DOUBLE_EQ(dram(rs, 2, Phase::ActivationGradient), 2 * 24.0);
  EXPECT_DOUBLE_EQ(dram(rs, 1, Phase::WeightGradient), 2 * 112.0);
  EXPECT_DOUBLE_EQ(dram(rs, 1, Phase::ActivationGradient), 2 * 32.0);
  EXPECT_DOUBLE_EQ(dram(rs, 0, Phase::WeightGradient), 2 * 96.0);
  const LevelBytes fw1 = rs.layers[1][static_cast<int>(Phase::Forward)].placed;
  EXPECT_EQ(fw1[0], 2u * 16);
  EXPECT_EQ(fw1[2], 2u * 48);
  EXPECT_EQ(rs.peak[0], 64u);  // the tile buffers filled
  double spilled = 0;
  for (int l = 0; l < 3; ++l)
    for (int ph = 0; ph < kPhases; ++ph) {
      spilled += rs.layers[l][ph].cost.ops(Component::Dram);
      EXPECT_DOUBLE_EQ(rb.layers[l][ph].cost.ops(Component::Dram), 0) << l << ph;
    }
  EXPECT_DOUBLE_EQ(spilled, 2 * 424.0);
  // Each spilled byte takes 1 ns on the 1 GB/s port after the phase's work: the small chip is
  // slower by exactly that (the big chip's wider buffer changes no other time).
  EXPECT_NEAR(rs.train_ns - rb.train_ns, 2 * 424.0, 1e-6);
  EXPECT_EQ(rb.peak[2], 0u);
  EXPECT_EQ(tightest_capacity(rs).first, Level::Tile);
}

// Acceptance (static power): leakage equals the chip's static power times the simulated time.
// 1 mW per tile buffer (4 tiles) and 0.5 mW in the off-chip interface: 4.5 mW = 4.5 pJ per ns.
TEST(TimedStatic, LeakageIsPowerTimesSimulatedTime) {
  json leaky = golden_platform();
  leaky["tile"]["buffer"]["static_mw"] = 1;
  leaky["chip"]["offchip"]["static_mw"] = 0.5;
  const Platform pl = platform_from_json(leaky, "leaky"), pt = platform_from_json(golden_platform(), "tight");
  ASSERT_DOUBLE_EQ(pl.static_mw(), 4.5);
  const nn::Split data = synthetic_split(8, 4, {1, 1, 6}, 3);
  auto a = add_case("leaky", pl, golden_workload(), golden_preset(), data);
  auto b = add_case("tight", pt, golden_workload(), golden_preset(), data);
  sc_core::sc_start();
  const HardwareReport &rl = a->chip->controller.report(), &rt = b->chip->controller.report();
  EXPECT_DOUBLE_EQ(rl.train_ns, rt.train_ns);  // leakage changes no time
  EXPECT_NEAR(rl.train_pj - rt.train_pj, 4.5 * rl.train_ns, 1e-9 * rl.train_pj);
  EXPECT_NEAR(rl.eval_pj - rt.eval_pj, 4.5 * rl.eval_ns, 1e-9 * rl.eval_pj);
  const json j = to_json(rl);
  EXPECT_NEAR(j.at("train_energy_by_component_joules").at("static").get<double>(), 4.5 * rl.train_ns * 1e-12, 1e-21);
}

// A TxSim-like non-ideal preset (programming and read variation) on small crossbars.
nn::DevicePreset noisy_preset() {
  return nn::device_preset_from_json(json::parse(R"({"name": "noisy",
    "crossbar": {"rows": 16, "cols": 16, "weight_bits": 8, "bits_per_cell": 2, "input_bits": 8, "dac_bits": 1,
                 "read_mode": "folded", "adc_bits": 8, "adc_range": "calibrated"},
    "device": {"g_min": 1e-6, "g_max": 1e-5, "program_sigma": 0.02, "read_noise_sigma": 0.005}})"), "noisy preset");
}

nn::Workload mlp_workload(int hidden) {
  json j = json::parse(R"({"name": "mlp", "dataset": "synthetic", "input": [1, 4, 4], "classes": 4,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 16, "out": 32, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 32, "out": 4, "analog": true}],
    "train": {"epochs": 2, "batch": 8, "lr": 0.05}})");
  j["layers"][1]["out"] = hidden;
  j["layers"][3]["in"] = hidden;
  return nn::workload_from_json(j, "mlp workload");
}

Platform default_platform() { return load_platform(std::string(TXSIM_SOURCE_DIR) + "/platforms/default.json"); }

// Acceptance: a timed run and a functional run of the same workload, seed and device give the
// same accuracy and the same final conductances, bit for bit.
TEST(TimedRun, SameAccuracyAndConductancesAsFunctional) {
  const nn::Split data = synthetic_split(96, 32, {1, 4, 4}, 4);
  const nn::Workload w = mlp_workload(32);
  Platform p = default_platform();
  nn::DevicePreset preset = noisy_preset();
  p.apply_to(preset.crossbar.crossbar);  // the functional run uses the geometry the platform imposes
  // Issue 19, acceptance 4: the same in every pipeline mode (groups of 3 samples: the last group
  // of a batch of 8 is smaller).
  Platform pipelined = p;
  pipelined.pipeline = Pipeline::Layers;
  pipelined.pipeline_group = 3;
  auto timed = add_case("timed", p, w, preset, data);
  auto streamed = add_case("streamed", pipelined, w, preset, data);
  sc_core::sc_start();
  std::unique_ptr<nn::Network> functional;
  const nn::TrainResult f = functional_run(w, preset, data, 7, &functional);
  for (const Case* c : {timed.get(), streamed.get()}) {
    ASSERT_EQ(c->result.epochs.size(), f.epochs.size());
    for (std::size_t e = 0; e < f.epochs.size(); ++e) {
      EXPECT_EQ(c->result.epochs[e].train_loss, f.epochs[e].train_loss);
      EXPECT_EQ(c->result.epochs[e].test_accuracy, f.epochs[e].test_accuracy);
    }
    const auto a = c->net->cores(), b = functional->cores();
    ASSERT_EQ(a.size(), b.size());
    int analog = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i]->analog()) continue;
      ++analog;
      StateWriter ga, gb;
      a[i]->save_state(ga);
      b[i]->save_state(gb);
      // Conductances, codes and every stream counter, byte for byte.
      EXPECT_EQ(ga.bytes(), gb.bytes()) << "the device state of layer " << i << " differs";
    }
    EXPECT_EQ(analog, 2);
    // And the timed run did charge the hardware: 2 epochs of 12 batches.
    const HardwareReport& r = c->chip->controller.report();
    EXPECT_EQ(r.train_batches, 24u);
    EXPECT_EQ(r.epochs.size(), 2u);
    EXPECT_GT(r.train_ns, 0);
    EXPECT_GT(r.layers[0][0].activity.crossbar_reads, 0u);
  }
  // The same work in both modes: the energy of every count the groups split exactly (reads,
  // conversions, pulses, MACs) is the same, summed in another order. (Buffer accesses and flits
  // round up per group, so those grow with the number of groups.)
  const Cost a = training_total(timed->chip->controller.report()), b = training_total(streamed->chip->controller.report());
  for (Component k : {Component::Array, Component::Dac, Component::SampleHold, Component::Adc, Component::ShiftAdd,
                      Component::Programming, Component::Activation, Component::OffChipInterface})
    EXPECT_NEAR(a.pj(k), b.pj(k), 1e-9 * a.pj(k)) << kComponentTable[index_of(k)].key;
  // The digital units do the same plus, pipelined, the tree reduction of the copies' partial
  // weight gradients: copies - 1 adds of every weight per analog layer and batch (3 groups of a
  // batch of 8, each on its share of the copies).
  const int copies = timed->chip->controller.report().map.replicas, used = copies < 3 ? copies : copies / 3 * 3;
  EXPECT_DOUBLE_EQ(b.ops(Component::Digital) - a.ops(Component::Digital), 24.0 * (used - 1) * (16 * 32 + 32 * 4));
}

// Acceptance 6, in the direction physics says. Two chips in one simulation, the same workload.
Platform variant(std::function<void(json&)> change) {
  json j = read_json_file(std::string(TXSIM_SOURCE_DIR) + "/platforms/default.json");
  change(j);
  return platform_from_json(j, "variant");
}

uint64_t total(const HardwareReport& r, Phase ph, uint64_t Activity::*field) {
  uint64_t n = 0;
  for (const auto& l : r.layers) n += l[static_cast<int>(ph)].activity.*field;
  return n;
}

double latency(const HardwareReport& r, Phase ph) {
  double ns = 0;
  for (const auto& l : r.layers) ns += l[static_cast<int>(ph)].cost.latency_ns;
  return ns;
}

TEST(TimedDirection, MoreAdcsPerCrossbarReadFasterCostAreaSameConversions) {
  const nn::Split data = synthetic_split(32, 8, {1, 4, 4}, 4);
  const nn::Workload w = mlp_workload(32);
  // ADC-bound: a 20 ns array read; one ADC takes 64 columns / 0.64 GS/s = 100 ns, four take 25 ns.
  const Platform one = variant([](json& j) { j["crossbar"]["read_ns"] = 20; });
  const Platform four = variant([](json& j) { j["crossbar"]["read_ns"] = 20; j["adc"]["per_crossbar"] = 4; });
  ASSERT_DOUBLE_EQ(one.read_cycle_ns(), 100.0);
  ASSERT_DOUBLE_EQ(four.read_cycle_ns(), 25.0);
  // Per-slice reads convert every column of every plane and slice (folded reads convert once
  // per output, and their ADCs never bound the cycle): 16 conversions per crossbar read of the
  // 16 -> 32 layer (32 columns of a differential pair): 25 ns on one ADC, 6.25 ns on four.
  nn::DevicePreset per_slice = noisy_preset();
  per_slice.crossbar.crossbar.read_mode = ReadMode::PerSlice;
  auto a = add_case("one_adc", one, w, per_slice, data);
  auto b = add_case("four_adcs", four, w, per_slice, data);
  sc_core::sc_start();
  const HardwareReport &ra = a->chip->controller.report(), &rb = b->chip->controller.report();
  EXPECT_LT(latency(rb, Phase::Forward), latency(ra, Phase::Forward));
  EXPECT_LT(latency(rb, Phase::ActivationGradient), latency(ra, Phase::ActivationGradient));
  EXPECT_GT(rb.area_mm2, ra.area_mm2);
  EXPECT_EQ(total(rb, Phase::Forward, &Activity::adc_conversions), total(ra, Phase::Forward, &Activity::adc_conversions));
  EXPECT_GT(total(ra, Phase::Forward, &Activity::adc_conversions), 0u);
  EXPECT_LT(rb.train_ns, ra.train_ns);
}

TEST(TimedDirection, FasterWritePulsesShortenTheUpdatePhase) {
  const nn::Split data = synthetic_split(32, 8, {1, 4, 4}, 4);
  const nn::Workload w = mlp_workload(32);
  const Platform slow = variant([](json& j) { j["crossbar"]["write_pulse_ns"] = 50; });
  const Platform fast = variant([](json& j) { j["crossbar"]["write_pulse_ns"] = 10; });
  auto a = add_case("slow", slow, w, noisy_preset(), data);
  auto b = add_case("fast", fast, w, noisy_preset(), data);
  sc_core::sc_start();
  const HardwareReport &ra = a->chip->controller.report(), &rb = b->chip->controller.report();
  ASSERT_GT(latency(ra, Phase::WeightUpdate), 0);
  EXPECT_DOUBLE_EQ(latency(rb, Phase::WeightUpdate) * 5, latency(ra, Phase::WeightUpdate));  // the same slots
  EXPECT_EQ(total(ra, Phase::WeightUpdate, &Activity::program_pulses), total(rb, Phase::WeightUpdate, &Activity::program_pulses));
  EXPECT_DOUBLE_EQ(latency(rb, Phase::Forward), latency(ra, Phase::Forward));
}

TEST(TimedDirection, LargerCrossbarsHoldTheSameLayerInFewerCrossbars) {
  const nn::Split data = synthetic_split(32, 8, {1, 4, 4}, 4);
  const nn::Workload w = mlp_workload(128);
  const Platform small = variant([](json& j) { j["crossbar"]["rows"] = 32; j["crossbar"]["cols"] = 32; });
  const Platform large = variant([](json& j) { j["crossbar"]["rows"] = 128; j["crossbar"]["cols"] = 128; });
  auto a = add_case("small", small, w, noisy_preset(), data);
  auto b = add_case("large", large, w, noisy_preset(), data);
  sc_core::sc_start();
  const HardwareReport &ra = a->chip->controller.report(), &rb = b->chip->controller.report();
  // Layer 16 -> 128: 32x32 arrays: 1 x 4 tiles x 4 slices x 2 = 32 crossbars; 128x128: 1 x 1 x 4 x 2 = 8.
  EXPECT_EQ(ra.map.layers[0].where.crossbars, 32);
  EXPECT_EQ(rb.map.layers[0].where.crossbars, 8);
  EXPECT_LT(rb.map.crossbars_used, ra.map.crossbars_used);
  EXPECT_LT(total(rb, Phase::Forward, &Activity::crossbar_reads), total(ra, Phase::Forward, &Activity::crossbar_reads));
}

// Integration: every shipped platform runs a timed training (three chips in one simulation).
TEST(TimedPlatforms, EachShippedPlatformTrainsAndReports) {
  const nn::Split data = synthetic_split(32, 8, {1, 4, 4}, 4);
  const nn::Workload w = mlp_workload(32);
  std::vector<std::unique_ptr<Case>> cases;
  for (const char* name : {"isaac", "neurosim", "default"}) {
    const Platform p = load_platform(std::string(TXSIM_SOURCE_DIR) + "/platforms/" + name + ".json");
    nn::DevicePreset preset = noisy_preset();
    // NeuroSim's 5-bit cells hold a 5-bit weight in one device pair; the others slice 8 bits.
    if (8 % p.crossbar.bits_per_cell != 0) preset.crossbar.crossbar.weight_bits = p.crossbar.bits_per_cell;
    cases.push_back(add_case(name, p, w, preset, data));
  }
  sc_core::sc_start();
  for (const auto& c : cases) {
    const HardwareReport& r = c->chip->controller.report();
    SCOPED_TRACE(r.platform);
    EXPECT_EQ(r.train_samples, 64u);  // 2 epochs of 32
    EXPECT_GT(r.train_ns, 0);
    EXPECT_GT(r.train_pj, 0);
    EXPECT_GT(r.area_mm2, 0);
    EXPECT_GT(r.tops_per_watt(), 0);
    EXPECT_GT(r.layers[0][static_cast<int>(Phase::Forward)].activity.crossbar_reads, 0u);
    EXPECT_GT(r.layers[0][static_cast<int>(Phase::WeightUpdate)].cost.latency_ns, 0);
    EXPECT_EQ(c->result.epochs.size(), 2u);
    // hardware.json's breakdowns (the sweep's bars) add up to its totals: the phases run one
    // after another, and every picojoule is charged to one component.
    const json j = to_json(r);
    double joules = 0, seconds = 0;
    for (const auto& e : j.at("train_energy_by_component_joules").items()) joules += e.value().get<double>();
    for (const auto& t : j.at("train_latency_by_phase_seconds").items()) seconds += t.value().get<double>();
    EXPECT_EQ(j.at("train_energy_by_component_joules").size(), kComponentCount + 1);  // and leakage
    EXPECT_NEAR(joules, r.train_pj * 1e-12, 1e-9 * r.train_pj * 1e-12);
    EXPECT_NEAR(seconds, j.at("train_seconds").get<double>(), 1e-9 * j.at("train_seconds").get<double>());
    EXPECT_GT(j.at("train_energy_by_component_joules").at("adc").get<double>(), 0);
    EXPECT_GT(j.at("train_latency_by_phase_seconds").at("WU").get<double>(), 0);
  }
}

// Acceptance: every shipped device preset runs timed on every shipped platform it fits (all in
// one simulation); a pair that cannot fit fails with an error naming both files.
TEST(TimedPresetsOnPlatforms, EveryShippedPairRunsOrSaysWhyNot) {
  namespace fs = std::filesystem;
  const std::string root = TXSIM_SOURCE_DIR;
  const nn::Split data = synthetic_split(16, 8, {1, 4, 4}, 4);
  nn::Workload w = mlp_workload(32);
  w.train.epochs = 1;
  std::vector<std::unique_ptr<Case>> cases;
  std::vector<std::string> ran, refused;
  for (const auto& pf : fs::directory_iterator(root + "/platforms")) {
    if (pf.path().extension() != ".json") continue;
    for (const auto& df : fs::directory_iterator(root + "/workloads/devices")) {
      if (df.path().extension() != ".json") continue;
      const std::string pair = pf.path().filename().string() + " + " + df.path().filename().string();
      const Platform p = load_platform(pf.path().string());
      nn::DevicePreset preset = nn::load_device_preset(df.path().string());
      try {
        p.apply_to(preset.crossbar.crossbar, df.path().string());
        validate(preset.crossbar, df.path().string() + " on platform " + p.source);
        preset.source = df.path().string() + " on platform " + p.source;
        nn::check_device_preset(preset);
      } catch (const ConfigError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(df.path().string()), std::string::npos) << pair << ": " << what;
        EXPECT_NE(what.find(pf.path().string()), std::string::npos) << pair << ": " << what;
        EXPECT_NE(what.find("accepted"), std::string::npos) << pair << ": " << what;
        refused.push_back(pair);
        continue;
      }
      Case* c = cases.emplace_back(std::make_unique<Case>()).get();
      c->platform = p;
      c->net = nn::build_network(w, 5, nn::analog_factory(preset));
      c->chip = std::make_unique<Chip>(("pair" + std::to_string(cases.size())).c_str(), c->platform);
      c->chip->controller.configure(map_layers(c->platform, layer_shapes(*c->net)), static_cast<int>(data.train.sample_size()));
      c->chip->controller.set_work([c, w, &data] {
        nn::TrainOptions o;
        o.config = w.train;
        o.seed = 5;
        o.observer = &c->chip->controller;
        c->result = nn::train(*c->net, data, o, c->log);
      });
      ran.push_back(pair);
    }
  }
  sc_core::sc_start();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const HardwareReport& r = cases[i]->chip->controller.report();
    EXPECT_EQ(r.train_samples, 16u) << ran[i];
    EXPECT_GT(r.train_ns, 0) << ran[i];
    EXPECT_GT(r.layers[0][static_cast<int>(Phase::WeightUpdate)].activity.program_pulses, 0u) << ran[i];
  }
  // 3 platforms x 8 presets: ISAAC's write-verify 2-bit cells refuse the six analog presets;
  // NeuroSim's 5-bit cells cannot slice the two 8-bit TxSim ReRAM presets.
  EXPECT_EQ(ran.size() + refused.size(), 24u);
  EXPECT_EQ(refused.size(), 8u);
  for (const char* analog : {"pcm.json", "constant_step.json", "measured_example.json", "txsim_update.json"})
    EXPECT_NE(std::find(ran.begin(), ran.end(), std::string("default.json + ") + analog), ran.end()) << analog;
}

// A field the chosen update model ignores is an error naming it.
TEST(TimedPresetsOnPlatforms, AFieldTheUpdateModelIgnoresIsAnError) {
  const json j = json::parse(R"({"crossbar": {"rows": 16, "cols": 16, "weight_bits": 8, "bits_per_cell": 8},
                                 "update": {"kind": "linear", "nu": 0.3}})");
  try {
    nn::device_preset_from_json(j, "nu_on_linear.json");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "nu_on_linear.json: field 'update.nu' = 0.3 has no effect on update.kind \"linear\"; "
                                     "accepted: update.kind \"txsim\", or leave the field out");
  }
}

// A platform too small for the workload is an error naming the platform and the counts.
TEST(TimedMapping, TooFewCrossbarsIsAClearError) {
  const Platform tiny = variant([](json& j) { j["chip"]["tiles"] = 1; });  // 16 crossbars of 64x64
  const std::vector<LayerShape> layers = {{true, 784, 256, 104, false}};
  try {
    map_layers(tiny, layers);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("variant"), std::string::npos) << m;
    EXPECT_NE(m.find("needs 104 crossbars"), std::string::npos) << m;
    EXPECT_NE(m.find("has 16"), std::string::npos) << m;
  }
}

// Acceptance 7: the trace has the structure the Perfetto UI reads.
TEST(TimedTrace, PerfettoJsonIsWellFormedWithOneTrackPerUnit) {
  const Platform p = platform_from_json(golden_platform(), "golden platform");
  const nn::Split data = synthetic_split(8, 4, {1, 1, 6}, 3);
  auto c = add_case("traced", p, golden_workload(), golden_preset(), data);
  trace::PerfettoTrace t("test");
  c->chip->set_trace(&t, 2);
  sc_core::sc_start();
  const json j = json::parse(t.to_json().dump());
  const std::vector<std::string> problems = trace::validate_chrome_trace(j);
  for (const auto& m : problems) ADD_FAILURE() << m;
  // Tracks are "group/unit": each tile's units grouped under the tile, the links under the NoC.
  std::map<std::string, int> spans_per_track;
  std::map<long long, std::string> groups;
  std::map<std::pair<long long, long long>, std::string> names;
  for (const json& e : j["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "process_name") groups[e["pid"]] = e["args"]["name"];
  for (const json& e : j["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "thread_name")
      names[{e["pid"], e["tid"]}] = groups[e["pid"]] + "/" + e["args"]["name"].get<std::string>();
  bool args_on_reads = false;
  for (const json& e : j["traceEvents"])
    if (e["ph"] == "B") {
      const std::string track = names[{e["pid"], e["tid"]}];
      ++spans_per_track[track];
      if (track == "tile2/pe0" && e.contains("args") && e["args"].contains("energy_pj") && e["args"].contains("adc_conversions"))
        args_on_reads = true;
    }
  for (const char* track : {"controller/batches", "controller/L0 FW", "tile0/pe0", "tile0/adc_bank0", "tile0/buffer_port",
                            "tile0/digital", "tile0/programming", "tile2/pe0", "noc/link_0_2", "global_buffer/port",
                            "offchip/channel0"})
    EXPECT_GT(spans_per_track[track], 0) << track;
  EXPECT_TRUE(args_on_reads) << "a read's span carries its energy and conversions";
  // Two traced batches: the controller shows each layer-phase charged, once per batch: 2 x
  // (input + 3 FW + 2 AG (the first layer's is skipped) + 3 WG + 3 WU).
  int controller_spans = 0;
  for (const auto& [track, n] : spans_per_track)
    if (track.rfind("controller/", 0) == 0 && track != "controller/batches") controller_spans += n;
  EXPECT_EQ(controller_spans, 2 * (1 + 3 + 2 + 3 + 3));
  EXPECT_EQ(spans_per_track["controller/batches"], 2);
  // Counter tracks: the links carrying flits, the bytes the tile buffers hold (up in FW, down
  // to zero by the end of each batch's backward pass).
  std::map<std::string, std::vector<double>> counters;
  for (const json& e : j["traceEvents"])
    if (e["ph"] == "C") counters[e["name"]].push_back(e["args"]["value"]);
  ASSERT_FALSE(counters["NoC links busy"].empty());
  EXPECT_EQ(counters["NoC links busy"].back(), 0);
  ASSERT_FALSE(counters["tile buffers held (bytes)"].empty());
  EXPECT_GT(*std::max_element(counters["tile buffers held (bytes)"].begin(), counters["tile buffers held (bytes)"].end()), 0);
  EXPECT_EQ(counters["tile buffers held (bytes)"].back(), 0);
}

// Jobs through the registers and DMA: a bad descriptor, a malformed data region and too small a
// result region end with ERROR and their codes (the interrupt each time); a good job ends DONE
// with the results in memory.
std::vector<unsigned char> idx_images(int n, int h, int w, uint64_t seed) {
  std::vector<unsigned char> b = {0, 0, 8, 3, 0, 0, 0, static_cast<unsigned char>(n), 0, 0, 0, static_cast<unsigned char>(h),
                                  0, 0, 0, static_cast<unsigned char>(w)};
  for (int i = 0; i < n * h * w; ++i) b.push_back(static_cast<unsigned char>((i * 37 + seed * 11 + (i / (h * w)) % 4 * 60) % 256));
  return b;
}
std::vector<unsigned char> idx_labels(int n) {
  std::vector<unsigned char> b = {0, 0, 8, 1, 0, 0, 0, static_cast<unsigned char>(n)};
  for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(i % 4));
  return b;
}

struct JobHost : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<JobHost> bus;
  sc_core::sc_in<bool> irq;
  std::function<void(JobHost&)> body;
  SC_HAS_PROCESS(JobHost);
  explicit JobHost(sc_core::sc_module_name n) : sc_core::sc_module(n), bus("bus"), irq("irq") { SC_THREAD(run); }
  void run() { body(*this); }
  tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t a, void* p, unsigned n) {
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(a);
    t.set_data_ptr(static_cast<unsigned char*>(p));
    t.set_data_length(n);
    t.set_streaming_width(n);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    bus->b_transport(t, d);
    wait(d);
    return t.get_response_status();
  }
  void reg(uint32_t offset, uint32_t v) { EXPECT_EQ(access(tlm::TLM_WRITE_COMMAND, 0x4000'0000 + offset, &v, 4), tlm::TLM_OK_RESPONSE); }
  uint32_t reg(uint32_t offset) {
    uint32_t v = 0;
    EXPECT_EQ(access(tlm::TLM_READ_COMMAND, 0x4000'0000 + offset, &v, 4), tlm::TLM_OK_RESPONSE);
    return v;
  }
  // Puts the descriptor at 0x1000 and the data at 0x10000, runs a job, returns STATUS.
  uint32_t job(const std::string& descriptor, const std::vector<unsigned char>& data, uint32_t result_size) {
    std::string d = descriptor;
    std::vector<unsigned char> x = data;
    EXPECT_EQ(access(tlm::TLM_WRITE_COMMAND, 0x1000, d.data(), static_cast<unsigned>(d.size())), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(access(tlm::TLM_WRITE_COMMAND, 0x10000, x.data(), static_cast<unsigned>(x.size())), tlm::TLM_OK_RESPONSE);
    reg(0x10, 0x1000);
    reg(0x18, static_cast<uint32_t>(d.size()));
    reg(0x20, 0x10000);
    reg(0x28, static_cast<uint32_t>(x.size()));
    reg(0x30, 0x40000);
    reg(0x38, result_size);
    reg(0x08, bits::kDone | bits::kError);
    reg(0x00, bits::kStart);
    EXPECT_EQ(reg(0x04), bits::kBusy);
    wait(irq.posedge_event());
    const uint32_t status = reg(0x04);
    reg(0x0C, bits::kDone | bits::kError);
    return status;
  }
};

// The accelerator on a bus with 1 MiB of memory at 0 and its registers at 0x4000_0000.
struct JobBench {
  JobHost host{"host"};
  Memory memory{"memory", 1 << 20};
  Router router{"router"};
  TrainingAccelerator acc;
  sc_core::sc_signal<bool> irq{"irq"};
  explicit JobBench(const Platform& p) : acc("acc", p) {
    host.bus.bind(router.in);
    acc.top.dma.bind(router.in);
    router.add_target(0, 1 << 20);
    router.out.bind(memory.socket);
    router.add_target(0x4000'0000, kRegisterSpan);
    router.out.bind(acc.top.regs);
    acc.top.irq(irq);
    host.irq(irq);
  }
};

json tiny_descriptor() {
  return {{"workload", json::parse(R"({"name": "tiny", "dataset": "synthetic", "input": [1, 4, 4], "classes": 4,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 16, "out": 8, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 8, "out": 4}], "train": {"epochs": 1, "batch": 8, "lr": 0.05}})")},
          {"device", json::parse(R"({"crossbar": {"weight_bits": 8, "bits_per_cell": 2, "read_mode": "folded"}})")},
          {"seed", 5}};
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST(TrainingAcceleratorJob, RegistersAndDmaOnlyWithErrorCodes) {
  const Platform p = default_platform();
  JobBench bench(p);
  JobHost& host = bench.host;
  TrainingAccelerator& acc = bench.acc;
  sc_core::sc_signal<bool>& irq = bench.irq;
  const IdxFiles files = {idx_images(32, 4, 4, 1), idx_labels(32), idx_images(8, 4, 4, 2), idx_labels(8)};
  const std::vector<unsigned char> data = pack_data_region(files);
  const json d = tiny_descriptor();
  std::string results;
  host.body = [&](JobHost& h) {
    json bad = d;
    bad["epochs"] = 0;
    EXPECT_EQ(h.job(bad.dump(), data, 1 << 16), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kBadDescriptor);
    EXPECT_NE(acc.last_error().find("epochs"), std::string::npos) << acc.last_error();
    std::vector<unsigned char> broken = data;
    broken[0] = 'X';
    EXPECT_EQ(h.job(d.dump(), broken, 1 << 16), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kBadData);
    EXPECT_EQ(h.job(d.dump(), data, 64), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kResultTooSmall);
    EXPECT_EQ(h.job(d.dump(), data, 1 << 16), bits::kDone);
    EXPECT_EQ(h.reg(0x3C), errors::kNone);
    std::vector<unsigned char> region(1 << 16);
    EXPECT_EQ(h.access(tlm::TLM_READ_COMMAND, 0x40000, region.data(), static_cast<unsigned>(region.size())), tlm::TLM_OK_RESPONSE);
    results = unpack_result(region);
  };
  sc_core::sc_start();
  ASSERT_FALSE(results.empty());
  const json r = json::parse(results);
  EXPECT_EQ(r["hardware"]["train_samples"], 32);
  EXPECT_EQ(r["hardware"]["eval_samples"], 8);
  // The accuracy is the functional run's (the same workload, device, seed, recipe and data,
  // trained here without the accelerator), bit for bit: the timed model changes no number.
  {
    nn::Workload w = nn::workload_from_json(d["workload"], "tiny");
    nn::DevicePreset preset = nn::device_preset_from_json(d["device"], "device");
    p.apply_to(preset.crossbar.crossbar);
    nn::Split split;
    split.train = nn::parse_idx(files[0], "train images", files[1], "train labels", w.classes);
    split.test = nn::parse_idx(files[2], "test images", files[3], "test labels", w.classes);
    nn::normalize_named(w.dataset, split.train);
    nn::normalize_named(w.dataset, split.test);
    const nn::TrainResult f = functional_run(w, preset, split, 5);
    EXPECT_EQ(r["final_test_accuracy"].get<double>(), f.final_test_accuracy);
    ASSERT_EQ(r["epochs"].size(), f.epochs.size());
    EXPECT_EQ(r["epochs"][0]["train_loss"].get<double>(), f.epochs[0].train_loss);
  }
  EXPECT_GT(r["hardware"]["train_seconds"].get<double>(), 0.0);
  EXPECT_FALSE(irq.read());  // acknowledged
}


// Issue 17, defect 11 (no test had it): the timed model on a residual network. Every weighted
// layer, the projection shortcut's 1x1 convolution included, is mapped and charged in each phase
// of every training batch (hand count: 2 epochs x 96 / 16 batches), and the accuracy and final
// losses are the functional run's, bit for bit.
TEST(Issue17Defect11Timed, ResidualNetworkIsChargedLayerByLayer) {
  const nn::Split data = synthetic_split(96, 32, {2, 6, 6}, 3);
  const nn::Workload w = nn::workload_from_json(json::parse(R"({"name": "res", "dataset": "synthetic", "input": [2, 6, 6], "classes": 3,
    "layers": [{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1, "analog": true}, {"type": "relu"},
               {"type": "residual", "main": [{"type": "conv2d", "out": 8, "kernel": 3, "padding": 1, "stride": 2, "analog": true},
                                              {"type": "relu"}, {"type": "conv2d", "out": 8, "kernel": 3, "padding": 1, "analog": true}],
                "shortcut": [{"type": "conv2d", "out": 8, "kernel": 1, "stride": 2, "bias": false, "analog": true}]},
               {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "in": 72, "out": 3}],
    "train": {"epochs": 2, "batch": 16, "lr": 0.05}})"), "residual workload");
  Platform p = default_platform();
  nn::DevicePreset preset = noisy_preset();
  auto timed = add_case("timed", p, w, preset, data);
  sc_core::sc_start();
  p.apply_to(preset.crossbar.crossbar);
  const nn::TrainResult f = functional_run(w, preset, data, 7);
  ASSERT_EQ(timed->result.epochs.size(), 2u);
  for (int e = 0; e < 2; ++e) EXPECT_EQ(timed->result.epochs[e].train_loss, f.epochs[e].train_loss) << e;
  const HardwareReport& r = timed->chip->controller.report();
  ASSERT_EQ(r.layers.size(), 5u);  // conv, main conv x 2, shortcut conv, linear
  EXPECT_EQ(r.train_batches, 12u);
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    EXPECT_EQ(r.layers[l][static_cast<int>(Phase::Forward)].calls, 12u) << "layer " << l;
    EXPECT_EQ(r.layers[l][static_cast<int>(Phase::WeightGradient)].calls, 12u) << "layer " << l;
    EXPECT_GT(r.layers[l][static_cast<int>(Phase::Forward)].cost.latency_ns, 0) << "layer " << l;
  }
  // The first layer propagates no activation gradient; the others do, in every batch.
  EXPECT_EQ(r.layers[0][static_cast<int>(Phase::ActivationGradient)].calls, 0u);
  for (std::size_t l = 1; l < r.layers.size(); ++l)
    EXPECT_EQ(r.layers[l][static_cast<int>(Phase::ActivationGradient)].calls, 12u) << "layer " << l;
  // The shortcut's 1x1 conv takes the block's 4 channels to 8: 4 x 8 weights per output
  // position, 3 x 3 positions (stride 2), 16 samples per batch, 12 batches.
  EXPECT_EQ(r.layers[3][static_cast<int>(Phase::Forward)].macs, 12ull * 16 * 9 * 4 * 8);
}

// Defect 4 of issue 17: DATA_SIZE = 0xFFFFFFFF made the model allocate and zero 4 GiB before
// the DMA failed. Now the job ends with DMA_ERROR having taken no more than the 1 MiB memory
// holds (the peak resident size grows by far less than 4 GiB: under 64 MiB).
TEST(Issue17Defect4Accelerator, HugeDataSizeFailsWithoutAllocatingIt) {
  JobBench b(default_platform());
  const std::vector<unsigned char> data =
      pack_data_region({idx_images(32, 4, 4, 1), idx_labels(32), idx_images(8, 4, 4, 2), idx_labels(8)});
  long before = 0, after = 0;
  b.host.body = [&](JobHost& h) {
    const std::string d = tiny_descriptor().dump();
    std::string text = d;
    h.access(tlm::TLM_WRITE_COMMAND, 0x1000, text.data(), static_cast<unsigned>(text.size()));
    h.reg(0x10, 0x1000);
    h.reg(0x18, static_cast<uint32_t>(d.size()));
    h.reg(0x20, 0x10000);
    h.reg(0x28, 0xFFFFFFFFu);
    h.reg(0x30, 0x40000);
    h.reg(0x38, 1 << 16);
    h.reg(0x08, bits::kDone | bits::kError);
    before = max_rss_kib();
    h.reg(0x00, bits::kStart);
    wait(h.irq.posedge_event());
    after = max_rss_kib();
    EXPECT_EQ(h.reg(0x04), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kDmaError);
    EXPECT_NE(b.acc.last_error().find("DATA_SIZE 4294967295"), std::string::npos) << b.acc.last_error();
  };
  sc_core::sc_start();
  EXPECT_LT(after - before, 64 * 1024) << "peak RSS grew by " << (after - before) << " KiB";
}

// The DOES_NOT_FIT and DIVERGED codes (no test had them): a chip of one crossbar cannot hold
// the tiny network's 8 (4 slices x 2 polarities); a learning rate of 1e6 with weight decay 1
// makes the loss non-finite.
TEST(Issue17Defect11Accelerator, DoesNotFitAndDivergedCodes) {
  Platform p = default_platform();
  p.tiles = 1;
  p.pes_per_tile = 1;
  p.crossbars_per_pe = 1;
  JobBench b(p);
  const std::vector<unsigned char> data =
      pack_data_region({idx_images(32, 4, 4, 1), idx_labels(32), idx_images(8, 4, 4, 2), idx_labels(8)});
  b.host.body = [&](JobHost& h) {
    EXPECT_EQ(h.job(tiny_descriptor().dump(), data, 1 << 16), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kDoesNotFit);
    // Digital layers at lr 1e6 with weight decay 1: each step multiplies the weights by about
    // -1e6, so they overflow within a few steps and the loss is not finite.
    json digital = tiny_descriptor();
    digital.erase("device");
    digital["workload"]["train"]["weight_decay"] = 1;
    digital["lr"] = 1e6;
    digital["epochs"] = 5;  // 20 steps
    EXPECT_EQ(h.job(digital.dump(), data, 1 << 16), bits::kError);
    EXPECT_EQ(h.reg(0x3C), errors::kDiverged);
    EXPECT_NE(b.acc.last_error().find("diverged"), std::string::npos) << b.acc.last_error();
  };
  sc_core::sc_start();
}

}  // namespace
}  // namespace txsim::hw
