// Issue 17: bad input found by a sanitizer build, mutated files and a review, each checked at the
// depth where it was fixed. Test suites are named after the issue's numbered defects.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "txsim/config.h"
#include "txsim/json_fields.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/state_archive.h"
#include "txsim/tlm/cost_model/platform.h"

namespace txsim {
namespace {

const std::string kRoot = TXSIM_SOURCE_DIR;

std::string temp(const std::string& name) { return ::testing::TempDir() + "issue17_" + name; }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Defect 2: reading a damaged .gz data file used zlib's error string after gzclose had freed it
// (heap use after free under ASan; heap garbage as the message in a release build). The message
// must be zlib's own, named with the file.
TEST(Issue17Defect2, DamagedGzipFileGivesZlibsMessage) {
  const std::string path = temp("damaged.gz");
  {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string payload(200000, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) % 251);
    gzwrite(f, payload.data(), static_cast<unsigned>(payload.size()));
    gzclose(f);
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);  // truncated
  const std::string truncated = error_of([&] { nn::read_all(path); });
  EXPECT_NE(truncated.find(path + ": read error: unexpected end of file"), std::string::npos) << truncated;
  // Corrupted deflate data after a valid header.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t i = 20; i < bytes.size(); i += 3) bytes[i] = static_cast<char>(0xFF);
  write_file(path, bytes);
  const std::string corrupted = error_of([&] { nn::read_all(path); });
  EXPECT_NE(corrupted.find(path + ": read error: "), std::string::npos) << corrupted;
  EXPECT_NE(corrupted.find("invalid"), std::string::npos) << corrupted;  // zlib's "invalid ..." messages
}

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Defect 3: every JSON loader overflowed the stack on deeply nested input (SIGSEGV at 60,000
// levels). One parsing path with a depth limit: each loader refuses it with the file's name.
TEST(Issue17Defect3, EveryLoaderRefusesDeepNesting) {
  const std::string deep = "{\"name\": " + nested(60000) + "}";
  const std::string path = temp("deep.json");
  write_file(path, deep);
  for (const auto& [what, load] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"device preset", [&] { nn::load_device_preset(path); }},
           {"workload", [&] { nn::load_workload(path); }},
           {"platform", [&] { hw::load_platform(path); }},
           {"crossbar config", [&] { load_crossbar_config(path); }}}) {
    const std::string e = error_of(load);
    EXPECT_NE(e.find(path + ": JSON nested deeper than 64 levels"), std::string::npos) << what << ": " << e;
  }
  // Text parsed in memory (a descriptor from a guest, a checkpoint header) takes the same path.
  EXPECT_NE(error_of([&] { parse_json_text(nested(100), "descriptor"); }).find("descriptor: JSON nested deeper"), std::string::npos);
  // 63 levels are fine.
  EXPECT_NO_THROW(parse_json_text(nested(63), "shallow"));
}

// Defect 7: JSON integers wrapped to 32 bits ("rows": 4294967360 became 64).
TEST(Issue17Defect7, JsonIntegersAreRangeCheckedNotWrapped) {
  for (const char* rows : {"4294967360", "18446744073709551615", "-4294967232"}) {
    const std::string text = std::string(R"({"crossbar": {"rows": )") + rows + "}}";
    const std::string e = error_of([&] { crossbar_config_from_json(nlohmann::json::parse(text), "wrap.json"); });
    EXPECT_NE(e.find("wrap.json: field 'crossbar.rows' = " + std::string(rows)), std::string::npos) << e;
  }
  const std::string e = error_of([] {
    nn::workload_from_json(nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 8, 8], "classes": 4294967300,
      "layers": [{"type": "flatten"}, {"type": "linear", "in": 64, "out": 4}]})"), "w.json");
  });
  EXPECT_NE(e.find("w.json"), std::string::npos) << e;
  EXPECT_NE(e.find("4294967300"), std::string::npos) << e;
  EXPECT_EQ(json_integer(nlohmann::json::parse("4294967360"), 0, 1 << 30), std::nullopt);
  EXPECT_EQ(json_integer(nlohmann::json::parse("18446744073709551615"), -1, 1 << 30), std::nullopt);
  EXPECT_EQ(json_integer(nlohmann::json::parse("-3"), -5, 5), -3);
}

