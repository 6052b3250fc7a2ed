// A bounded mutation fuzz of TxSim's readers of untrusted input, for the sanitizer build
// (tools/fuzz.sh): IDX, CIFAR-10, JSON (device presets, workloads, platforms, crossbar configs,
// sweep specs, the accelerator's job formats), CSV (numeric, sweep results), gzip,
// checkpoints and activity records (each one the reader accepts is also timed by the timed
// model, in a child process: a crash there is a failure, not a refusal). Each reader gets N mutants of valid seeds (bit flips, byte sets, truncations,
// insertions, duplicated spans, splices of two inputs, JSON nesting and number tokens): an error
// of the documented kind is the expected outcome; a crash or a sanitizer report aborts; an
// input that runs longer than the time limit is reported as a hang.
//   fuzz_readers SOURCE_DIR WORK_DIR [N per reader, default 1000] [seed]
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep.h"
#include "txsim/config.h"
#include "txsim/nn/activity_record.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/cost_model/job_format.h"
#include "txsim/tlm/cost_model/platform.h"
#include "txsim/tlm/systemc/child_process.h"
#include "txsim/tlm/systemc/replay.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read seed %s\n", path.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

const char* current = "";
int current_index = 0;
void on_alarm(int) {
  std::fprintf(stderr, "fuzz: HANG in reader %s, input %d (over the time limit)\n", current, current_index);
  std::_Exit(3);
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}
  std::string mutate(const std::vector<std::string>& seeds) {
    std::string s = seeds[pick(seeds.size())];
    const int rounds = 1 + static_cast<int>(pick(6));
    for (int r = 0; r < rounds; ++r) {
      switch (pick(9)) {
        case 0:  // flip a bit
          if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:  // set a byte to an interesting value
          if (!s.empty()) {
            static const unsigned char v[] = {0, 1, 0x7F, 0x80, 0xFF, '"', '[', '{', ',', '-', '9', 'e'};
            s[pick(s.size())] = static_cast<char>(v[pick(sizeof v)]);
          }
          break;
        case 2:  // truncate
          s.resize(pick(s.size() + 1));
          break;
        case 3: {  // insert random bytes
          const std::size_t at = pick(s.size() + 1);
          std::string ins(1 + pick(16), '\0');
          for (char& c : ins) c = static_cast<char>(pick(256));
          s.insert(at, ins);
          break;
        }
        case 4:  // duplicate a span
          if (!s.empty()) {
            const std::size_t a = pick(s.size()), n = 1 + pick(std::min<std::size_t>(s.size() - a, 64));
            s.insert(pick(s.size() + 1), s.substr(a, n));
          }
          break;
        case 5: {  // splice with another seed
          const std::string& o = seeds[pick(seeds.size())];
          s = s.substr(0, pick(s.size() + 1)) + o.substr(pick(o.size() + 1));
          break;
        }
        case 6: {  // huge or odd numbers where digits are
          static const char* tokens[] = {"4294967360", "-1", "1e400", "18446744073709551615", "0", "-0", "nan", "2147483648"};
          const std::size_t at = s.find_first_of("0123456789", pick(s.size() + 1));
          if (at != std::string::npos) s.replace(at, 1, tokens[pick(8)]);
          break;
        }
        case 7: {  // deep nesting
          const std::size_t depth = 1 + pick(200000);
          s.insert(pick(s.size() + 1), std::string(depth, pick(2) ? '[' : '{'));
          break;
        }
        case 8:  // overwrite 4 bytes with a big-endian count (IDX headers, sizes)
          if (s.size() >= 4) {
            const std::size_t at = pick(s.size() - 3);
            const uint32_t v = static_cast<uint32_t>(rng_());
            for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>(v >> (24 - 8 * k));
          }
          break;
      }
    }
    return s;
  }

  // Structure-aware: a valid JSON seed with one to three members replaced by values of other
  // types and ranges, removed, or joined by an unknown key, so that the field checks are reached.
  std::string mutate_json(const std::vector<std::string>& seeds) {
    nlohmann::json j = nlohmann::json::parse(seeds[pick(seeds.size())], nullptr, false);
    if (j.is_discarded()) return mutate(seeds);
    const int rounds = 1 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds; ++r) {
      std::vector<nlohmann::json*> nodes;
      collect(j, nodes);
      nlohmann::json* n = nodes[pick(nodes.size())];
      static const char* values[] = {"null", "true", "-1", "0", "1e400", "4294967360", "-2147483649", "1e-320", "0.5", "3",
                                     "1000000000", "\"\"", "\"x\"", "[]", "{}", "[1, 2]", "{\"unknown\": 1}", "\"digital\""};
      switch (pick(3)) {
        case 0: *n = nlohmann::json::parse(values[pick(sizeof values / sizeof *values)], nullptr, false); break;
        case 1:
          if (n->is_object() && !n->empty()) n->erase(n->begin());
          else if (n->is_array() && !n->empty()) n->erase(n->begin());
          break;
        case 2:
          if (n->is_object()) (*n)["unexpected_key"] = 1;
          break;
      }
      if (n->is_discarded()) *n = nullptr;
    }
    return j.dump();
  }

 private:
  static void collect(nlohmann::json& j, std::vector<nlohmann::json*>& out) {
    out.push_back(&j);
    if (j.is_structured())
      for (auto& v : j) collect(v, out);
  }
  std::size_t pick(std::size_t n) { return n ? static_cast<std::size_t>(rng_() % n) : 0; }
  std::mt19937_64 rng_;
};

