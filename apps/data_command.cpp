#include "data_command.h"
#include "command_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <boost/program_options.hpp>

#include "txsim/config.h"
#include "txsim/nn/data.h"

namespace po = boost::program_options;

namespace txsim::app {

namespace {

// Records of 1 label byte + 3072 pixel bytes; the generator's values (class centers ~N(0, 1) plus
// N(0, 0.25) noise) mapped to bytes around mid-grey.
std::string cifar_records(const nn::Dataset& d, int from, int count) {
  const std::size_t size = d.sample_size();
  std::string out;
  out.reserve(static_cast<std::size_t>(count) * (size + 1));
  for (int i = from; i < from + count; ++i) {
    out += static_cast<char>(d.labels[i]);
    for (std::size_t k = 0; k < size; ++k) {
      const float v = std::round(128.0f + 48.0f * d.images[static_cast<std::size_t>(i) * size + k]);
      out += static_cast<char>(static_cast<unsigned char>(std::clamp(v, 0.0f, 255.0f)));
    }
  }
  return out;
}

}  // namespace

int make_data_main(int argc, char** argv) {
  po::options_description opts(
      "txsim make-data: a synthetic, learnable dataset (class-dependent Gaussian images) in CIFAR-10's binary format,\n"
      "in OUT/cifar-10-batches-bin/ (data_batch_1..5.bin, test_batch.bin); train with --data OUT. NOT CIFAR-10:\n"
      "for timing the CIFAR workloads and checking a pipeline where the real images are not installed");
  opts.add_options()("help,h", "show this help")("out", po::value<std::string>()->required(), "output folder")(
      "train", po::value<int>()->default_value(50000), "training images (split over 5 batch files)")(
      "test", po::value<int>()->default_value(10000), "test images")("seed", po::value<std::string>()->default_value("1"), "seed");
  return guarded("make-data", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const int train = vm["train"].as<int>(), test = vm["test"].as<int>();
    if (train < 5 || train > 1000000 || test < 1 || test > 1000000)
      throw UsageError("--train must be in 5..1000000 and --test in 1..1000000");
    const uint64_t seed = seed_option(vm);
    const std::string dir = vm["out"].as<std::string>() + "/cifar-10-batches-bin";
    std::filesystem::create_directories(dir);
    const nn::Dataset tr = nn::synthetic(train, {3, 32, 32}, 10, seed, 0), te = nn::synthetic(test, {3, 32, 32}, 10, seed, 1);
    for (int b = 0; b < 5; ++b) {
      const int from = train * b / 5, to = train * (b + 1) / 5;
      write_atomically(dir + "/data_batch_" + std::to_string(b + 1) + ".bin", cifar_records(tr, from, to - from));
    }
    write_atomically(dir + "/test_batch.bin", cifar_records(te, 0, test));
    std::printf("%s: %d training and %d test images of synthetic data in CIFAR-10's binary format\n", dir.c_str(), train, test);
    return 0;
  });
}

}  // namespace txsim::app
