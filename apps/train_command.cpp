#include "train_command.h"
#include "command_util.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "txsim/nn/activity_record.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/nn/train.h"
#include "txsim/tlm/cost_model/platform.h"
#include "txsim/tlm/cost_model/schedule.h"
#include "txsim/tlm/cost_model/report.h"
#include "txsim/tlm/systemc/timed.h"
#include "txsim/trace/trace.h"

namespace po = boost::program_options;

namespace txsim::app {

int train_main(int argc, char** argv) {
  po::options_description opts("txsim train: train a workload on crossbars");
  opts.add_options()("help,h", "show this help")(
      "workload", po::value<std::string>()->default_value("workloads/lenet5.json"), "network and recipe (JSON)")(
      "device", po::value<std::string>()->default_value("digital"),
      "device preset (JSON, e.g. workloads/devices/ideal.json) for the layers marked analog, or digital")(
      "epochs", po::value<int>(), "override the workload's epochs")("batch", po::value<int>(), "override the batch size")(
      "lr", po::value<double>(), "override the learning rate")("seed", po::value<std::string>()->default_value("1"), "random seed")(
      "out", po::value<std::string>(), "output folder: metrics.csv, metrics.json, checkpoint.bin")(
      "resume", "continue from the checkpoint in --out")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a device preset field, PATH=VALUE (repeatable), e.g. --set update.nu=0.5 --set crossbar.adc_bits=6")(
      "platform", po::value<std::string>(),
      "run timed on this platform (platforms/*.json): accuracy and the hardware's time, throughput, energy and area; it "
      "sets the device preset's crossbar size, cell bits, DAC and ADC bits")(
      "platform-set", po::value<std::vector<std::string>>()->composing(),
      "with --platform: override a platform field, PATH=VALUE (repeatable), e.g. --platform-set chip.pipeline=layers "
      "--platform-set chip.pipeline_group=8")(
      "trace", po::value<std::string>(), "with --platform: write a Perfetto / Chrome trace JSON of the first batches")(
      "trace-batches", po::value<int>()->default_value(1), "training batches the --trace covers")(
      "vcd", po::value<std::string>(), "with --platform: write a VCD of the controller's busy, layer and phase")(
      "record-activity", po::value<std::string>(),
      "write the run's activity (every batch and layer-phase the timed model charges) to this file, for txsim time")(
      "compare-ideal", "also train the same workload with digital (ideal) layers and print both accuracies")(
      "data", po::value<std::string>()->default_value("data"), "folder holding the datasets")(
      "limit-train", po::value<int>()->default_value(0), "use only the first N training samples")(
      "limit-test", po::value<int>()->default_value(0), "use only the first N test samples");
  return guarded("train", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    // What a checkpoint of this run belongs to: the workload, device and platform as loaded (each
    // file read once: the identity and the run come from the same text).
    const std::string workload_path = vm["workload"].as<std::string>();
    nlohmann::json run = {{"workload", read_json_file(workload_path)}, {"device", "digital"}};
    nn::Workload w = nn::workload_from_json(run["workload"], workload_path);
    if (vm.count("epochs")) w.train.epochs = vm["epochs"].as<int>();
    if (vm.count("batch")) w.train.batch = vm["batch"].as<int>();
    if (vm.count("lr")) w.train.lr = vm["lr"].as<double>();
    if (w.train.epochs < 1 || w.train.batch < 1 || !(w.train.lr > 0))
      throw std::invalid_argument("--epochs and --batch must be >= 1 and --lr > 0");
    const std::string device = vm["device"].as<std::string>();
    const bool timed = vm.count("platform") > 0;
    if (!timed && (vm.count("trace") || vm.count("vcd") || vm.count("platform-set")))
      throw std::invalid_argument("--trace, --vcd and --platform-set need --platform");
    int_option(vm, "trace-batches", 1, 1 << 30, "training batches in the trace");
    const int limit_train = int_option(vm, "limit-train", 0, 1 << 30, "0: every training sample");
    const int limit_test = int_option(vm, "limit-test", 0, 1 << 30, "0: every test sample");
    // Output paths are checked before training, not after it (the --out folder is made first, so
    // a trace inside it, as the main job writes, is fine).
    if (vm.count("out")) std::filesystem::create_directories(vm["out"].as<std::string>());
    if (vm.count("record-activity") && vm.count("resume"))
      throw UsageError("--record-activity records a whole run from its first batch; it cannot continue one with --resume");
    for (const char* name : {"trace", "vcd", "record-activity"})
      if (vm.count(name)) {
        const std::filesystem::path path = vm[name].as<std::string>(), folder = path.parent_path();
        if (path.filename().empty() || std::filesystem::is_directory(path))
          throw UsageError(std::string("--") + name + " '" + path.string() + "': accepted a file name, not a folder");
        if (!folder.empty() && !std::filesystem::is_directory(folder))
          throw UsageError(std::string("--") + name + " '" + path.string() + "': the folder '" + folder.string() + "' does not exist");
      }
    hw::Platform platform;
    if (timed) {
      const std::vector<std::string> sets =
          vm.count("platform-set") ? vm["platform-set"].as<std::vector<std::string>>() : std::vector<std::string>{};
      platform = hw::load_platform(vm["platform"].as<std::string>(), sets, "the command line's --platform-set", &run["platform"]);
    }
    nn::CoreFactory factory;
    std::string device_name = "digital";
    if (device == "digital" && vm.count("set")) throw std::invalid_argument("--set needs a --device preset");
    if (device != "digital") {
      nlohmann::json j = read_json_file(device);
      const std::vector<std::string> sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
      for (const std::string& s : sets) set_json_path(j, s, "command line --set");
      nn::DevicePreset preset = nn::device_preset_from_json(j, sets.empty() ? device : device + " with the command line's --set");
      run["device"] = j;
      if (timed) {
        platform.apply_to(preset.crossbar.crossbar, device);
        validate(preset.crossbar, device + " on platform " + platform.source);
      }
      factory = nn::analog_factory(preset);
      device_name = preset.name;
      for (const std::string& s : sets) device_name += " " + s;
    }
    const uint64_t seed = seed_option(vm);
    const nn::Split data = nn::load_named(w.dataset, vm["data"].as<std::string>(), limit_train, limit_test);
    auto net = nn::build_network(w, seed, factory);
    std::printf("txsim train: %s on %s (%d train, %d test samples), device %s (%d analog layers), %zu parameters, seed %llu\n",
                w.name.c_str(), w.dataset.c_str(), data.train.size(), data.test.size(), device_name.c_str(),
                factory ? w.analog_layers() : 0, net->parameter_count(), static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    nn::TrainOptions o;
    o.config = w.train;
    o.seed = seed;
    o.out_dir = vm.count("out") ? vm["out"].as<std::string>() : "";
    o.resume = vm.count("resume") > 0;
    o.progress_bar = isatty(fileno(stdout));
    o.label = w.name + " / " + device_name;
    o.run = run;
    nn::ActivityRecorder recorder;
    const bool recording = vm.count("record-activity") > 0;
    if (recording && !timed) o.observer = &recorder;
    nn::TrainResult r;
    if (timed) {
      std::printf("timed on platform %s (%s): crossbars %dx%d, %d-bit cells, %d-bit DACs, %d-bit ADCs\n", platform.name.c_str(),
                  platform.source.c_str(), platform.crossbar.rows, platform.crossbar.cols, platform.crossbar.bits_per_cell,
                  platform.dac.bits, platform.adc.bits);
      std::fflush(stdout);
      trace::PerfettoTrace perfetto("TxSim " + w.name + " on " + platform.name);
      hw::TimedOptions t;
      t.trace = vm.count("trace") ? &perfetto : nullptr;
      t.trace_batches = vm["trace-batches"].as<int>();
      t.vcd_path = vm.count("vcd") ? vm["vcd"].as<std::string>() : "";
      t.recorder = recording ? &recorder : nullptr;
      const hw::TimedTraining run = hw::train_timed(*net, data, o, std::cout, platform, t);
      r = run.result;
      std::cout << hw::summary(run.hardware);
      if (!o.out_dir.empty()) {
        write_atomically(o.out_dir + "/layers.csv", hw::layer_csv(run.hardware));
        write_atomically(o.out_dir + "/units.csv", hw::unit_csv(run.hardware));
        write_atomically(o.out_dir + "/hardware.json", hw::to_json(run.hardware).dump(2) + "\n");
        std::printf("per-layer CSV: %s/layers.csv, per unit: %s/units.csv, figures: %s/hardware.json\n", o.out_dir.c_str(),
                    o.out_dir.c_str(), o.out_dir.c_str());
      }
      if (t.trace) {
        perfetto.write(vm["trace"].as<std::string>());
        std::printf("trace: %s (%zu spans; open in https://ui.perfetto.dev)\n", vm["trace"].as<std::string>().c_str(), perfetto.spans());
      }
      if (!t.vcd_path.empty()) std::printf("VCD: %s\n", t.vcd_path.c_str());
    } else {
      r = nn::train(*net, data, o, std::cout);
    }
    if (recording) {
      nn::ActivityRecord& record = recorder.record();
      record.label = o.label;
      record.layers = nn::recorded_layers(*net);
      record.sample_values = static_cast<int>(data.train.sample_size());
      const std::string path = vm["record-activity"].as<std::string>();
      nn::save_record(record, path);
      std::printf("activity record: %s (%zu reports, %llu training samples; txsim time --platform P %s)\n", path.c_str(),
                  record.events.size(), static_cast<unsigned long long>(record.train_samples()), path.c_str());
    }
    if (r.diverged) return 3;
    std::printf("final test accuracy: %.2f%%\n", 100 * r.final_test_accuracy);
    if (vm.count("compare-ideal")) {
      std::printf("ideal reference: the same workload, seed and data with digital layers\n");
      std::fflush(stdout);
      auto ideal = nn::build_network(w, seed);
      nn::TrainOptions io = o;
      io.out_dir = o.out_dir.empty() ? "" : o.out_dir + "/ideal";
      io.resume = o.resume && !io.out_dir.empty();
      io.label = w.name + " / digital";
      io.run["device"] = "digital";
      io.run.erase("platform");
      const nn::TrainResult ri = nn::train(*ideal, data, io, std::cout);
      std::printf("test accuracy: %s %.2f%%, ideal %.2f%% (difference %+.2f points)\n", device_name.c_str(),
                  100 * r.final_test_accuracy, 100 * ri.final_test_accuracy,
                  100 * (r.final_test_accuracy - ri.final_test_accuracy));
    }
    return 0;
  });
}

}  // namespace txsim::app
