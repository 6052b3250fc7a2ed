#include "circuit_commands.h"
#include "command_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "txsim/config.h"
#include "txsim/parasitics.h"
#include "txsim/rng.h"
#include "txsim/spice.h"

namespace po = boost::program_options;

namespace txsim::app {
namespace {

struct Conductances {
  int rows = 0, cols = 0;
  std::vector<double> g;
};

Conductances read_conductances(const std::string& path) {
  const auto csv = read_numeric_csv(path);
  Conductances c{static_cast<int>(csv.size()), static_cast<int>(csv.front().size()), {}};
  for (std::size_t r = 0; r < csv.size(); ++r)
    for (std::size_t k = 0; k < csv[r].size(); ++k) {
      if (!(csv[r][k] > 0))
        throw std::runtime_error(path + ": row " + std::to_string(r + 1) + ", column " + std::to_string(k + 1) + " = " +
                                 std::to_string(csv[r][k]) + ": accepted a conductance in siemens > 0");
      c.g.push_back(csv[r][k]);
    }
  return c;
}

Direction parse_direction(const std::string& s) {
  if (s == "forward") return Direction::Forward;
  if (s == "backward") return Direction::Backward;
  throw UsageError("--direction '" + s + "': accepted forward or backward");
}

ParasiticModel parse_model(const std::string& s) {
  for (ParasiticModel m : {ParasiticModel::Exact, ParasiticModel::FirstOrder, ParasiticModel::ShortPath})
    if (s == name(m)) return m;
  throw UsageError("--model '" + s + "': accepted exact, first_order or short_path");
}

void add_circuit_options(po::options_description& o) {
  o.add_options()("source-ohm", po::value<double>()->required(), "driver-to-line resistance (ohm, > 0)")(
      "sink-ohm", po::value<double>()->required(), "line-to-virtual-ground resistance (ohm, > 0)")(
      "wire-ohm", po::value<double>()->required(), "resistance between adjacent cells (ohm, > 0)")(
      "direction", po::value<std::string>()->default_value("forward"), "forward (drive rows) or backward (drive columns)")(
      "iv", po::value<std::string>()->default_value("linear"), "device I-V: linear or sinh:A (I = g sinh(A V)/A, A per volt)");
}

Parasitics parasitics_of(const po::variables_map& vm) {
  Parasitics p{vm["source-ohm"].as<double>(), vm["sink-ohm"].as<double>(), vm["wire-ohm"].as<double>()};
  check_parasitics(p, "options");
  return p;
}

// Currents for each input vector: through the effective matrix (linear devices), or the nodal
// Newton solve (sinh I-V, exact model only).
std::vector<std::vector<double>> solve_all(const Conductances& c, Direction dir, const Parasitics& p, const IvModel& iv,
                                           ParasiticModel model, const std::vector<std::vector<double>>& inputs) {
  const int driven = dir == Direction::Forward ? c.rows : c.cols;
  for (std::size_t k = 0; k < inputs.size(); ++k)
    if (static_cast<int>(inputs[k].size()) != driven)
      throw std::runtime_error("input vector " + std::to_string(k + 1) + " has " + std::to_string(inputs[k].size()) +
                               " voltages; the " + (dir == Direction::Forward ? "forward" : "backward") +
                               " read drives " + std::to_string(driven) + " lines");
  std::vector<std::vector<double>> out;
  if (iv.kind == IvKind::Sinh) {
    if (model != ParasiticModel::Exact)
      throw UsageError("--iv " + iv.str() + " needs --model exact (the nonlinear nodal solve); the fast models are linear");
    const NodalCrossbar solver(c.g, c.rows, c.cols, dir, p, iv);
    for (const auto& v : inputs) out.push_back(solver.solve(v));
    return out;
  }
  std::vector<double> eff(c.g.size());
  effective_matrix(model, c.g.data(), c.rows, c.cols, dir, p, eff.data());
  for (const auto& v : inputs) out.push_back(sensed_currents(eff, c.rows, c.cols, dir, v));
  return out;
}

double worst_relative(const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t k = 0; k < want.size(); ++k) worst = std::max(worst, std::fabs(got[k] - want[k]) / std::fabs(want[k]));
  return worst;
}

}  // namespace

