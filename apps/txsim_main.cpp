// txsim: the command line. Until training exists, the main job maps one layer onto crossbars and
// reports its error against float GEMM and its speed. Circuit subcommands: circuit_commands.h.
#include <cblas.h>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>
#include <cerrno>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <iostream>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "txsim/blas_kernel.h"
#include "txsim/parallel.h"
#include "txsim/tlm/cost_model/registers.h"
#include "circuit_commands.h"
#include "command_util.h"
#include "data_command.h"
#include "platform_command.h"
#include "plot_command.h"
#include "sweep_command.h"
#include "time_command.h"
#include "train_command.h"
#include "txsim/config.h"
#include "txsim/mapped_matrix.h"
#include "txsim/rng.h"

namespace po = boost::program_options;

namespace {

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    ref += double(want[i]) * want[i];
  }
  return std::sqrt(err / ref);
}

template <class F>
double seconds_per_call(F&& f, int repeats) {
  f();  // warm-up: builds the effective matrices and the BLAS buffers
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

int run_layer(const txsim::CrossbarConfig& config, int in, int out, int batch, uint64_t seed, int repeats) {
  std::vector<float> w(static_cast<std::size_t>(out) * in), x(static_cast<std::size_t>(batch) * in),
      d(static_cast<std::size_t>(batch) * out);
  txsim::fill_normal(txsim::derive_key(seed, 1), 0, w.size(), w.data());
  txsim::fill_normal(txsim::derive_key(seed, 2), 0, x.size(), x.data());
  txsim::fill_normal(txsim::derive_key(seed, 3), 0, d.size(), d.data());
  if (!config.crossbar.input_signed)
    for (float& v : x) v = std::fabs(v);

  std::vector<float> y_ref(static_cast<std::size_t>(batch) * out), dx_ref(static_cast<std::size_t>(batch) * in);
  auto float_forward = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, x.data(), in, w.data(), in, 0.0f,
                y_ref.data(), out);
  };
  float_forward();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in, out, 1.0f, d.data(), out, w.data(), in, 0.0f,
              dx_ref.data(), in);

  std::printf("txsim: %dx%d layer, batch %d, on %dx%d crossbars\n", out, in, batch, config.crossbar.rows,
              config.crossbar.cols);
  std::printf("%-10s %14s %14s %14s %16s\n", "mode", "fwd rel.err", "bwd rel.err", "fwd ms/batch", "fwd / float GEMM");
  const double float_s = seconds_per_call(float_forward, repeats);
  for (txsim::ReadMode mode : {txsim::ReadMode::PerSlice, txsim::ReadMode::Folded}) {
    txsim::CrossbarConfig c = config;
    c.crossbar.read_mode = mode;
    txsim::MappedMatrix layer(c, in, out, seed);
    layer.program(w.data());
    std::vector<float> y(y_ref.size()), dx(dx_ref.size());
    layer.backward(d.data(), batch, dx.data());
    const double s = seconds_per_call([&] { layer.forward(x.data(), batch, y.data()); }, repeats);
    std::printf("%-10s %14.4e %14.4e %14.3f %15.2fx\n", mode == txsim::ReadMode::PerSlice ? "per_slice" : "folded",
                relative_error(y, y_ref), relative_error(dx, dx_ref), s * 1e3, s / float_s);
  }
  std::printf("float GEMM: %.3f ms/batch\n", float_s * 1e3);
  return 0;
}

int layer_main(int argc, char** argv) {
  po::options_description opts("txsim layer: one layer mapped onto crossbars, its error against float GEMM and its speed");
  opts.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "crossbar config JSON (default: the embedded TxSim-like ReRAM layer)")(
      "in", po::value<int>()->default_value(1024), "layer inputs")(
      "out", po::value<int>()->default_value(1024), "layer outputs")(
      "batch", po::value<int>()->default_value(128), "samples per batch")(
      "seed", po::value<std::string>()->default_value("1"), "random seed")(
      "repeats", po::value<int>()->default_value(5), "timed repetitions")(
      "print-config", "print the effective config as JSON and exit");
  return txsim::app::guarded("layer", opts, [&] {
    const po::variables_map vm = txsim::app::parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const txsim::CrossbarConfig config = vm.count("config")
                                             ? txsim::load_crossbar_config(vm["config"].as<std::string>())
                                             : txsim::default_crossbar_config();
    if (vm.count("print-config")) {
      std::cout << txsim::to_json(config).dump(2) << "\n";
      return 0;
    }
    const int in = vm["in"].as<int>(), out = vm["out"].as<int>(), batch = vm["batch"].as<int>();
    const int repeats = vm["repeats"].as<int>();
    if (in < 1 || out < 1 || batch < 1 || repeats < 1)
      throw txsim::app::UsageError("--in, --out, --batch and --repeats must be >= 1");
    return run_layer(config, in, out, batch, txsim::app::seed_option(vm), repeats);
  });
}

int register_map_main(int, char**) {
  std::fputs(txsim::hw::register_map_markdown().c_str(), stdout);
  return 0;
}