struct Reader {
  const char* name;
  std::vector<std::string> seeds;
  std::function<void(const std::string& bytes, const std::string& path)> read;
  bool json = false;  // half of the mutants are structure-aware (Mutator::mutate_json)
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fuzz_readers SOURCE_DIR WORK_DIR [N] [seed]\n");
    return 2;
  }
  const std::string src = argv[1], work = argv[2];
  const int n = argc > 3 ? std::atoi(argv[3]) : 1000;
  const uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  std::filesystem::create_directories(work);
  signal(SIGALRM, on_alarm);
  using namespace txsim;
  const std::string data = work + "/seed-data";
  std::filesystem::create_directories(data);

  // Seeds: the project's own valid files, and small valid data files made here.
  std::vector<unsigned char> images = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 3}, labels = {0, 0, 8, 1, 0, 0, 0, 4, 0, 1, 2, 3};
  for (int i = 0; i < 36; ++i) images.push_back(static_cast<unsigned char>(i * 7));
  const std::string idx_images(images.begin(), images.end()), idx_labels(labels.begin(), labels.end());
  std::string cifar;
  for (int r = 0; r < 3; ++r) {
    cifar += static_cast<char>(r);
    for (int k = 0; k < 3072; ++k) cifar += static_cast<char>((k * 13 + r) % 256);
  }
  std::vector<std::string> device_seeds, workload_seeds, platform_seeds;
  for (const auto& e : std::filesystem::directory_iterator(src + "/workloads/devices"))
    if (e.path().extension() == ".json") device_seeds.push_back(slurp(e.path()));
  for (const char* f : {"lenet5.json", "mlp.json", "resnet20.json", "vgg8.json"}) workload_seeds.push_back(slurp(src + "/workloads/" + f));
  for (const char* f : {"default.json", "isaac.json", "neurosim.json"}) platform_seeds.push_back(slurp(src + "/platforms/" + f));
  std::vector<std::string> spec_seeds;
  for (const auto& e : std::filesystem::directory_iterator(src + "/studies")) spec_seeds.push_back(slurp(e.path()));
  const std::string csv_seed = slurp(src + "/workloads/devices/measured_example.csv");
  const std::string results_seed =
      "point,kind,status,id,update.nu,seed,final_test_accuracy\n0,ideal,ok,a,,1,0.9\n1,grid,ok,b,\"0.5\",1,\"0,8\"\n";
  // A checkpoint of a tiny run.
  const nn::Workload tiny = nn::workload_from_json(nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 4, 4], "classes": 2,
      "layers": [{"type": "flatten"}, {"type": "linear", "in": 16, "out": 2, "analog": true}], "train": {"epochs": 2, "batch": 8}})"),
                                                   "tiny");
  const nn::DevicePreset preset = nn::load_device_preset(src + "/workloads/devices/txsim_reram.json");
  nn::Split split;
  split.train = nn::synthetic(16, {1, 4, 4}, 2, 1, 0);
  split.test = nn::synthetic(8, {1, 4, 4}, 2, 1, 1);
  {
    nn::TrainOptions o;
    o.config = tiny.train;
    o.out_dir = work + "/ckpt-seed";
    o.stop_after = 1;
    std::ostringstream log;
    auto net = nn::build_network(tiny, 1, nn::analog_factory(preset));
    nn::train(*net, split, o, log);
  }
  const std::string ckpt_seed = slurp(work + "/ckpt-seed/checkpoint.bin");
  // An activity record of the tiny run, on the default platform's crossbars.
  const hw::Platform platform = hw::load_platform(src + "/platforms/default.json");
  const std::string record_seed = [&] {
    nn::DevicePreset on_platform = preset;
    platform.apply_to(on_platform.crossbar.crossbar, "txsim_reram.json");
    nn::ActivityRecorder recorder;
    nn::TrainOptions o;
    o.config = tiny.train;
    o.observer = &recorder;
    std::ostringstream log;
    auto net = nn::build_network(tiny, 1, nn::analog_factory(on_platform));
    nn::train(*net, split, o, log);
    recorder.record().layers = nn::recorded_layers(*net);
    recorder.record().sample_values = 16;
    return nn::record_bytes(recorder.record());
  }();
  const std::string region_seed = [&] {
    const auto r = hw::pack_data_region({images, labels, images, labels});
    return std::string(r.begin(), r.end());
  }();

  // The timed model on an accepted record, in a child process: a child that dies is a crash.
  auto time_record = [&](const nn::ActivityRecord& r) {
    try {
      hw::run_in_child_process([&] { return std::to_string(hw::time_record(r, "record", platform).train_samples); });
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).rfind("the child process", 0) == 0) {
        std::fprintf(stderr, "fuzz: CRASH of the timed model on an accepted activity record, input %d: %s\n", current_index, e.what());
        std::abort();
      }
      throw;
    }
  };
  auto bytes_of = [](const std::string& s) { return std::vector<unsigned char>(s.begin(), s.end()); };
  std::vector<Reader> readers = {
      {"idx", {idx_images + "\x01" + idx_labels}, [&](const std::string& b, const std::string&) {
         // One seed holds both files; a mutant splits at the marker or halfway.
         const std::size_t at = b.find('\x01') == std::string::npos ? b.size() / 2 : b.find('\x01');
         nn::parse_idx(bytes_of(b.substr(0, at)), "images", bytes_of(b.substr(std::min(at + 1, b.size()))), "labels", 4);
       }},
      {"idx-gzip-file", {idx_images}, [&](const std::string& b, const std::string& path) {
         // Raw bytes and a gzip header in front of them: zlib's paths, damaged streams included.
         spit(path, (b.size() % 2 ? std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) : std::string()) + b);
         nn::read_all(path);
       }},
      {"cifar10", {cifar}, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         nn::load_cifar10({path});
       }},
      {"json-device-preset", device_seeds, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         const nn::DevicePreset p = nn::load_device_preset(path);
         nn::check_device_preset(p);
       }, true},
      {"json-workload", workload_seeds, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         const nn::Workload w = nn::load_workload(path);
         nn::build_network(w, 1);  // its layers must fit together
       }, true},
      {"json-platform", platform_seeds, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         hw::load_platform(path);
       }, true},
      {"json-sweep-spec", spec_seeds, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         sweep::plan(sweep::load_spec(path));
       }, true},
      {"csv-numeric", {csv_seed}, [&](const std::string& b, const std::string& path) {
         spit(path, b);
         std::vector<std::string> header;
         read_numeric_csv(path, &header);
       }},
      {"csv-sweep-results", {results_seed}, [&](const std::string& b, const std::string&) { sweep::parse_csv(b, "results.csv"); }},
      {"job-data-region", {region_seed}, [&](const std::string& b, const std::string&) {
         const hw::IdxFiles f = hw::unpack_data_region(bytes_of(b));
         nn::parse_idx(f[0], "train images", f[1], "train labels", 4);
       }},
      {"checkpoint", {ckpt_seed}, [&](const std::string& b, const std::string& path) {
         spit(path + "/checkpoint.bin", b);
         nn::TrainOptions o;
         o.config = tiny.train;
         o.out_dir = path;
         o.resume = true;
         o.stop_after = 1;  // a valid checkpoint is at epoch 1: nothing trains
         std::ostringstream log;
         auto net = nn::build_network(tiny, 1, nn::analog_factory(preset));
         nn::train(*net, split, o, log);
       }},
      {"activity-record", {record_seed}, [&](const std::string& b, const std::string&) { time_record(nn::record_from_bytes(b, "record")); }},
      {"activity-record-fields", {record_seed}, [&](const std::string& b, const std::string&) {
         // Structure-aware: the valid record with a few events' fields (or the header's numbers)
         // set to edge values, the mutant's bytes seeding the choice, so the framing holds and
         // the event checks and the controller are reached.
         nn::ActivityRecord r = nn::record_from_bytes(record_seed, "seed");
         std::seed_seq seq(b.begin(), b.end());
         std::mt19937_64 g(seq);
         static const uint64_t edges[] = {0, 1, 2, 3, 4, 5, 7, 31, 32, 1u << 30, (1u << 30) + 1, 1ull << 31, 1ull << 50,
                                          (1ull << 50) + 1, ~0ull, 0x7fffffffull};
         const int changes = 1 + static_cast<int>(g() % 4);
         for (int c = 0; c < changes; ++c) {
           const uint64_t v = g() % 3 ? edges[g() % (sizeof edges / sizeof *edges)] : g();
           if (g() % 8 == 0) {
             r.sample_values = static_cast<int>(v);
             continue;
           }
           nn::RecordedEvent& e = r.events[g() % r.events.size()];
           uint64_t* fields[] = {&e.kind, &e.value, &e.flag, &e.index, &e.rows, &e.in, &e.out, &e.input_values,
                                 &e.activity.crossbar_reads, &e.activity.adc_conversions, &e.activity.program_slots};
           *fields[g() % (sizeof fields / sizeof *fields)] = v;
         }
         time_record(nn::record_from_bytes(nn::record_bytes(r), "record"));
       }},
  };
  Mutator m(seed);
  long total = 0;
  for (const Reader& r : readers) {
    current = r.name;
    const std::string path = work + "/" + r.name;
    if (std::string(r.name) == "checkpoint") std::filesystem::create_directories(path);
    int refused = 0;
    for (int i = 0; i < n; ++i) {
      current_index = i;
      const std::string input = i == 0 ? r.seeds[0] : r.json && i % 2 ? m.mutate_json(r.seeds) : m.mutate(r.seeds);
      alarm(20);
      try {
        r.read(input, path);
      } catch (const std::exception&) {  // every reader's errors derive from std::exception
        ++refused;
      }
      alarm(0);
    }
    std::printf("fuzz: %-20s %d inputs, %d refused with an error, %d accepted, none crashed or hung\n", r.name, n,
                refused, n - refused);
    std::fflush(stdout);
    total += n;
  }
  std::printf("fuzz: %ld inputs over %zu readers\n", total, readers.size());
  return 0;
}