int crossbar_solve_main(int argc, char** argv) {
  po::options_description opts("txsim crossbar-solve: output currents of one crossbar with parasitics");
  opts.add_options()("help,h", "show this help")(
      "conductances", po::value<std::string>()->required(), "CSV, rows x cols conductances in siemens")(
      "inputs", po::value<std::string>()->required(), "CSV, one input vector (volts) per line")(
      "model", po::value<std::string>()->default_value("exact"), "exact, first_order or short_path")(
      "out", po::value<std::string>(), "write the currents here (atomically) instead of stdout");
  add_circuit_options(opts);
  return guarded("crossbar-solve", opts, [&] {
    const auto vm = parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const Conductances c = read_conductances(vm["conductances"].as<std::string>());
    const auto inputs = read_numeric_csv(vm["inputs"].as<std::string>());
    const Direction dir = parse_direction(vm["direction"].as<std::string>());
    const IvModel iv = IvModel::parse(vm["iv"].as<std::string>(), "--iv");
    const auto currents = solve_all(c, dir, parasitics_of(vm), iv, parse_model(vm["model"].as<std::string>()), inputs);
    std::ostringstream text;
    text.precision(17);
    for (const auto& row : currents) {
      for (std::size_t k = 0; k < row.size(); ++k) text << (k ? "," : "") << row[k];
      text << "\n";
    }
    if (vm.count("out")) write_atomically(vm["out"].as<std::string>(), text.str());
    else std::cout << text.str();
    return 0;
  });
}

int validate_main(int argc, char** argv) {
  po::options_description opts("txsim validate: our circuit solve against ngspice on one crossbar");
  opts.add_options()("help,h", "show this help")(
      "conductances", po::value<std::string>(), "CSV of conductances (default: random, --rows x --cols)")(
      "inputs", po::value<std::string>(), "CSV, one input vector per line (default: one random vector)")(
      "rows", po::value<int>()->default_value(32), "rows of the random crossbar")(
      "cols", po::value<int>()->default_value(32), "cols of the random crossbar")(
      "g-min", po::value<double>()->default_value(1e-5), "random conductances from (siemens)")(
      "g-max", po::value<double>()->default_value(1e-4), "random conductances to (siemens)")(
      "v-max", po::value<double>()->default_value(0.2), "random inputs in [0, v-max] volts")(
      "seed", po::value<std::string>()->default_value("1"), "random seed")(
      "netlist", po::value<std::string>(), "where to write the SPICE netlist (default: a temporary file)");
  opts.add_options()("source-ohm", po::value<double>()->default_value(100), "ohm")(
      "sink-ohm", po::value<double>()->default_value(50), "ohm")("wire-ohm", po::value<double>()->default_value(2.5), "ohm")(
      "direction", po::value<std::string>()->default_value("forward"), "forward or backward")(
      "iv", po::value<std::string>()->default_value("linear"), "linear or sinh:A");
  return guarded("validate", opts, [&] {
    const auto vm = parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const Direction dir = parse_direction(vm["direction"].as<std::string>());
    const IvModel iv = IvModel::parse(vm["iv"].as<std::string>(), "--iv");
    const Parasitics p = parasitics_of(vm);
    const uint64_t seed = seed_option(vm);
    Conductances c;
    if (vm.count("conductances")) {
      c = read_conductances(vm["conductances"].as<std::string>());
    } else {
      c.rows = vm["rows"].as<int>();
      c.cols = vm["cols"].as<int>();
      const double lo = vm["g-min"].as<double>(), hi = vm["g-max"].as<double>();
      if (c.rows < 1 || c.cols < 1 || c.rows > 512 || c.cols > 512) throw UsageError("--rows/--cols: accepted 1..512");
      if (!(lo > 0 && hi >= lo)) throw UsageError("--g-min/--g-max: accepted 0 < g-min <= g-max");
      for (int k = 0; k < c.rows * c.cols; ++k) c.g.push_back(lo + (hi - lo) * uniform01(derive_key(seed, 1), k));
    }
    const int driven = dir == Direction::Forward ? c.rows : c.cols;
    std::vector<std::vector<double>> inputs;
    if (vm.count("inputs")) {
      inputs = read_numeric_csv(vm["inputs"].as<std::string>());
    } else {
      std::vector<double> v(driven);
      for (int k = 0; k < driven; ++k) v[k] = vm["v-max"].as<double>() * uniform01(derive_key(seed, 2), k);
      inputs.push_back(v);
    }
    const auto ours = solve_all(c, dir, p, iv, ParasiticModel::Exact, inputs);
    const std::string netlist = vm.count("netlist")
                                    ? vm["netlist"].as<std::string>()
                                    : (std::filesystem::temp_directory_path() / "txsim_validate.cir").string();
    const double tolerance = iv.kind == IvKind::Linear ? 1e-6 : 1e-4;
    double worst = 0;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const auto spice = run_ngspice(crossbar_netlist(c.g, c.rows, c.cols, dir, p, iv, inputs[k]), netlist,
                                     static_cast<int>(ours[k].size()));
      worst = std::max(worst, worst_relative(ours[k], spice));
    }
    std::printf("validate: %dx%d crossbar, %s read, %s I-V, source %g, sink %g, wire %g ohm, %zu input vector(s)\n",
                c.rows, c.cols, dir == Direction::Forward ? "forward" : "backward", iv.str().c_str(), p.source_ohm,
                p.sink_ohm, p.wire_ohm, inputs.size());
    std::printf("netlist: %s\n", netlist.c_str());
    std::printf("worst relative error against ngspice: %.3e (tolerance %.0e: %s)\n", worst, tolerance,
                worst <= tolerance ? "PASS" : "FAIL");
    return worst <= tolerance ? 0 : 1;
  });
}