// The subcommands, once: dispatch and the help text both read this list.
struct Subcommand {
  const char* name;
  int (*main)(int, char**);
  const char* summary;
};
constexpr Subcommand kSubcommands[] = {
    {"train", txsim::app::train_main, "train a workload on crossbars, functional or timed on a platform"},
    {"sweep", txsim::app::sweep_main, "a grid of training runs from a spec, resumable, on threads or MPI ranks"},
    {"time", txsim::app::time_main, "a recorded run's activity timed on one or more platforms (txsim train --record-activity)"},
    {"plot", txsim::app::plot_main, "figures and a Markdown table from a sweep's results.csv"},
    {"platform", txsim::app::platform_main, "a platform's peak throughput, area and power by component, TOPS/mm2, TOPS/W"},
    {"make-data", txsim::app::make_data_main, "write a synthetic dataset in MNIST or CIFAR-10 format"},
    {"layer", layer_main, "one layer mapped onto crossbars: error against float GEMM and speed"},
    {"crossbar-solve", txsim::app::crossbar_solve_main, "output currents of one crossbar with parasitics"},
    {"validate", txsim::app::validate_main, "a crossbar's currents against ngspice"},
    {"circuit-error", txsim::app::circuit_error_main, "the fast parasitic models' error against the exact solve"},
    {"register-map", register_map_main, "the accelerator's registers as a Markdown table"},
};

void print_help() {
  std::printf("txsim %s: training on resistive crossbars, functional and timed (SystemC TLM-2.0)\n\n"
              "usage: txsim COMMAND [options]   (txsim COMMAND --help for its options)\n"
              "       txsim                     the main job: LeNet-5 on MNIST, TxSim-like preset, timed on platforms/default.json\n"
              "       txsim --version | --help\n\ncommands:\n",
              TXSIM_VERSION);
  for (const Subcommand& c : kSubcommands) std::printf("  %-15s %s\n", c.name, c.summary);
  std::printf("\nevery command takes --threads N: the threads it computes on (default: the cores available, %d here;\n"
              "the numbers do not depend on it)\n", txsim::available_cores());
}


// OpenBLAS picks its kernel when it loads, from OPENBLAS_CORETYPE: where it would run a slower
// kernel than the CPU allows and the user chose none, start again with the faster one selected.
void select_fastest_blas_kernel(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("TXSIM_RESTARTED")) return;
  const std::string faster = txsim::faster_blas_core(txsim::blas_core_name(), txsim::cpu_flags());
  if (faster.empty()) return;
  setenv("OPENBLAS_CORETYPE", faster.c_str(), 1);
  setenv("TXSIM_RESTARTED", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on, and warn below
  unsetenv("OPENBLAS_CORETYPE");
}

// --threads N (or --threads=N) anywhere on the command line, for every command: taken out of
// argv before the command parses its own options.
int take_threads_option(int& argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], value;
    int used = 0;
    if (a == "--threads") {
      if (i + 1 >= argc) throw std::invalid_argument("--threads: needs a value (1.." + std::to_string(txsim::kMaxThreads) + ")");
      value = argv[i + 1];
      used = 2;
    } else if (a.rfind("--threads=", 0) == 0) {
      value = a.substr(10);
      used = 1;
    } else {
      continue;
    }
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno == ERANGE || n < 1 || n > txsim::kMaxThreads)
      throw std::invalid_argument("--threads '" + value + "': accepted a whole number in 1.." + std::to_string(txsim::kMaxThreads));
    txsim::set_threads(static_cast<int>(n));
    for (int j = i; j + used <= argc; ++j) argv[j] = argv[j + used];  // argv[argc] is null
    argc -= used;
    --i;
  }
  return txsim::threads();
}

}  // namespace

// libsystemc.so carries a main() that calls sc_main, so the symbol must exist; txsim has its own
// main (the timed run elaborates and starts SystemC itself), so this is never called.
extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  select_fastest_blas_kernel(argv);
  try {
    take_threads_option(argc, argv);  // also fixes OpenMP's default on this thread (parallel.h)
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "txsim: %s\n", e.what());
    return 2;
  }
  // Once per run: a generic BLAS kernel on a CPU that runs a faster one makes every GEMM slower.
  if (const std::string advice = txsim::blas_kernel_advice(); !advice.empty()) std::fprintf(stderr, "txsim: warning: %s\n", advice.c_str());
  // Subcommands take the rest of the command line. Without one, the main job: LeNet-5 on MNIST
  // with the TxSim-like preset for one epoch, timed on the default platform, beside the ideal
  // (digital) run; figures, per-layer CSV and trace in runs/main.
  if (argc == 1) {
    const char* job[] = {"train", "--workload", "workloads/lenet5.json", "--device", "workloads/devices/txsim_reram.json",
                         "--platform", "platforms/default.json", "--epochs", "1", "--out", "runs/main", "--trace",
                         "runs/main/trace.json", "--compare-ideal"};
    std::printf("txsim train --workload workloads/lenet5.json --device workloads/devices/txsim_reram.json "
                "--platform platforms/default.json --epochs 1 --out runs/main --trace runs/main/trace.json --compare-ideal\n");
    return txsim::app::train_main(static_cast<int>(sizeof job / sizeof *job), const_cast<char**>(job));
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_help();
    return 0;
  }
  if (command == "--version") {
    std::printf("txsim %s\nopenblas core: %s\nthreads: %d\n", TXSIM_VERSION, txsim::blas_core_name().c_str(), txsim::threads());
    return 0;
  }
  for (const Subcommand& c : kSubcommands)
    if (command == c.name) return c.main(argc - 1, argv + 1);
  std::string names;
  for (const Subcommand& c : kSubcommands) names += std::string(names.empty() ? "" : ", ") + c.name;
  std::fprintf(stderr, "txsim: unknown command '%s'; accepted: %s (txsim --help)\n", command.c_str(), names.c_str());
  return 2;
}