// Found by tools/fuzz.sh (the sanitizer build): an input of 2147483647 channels overflowed
// channels x kernel^2 in a signed int, and a layer of 2^24 x 2^24 weights was allocated before
// anything refused it. Input dimensions and each layer's weights are bounded first, in 64 bits.
TEST(Issue17Defect7, WorkloadSizesAreBoundedBeforeAllocation) {
  auto build = [](const std::string& text) {
    return error_of([&] { nn::build_network(nn::workload_from_json(nlohmann::json::parse(text), "big.json"), 1); });
  };
  const std::string channels = build(R"({"dataset": "synthetic", "input": [2147483647, 1, 1], "classes": 2,
    "layers": [{"type": "conv2d", "out": 2, "kernel": 5}]})");
  EXPECT_NE(channels.find("big.json: input: 2147483647: accepted integers in 1..65536"), std::string::npos) << channels;
  const std::string wide = build(R"({"dataset": "synthetic", "input": [1, 4096, 4096], "classes": 2,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 16777216, "out": 16777216}]})");
  EXPECT_NE(wide.find("16777216 x 16777216 weights: accepted at most 2^28 per layer"), std::string::npos) << wide;
  const std::string conv = build(R"({"dataset": "synthetic", "input": [65536, 8, 8], "classes": 2,
    "layers": [{"type": "conv2d", "out": 65536, "kernel": 64}]})");
  EXPECT_NE(conv.find("268435456 x 65536 weights"), std::string::npos) << conv;
}

// Defect 7: /dev/zero as a measured-device CSV was read until memory ran out; a folder as a
// preset gave an error without the file's name.
TEST(Issue17Defect7, DeviceFilesAndFoldersAreRefusedByName) {
  const std::string e = error_of([] { read_numeric_csv("/dev/zero"); });
  EXPECT_NE(e.find("/dev/zero: larger than 64 MiB"), std::string::npos) << e;
  const std::string folder = error_of([] { nn::load_device_preset(kRoot + "/workloads"); });
  EXPECT_NE(folder.find(kRoot + "/workloads: is a folder; accepted a file"), std::string::npos) << folder;
  const std::string limit = error_of([] { nn::load_named("synthetic", "data", -5, 0); });
  EXPECT_NE(limit.find("sample limit -5"), std::string::npos) << limit;
}

// The tiny run the checkpoint tests share.
struct TinyRun {
  nn::Workload w;
  nn::Split data;
  nn::TrainOptions o;
  TinyRun(const std::string& dir) {
    w = nn::workload_from_json(nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 6, 6], "classes": 3,
      "layers": [{"type": "flatten"}, {"type": "linear", "in": 36, "out": 3}], "train": {"epochs": 3, "batch": 16, "lr": 0.05}})"),
                               "tiny.json");
    data.train = nn::synthetic(64, {1, 6, 6}, 3, 5, 0);
    data.test = nn::synthetic(30, {1, 6, 6}, 3, 5, 1);
    o.config = w.train;
    o.seed = 2;
    o.out_dir = temp(dir);
    std::filesystem::remove_all(o.out_dir);
  }
  nn::TrainResult train(nn::TrainOptions options) {
    std::ostringstream log;
    auto net = nn::build_network(w, options.seed);
    return nn::train(*net, data, options, log);
  }
};