int circuit_error_main(int argc, char** argv) {
  po::options_description opts("txsim circuit-error: the error of each fast parasitic model against the exact solve");
  opts.add_options()("help,h", "show this help")("seed", po::value<std::string>()->default_value("1"), "random seed")(
      "source-ohm", po::value<double>()->default_value(100), "ohm")("sink-ohm", po::value<double>()->default_value(50), "ohm")(
      "vectors", po::value<int>()->default_value(64), "random input vectors per crossbar");
  return guarded("circuit-error", opts, [&] {
    const auto vm = parse(argc, argv, opts);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const uint64_t seed = seed_option(vm);
    const int vectors = vm["vectors"].as<int>();
    if (vectors < 1) throw UsageError("--vectors: accepted >= 1");
    std::printf("Worst relative error of the output currents against the exact solve, over %d random input\n"
                "vectors in [0, 0.2] V; conductances uniform in [Gmin, Gmax], ON/OFF 10; source %g ohm, sink %g ohm.\n"
                "refresh_L: the first-order model plus the exact correction of L updates ago (each update moves\n"
                "every device by N(0, 1%% of Gmax - Gmin)).\n\n",
                vectors, vm["source-ohm"].as<double>(), vm["sink-ohm"].as<double>());
    std::printf("%4s %8s %6s %4s %10s %12s %11s %10s %11s %12s\n", "n", "Rmin", "wire", "dir", "ideal", "first_order",
                "short_path", "refresh_1", "refresh_10", "refresh_100");
    for (int n : {64, 128})
      for (double r_min : {10e3, 100e3})
        for (double wire : {1.0, 2.5, 5.0})
          for (Direction dir : {Direction::Forward, Direction::Backward}) {
            const Parasitics p{vm["source-ohm"].as<double>(), vm["sink-ohm"].as<double>(), wire};
            check_parasitics(p, "options");
            const double g_max = 1 / r_min, g_min = g_max / 10;
            const uint64_t key = derive_key(seed, static_cast<uint64_t>(n * 1000 + r_min / 1000 + wire * 10));
            std::vector<double> g(static_cast<std::size_t>(n) * n);
            for (std::size_t k = 0; k < g.size(); ++k) g[k] = g_min + (g_max - g_min) * uniform01(key, k);
            std::vector<std::vector<double>> v(vectors, std::vector<double>(n));
            for (int t = 0; t < vectors; ++t)
              for (int k = 0; k < n; ++k) v[t][k] = 0.2 * uniform01(derive_key(key, 7 + t), k);
            auto error_of = [&](const std::vector<double>& eff, const std::vector<double>& exact) {
              double worst = 0;
              for (const auto& x : v)
                worst = std::max(worst, worst_relative(sensed_currents(eff, n, n, dir, x), sensed_currents(exact, n, n, dir, x)));
              return worst;
            };
            auto matrix = [&](ParasiticModel m, const std::vector<double>& gg) {
              std::vector<double> e(gg.size());
              effective_matrix(m, gg.data(), n, n, dir, p, e.data());
              return e;
            };
            const auto exact0 = matrix(ParasiticModel::Exact, g);
            const auto first0 = matrix(ParasiticModel::FirstOrder, g);
            // Refresh: correction = exact - first_order at the last refresh, carried over L updates.
            double refresh[3];
            int done = 0;
            std::vector<double> gu = g;
            const int marks[3] = {1, 10, 100};
            for (int step = 1; step <= 100; ++step) {
              std::vector<float> z(gu.size());
              fill_normal(derive_key(key, 1000 + step), 0, z.size(), z.data());
              for (std::size_t k = 0; k < gu.size(); ++k)
                gu[k] = std::clamp(gu[k] + 0.01 * (g_max - g_min) * z[k], g_min, g_max);
              if (step == marks[done]) {
                const auto exact = matrix(ParasiticModel::Exact, gu);
                auto approx = matrix(ParasiticModel::FirstOrder, gu);
                for (std::size_t k = 0; k < approx.size(); ++k) approx[k] += exact0[k] - first0[k];
                refresh[done++] = error_of(approx, exact);
              }
            }
            std::printf("%4d %7.0fk %6.1f %4s %10.2e %12.2e %11.2e %10.2e %11.2e %12.2e\n", n, r_min / 1000, wire,
                        dir == Direction::Forward ? "fwd" : "bwd", error_of(matrix(ParasiticModel::None, g), exact0),
                        error_of(first0, exact0), error_of(matrix(ParasiticModel::ShortPath, g), exact0), refresh[0],
                        refresh[1], refresh[2]);
          }
    return 0;
  });
}

}  // namespace txsim::app
