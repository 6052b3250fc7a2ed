// Device update models against their closed forms, noise statistics against the sample size,
// and MappedMatrix::update against the weight change it was asked for.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.h"
#include "txsim/mapped_matrix.h"
#include "txsim/rng.h"
#include "txsim/update_model.h"

namespace txsim {
namespace {

TEST(UpdateModel, LinearStepsAsymmetryAndSaturation) {
  UpdateConfig u;
  u.asymmetry = 0.2;
  const double step = 0.01;
  EXPECT_NEAR(apply_pulses(u, step, 0.5, 10, true, 1.0, 0), 0.5 + 10 * 0.01 * 1.2, 1e-12);
  EXPECT_NEAR(apply_pulses(u, step, 0.5, 10, false, 1.0, 0), 0.5 - 10 * 0.01 * 0.8, 1e-12);
  EXPECT_NEAR(apply_pulses(u, step, 0.5, 10, true, 0.5, 0), 0.5 + 10 * 0.01 * 1.2 * 0.5, 1e-12);  // d2d factor
  EXPECT_EQ(apply_pulses(u, step, 0.95, 100, true, 1.0, 0), 1.0);   // saturates at g_max
  EXPECT_EQ(apply_pulses(u, step, 0.05, 100, false, 1.0, 0), 0.0);  // and at g_min
}

TEST(UpdateModel, SoftBoundsClosedForm) {
  UpdateConfig u;
  u.kind = UpdateKind::SoftBounds;
  const double step = 0.02;
  EXPECT_NEAR(apply_pulses(u, step, 0.3, 7, true, 1.0, 0), 1 - 0.7 * std::pow(0.98, 7), 1e-12);
  EXPECT_NEAR(apply_pulses(u, step, 0.3, 7, false, 1.0, 0), 0.3 * std::pow(0.98, 7), 1e-12);
  // n pulses at once equal n single pulses.
  double x = 0.3;
  for (int k = 0; k < 7; ++k) x = apply_pulses(u, step, x, 1, true, 1.0, 0);
  EXPECT_NEAR(x, apply_pulses(u, step, 0.3, 7, true, 1.0, 0), 1e-12);
}

// NeuroSim: G(P) = B (1 - e^(-P/A)) + Gmin, B = (Gmax - Gmin) / (1 - e^(-Pmax/A)); LTD mirrored.
TEST(UpdateModel, ExponentialIsNeuroSimCurve) {
  UpdateConfig u;
  u.kind = UpdateKind::Exponential;
  u.nl_ltp = 0.3;
  u.nl_ltd = 0.6;
  const int pmax = 64;
  const double step = 1.0 / pmax, a = u.nl_ltp * pmax;
  double x = 0;
  for (int p = 1; p <= pmax; ++p) {
    x = apply_pulses(u, step, x, 1, true, 1.0, 0);
    const double g = (1 - std::exp(-p / a)) / (1 - std::exp(-pmax / a));
    ASSERT_NEAR(x, g, 1e-9) << "pulse " << p;
  }
  EXPECT_NEAR(x, 1.0, 1e-9);
  const double ad = u.nl_ltd * pmax;
  for (int p = 1; p <= pmax; ++p) {
    x = apply_pulses(u, step, x, 1, false, 1.0, 0);
    ASSERT_NEAR(1 - x, (1 - std::exp(-p / ad)) / (1 - std::exp(-pmax / ad)), 1e-9) << "LTD pulse " << p;
  }
  // Nonlinear: the first pulse from g_min moves more than the last one before g_max.
  const double first = apply_pulses(u, step, 0, 1, true, 1, 0);
  const double below_top = (1 - std::exp(-(pmax - 1) / a)) / (1 - std::exp(-pmax / a));
  EXPECT_GT(first, 3 * (apply_pulses(u, step, below_top, 1, true, 1, 0) - below_top));
}

// Write noise: n pulses add N(0, (write_noise step)^2 n); the sample variance of N draws has a
// relative standard error sqrt(2 / N).
TEST(UpdateModel, WriteNoiseVarianceMatchesPulseCount) {
  UpdateConfig u;
  u.write_noise = 2.0;
  const double step = 1e-3;
  const int n_devices = 20000, pulses = 9;
  double s = 0, s2 = 0;
  for (int k = 0; k < n_devices; ++k) {
    const double d = apply_pulses(u, step, 0.5, pulses, true, 1.0, normal_at(77, k)) - (0.5 + pulses * step);
    s += d;
    s2 += d * d;
  }
  const double mean = s / n_devices, var = s2 / n_devices - mean * mean;
  const double expected = std::pow(2.0 * step, 2) * pulses;
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(expected / n_devices));
  EXPECT_NEAR(var, expected, 5 * expected * std::sqrt(2.0 / n_devices));
}

TEST(UpdateModel, BadParametersNameTheField) {
  UpdateConfig u;
  u.asymmetry = 1.5;
  try {
    check_update(u, "dev.json");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dev.json: field 'update.asymmetry' = 1.5"), std::string::npos) << e.what();
  }
  u = {};
  u.nl_ltp = 0;
  EXPECT_THROW(check_update(u, "x"), std::invalid_argument);
}

CrossbarConfig analog_config() {
  CrossbarConfig c;
  c.crossbar.rows = c.crossbar.cols = 32;
  c.crossbar.weight_bits = c.crossbar.bits_per_cell = 10;
  c.crossbar.input_bits = 16;
  c.crossbar.dac_bits = 15;
  c.crossbar.read_mode = ReadMode::Folded;
  c.crossbar.adc_model = AdcModel::Ideal;
  return c;
}

// A change of k pulses per device moves the represented weight by 2 k steps of w_scale.
TEST(PulsedUpdate, DeterministicLinearMovesWeightsExactly) {
  MappedMatrix m(analog_config(), 20, 10, 1);
  std::vector<float> w(200, 0.0f);
  m.program_centered(w.data(), 1.0f);
  UpdateConfig u;
  u.stochastic = false;
  const double step = 1.0 / 1023;
  std::vector<float> dw(200);
  for (int k = 0; k < 200; ++k) dw[k] = static_cast<float>(2 * step * ((k % 7) - 3));
  m.update(dw.data(), u, 5);
  const auto after = m.weights();
  for (int k = 0; k < 200; ++k) ASSERT_NEAR(after[k], dw[k], 1e-6) << k;
}

// Stochastic rounding is unbiased: the mean realized change equals the requested one.
TEST(PulsedUpdate, StochasticRoundingIsUnbiased) {
  MappedMatrix m(analog_config(), 100, 50, 2);
  std::vector<float> w(5000, 0.0f), dw(5000, static_cast<float>(0.3 * 2.0 / 1023));  // 0.3 pulses each
  m.program_centered(w.data(), 1.0f);
  m.update(dw.data(), UpdateConfig{}, 9);
  const auto after = m.weights();
  double mean = 0;
  for (float v : after) mean += v;
  mean /= after.size();
  const double pulse = 2.0 / 1023, p = 0.3;
  EXPECT_NEAR(mean, p * pulse, 5 * pulse * std::sqrt(p * (1 - p) / after.size()));
  int moved = 0;
  for (float v : after) moved += v != 0.0f;
  EXPECT_NEAR(moved / 5000.0, p, 5 * std::sqrt(p * (1 - p) / 5000));
}

// Bit-sliced weights: read-modify-write with stochastic rounding, unbiased below one code.
TEST(PulsedUpdate, SlicedWeightsReprogramUnbiased) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  MappedMatrix m(c, 100, 40, 1);
  std::vector<float> w(4000, 0.0f);
  m.program(w.data(), 1.0f);
  const float code = 1.0f / 255;
  std::vector<float> dw(4000, 0.25f * code);
  m.update(dw.data(), UpdateConfig{}, 3);
  const auto after = m.weights();
  double mean = 0;
  for (float v : after) mean += v;
  mean /= after.size();
  EXPECT_NEAR(mean, 0.25 * code, 5 * code * std::sqrt(0.25 * 0.75 / after.size()));
  EXPECT_THROW(m.program_centered(w.data(), 1.0f), std::invalid_argument);
}

}  // namespace
}  // namespace txsim

