// The circuit models: the exact effective matrix against the nodal solve and against ngspice,
// the nonlinear I-V with parasitics against ngspice, the fast models' error, and bad parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "txsim/parasitics.h"
#include "txsim/rng.h"
#include "txsim/spice.h"

namespace txsim {
namespace {

// Random conductances in [g_min, g_max] and inputs in [0, v_max].
std::vector<double> random_g(int rows, int cols, double g_min, double g_max, uint64_t seed) {
  std::vector<double> g(static_cast<std::size_t>(rows) * cols);
  for (std::size_t k = 0; k < g.size(); ++k) g[k] = g_min + (g_max - g_min) * uniform01(seed, k);
  return g;
}
std::vector<double> random_inputs(int n, double v_max, uint64_t seed) {
  std::vector<double> v(n);
  for (int k = 0; k < n; ++k) v[k] = v_max * uniform01(derive_key(seed, 5), k);
  return v;
}

double worst_relative(const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t k = 0; k < want.size(); ++k) worst = std::max(worst, std::fabs(got[k] - want[k]) / std::fabs(want[k]));
  return worst;
}

const char* dir_name(Direction d) { return d == Direction::Forward ? "forward" : "backward"; }

TEST(Parasitics, ExactMatrixMatchesNodalSolveOnOddShapes) {
  const Parasitics p{50, 30, 2.5};
  for (auto [rows, cols] : {std::pair{7, 13}, std::pair{13, 7}, std::pair{1, 9}, std::pair{9, 1}, std::pair{1, 1}})
    for (Direction dir : {Direction::Forward, Direction::Backward}) {
      const auto g = random_g(rows, cols, 1e-5, 1e-4, rows * 100 + cols);
      std::vector<double> eff(g.size());
      effective_matrix(ParasiticModel::Exact, g.data(), rows, cols, dir, p, eff.data());
      const auto v = random_inputs(dir == Direction::Forward ? rows : cols, 0.2, 3);
      const auto want = NodalCrossbar(g, rows, cols, dir, p, {}).solve(v);
      EXPECT_LT(worst_relative(sensed_currents(eff, rows, cols, dir, v), want), 1e-10) << rows << "x" << cols << " " << dir_name(dir);
    }
}

struct OracleCase {
  int n;
  Direction dir;
  double wire_ohm;
};
std::string case_name(const testing::TestParamInfo<OracleCase>& info) {
  return std::to_string(info.param.n) + "x" + std::to_string(info.param.n) + "_" + dir_name(info.param.dir) + "_wire" +
         std::to_string(static_cast<int>(info.param.wire_ohm)) + "ohm";
}

class NgspiceOracle : public testing::TestWithParam<OracleCase> {
 protected:
  std::string netlist_path(const char* tag) const {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp ? tmp : "/tmp") + "/txsim_" + tag + "_" + case_name({GetParam(), 0}) + ".cir";
  }
};

// Rmin 10 kOhm, ON/OFF 10: the devices most sensitive to IR drop that the issue names.
TEST_P(NgspiceOracle, ExactMatrixWithin1e6) {
  const auto [n, dir, wire] = GetParam();
  const Parasitics p{100, 50, wire};
  const auto g = random_g(n, n, 1e-5, 1e-4, 11 * n + static_cast<int>(wire));
  const auto v = random_inputs(n, 0.2, n);
  std::vector<double> eff(g.size());
  effective_matrix(ParasiticModel::Exact, g.data(), n, n, dir, p, eff.data());
  const auto ours = sensed_currents(eff, n, n, dir, v);
  const auto spice = run_ngspice(crossbar_netlist(g, n, n, dir, p, {}, v), netlist_path("linear"), n);
  EXPECT_LT(worst_relative(ours, spice), 1e-6);
  // The parasitics matter at these values: the ideal currents are off by far more than the tolerance.
  std::vector<double> ideal(g.size());
  effective_matrix(ParasiticModel::None, g.data(), n, n, dir, p, ideal.data());
  EXPECT_GT(worst_relative(sensed_currents(ideal, n, n, dir, v), spice), 1e-3);
}

