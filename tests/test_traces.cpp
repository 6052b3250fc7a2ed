// The trace writers without SystemC: the Perfetto / Chrome JSON and its validator.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "txsim/trace/trace.h"

namespace txsim::trace {
namespace {

using nlohmann::json;

TEST(Trace, PerfettoWriterPairsBeginAndEndPerTrack) {
  PerfettoTrace t("p");
  const int a = t.track("tile0 crossbars"), b = t.track("noc");
  EXPECT_EQ(t.track("tile0 crossbars"), a);
  t.span(a, "L1 FW", 100, 50);   // written out of order: the writer sorts per track
  t.span(a, "L0 FW", 0, 100);    // ends where the next begins
  t.span(b, "L0 FW", 100, 8.5);
  const json j = t.to_json();
  EXPECT_TRUE(validate_chrome_trace(j).empty());
  std::vector<std::pair<std::string, double>> track_a;
  for (const json& e : j["traceEvents"])
    if (e["ph"] != "M" && e["tid"] == a + 1) track_a.emplace_back(e["ph"].get<std::string>() + e["name"].get<std::string>(), e["ts"]);
  const std::vector<std::pair<std::string, double>> want = {{"BL0 FW", 0.0}, {"EL0 FW", 0.1}, {"BL1 FW", 0.1}, {"EL1 FW", 0.15}};
  EXPECT_EQ(track_a, want);
  EXPECT_THROW(t.span(b, "x", 0, -1), std::invalid_argument);
  EXPECT_THROW(t.span(7, "x", 0, 1), std::out_of_range);
}

TEST(Trace, ValidatorFindsWhatAViewerCannotRead) {
  auto problems = [](const char* text) { return validate_chrome_trace(json::parse(text)).size(); };
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "tid": 1, "ts": 1},
                                         {"name": "a", "ph": "E", "pid": 1, "tid": 1, "ts": 2}]})"), 0u);
  EXPECT_EQ(problems(R"({"events": []})"), 1u);  // no traceEvents
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "ts": 1}]})"), 1u);  // no tid
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "tid": 1, "ts": 5},
                                         {"name": "a", "ph": "E", "pid": 1, "tid": 1, "ts": 4}]})"), 1u);  // goes back
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "tid": 1, "ts": 1}]})"), 1u);  // never closed
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "tid": 1, "ts": 1},
                                         {"name": "b", "ph": "E", "pid": 1, "tid": 1, "ts": 2}]})"), 1u);  // mismatched
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "E", "pid": 1, "tid": 1, "ts": 1}]})"), 1u);  // E first
  // Separate tracks keep separate clocks.
  EXPECT_EQ(problems(R"({"traceEvents": [{"name": "a", "ph": "B", "pid": 1, "tid": 1, "ts": 5},
                                         {"name": "a", "ph": "E", "pid": 1, "tid": 1, "ts": 6},
                                         {"name": "b", "ph": "B", "pid": 1, "tid": 2, "ts": 1},
                                         {"name": "b", "ph": "E", "pid": 1, "tid": 2, "ts": 2}]})"), 0u);
}

}  // namespace
}  // namespace txsim::trace
