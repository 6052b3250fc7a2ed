#include "time_command.h"
#include "command_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "txsim/config.h"
#include "txsim/nn/activity_record.h"
#include "txsim/tlm/systemc/replay.h"

namespace po = boost::program_options;

namespace txsim::app {

int time_main(int argc, char** argv) {
  po::options_description opts(
      "txsim time RECORD --platform P [--platform P2 ...]: the activity of a recorded run charged on each platform by the timed\n"
      "model (the same controller and chip as txsim train --platform), without training again. A platform must impose the\n"
      "crossbar geometry and precision the record was counted with (record on one: txsim train --platform P --record-activity F)");
  opts.add_options()("help,h", "show this help")("record", po::value<std::string>()->required(), "activity record file")(
      "platform", po::value<std::vector<std::string>>()->composing()->required(), "platform JSON (repeatable)")(
      "platform-set", po::value<std::vector<std::string>>()->composing(),
      "override a field of every platform, PATH=VALUE (repeatable), e.g. --platform-set chip.pipeline=layers")(
      "out", po::value<std::string>(),
      "output folder: per platform a folder named after it with hardware.json, layers.csv and units.csv")(
      "trace-batches", po::value<int>()->default_value(0),
      "with --out: a Perfetto / Chrome trace of the first N training batches per platform (trace.json)")(
      "vcd", "with --out: a VCD of the controller's busy, layer and phase per platform (timed.vcd)");
  po::positional_options_description positional;
  positional.add("record", 1);
  return guarded("time", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts, positional);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const std::string record_path = vm["record"].as<std::string>();
    const nn::ActivityRecord record = nn::load_record(record_path);
    const std::vector<std::string> paths = vm["platform"].as<std::vector<std::string>>();
    const std::vector<std::string> sets =
        vm.count("platform-set") ? vm["platform-set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    // Every platform is read and checked against the record before the first one is timed.
    std::vector<hw::Platform> platforms;
    std::set<std::string> names;
    for (const std::string& p : paths) {
      platforms.push_back(hw::load_platform(p, sets, "the command line's --platform-set"));
      hw::recorded_shapes(record, record_path, platforms.back());
      if (!names.insert(platforms.back().name).second)
        throw UsageError("--platform " + p + ": a second platform named '" + platforms.back().name +
                         "' (the --out folders are named after the platforms)");
    }
    const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "";
    const int trace_batches = int_option(vm, "trace-batches", 0, 1 << 30, "0: no trace");
    if (out.empty() && (trace_batches > 0 || vm.count("vcd"))) throw UsageError("--trace-batches and --vcd need --out");
    if (!out.empty()) std::filesystem::create_directories(out);
    std::printf("txsim time: %s (%s, %llu training samples) on %zu platform%s\n", record_path.c_str(), record.label.c_str(),
                static_cast<unsigned long long>(record.train_samples()), platforms.size(), platforms.size() == 1 ? "" : "s");
    nlohmann::json table = nlohmann::json::array();
    for (const hw::Platform& platform : platforms) {
      const std::string folder = out + "/" + platform.name;
      if (!out.empty()) std::filesystem::create_directories(folder);
      hw::ReplayFiles files;
      files.trace = trace_batches > 0 ? folder + "/trace.json" : "";
      files.trace_batches = std::max(1, trace_batches);
      files.vcd = vm.count("vcd") ? folder + "/timed.vcd" : "";
      const auto t0 = std::chrono::steady_clock::now();
      const hw::ReplayOutputs timed = hw::time_record_in_child(record, record_path, platform, files);
      std::printf("\n== platform %s (%s), timed in %.2f s\n%s", platform.name.c_str(), platform.source.c_str(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), timed.summary.c_str());
      if (!out.empty()) {
        write_atomically(folder + "/hardware.json", timed.hardware.dump(2) + "\n");
        write_atomically(folder + "/layers.csv", timed.layers_csv);
        write_atomically(folder + "/units.csv", timed.units_csv);
        std::printf("figures: %s/hardware.json, per layer: %s/layers.csv, per unit: %s/units.csv%s%s\n", folder.c_str(), folder.c_str(),
                    folder.c_str(), trace_batches > 0 ? ", trace.json (open in https://ui.perfetto.dev)" : "",
                    vm.count("vcd") ? ", timed.vcd" : "");
      }
      const nlohmann::json& h = timed.hardware;
      table.push_back({platform.name, h["images_per_second"], h["energy_per_image_joules"].get<double>() * 1e6, h["tops_per_watt"],
                       h["area_mm2"]});
      std::fflush(stdout);
    }
    if (platforms.size() > 1) {
      std::printf("\n%-24s %16s %18s %10s %10s\n", "platform", "images/s", "energy uJ/image", "TOPS/W", "area mm2");
      for (const auto& row : table)
        std::printf("%-24s %16.6g %18.6g %10.4g %10.4g\n", row[0].get<std::string>().c_str(), row[1].get<double>(),
                    row[2].get<double>(), row[3].get<double>(), row[4].get<double>());
    }
    return 0;
  });
}

}  // namespace txsim::app
