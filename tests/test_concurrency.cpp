// The concurrent timed model against closed forms (issue 19): units that keep when they are free,
// a pipeline of layers over groups of samples, links shared by transfers, ADC banks shared by
// crossbars, and bottlenecks that move as the arithmetic says. SystemC; one process per test.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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
#include "txsim/tlm/cost_model/occupancy.h"
#include "txsim/tlm/cost_model/schedule.h"
#include "txsim/tlm/systemc/timed.h"
#include "timed_fixtures.h"

namespace txsim::hw {
namespace {

using nlohmann::json;
using sc_core::sc_time;
using sc_core::SC_NS;

// The golden platform made into a chain: `tiles` tiles of one PE of one 8x8 crossbar each, no
// replication, so layer k of a chain of analog layers sits alone on tile k. Reads take 100 ns;
// everything else is far faster or free (ADCs at 100 GS/s, buffers and links in no time).
json chain_platform(int tiles, const char* pipeline) {
  json p = golden_platform();
  p["name"] = "chain";
  p["crossbar"]["read_ns"] = 100;
  p["adc"]["per_crossbar"] = 1;
  p["adc"]["gsps"] = 100;
  p["pe"]["crossbars"] = 1;
  p["tile"]["pes"] = 1;
  p["tile"]["buffer"]["kib"] = 64;
  p["tile"]["buffer"]["width_bytes"] = 4096;
  p["tile"]["buffer"]["latency_ns"] = 0;
  p["chip"]["replication"] = false;
  p["chip"].erase("global_buffer");
  p["noc"]["hop_ns"] = 0;
  p["chip"]["tiles"] = tiles;
  p["chip"]["pipeline"] = pipeline;
  if (std::string(pipeline) == "layers") p["chip"]["pipeline_group"] = 4;
  return p;
}

// A forward pass of `stages` equal analog layers (8 -> 8, one crossbar) over `samples` samples,
// `reads` crossbar reads per sample, reported to the controller as the functional core would.
void forward_chain(Controller& c, int stages, int samples, int reads) {
  c.on_batch(samples, false);
  for (int k = 0; k < stages; ++k) {
    nn::PhaseEvent e;
    e.phase = Phase::Forward;
    e.index = k;
    e.rows = samples;
    e.in = e.out = 8;
    e.input_values = static_cast<uint64_t>(samples) * 8;
    e.analog = true;
    e.activity.crossbar_reads = static_cast<uint64_t>(samples) * reads;
    e.activity.adc_conversions = static_cast<uint64_t>(samples) * 8;
    e.activity.dac_conversions = static_cast<uint64_t>(samples) * reads * 8;
    c.on_phase(e);
  }
  c.sync();
}

ChipMap chain_map(const Platform& p, int stages) {
  std::vector<LayerShape> shapes(stages, LayerShape{true, 8, 8, 1, false});
  return map_layers(p, shapes);
}

// Acceptance 1: a chain of equal stages, "layers": (groups + stages - 1) x the stage time;
// "none": stages x the whole batch's time.
TEST(Pipeline, ChainOfEqualStagesReachesGroupsPlusStagesMinusOneStageTimes) {
  const int stages = 4, samples = 32, reads = 7;  // groups of 4: 8 groups; a group's stage: 4 x 7 x 100 ns
  const Platform pl = platform_from_json(chain_platform(stages, "layers"), "chain layers");
  const Platform ps = platform_from_json(chain_platform(stages, "none"), "chain none");
  Chip layers("layers", pl), serial("serial", ps);
  layers.controller.configure(chain_map(pl, stages), 0);
  serial.controller.configure(chain_map(ps, stages), 0);
  layers.controller.set_work([&] { forward_chain(layers.controller, stages, samples, reads); });
  serial.controller.set_work([&] { forward_chain(serial.controller, stages, samples, reads); });
  sc_core::sc_start();
  const double stage_ns = 4 * reads * 100.0, groups = samples / 4;
  EXPECT_DOUBLE_EQ(layers.controller.report().eval_ns, (groups + stages - 1) * stage_ns);
  EXPECT_DOUBLE_EQ(serial.controller.report().eval_ns, stages * groups * stage_ns);
  // The units' records count training batches only.
  for (const Chip* chip : {&layers, &serial})
    for (const UnitRecord& u : chip->controller.report().units) {
      EXPECT_EQ(u.jobs, 0u) << "evaluation batches are not counted: " << u.name;
    }
}

// A pipelined training counts units: the crossbars' busy time is the reads' time, exactly.
TEST(Pipeline, TrainingBatchesBookEveryUnitTheirBusyTime) {
  const int stages = 3, samples = 16, reads = 5;
  const Platform p = platform_from_json(chain_platform(stages, "layers"), "chain layers");
  Chip chip("chip", p);
  chip.controller.configure(chain_map(p, stages), 0);
  chip.controller.set_work([&] {
    chip.controller.on_batch(samples, true);
    for (int k = 0; k < stages; ++k) {
      nn::PhaseEvent e;
      e.phase = Phase::Forward;
      e.index = k;
      e.rows = samples;
      e.in = e.out = 8;
      e.input_values = static_cast<uint64_t>(samples) * 8;
      e.analog = true;
      e.activity.crossbar_reads = static_cast<uint64_t>(samples) * reads;
      chip.controller.on_phase(e);
    }
    chip.controller.sync();
  });
  sc_core::sc_start();
  const HardwareReport& r = chip.controller.report();
  // 4 groups of 4 samples through 3 stages of 4 x 5 x 100 ns: (4 + 3 - 1) x 2000 ns.
  EXPECT_DOUBLE_EQ(r.train_ns, 6 * 2000.0);
  // Every group's input is there at once, so stage 0's groups queue for its crossbars (0, 2000,
  // 4000 and 6000 ns); each later stage gets a group just as it finished the one before.
  int pes = 0;
  for (const UnitRecord& u : r.units)
    if (u.kind == UnitKind::Crossbars) {
      EXPECT_EQ(u.jobs, 4u) << u.name;
      EXPECT_DOUBLE_EQ(u.busy_ns[0], 4 * 2000.0) << u.name;
      EXPECT_DOUBLE_EQ(u.wait_ns, pes == 0 ? 12000.0 : 0.0) << u.name;
      ++pes;
    }
  EXPECT_EQ(pes, stages);
  // Stage k's first group waits for k stages: on the critical path, the crossbars set it all.
  const auto use = use_by_kind(r);
  EXPECT_DOUBLE_EQ(use[static_cast<std::size_t>(UnitKind::Crossbars)].critical_share, 1.0);
  EXPECT_DOUBLE_EQ(use[static_cast<std::size_t>(UnitKind::Crossbars)].utilization, 4 * 2000.0 / (6 * 2000.0));
}

// An initiator that sends jobs to a station, all at time 0 (temporally decoupled: each with its
// own delay) or each when the one before ended (back_to_back), and keeps when each ended.
struct Sender : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Sender> port;
  std::vector<Job> jobs;
  std::vector<double> ends_ns;
  bool back_to_back = false;
  SC_HAS_PROCESS(Sender);
  explicit Sender(sc_core::sc_module_name n) : sc_core::sc_module(n), port("port") { SC_THREAD(run); }
  void run() {
    for (Job& j : jobs) {
      tlm::tlm_generic_payload t;
      t.set_command(tlm::TLM_IGNORE_COMMAND);
      t.set_extension(&j);
      sc_time delay = back_to_back && !ends_ns.empty() ? sc_time(ends_ns.back(), SC_NS) : sc_core::SC_ZERO_TIME;
      port->b_transport(t, delay);
      t.clear_extension(&j);
      EXPECT_TRUE(t.is_response_ok());
      ends_ns.push_back(delay.to_seconds() * 1e9);
    }
  }
};

Job transfer(int from, int to, uint64_t bytes) {
  Job j;
  j.kind = Job::Kind::Transfer;
  j.from = from;
  j.to = to;
  j.bytes = bytes;
  return j;
}

// Acceptance 1: two transfers over one link take the sum of their times; over disjoint links,
// the longer one's. A 2x2 mesh, 1 ns per hop, 4-byte flits: 40 bytes over one hop = (1 + 10 - 1)
// x 1 = 10 ns, 20 bytes = 5 ns.
TEST(Interconnect, SharedLinkSumsDisjointLinksOverlap) {
  const Platform p = platform_from_json(chain_platform(4, "none"), "mesh");
  Platform q = p;
  q.noc.hop_ns = 1;
  std::vector<UnitRecord> records;
  Interconnect noc("noc", q, &records);
  Sender shared("shared"), disjoint("disjoint"), two_hops("two_hops");
  std::vector<UnitRecord> r2, r3;  // a NoC per case, so that the cases do not share links
  Interconnect noc2("noc2", q, &r2), noc3("noc3", q, &r3);
  shared.port.bind(noc.socket);
  disjoint.port.bind(noc2.socket);
  two_hops.port.bind(noc3.socket);
  shared.jobs = {transfer(0, 1, 40), transfer(0, 1, 20)};    // both over link 0->1
  disjoint.jobs = {transfer(0, 1, 40), transfer(2, 3, 20)};  // links 0->1 and 2->3
  // 0 -> 3 is X then Y: links 0->1, 1->3 (2 hops: (2 + 10 - 1) x 1 = 11 ns); then 1 -> 3 shares
  // the second link: it waits until 0->3's flits have left it.
  two_hops.jobs = {transfer(0, 3, 40), transfer(1, 3, 20)};
  EXPECT_EQ(noc3.route(0, 3).size(), 2u);
  sc_core::sc_start();
  ASSERT_EQ(shared.ends_ns.size(), 2u);
  EXPECT_DOUBLE_EQ(shared.ends_ns[0], 10);
  EXPECT_DOUBLE_EQ(shared.ends_ns[1], 10 + 5);
  EXPECT_DOUBLE_EQ(disjoint.ends_ns[0], 10);
  EXPECT_DOUBLE_EQ(disjoint.ends_ns[1], 5);
  EXPECT_DOUBLE_EQ(two_hops.ends_ns[0], 11);
  // On link 1->3 the first transfer's head arrives at 1 ns and holds it 10 ns: to 11 ns.
  EXPECT_DOUBLE_EQ(two_hops.ends_ns[1], 11 + 5);
  double waited = 0;
  for (const UnitRecord& u : records) waited += u.wait_ns;
  EXPECT_DOUBLE_EQ(waited, 10);  // the second transfer on the shared link waited 10 ns
}

// Acceptance 1: the crossbars of a PE share its ADC bank (per_crossbar ADCs each); a read is
// array-bound until its conversions per ADC at gsps take longer than its cycles of read_ns, and
// ADC-bound after, exactly where the arithmetic puts the crossing.
TEST(AdcBank, CrossbarsSharingABankBecomeAdcBoundWhereTheArithmeticSays) {
  json j = chain_platform(1, "none");
  j["pe"]["crossbars"] = 4;
  j["adc"]["per_crossbar"] = 2;
  j["adc"]["gsps"] = 1.0;  // a conversion per ns: 8 ADCs in the bank
  const Platform p = platform_from_json(j, "bank");
  std::vector<UnitRecord> records;
  Tile tile("tile", p, &records, 0);
  Sender s("s");
  s.back_to_back = true;
  s.port.bind(tile.socket);
  // 4 crossbars x 10 reads: 1000 ns of reads. The bank's 8 ADCs take conversions / 8 ns; the
  // crossing is at 8000 conversions. Each job is sent when the one before ended: nothing queues.
  const std::vector<uint64_t> conversions = {4000, 7992, 8000, 8008, 16000};
  std::vector<Activity> acts(conversions.size());
  for (std::size_t k = 0; k < conversions.size(); ++k) {
    acts[k].crossbar_reads = 40;
    acts[k].adc_conversions = conversions[k];
    Job job;
    job.kind = Job::Kind::Read;
    job.activity = &acts[k];
    job.where.crossbars = 4;
    job.first_crossbar = 0;
    job.crossbars = 4;
    s.jobs.push_back(job);
  }
  sc_core::sc_start();
  ASSERT_EQ(s.ends_ns.size(), conversions.size());
  double previous_end = 0;
  for (std::size_t k = 0; k < conversions.size(); ++k) {
    const double adc = std::ceil(conversions[k] / 8.0), array = 1000;
    const double took = s.ends_ns[k] - previous_end;
    EXPECT_DOUBLE_EQ(took, std::max(adc, array)) << conversions[k];
    EXPECT_EQ(s.jobs[k].bound, adc > array ? UnitKind::AdcBank : UnitKind::Crossbars) << conversions[k];
    previous_end = s.ends_ns[k];
  }
  // The bank was busy for all conversions it did; the PE's crossbars for all reads.
  double bank = 0, pe = 0;
  for (const UnitRecord& u : records) {
    if (u.kind == UnitKind::AdcBank) bank += u.busy_total_ns();
    if (u.kind == UnitKind::Crossbars) pe += u.busy_total_ns();
  }
  EXPECT_DOUBLE_EQ(bank, 500 + 999 + 1000 + 1001 + 2000);
  EXPECT_DOUBLE_EQ(pe, 5 * 1000.0);
}

// The golden case of test_timed.cpp, pipelined over groups of one sample, without a global
// buffer: digital 6 -> 8, analog 8 -> 4, analog 4 -> 3 on 4 tiles of 2 PEs of 2 8x8 crossbars.
json small_platform(double digital_macs_per_ns) {
  json p = golden_platform();
  p["name"] = "small";
  p["chip"].erase("global_buffer");
  p["chip"]["pipeline"] = "layers";
  p["chip"]["pipeline_group"] = 1;
  p["tile"]["digital"]["macs_per_ns"] = digital_macs_per_ns;
  return p;
}

struct Trained {
  Platform platform;
  std::unique_ptr<nn::Network> net;
  std::unique_ptr<Chip> chip;
  std::ostringstream log;
};

std::unique_ptr<Trained> train_on(const char* name, const json& platform, const nn::Split& data) {
  auto t = std::make_unique<Trained>();
  t->platform = platform_from_json(platform, name);
  nn::DevicePreset preset = golden_preset();
  t->platform.apply_to(preset.crossbar.crossbar);
  const nn::Workload w = golden_workload();
  t->net = nn::build_network(w, 7, nn::analog_factory(preset));
  t->chip = std::make_unique<Chip>(name, t->platform);
  t->chip->controller.configure(map_layers(t->platform, layer_shapes(*t->net)), static_cast<int>(data.train.sample_size()));
  Trained* raw = t.get();
  raw->chip->controller.set_work([raw, w, &data] {
    nn::TrainOptions o;
    o.config = w.train;
    o.seed = 7;
    o.observer = &raw->chip->controller;
    nn::train(*raw->net, data, o, raw->log);
  });
  return t;
}

// Acceptance 1: the tiles' digital units twice as fast: each of them is busy half as long, no
// other unit's busy time changes, and the bottleneck moves to the unit the halved figures predict.
TEST(Bottleneck, AUnitTwiceAsFastHalvesItsBusyTimeAndMovesTheBottleneckAsPredicted) {
  const nn::Split data = {nn::synthetic(8, {1, 1, 6}, 3, 3, 0), nn::synthetic(4, {1, 1, 6}, 3, 3, 1)};
  auto slow = train_on("slow", small_platform(0.5), data);
  auto fast = train_on("fast", small_platform(1.0), data);
  sc_core::sc_start();
  const HardwareReport &a = slow->chip->controller.report(), &b = fast->chip->controller.report();
  ASSERT_EQ(a.units.size(), b.units.size());
  const UnitRecord* before = bottleneck(a);
  ASSERT_NE(before, nullptr);
  ASSERT_EQ(before->kind, UnitKind::Digital) << "the slow digital units bound the batch";
  // The prediction: the slow run's busy times, the digital units' halved.
  std::size_t predicted = 0;
  double most = -1;
  for (std::size_t u = 0; u < a.units.size(); ++u) {
    const double half = a.units[u].kind == UnitKind::Digital ? 0.5 : 1.0;
    for (std::size_t ph = 0; ph < kBusyPhases; ++ph)
      EXPECT_DOUBLE_EQ(b.units[u].busy_ns[ph], half * a.units[u].busy_ns[ph]) << a.units[u].name << " phase " << ph;
    if (half * a.units[u].busy_total_ns() > most) most = half * a.units[u].busy_total_ns(), predicted = u;
  }
  const UnitRecord* after = bottleneck(b);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->name.substr(after->name.find('.')), a.units[predicted].name.substr(a.units[predicted].name.find('.')));
  EXPECT_NE(after->name.substr(after->name.find('.')), before->name.substr(before->name.find('.'))) << "the bottleneck moved";
  EXPECT_LT(b.train_ns, a.train_ns);
  std::printf("bottleneck %s (%.0f ns busy) -> %s (%.0f ns busy); batch %.0f -> %.0f ns\n", before->name.c_str(),
              before->busy_total_ns(), after->name.c_str(), after->busy_total_ns(), a.batch_ns(), b.batch_ns());
}

// The occupancy calendar by hand: first fit at or after the arrival, gaps reused.
TEST(Occupancy, FirstFreeGapAtOrAfterArrival) {
  Occupancy o;
  EXPECT_EQ(o.book(0, 10), 0);    // [0, 10)
  EXPECT_EQ(o.book(5, 10), 10);   // busy: after 10 -> [10, 20)
  EXPECT_EQ(o.book(30, 5), 30);   // [30, 35)
  EXPECT_EQ(o.book(0, 10), 20);   // the gap [20, 30) holds it
  EXPECT_EQ(o.book(0, 1), 35);    // no gap left before 35
  EXPECT_EQ(o.book(50, 0), 50);   // nothing to hold
  o.forget_before(36);
  EXPECT_EQ(o.book(0, 1), 0);     // forgotten: free again
}

}  // namespace
}  // namespace txsim::hw