namespace txsim {
namespace {

// The stochastic pulsed update: the mean weight change is -lr x d (the SGD outer product), and
// its spread is that of binomial coincidence counts.
TEST(PulseTrains, MeanChangeIsTheOuterProduct) {
  const int in = 64, out = 64;
  MappedMatrix m(analog_config(), in, out, 3);
  std::vector<float> w(in * out, 0.0f);
  m.program_centered(w.data(), 1.0f);
  std::vector<float> x(in), d(out);
  for (int i = 0; i < in; ++i) x[i] = (i % 2 ? 0.5f : -0.5f);
  for (int j = 0; j < out; ++j) d[j] = (j % 3 ? 0.3f : -0.3f);
  const double lr = 0.02;
  UpdateConfig u;
  const int rows = 1;
  const uint64_t events = m.pulsed_update(x.data(), d.data(), rows, lr, 31, u, 11);
  EXPECT_GT(events, 100u);
  const auto after = m.weights();
  // Sign-corrected change per weight: should average lr * 0.5 * 0.3.
  double mean = 0;
  for (int j = 0; j < out; ++j)
    for (int i = 0; i < in; ++i) mean += -after[j * in + i] / (x[i] * d[j] > 0 ? 1 : -1);
  mean /= in * out;
  const double want = lr * 0.5 * 0.3;
  // The mean over all weights is sum_b X_b D_b / (in out) in coincidences, X_b ~ Bin(in, p) and
  // D_b ~ Bin(out, p) the pulses of bit b on all lines (p^2 = want / (31 dw_min)): lines share
  // their trains, so the weights are not independent.
  const double dw_min = 2.0 / 1023, p = std::sqrt(want / (31 * dw_min));
  const double ex = in * p, ex2 = in * p * (1 - p) + ex * ex, ed = out * p, ed2 = out * p * (1 - p) + ed * ed;
  const double sd = dw_min * std::sqrt(31 * (ex2 * ed2 - ex * ex * ed * ed)) / (in * out);
  EXPECT_NEAR(mean, want, 5 * sd);
  EXPECT_LT(5 * sd, 0.5 * want);  // the test can tell a wrong scale
}

}  // namespace
}  // namespace txsim
