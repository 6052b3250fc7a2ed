// The activity record's reader against hand-made records: each rule of check_events refuses the
// record that breaks it, naming the event, and a record that keeps them all reads back as written
// and replays its calls in order (a counting observer is the oracle).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "txsim/nn/activity_record.h"

namespace {

using txsim::nn::ActivityRecord;
using txsim::nn::RecordedEvent;

RecordedEvent batch(uint64_t samples, bool train = true) {
  RecordedEvent e;
  e.kind = RecordedEvent::kBatch;
  e.value = samples;
  e.flag = train;
  return e;
}
RecordedEvent phase(uint64_t p, uint64_t layer, uint64_t in, uint64_t out, bool analog, uint64_t rows = 8) {
  RecordedEvent e;
  e.kind = RecordedEvent::kPhase;
  e.value = p;
  e.index = layer;
  e.in = in;
  e.out = out;
  e.flag = analog;
  e.rows = rows;
  e.activity.crossbar_reads = 3;
  return e;
}
RecordedEvent epoch(uint64_t n) {
  RecordedEvent e;
  e.kind = RecordedEvent::kEpoch;
  e.value = n;
  return e;
}

ActivityRecord two_layers() {
  ActivityRecord r;
  r.label = "hand-made";
  r.sample_values = 16;
  txsim::nn::RecordedLayer digital, analog;
  digital.in = 16;
  digital.out = 8;
  analog.analog = true;
  analog.in = 8;
  analog.out = 4;
  analog.crossbars = 2;
  analog.rows = analog.cols = 64;
  analog.weight_bits = 8;
  analog.bits_per_cell = 2;
  analog.dac_bits = 1;
  analog.adc_bits = 8;
  r.layers = {digital, analog};
  r.events = {batch(8), phase(0, 0, 16, 8, false), phase(0, 1, 8, 4, true), epoch(1)};
  return r;
}

std::string refusal(const ActivityRecord& r) {
  try {
    txsim::nn::record_from_bytes(txsim::nn::record_bytes(r), "hand.txa");
  } catch (const txsim::StateError& e) {
    return e.what();
  }
  return "accepted";
}

struct Counter : txsim::nn::PhaseObserver {
  std::string calls;
  void on_batch(int samples, bool train) override { calls += "B" + std::to_string(samples) + (train ? "t " : "e "); }
  void on_phase(const txsim::nn::PhaseEvent& e) override {
    calls += "P" + std::to_string(static_cast<int>(e.phase)) + "L" + std::to_string(e.index) + "r" +
             std::to_string(e.activity.crossbar_reads) + " ";
  }
  void on_epoch(int n) override { calls += "E" + std::to_string(n) + " "; }
};

TEST(ActivityRecord, ReadsBackAndReplaysInOrder) {
  const ActivityRecord r = txsim::nn::record_from_bytes(txsim::nn::record_bytes(two_layers()), "hand.txa");
  EXPECT_EQ(r.label, "hand-made");
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_TRUE(r.layers[1].analog);
  EXPECT_EQ(r.layers[1].adc_bits, 8);
  EXPECT_EQ(r.train_samples(), 8u);
  Counter c;
  r.replay(c);
  EXPECT_EQ(c.calls, "B8t P0L0r3 P0L1r3 E1 ");
}

TEST(ActivityRecord, RefusesEachBrokenRuleNamingTheEvent) {
  auto with = [](auto change) {
    ActivityRecord r = two_layers();
    change(r);
    return refusal(r);
  };
  EXPECT_EQ(with([](ActivityRecord&) {}), "accepted");
  EXPECT_NE(with([](ActivityRecord& r) { r.events.insert(r.events.begin(), phase(0, 0, 16, 8, false)); }).find("event 0: a phase before any batch"),
            std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[1].value = 4; }).find("event 1: phase 4: accepted 0 (FW) .. 3 (WU)"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[1].index = 2; }).find("event 1: layer 2: the record has 2 layers"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[2].in = 9; }).find("event 2: a 9 x 4 phase of layer 1, which is 8 x 4"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[2].flag = 0; }).find("event 2: the analog flag 0 of layer 1, which is analog"),
            std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[0].value = 0; }).find("event 0: a batch of 0 samples"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[3].value = 2; }).find("event 3: epoch 2 after epoch 0"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.events[0].kind = 3; }).find("event 0: kind 3"), std::string::npos);
  // Rows must fit an int: 2^31 - 1 is read, 2^31 is not.
  EXPECT_EQ(with([](ActivityRecord& r) { r.events[1].rows = (uint64_t(1) << 31) - 1; }), "accepted");
  EXPECT_NE(with([](ActivityRecord& r) { r.events[1].rows = uint64_t(1) << 31; }).find("event 1: 2147483648 rows"), std::string::npos);
  // The header: an analog layer without its crossbar, and no layers at all.
  EXPECT_NE(with([](ActivityRecord& r) { r.layers[1].rows = 0; }).find("header.layers[1].crossbar.rows: 0"), std::string::npos);
  EXPECT_NE(with([](ActivityRecord& r) { r.layers.clear(); }).find("header.layers"), std::string::npos);
}

TEST(ActivityRecord, RefusesForeignAndTruncatedBytes) {
  const std::string good = txsim::nn::record_bytes(two_layers());
  auto reading = [](const std::string& bytes) {
    try {
      txsim::nn::record_from_bytes(bytes, "f.txa");
    } catch (const txsim::StateError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(reading("TXSIMCKP" + good.substr(8)).find("f.txa: not a TxSim activity record"), std::string::npos);
  for (std::size_t cut : {std::size_t(9), good.size() / 2, good.size() - 1})
    EXPECT_NE(reading(good.substr(0, cut)).find("f.txa"), std::string::npos) << cut;
  EXPECT_NE(reading(good + "x").find("bytes after the events"), std::string::npos);
}

}  // namespace