// Defect 7: a checkpoint with epoch -5 trained epochs -4..3, one with epoch 1,000,000 trained
// nothing and printed a final accuracy, a NaN weight was accepted, and a resume with another
// seed, learning rate or data limit was accepted without a word. The checkpoint's header is
// checked: epoch range, finite values, the run it belongs to.
TEST(Issue17Defect7, CheckpointHeaderIsValidated) {
  TinyRun run("ckpt");
  nn::TrainOptions first = run.o;
  first.stop_after = 1;
  run.train(first);
  const std::string ckpt = run.o.out_dir + "/checkpoint.bin";
  std::string bytes;
  {
    std::ifstream in(ckpt, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  nn::TrainOptions resume = run.o;
  resume.resume = true;
  // Another seed, learning rate or data size: refused, naming what differs.
  for (const auto& [what, change] : std::vector<std::pair<std::string, std::function<void(nn::TrainOptions&, nn::Split&)>>>{
           {"seed was 2, this run has 3", [](nn::TrainOptions& o, nn::Split&) { o.seed = 3; }},
           {"\"lr\":0.05", [](nn::TrainOptions& o, nn::Split&) { o.config.lr = 0.1; }},
           {"train_samples was 64, this run has 32", [](nn::TrainOptions&, nn::Split& d) { d.train = nn::synthetic(32, {1, 6, 6}, 3, 5, 0); }}}) {
    nn::TrainOptions o = resume;
    nn::Split d = run.data;
    change(o, d);
    std::ostringstream log;
    auto net = nn::build_network(run.w, o.seed);
    const std::string e = error_of([&] { nn::train(*net, d, o, log); });
    EXPECT_NE(e.find("the checkpoint belongs to another run"), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  }
  // The epoch field: find it and set -5 and 1,000,000.
  const std::string tag = std::string("\x05\0\0\0epochu", 10);
  const std::size_t at = bytes.find(tag);
  ASSERT_NE(at, std::string::npos);
  for (const int64_t epoch : {int64_t(-5), int64_t(1000000), int64_t(0)}) {
    std::string b = bytes;
    const uint64_t v = static_cast<uint64_t>(epoch);
    std::memcpy(&b[at + tag.size() + 8], &v, 8);
    write_file(ckpt, b);
    const std::string e = error_of([&] { run.train(resume); });
    EXPECT_NE(e.find(ckpt + ": epoch " + std::to_string(static_cast<uint64_t>(epoch)) + ": accepted 1..3"), std::string::npos) << e;
  }
  // A NaN weight.
  {
    std::string b = bytes;
    const std::string w = std::string("layer 1 (linear) weightf", 24);
    const std::size_t wat = b.find(w);
    ASSERT_NE(wat, std::string::npos);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&b[wat + w.size() + 8 + 4 * 5], &nan, 4);
    write_file(ckpt, b);
    const std::string e = error_of([&] { run.train(resume); });
    EXPECT_NE(e.find(ckpt + ": state 'layer 1 (linear) weight' value 5 is not finite"), std::string::npos) << e;
  }
  // Truncated anywhere: an error naming the file, never a crash.
  for (std::size_t cut : {std::size_t(3), std::size_t(9), bytes.size() / 2, bytes.size() - 1}) {
    write_file(ckpt, bytes.substr(0, cut));
    const std::string e = error_of([&] { run.train(resume); });
    EXPECT_EQ(e.rfind(ckpt, 0), 0u) << cut << ": " << e;
  }
  // The intact checkpoint resumes.
  write_file(ckpt, bytes);
  EXPECT_EQ(run.train(resume).epochs.size(), 3u);
}

// Found by tools/fuzz.sh (ASan): a damaged count in a checkpoint entry whose size the model does
// not fix (weight codes, update factors) was allocated before the reader saw that the file does
// not hold it. The count is now held against the bytes left first.
TEST(Issue17Defect7, CheckpointCountsCannotAllocateWhatTheFileDoesNotHold) {
  StateWriter w;
  w.put("codes", std::vector<int32_t>{1, 2, 3});
  std::string bytes = w.bytes();
  const uint64_t huge = uint64_t(1) << 40;
  std::memcpy(&bytes[4 + 5 + 1], &huge, 8);  // name length, "codes", type, then the count
  StateReader r(bytes, "damaged.bin");
  std::vector<int32_t> v;
  const std::string e = error_of([&] { r.get("codes", v, r.peek_count("codes")); });
  EXPECT_NE(e.find("damaged.bin: state 'codes': 1099511627776 values announced, the file holds fewer"), std::string::npos) << e;
  EXPECT_TRUE(v.empty());
}

}  // namespace
}  // namespace txsim