TEST_P(NgspiceOracle, SinhIvWithParasiticsWithin1e4) {
  const auto [n, dir, wire] = GetParam();
  const Parasitics p{100, 50, wire};
  const IvModel iv{IvKind::Sinh, 5.0};  // a V up to 1 at 0.2 V: 17% above linear at full voltage
  const auto g = random_g(n, n, 1e-5, 1e-4, 13 * n + static_cast<int>(wire));
  const auto v = random_inputs(n, 0.2, n + 1);
  int iterations = 0;
  const auto ours = NodalCrossbar(g, n, n, dir, p, iv).solve(v, &iterations);
  const auto spice = run_ngspice(crossbar_netlist(g, n, n, dir, p, iv, v), netlist_path("sinh"), n);
  EXPECT_LT(worst_relative(ours, spice), 1e-4);
  EXPECT_GT(iterations, 1);
  const auto linear = NodalCrossbar(g, n, n, dir, p, {}).solve(v);
  EXPECT_GT(worst_relative(linear, spice), 1e-3);  // the nonlinearity is visible
}

std::vector<OracleCase> oracle_cases() {
  std::vector<OracleCase> cases;
  for (int n : {8, 16, 32})
    for (Direction dir : {Direction::Forward, Direction::Backward})
      for (double wire : {1.0, 10.0}) cases.push_back({n, dir, wire});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Crossbars, NgspiceOracle, testing::ValuesIn(oracle_cases()),
                         case_name);

}  // namespace
}  // namespace txsim

namespace txsim {
namespace {

// Worst relative error of the sensed currents over a few random input vectors.
double model_error(ParasiticModel model, const std::vector<double>& g, int n, Direction dir, const Parasitics& p) {
  std::vector<double> exact(g.size()), approx(g.size());
  effective_matrix(ParasiticModel::Exact, g.data(), n, n, dir, p, exact.data());
  effective_matrix(model, g.data(), n, n, dir, p, approx.data());
  double worst = 0;
  for (int t = 0; t < 4; ++t) {
    const auto v = random_inputs(n, 0.2, 100 + t);
    worst = std::max(worst, worst_relative(sensed_currents(approx, n, n, dir, v), sensed_currents(exact, n, n, dir, v)));
  }
  return worst;
}

// The first-order model is exact to first order in the resistances: quartering them divides its
// error by about 16, where the short-path model (which misses the currents that cells share on
// the wires) and the ideal circuit improve only 4-fold.
TEST(Parasitics, FirstOrderErrorIsSecondOrderInResistance) {
  const int n = 32;
  const auto g = random_g(n, n, 1e-5, 1e-4, 21);
  for (Direction dir : {Direction::Forward, Direction::Backward}) {
    const Parasitics big{8, 4, 1}, small{2, 1, 0.25};
    const double first_big = model_error(ParasiticModel::FirstOrder, g, n, dir, big);
    const double first_small = model_error(ParasiticModel::FirstOrder, g, n, dir, small);
    const double short_big = model_error(ParasiticModel::ShortPath, g, n, dir, big);
    const double short_small = model_error(ParasiticModel::ShortPath, g, n, dir, small);
    const double ideal_big = model_error(ParasiticModel::None, g, n, dir, big);
    EXPECT_GT(first_big / first_small, 10.0) << dir_name(dir);
    EXPECT_LT(first_big / first_small, 25.0) << dir_name(dir);
    EXPECT_GT(short_big / short_small, 3.0) << dir_name(dir);
    EXPECT_LT(short_big / short_small, 5.0) << dir_name(dir);
    EXPECT_LT(first_big, 0.1 * short_big) << dir_name(dir);
    EXPECT_LT(short_big, ideal_big) << dir_name(dir);
  }
}

// Short path, closed form: one device alone in the crossbar (all others at a negligible
// conductance) sees exactly its own path: source + j wires + (rows-1-i) wires + sink.
TEST(Parasitics, LoneDeviceSeesItsOwnPath) {
  const int rows = 6, cols = 5, i = 2, j = 3;
  std::vector<double> g(rows * cols, 1e-15);
  g[i * cols + j] = 1e-4;
  const Parasitics p{100, 50, 7};
  std::vector<double> exact(g.size()), path(g.size());
  effective_matrix(ParasiticModel::Exact, g.data(), rows, cols, Direction::Forward, p, exact.data());
  effective_matrix(ParasiticModel::ShortPath, g.data(), rows, cols, Direction::Forward, p, path.data());
  const double expected = 1 / (1e4 + 100 + 50 + 7 * (j + rows - 1 - i));
  EXPECT_NEAR(exact[i * cols + j], expected, 1e-9 * expected);
  EXPECT_NEAR(path[i * cols + j], expected, 1e-12 * expected);
}

// Without parasitics, a sinh device read at +-V carries g sinh(aV)/a: the secant conductance.
TEST(Parasitics, SinhSecantIsExactWithoutParasitics) {
  const IvModel iv{IvKind::Sinh, 4.0};
  const double g = 3e-5, v = 0.2;
  EXPECT_DOUBLE_EQ(iv.secant(g, v) * v, g * std::sinh(0.8) / 4.0);
  EXPECT_DOUBLE_EQ(iv.secant(g, -v) * -v, -g * std::sinh(0.8) / 4.0);
  const ParasiticCircuit circuit(ParasiticModel::None, {}, iv, v);
  std::vector<double> gs = {g, 2 * g}, eff(2);
  circuit.effective(gs.data(), 1, 2, Direction::Forward, eff.data());
  EXPECT_DOUBLE_EQ(eff[1] * v, 2 * g * std::sinh(0.8) / 4.0);
}

TEST(Parasitics, BadParametersAreClearErrors) {
  const std::vector<double> g(4, 1e-5);
  for (const Parasitics& p : {Parasitics{0, 1, 1}, Parasitics{1, -2, 1}, Parasitics{1, 1, std::nan("")}}) {
    try {
      NodalCrossbar(g, 2, 2, Direction::Forward, p, {});
      ADD_FAILURE() << "accepted bad parasitics";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("_ohm"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("accepted ohms > 0"), std::string::npos) << e.what();
    }
    std::vector<double> eff(4);
    EXPECT_THROW(effective_matrix(ParasiticModel::Exact, g.data(), 2, 2, Direction::Forward, p, eff.data()),
                 std::invalid_argument);
  }
  for (const char* bad : {"sinh", "sinh:", "sinh:0", "sinh:-1", "sinh:2000", "sinh:3x", "tanh:1", ""})
    EXPECT_THROW(IvModel::parse(bad, "--iv"), std::invalid_argument) << bad;
  EXPECT_EQ(IvModel::parse("sinh:2.5", "--iv").a, 2.5);
  const NodalCrossbar strong(g, 2, 2, Direction::Forward, {10, 10, 1}, {IvKind::Sinh, 100});
  try {
    strong.solve({1.0, 1.0});  // a V = 100: outside the model
    ADD_FAILURE() << "accepted a V = 100";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("outside the model"), std::string::npos) << e.what();
  }
  try {
    strong.solve({0.45, 0.3}, nullptr, 2);  // strongly nonlinear: two Newton steps are not enough
    ADD_FAILURE() << "claimed convergence in 2 steps";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("did not converge"), std::string::npos) << e.what();
  }
  const auto converged = strong.solve({0.45, 0.3});
  for (double c : converged) EXPECT_TRUE(std::isfinite(c));
}

}  // namespace
}  // namespace txsim

