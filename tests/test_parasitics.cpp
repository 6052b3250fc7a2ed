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

// Sensed currents through the effective matrix.
std::vector<double> apply(const std::vector<double>& eff, int rows, int cols, Direction dir, const std::vector<double>& v) {
  const bool fwd = dir == Direction::Forward;
  std::vector<double> out(fwd ? cols : rows, 0.0);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const double e = eff[static_cast<std::size_t>(i) * cols + j];
      if (fwd) out[j] += e * v[i];
      else out[i] += e * v[j];
    }
  return out;
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
      EXPECT_LT(worst_relative(apply(eff, rows, cols, dir, v), want), 1e-10) << rows << "x" << cols << " " << dir_name(dir);
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
  const auto ours = apply(eff, n, n, dir, v);
  const auto spice = run_ngspice(crossbar_netlist(g, n, n, dir, p, {}, v), netlist_path("linear"), n);
  EXPECT_LT(worst_relative(ours, spice), 1e-6);
  // The parasitics matter at these values: the ideal currents are off by far more than the tolerance.
  std::vector<double> ideal(g.size());
  effective_matrix(ParasiticModel::None, g.data(), n, n, dir, p, ideal.data());
  EXPECT_GT(worst_relative(apply(ideal, n, n, dir, v), spice), 1e-3);
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

INSTANTIATE_TEST_SUITE_P(Crossbars, NgspiceOracle,
                         testing::Values(OracleCase{8, Direction::Forward, 1}, OracleCase{8, Direction::Backward, 10},
                                         OracleCase{16, Direction::Forward, 10}, OracleCase{16, Direction::Backward, 1},
                                         OracleCase{32, Direction::Forward, 1}, OracleCase{32, Direction::Backward, 1},
                                         OracleCase{32, Direction::Forward, 10}, OracleCase{32, Direction::Backward, 10}),
                         case_name);

}  // namespace
}  // namespace txsim