#include "test_util.h"
#include "txsim/mapped_matrix.h"

namespace txsim {
namespace {

// One crossbar, one slice, differential pair, lossless periphery: the layer's outputs must be
// the nodal solve's differential currents, up to the one scale factor that the ideal circuit shows.
CrossbarConfig one_crossbar_config(int rows, int cols) {
  CrossbarConfig c;
  c.crossbar.rows = rows;
  c.crossbar.cols = cols;
  c.crossbar.weight_bits = c.crossbar.bits_per_cell = 4;
  c.crossbar.input_bits = 12;
  c.crossbar.dac_bits = 11;
  c.crossbar.read_mode = ReadMode::Folded;
  c.crossbar.adc_model = AdcModel::Ideal;
  c.device.g_min = 1e-5;
  c.device.g_max = 1e-4;
  return c;
}

// Fits y = c * reference over all entries; returns c and the relative residual.
std::pair<double, double> fit_scale(const std::vector<float>& y, const std::vector<double>& reference) {
  double yr = 0, rr = 0;
  for (std::size_t k = 0; k < y.size(); ++k) {
    yr += y[k] * reference[k];
    rr += reference[k] * reference[k];
  }
  const double c = yr / rr;
  double err = 0, norm = 0;
  for (std::size_t k = 0; k < y.size(); ++k) {
    err += (y[k] - c * reference[k]) * (y[k] - c * reference[k]);
    norm += double(y[k]) * y[k];
  }
  return {c, std::sqrt(err / norm)};
}

TEST(ParasiticLayer, ReadsAreTheNodalSolveInBothDirections) {
  const int rows = 16, cols = 12, batch = 3;
  const CrossbarConfig ideal = one_crossbar_config(rows, cols);
  CrossbarConfig config = ideal;
  config.circuit.model = ParasiticModel::Exact;
  config.circuit.source_ohm = 100;
  config.circuit.sink_ohm = 50;
  config.circuit.wire_ohm = 2.5;
  const Parasitics p{100, 50, 2.5};
  const auto w = test::normal_matrix(static_cast<std::size_t>(cols) * rows, 5);
  MappedMatrix with(config, rows, cols, 9), without(ideal, rows, cols, 9);
  with.program(w.data());
  without.program(w.data());
  std::vector<double> gp(rows * cols), gn(rows * cols);
  for (int i = 0; i < rows; ++i)
    for (int o = 0; o < cols; ++o) {
      gp[i * cols + o] = with.plane(0, 0).conductance(i, o);
      gn[i * cols + o] = with.plane(0, 1).conductance(i, o);
    }
  for (Direction dir : {Direction::Forward, Direction::Backward}) {
    const bool fwd = dir == Direction::Forward;
    const int k = fwd ? rows : cols, n = fwd ? cols : rows;
    // Integer inputs whose per-sample maximum is the full scale: quantization is exact.
    const auto x = test::integer_matrix(batch, k, 2047, 3);
    std::vector<float> y_with(batch * n), y_without(batch * n);
    if (fwd) {
      with.forward(x.data(), batch, y_with.data());
      without.forward(x.data(), batch, y_without.data());
    } else {
      with.backward(x.data(), batch, y_with.data());
      without.backward(x.data(), batch, y_without.data());
    }
    std::vector<double> nodal, ideal_currents;
    const NodalCrossbar pos(gp, rows, cols, dir, p, {}), neg(gn, rows, cols, dir, p, {});
    for (int b = 0; b < batch; ++b) {
      const std::vector<double> v(x.begin() + b * k, x.begin() + (b + 1) * k);
      const auto ip = pos.solve(v), in = neg.solve(v);
      for (int o = 0; o < n; ++o) {
        nodal.push_back(ip[o] - in[o]);
        double ideal_sum = 0;
        for (int i = 0; i < k; ++i) {
          const int cell = fwd ? i * cols + o : o * cols + i;
          ideal_sum += v[i] * (gp[cell] - gn[cell]);
        }
        ideal_currents.push_back(ideal_sum);
      }
    }
    const auto [scale, ideal_residual] = fit_scale(y_without, ideal_currents);
    EXPECT_LT(ideal_residual, 1e-6) << dir_name(dir);
    double err = 0, norm = 0, change = 0;
    for (std::size_t q = 0; q < nodal.size(); ++q) {
      err += std::pow(y_with[q] - scale * nodal[q], 2);
      change += std::pow(y_with[q] - y_without[q], 2);
      norm += std::pow(y_with[q], 2);
    }
    EXPECT_LT(std::sqrt(err / norm), 1e-5) << dir_name(dir);
    EXPECT_GT(std::sqrt(change / norm), 1e-3) << dir_name(dir) << ": the parasitics must change the outputs";
  }
}

TEST(ParasiticLayer, RefreshEveryLSolvesExactlyEveryLBuilds) {
  const int rows = 32, cols = 32, batch = 4;
  CrossbarConfig exact = one_crossbar_config(rows, cols);
  exact.crossbar.weight_bits = exact.crossbar.bits_per_cell = 8;
  exact.circuit.model = ParasiticModel::Exact;
  exact.circuit.source_ohm = 100;
  exact.circuit.sink_ohm = 50;
  exact.circuit.wire_ohm = 2.5;
  CrossbarConfig refreshed = exact;
  refreshed.circuit.refresh_every = 3;
  MappedMatrix a(exact, rows, cols, 4), b(refreshed, rows, cols, 4);
  const auto x = test::integer_matrix(batch, rows, 2047, 8);
  auto w = test::normal_matrix(static_cast<std::size_t>(cols) * rows, 6);
  std::vector<float> ya(batch * cols), yb(batch * cols);
  for (int build = 0; build < 4; ++build) {
    if (build > 0) {  // a training-like change: every weight moves by 2% of its spread
      const auto step = test::normal_matrix(w.size(), 60 + build);
      for (std::size_t q = 0; q < w.size(); ++q) w[q] += 0.02f * step[q];
    }
    a.program(w.data(), 4.0f);
    b.program(w.data(), 4.0f);
    a.forward(x.data(), batch, ya.data());
    b.forward(x.data(), batch, yb.data());
    const double rel = test::relative_error(yb, ya);
    if (build % 3 == 0) {
      EXPECT_EQ(ya, yb) << "build " << build << " is a refresh: exact";
    } else {
      EXPECT_GT(rel, 1e-7) << "build " << build << " uses the first-order model";
      EXPECT_LT(rel, 1e-3) << "build " << build << ": the carried correction keeps it close";
    }
  }
}

}  // namespace
}  // namespace txsim
