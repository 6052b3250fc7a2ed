// Device update models against their closed forms, noise statistics against the sample size,
// and MappedMatrix::update against the weight change it was asked for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <omp.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "txsim/parallel.h"
#include "txsim/mapped_matrix.h"
#include "txsim/rng.h"
#include "txsim/state_archive.h"
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

// TxSim's nu: dx/dn = step (1 - nu x) up, mirrored down. Oracle: the ODE integrated numerically
// (RK4, 1000 substeps per pulse); n pulses at once equal n single pulses; nu = 0 is linear; the
// up and down steps agree only at x = 1/2; at nu = 1 a device at g_min does not go down.
TEST(UpdateModel, TxSimNuMatchesItsDifferentialEquation) {
  UpdateConfig u;
  u.kind = UpdateKind::TxSim;
  u.nu = 0.7;
  const double step = 1.0 / 100;
  auto rk4 = [&](double x, int pulses, bool up) {
    auto f = [&](double v) { return up ? step * (1 - u.nu * v) : -step * (1 - u.nu * (1 - v)); };
    const int sub = 1000;
    const double h = 1.0 / sub;
    for (int k = 0; k < pulses * sub; ++k) {
      const double k1 = f(x), k2 = f(x + h / 2 * k1), k3 = f(x + h / 2 * k2), k4 = f(x + h * k3);
      x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    return x;
  };
  for (double x0 : {0.0, 0.3, 0.8}) {
    EXPECT_NEAR(apply_pulses(u, step, x0, 17, true, 1.0, 0), rk4(x0, 17, true), 1e-9) << x0;
    EXPECT_NEAR(apply_pulses(u, step, x0, 17, false, 1.0, 0), std::max(0.0, rk4(x0, 17, false)), 1e-9) << x0;
    double x = x0;
    for (int k = 0; k < 17; ++k) x = apply_pulses(u, step, x, 1, true, 1.0, 0);
    EXPECT_NEAR(x, apply_pulses(u, step, x0, 17, true, 1.0, 0), 1e-12);
  }
  const double up = apply_pulses(u, step, 0.2, 1, true, 1.0, 0) - 0.2;
  const double down = 0.2 - apply_pulses(u, step, 0.2, 1, false, 1.0, 0);
  // (1 - 0.14) / (1 - 0.56), about 2x; one finite pulse differs from the slope ratio by O(nu step)
  EXPECT_NEAR(up / down / ((1 - u.nu * 0.2) / (1 - u.nu * 0.8)), 1, u.nu * step);
  EXPECT_NEAR(apply_pulses(u, step, 0.5, 1, true, 1.0, 0) - 0.5, 0.5 - apply_pulses(u, step, 0.5, 1, false, 1.0, 0), 1e-12);
  u.nu = 1;
  EXPECT_EQ(apply_pulses(u, step, 0.0, 50, false, 1.0, 0), 0.0);
  EXPECT_NEAR(apply_pulses(u, step, 0.0, 1, true, 1.0, 0), 1 - std::exp(-step), 1e-15);
  u.nu = 0;
  EXPECT_NEAR(apply_pulses(u, step, 0.3, 9, true, 1.0, 0), 0.3 + 9 * step, 1e-12);
  EXPECT_EQ(apply_pulses(u, step, 0.99, 5, true, 1.0, 0), 1.0);  // saturates
}

// Oracle: CrossSim's asymmetric nonlinearity (Agarwal et al., IJCNN 2016), written from its
// published equations. On a weight window [wmin, wmax] with nonlinearity alpha and
// w0 = (wmax - wmin) / (1 - e^-alpha), a requested change d (dn = d / (wmax - wmin)) becomes
// (w0 + wmin - w)(1 - e^(-alpha dn)) when d > 0 and (wmax - w0 - w)(1 - e^(alpha dn)) when d < 0.
// That is the txsim model with nu = 1 - e^-alpha, once the request is counted in pulses:
// n = alpha |dn| / (nu step). nu = 1 is the limit alpha -> infinity.
TEST(UpdateModel, TxSimNuIsCrossSimsAsymmetricNonlinearity) {
  const double wmin = -0.6, wmax = 0.6, range = wmax - wmin, step = 1.0 / 256;
  for (double alpha : {0.3, 1.0, 4.0}) {
    const double w0 = range / (1 - std::exp(-alpha));
    UpdateConfig u;
    u.kind = UpdateKind::TxSim;
    u.nu = 1 - std::exp(-alpha);
    for (double x0 : {0.05, 0.5, 0.9}) {
      for (double dn : {0.03, -0.03, 0.2, -0.2}) {
        const double w = wmin + x0 * range, d = dn * range;
        const double crosssim = d > 0 ? (w0 + wmin - w) * (1 - std::exp(-alpha * dn))
                                      : (wmax - w0 - w) * (1 - std::exp(alpha * dn));
        const double expected = std::clamp((w + crosssim - wmin) / range, 0.0, 1.0);
        const double n = alpha * std::abs(dn) / (u.nu * step);
        EXPECT_NEAR(apply_pulses(u, step, x0, n, d > 0, 1.0, 0), expected, 1e-12)
            << "alpha " << alpha << " x0 " << x0 << " dn " << dn;
      }
    }
  }
}

// A measured device (CSV). Oracle: a pulse-response table sampled from NeuroSim's curve
// (conductances in siemens, LTD from the top) must move exactly as the Exponential model at
// the sampled pulse numbers, singly and several pulses at once.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(UpdateModel, MeasuredPulseTableReproducesTheCurveItWasSampledFrom) {
  UpdateConfig exp;
  exp.kind = UpdateKind::Exponential;
  exp.nl_ltp = 0.3;
  exp.nl_ltd = 0.6;
  const int pmax = 64;
  const double step = 1.0 / pmax, g_min = 2e-6, g_max = 2e-5;
  std::ostringstream text;
  text.precision(17);
  text << "pulse,g_ltp,g_ltd\n";
  double up = 0, down = 1;
  for (int p = 0; p <= pmax; ++p) {
    text << p << "," << g_min + up * (g_max - g_min) << "," << g_min + down * (g_max - g_min) << "\n";
    up = apply_pulses(exp, step, up, 1, true, 1.0, 0);
    down = apply_pulses(exp, step, down, 1, false, 1.0, 0);
  }
  UpdateConfig m;
  m.kind = UpdateKind::Measured;
  m.measured = load_measured_curve(write_file("measured_pulses.csv", text.str()));
  ASSERT_EQ(m.measured->ltp_pulses(), pmax);
  const double tol = 1e-12;
  double xm = 0, xe = 0;
  for (int p = 1; p <= pmax; p += 3) {  // 3 pulses at a time
    xm = apply_pulses(m, step, xm, 3, true, 1.0, 0);
    xe = apply_pulses(exp, step, xe, 3, true, 1.0, 0);
    ASSERT_NEAR(xm, xe, tol) << "LTP pulse " << p;
  }
  for (int p = 1; p <= pmax; ++p) {
    xm = apply_pulses(m, step, xm, 1, false, 1.0, 0);
    xe = apply_pulses(exp, step, xe, 1, false, 1.0, 0);
    ASSERT_NEAR(xm, xe, tol) << "LTD pulse " << p;
  }
  EXPECT_NEAR(xm, 0.0, tol);
}

// Step-against-conductance form: a constant step is a linear device (100 LTP pulses across
// the range, LTD steps twice as large); integrated pulse by pulse.
TEST(UpdateModel, MeasuredStepTableIntegratesToTheDevice) {
  std::string text = "g step_ltp step_ltd\n";
  for (int k = 0; k <= 10; ++k) text += std::to_string(1e-6 * (1 + k)) + " 1e-7 2e-7\n";
  UpdateConfig m;
  m.kind = UpdateKind::Measured;
  m.measured = load_measured_curve(write_file("measured_steps.csv", text));
  EXPECT_EQ(m.measured->ltp_pulses(), 100);
  const double step = 1.0 / 100;
  EXPECT_NEAR(apply_pulses(m, step, 0.2, 7, true, 1.0, 0), 0.27, 1e-9);
  EXPECT_NEAR(apply_pulses(m, step, 0.5, 7, false, 1.0, 0), 0.36, 1e-9);
  EXPECT_NEAR(apply_pulses(m, step, 0.97, 7, true, 1.0, 0), 1.0, 1e-12);  // saturates
}

TEST(UpdateModel, MeasuredCsvErrorsNameTheFileAndLine) {
  auto error = [](const std::string& name, const std::string& text) {
    try {
      load_measured_curve(write_file(name, text));
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error("m_bad1.csv", "pulse,g_ltp,g_ltd\n0,1e-6,1e-5\n1,2e-6,9e-6\n2,1.5e-6,8e-6\n");
  EXPECT_NE(e.find("m_bad1.csv: line 4"), std::string::npos) << e;
  EXPECT_NE(e.find("g_ltp"), std::string::npos) << e;
  e = error("m_bad2.csv", "pulse,g_ltp,g_ltd\n0,1e-6,1e-5\n1,2e-6,1.1e-5\n");
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  e = error("m_bad3.csv", "step,up,down\n0,1e-6,1e-5\n1,2e-6,9e-6\n");
  EXPECT_NE(e.find("accepted 'pulse,g_ltp,g_ltd' or 'g,step_ltp,step_ltd'"), std::string::npos) << e;
  e = error("m_bad4.csv", "g,step_ltp,step_ltd\n1e-6,1e-7,0\n2e-6,1e-7,1e-7\n");
  EXPECT_NE(e.find("step_ltd = 0"), std::string::npos) << e;
  e = error("m_bad5.csv", "pulse,g_ltp,g_ltd\n0,1e-6,abc\n1,2e-6,9e-6\n");
  EXPECT_NE(e.find("line 2, field 3 = 'abc'"), std::string::npos) << e;
  e = error("m_bad6.csv", "pulse,g_ltp,g_ltd\n0,1e-6,1e-5\n");
  EXPECT_NE(e.find("at least two"), std::string::npos) << e;
  e = error("m_bad7.csv", "pulse,g_ltp,g_ltd\n0,1e-6,1e-5\n2,2e-6,9e-6\n");
  EXPECT_NE(e.find("pulse = 2"), std::string::npos) << e;
  EXPECT_NE(error("no_such_file.csv_", "").find("no data"), std::string::npos);
}

CrossbarConfig analog_config();

// Device-to-device variation of the nonlinearity (NeuroSim): a device's factor scales A in its
// closed form; across a layer, the first pulse from g_min spreads when nl_d2d > 0 and not without.
TEST(UpdateModel, NonlinearityDeviceToDevice) {
  UpdateConfig u;
  u.kind = UpdateKind::Exponential;
  u.nl_ltp = 0.4;
  const double step = 1.0 / 50;
  const double a = 0.4 * 1.3;
  EXPECT_NEAR(apply_pulses(u, step, 0, 5, true, 1.0, 0, 1.3), (1 - std::exp(-0.1 / a)) / (1 - std::exp(-1 / a)), 1e-12);
  u.kind = UpdateKind::TxSim;
  u.nu = 0.8;
  EXPECT_NEAR(apply_pulses(u, step, 0.2, 3, true, 1.0, 0, 2.0), [&] {
    UpdateConfig v = u;
    v.nu = 0.4;
    return apply_pulses(v, step, 0.2, 3, true, 1.0, 0);
  }(), 1e-12);
  CrossbarConfig c = analog_config();
  c.device.g_max = 1e-5;
  auto first_pulse_spread = [&](double nl_d2d) {
    MappedMatrix m(c, 40, 40, 9);
    std::vector<float> w(1600, 0.0f);
    m.program(w.data(), 1.0f);  // every device at g_min
    UpdateConfig e;
    e.kind = UpdateKind::Exponential;
    e.nl_ltp = 0.2;
    e.nl_d2d = nl_d2d;
    e.one_sided = true;
    e.stochastic = false;
    e.pulses = 50;
    std::vector<float> dw(1600, 1.0f / 50);  // one pulse each (w_scale 1, one-sided: the whole change)
    m.update(dw.data(), e, 1);
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 40; ++i)
      for (int o = 0; o < 40; ++o) {
        const double g = m.plane(0, 0).conductance(i, o);
        lo = std::min(lo, g);
        hi = std::max(hi, g);
      }
    return (hi - lo) / hi;
  };
  EXPECT_EQ(first_pulse_spread(0), 0.0);
  EXPECT_GT(first_pulse_spread(0.3), 0.1);
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

// One-sided pairs (TxSim): one device holds |w| above g_min and takes the whole change; the
// other stays at g_min; a weight that would cross zero stops at zero, and the next change of
// the same sign is taken by the other device.
TEST(PulsedUpdate, OneSidedPairMovesOnlyTheHolder) {
  MappedMatrix m(analog_config(), 4, 3, 1);
  const double step = 1.0 / 1023;
  std::vector<float> w(12);
  for (int k = 0; k < 12; ++k) w[k] = static_cast<float>(step * (k - 5));  // codes -5..6
  m.program(w.data(), 1.0f);
  UpdateConfig u;
  u.stochastic = false;
  u.one_sided = true;
  std::vector<float> dw(12, static_cast<float>(3 * step));
  m.update(dw.data(), u, 1);
  std::vector<float> after = m.weights();
  for (int k = 0; k < 12; ++k) {
    const double expect = (k - 5 < 0 && k - 5 + 3 > 0) ? 0.0 : step * (k - 5 + 3);  // -2, -1 stop at 0
    ASSERT_NEAR(after[k], expect, 1e-6) << k;
  }
  for (int i = 0; i < 4; ++i)
    for (int o = 0; o < 3; ++o) {
      const double gp = m.plane(0, 0).conductance(i, o), gn = m.plane(0, 1).conductance(i, o);
      EXPECT_TRUE(gp == m.config().device.g_min || gn == m.config().device.g_min) << i << "," << o;
    }
  m.update(dw.data(), u, 2);  // the stopped weights go on from zero through the positive device
  after = m.weights();
  EXPECT_NEAR(after[3], 3 * step, 1e-6);
  EXPECT_NEAR(after[4], 3 * step, 1e-6);
}

// Why ν hurts one-sided pairs: with zero-mean noise of +-a per update, a device's mean move is
// (a / 2) nu (1 - 2x), zero at x = 1/2. On a one-sided pair x is |w| (w_scale 1), so noise alone
// drives every weight from 0 to |w| = 1/2 (time constant 1 / (nu a) updates); without nu the
// weights only random-walk, and on centered pairs x = 1/2 is w = 0, so they stay near zero.
TEST(PulsedUpdate, NuDrivesNoisyOneSidedWeightsToHalfRange) {
  const int n = 1000, updates = 2000;
  const double step = 1.0 / 1023, a = 8 * step;  // 8 pulses per update: time constant 256 at nu 0.5
  auto mean_abs_w = [&](double nu, bool one_sided) {
    MappedMatrix m(analog_config(), 20, 50, 3);
    std::vector<float> w(n, 0.0f);
    if (one_sided) m.program(w.data(), 1.0f);
    else m.program_centered(w.data(), 1.0f);
    UpdateConfig u;
    u.kind = UpdateKind::TxSim;
    u.nu = nu;
    u.one_sided = one_sided;
    u.stochastic = false;
    std::vector<float> dw(n);
    // Centered pairs move each device by half the change: twice the change, the same device noise.
    const float size = static_cast<float>(one_sided ? a : 2 * a);
    for (int t = 0; t < updates; ++t) {
      for (int k = 0; k < n; ++k) dw[k] = uniform01(99, static_cast<uint64_t>(t) * n + k) < 0.5 ? size : -size;
      m.update(dw.data(), u, t);
    }
    double sum = 0;
    for (float v : m.weights()) sum += std::fabs(v);
    return sum / n;
  };
  // Stationary spread of x at nu 0.5: a sqrt(1 / (2 nu a)) = 0.088, so the mean of 1000 has a
  // standard error of 0.003; the transient has decayed by e^-8.
  EXPECT_NEAR(mean_abs_w(0.5, true), 0.5, 0.02);
  EXPECT_NEAR(mean_abs_w(1.0, true), 0.5, 0.02);
  // A random walk of 2000 steps of a: mean |w| = a sqrt(2000) sqrt(2 / pi) = 0.28.
  EXPECT_LT(mean_abs_w(0.0, true), 0.35);
  // Centered: each device's x = 1/2 is w = 0; spread about 2 x 0.088 x sqrt(2/pi) = 0.14.
  EXPECT_LT(mean_abs_w(0.5, false), 0.2);
}

// Programming activity, counted by hand. Centered pairs, n = (o + i) % 3 pulses on each device:
// pulses = 2 sum n; crossbars of 32 rows write row by row, a row taking its largest count (2),
// so the slowest crossbar (a full row tile) takes 32 x 2 slots.
TEST(PulsedUpdate, ProgrammingActivityByHand) {
  MappedMatrix m(analog_config(), 40, 10, 1);
  std::vector<float> w(400, 0.0f);
  m.program_centered(w.data(), 1.0f);
  m.reset_activity();
  UpdateConfig u;
  u.stochastic = false;
  const double step = 1.0 / 1023;
  std::vector<float> dw(400);
  uint64_t pulses = 0;
  for (int o = 0; o < 10; ++o)
    for (int i = 0; i < 40; ++i) {
      dw[o * 40 + i] = static_cast<float>(2 * step * ((o + i) % 3));
      pulses += 2 * ((o + i) % 3);
    }
  m.update(dw.data(), u, 1);
  EXPECT_EQ(m.activity().program_pulses, pulses);
  EXPECT_EQ(m.activity().program_slots, 32u * 2);
  // Pulse trains: the whole array per slot, bit_length slots per row of the batch.
  m.reset_activity();
  std::vector<float> x(3 * 40, 0.5f), d(3 * 10, 0.5f);
  const uint64_t events = m.pulsed_update(x.data(), d.data(), 3, 0.01, 31, u, 2);
  EXPECT_EQ(m.activity().program_pulses, 2 * events);
  EXPECT_EQ(m.activity().program_slots, 3u * 31);
}

// Issue 17, defect 11 (no test had them): pulse trains with asymmetry and device-to-device
// step variation. Every coincidence moves a pair up (x > 0, d < 0): G+ by (1 + a) steps and G-
// down by (1 - a) steps, each times its device's factor. Without d2d the sums over the array
// are exact in the returned coincidence count; with step_d2d = 0.2 each pair's ratio
// (G+ move / (1 + a)) / (G- move / (1 - a)) = s+ / s- has mean ~1 and spread ~0.2 sqrt(2).
TEST(Issue17Defect11PulseTrains, AsymmetryAndDeviceToDeviceSteps) {
  const CrossbarConfig c = analog_config();
  const double g_min = c.device.g_min, span = c.device.g_max - c.device.g_min, step = 1.0 / 1023;
  for (const double d2d : {0.0, 0.2}) {
    SCOPED_TRACE("step_d2d " + std::to_string(d2d));
    const double a = 0.3;
    MappedMatrix m(c, 64, 64, 3);
    std::vector<float> w(64 * 64, 0.0f);
    m.program_centered(w.data(), 1.0f);
    std::vector<double> up0(w.size()), down0(w.size());
    for (int i = 0; i < 64; ++i)
      for (int o = 0; o < 64; ++o) {
        up0[i * 64 + o] = m.plane(0, 0).conductance(i, o);
        down0[i * 64 + o] = m.plane(0, 1).conductance(i, o);
      }
    UpdateConfig u;
    u.asymmetry = a;
    u.step_d2d = d2d;
    std::vector<float> x(64, 1.0f), d(64, -1.0f);
    const uint64_t events = m.pulsed_update(x.data(), d.data(), 1, 0.02, 31, u, 5);
    ASSERT_GT(events, 1000u);
    double sum_up = 0, sum_down = 0, ratio_sum = 0, ratio_sq = 0;
    int pairs = 0;
    for (int i = 0; i < 64; ++i)
      for (int o = 0; o < 64; ++o) {
        const double du = (m.plane(0, 0).conductance(i, o) - up0[i * 64 + o]) / span;
        const double dd = (down0[i * 64 + o] - m.plane(0, 1).conductance(i, o)) / span;
        ASSERT_GE(du, 0);
        ASSERT_GE(dd, 0);
        sum_up += du;
        sum_down += dd;
        if (du > 0) {
          const double r = (du / (1 + a)) / (dd / (1 - a));
          ratio_sum += r;
          ratio_sq += r * r;
          ++pairs;
        }
      }
    (void)g_min;
    if (d2d == 0) {
      EXPECT_NEAR(sum_up, (1 + a) * step * events, 1e-9 * sum_up);
      EXPECT_NEAR(sum_down, (1 - a) * step * events, 1e-9 * sum_down);
      EXPECT_NEAR(ratio_sum / pairs, 1.0, 1e-9);
    } else {
      EXPECT_NEAR(sum_up / ((1 + a) * step * events), 1.0, 0.03);
      const double mean = ratio_sum / pairs, sd = std::sqrt(ratio_sq / pairs - mean * mean);
      EXPECT_NEAR(mean, 1.0, 0.06);
      EXPECT_GT(sd, 0.2);
      EXPECT_LT(sd, 0.4);
    }
  }
}

// Issue 17, defect 11 (no test had it): offset mapping under the read-modify-write update. With
// ideal devices, a change of exactly k codes moves every code by k (clamped to the signed range)
// and the read weight is code x step.
TEST(Issue17Defect11OffsetMapping, UpdateMovesCodesByWholeSteps) {
  CrossbarConfig c = analog_config();
  c.crossbar.mapping = Mapping::Offset;
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  MappedMatrix m(c, 24, 10, 4);
  std::vector<float> w(240);
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = 0.9f * std::sin(0.7f * k);
  m.program(w.data(), 1.0f);
  const std::vector<int32_t> before = m.codes();
  const float q = 1.0f / 127;  // offset mapping: signed codes -127..127 over [-1, 1]
  std::vector<float> dw(240);
  for (std::size_t k = 0; k < dw.size(); ++k) dw[k] = static_cast<float>(static_cast<int>(k % 5) - 2) * q;
  m.update(dw.data(), UpdateConfig{}, 3);
  const auto after = m.codes();
  const auto read = m.weights();
  for (std::size_t k = 0; k < dw.size(); ++k) {
    const int want = std::clamp(before[k] + static_cast<int>(k % 5) - 2, -127, 127);
    EXPECT_EQ(after[k], want) << k;
    EXPECT_NEAR(read[k], want * q, 1e-6f) << k;
  }
}

// Bit-sliced read-modify-write: each device moves by its change of level. 8-bit codes on 2-bit
// cells: 0 -> 5 (digits 1, 1 on G+): 2 pulses; 5 -> -3 (G+ back to 0, 0; G- to 3, 0): 5 pulses.
TEST(PulsedUpdate, SlicedProgrammingActivityByHand) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  MappedMatrix m(c, 1, 1, 1);
  const float code = 1.0f / 255;
  std::vector<float> w = {0.0f};
  m.program(w.data(), 1.0f);
  m.reset_activity();
  std::vector<float> dw = {5 * code};
  m.update(dw.data(), UpdateConfig{}, 1);
  ASSERT_EQ(m.codes()[0], 5);
  EXPECT_EQ(m.activity().program_pulses, 2u);
  EXPECT_EQ(m.activity().program_slots, 1u);  // one row; the busiest device takes one pulse
  m.reset_activity();
  dw[0] = -8 * code;
  m.update(dw.data(), UpdateConfig{}, 2);
  ASSERT_EQ(m.codes()[0], -3);
  EXPECT_EQ(m.activity().program_pulses, 5u);
  EXPECT_EQ(m.activity().program_slots, 3u);
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

// Read-modify-write acts on the controller's codes: with programming variation, many zero
// updates leave every device where it was (reading the varied weights back and reprogramming
// them would compound each device's deviation on every update); a dw of k codes moves codes by k.
TEST(PulsedUpdate, SlicedWeightsDoNotCompoundVariation) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  c.device.program_sigma = 0.05;
  MappedMatrix m(c, 30, 20, 4);
  std::vector<float> w(600);
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = std::sin(0.37 * k);
  m.program(w.data(), 1.0f);
  const std::vector<int32_t> codes = m.codes();
  const std::vector<float> before = m.weights();
  std::vector<float> dw(600, 0.0f);
  for (int k = 0; k < 200; ++k) m.update(dw.data(), UpdateConfig{}, k);
  EXPECT_EQ(m.codes(), codes);
  EXPECT_EQ(m.weights(), before);
  for (float& v : dw) v = 3.0f / 255;  // exactly three codes
  m.update(dw.data(), UpdateConfig{}, 999);
  for (std::size_t k = 0; k < codes.size(); ++k) EXPECT_EQ(m.codes()[k], std::min(codes[k] + 3, 255)) << k;
}

// Open loop against write-verify on 8-bit codes over 2-bit cells with `levels` device levels
// (unset: 4), linear ideal devices, twenty updates: the same codes and read weights, and the
// programming pulses of each (write-verify: one per digit step; open loop: a digit's nominal
// pulses, (levels - 1) / 3 of them).
void expect_open_loop_equals_verify(std::optional<int> levels) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 8;
  c.crossbar.bits_per_cell = 2;
  c.device.levels = levels;
  std::vector<float> w(30 * 20);
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = 0.8f * std::sin(0.37f * k);
  MappedMatrix verify(c, 30, 20, 4), pulses(c, 30, 20, 4);
  verify.program(w.data(), 1.0f);
  pulses.program(w.data(), 1.0f);
  UpdateConfig open_loop;
  open_loop.sliced_pulses = true;
  std::vector<float> dw(w.size());
  for (int step = 0; step < 20; ++step) {
    for (std::size_t k = 0; k < dw.size(); ++k) dw[k] = 0.05f * std::cos(0.11f * k + step);
    verify.update(dw.data(), UpdateConfig{}, step);
    pulses.update(dw.data(), open_loop, step);
  }
  EXPECT_EQ(verify.codes(), pulses.codes());
  const auto a = verify.weights(), b = pulses.weights();
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-6f) << k;
  EXPECT_EQ(pulses.activity().program_pulses, verify.activity().program_pulses * static_cast<uint64_t>((levels.value_or(4) - 1) / 3));
}

// Open-loop programming of bit-sliced weights (update.sliced "pulses"): each changed digit's
// device takes one digit's nominal pulses from where it is, along the update model. With the
// linear model and ideal devices it lands exactly on the levels write-verify programs.
TEST(PulsedUpdate, SlicedPulsesLinearLandOnTheLevels) { expect_open_loop_equals_verify(std::nullopt); }

// Defect 8 of issue 17: with device.levels != 2^bits_per_cell, a changed digit moved the device
// by 1/(levels - 1) of the range while reads decode 1/(2^bits_per_cell - 1) per digit. With the
// linear model and ideal devices, open loop must land where write-verify programs at any level
// count whose grid holds the digits (16 levels: a digit is 5 device levels, so 5 nominal pulses).
TEST(Issue17Defect8, SlicedPulsesEqualWriteVerifyAtOtherLevelCounts) {
  for (int levels : {16, 7, 31}) {
    SCOPED_TRACE("levels " + std::to_string(levels));
    expect_open_loop_equals_verify(levels);
  }
}

// With TxSim's nu the same pulses fall short of the level by the closed form: from g_min, three
// pulses of a third of the range reach (1 - e^-nu) / nu; three pulses back down leave the device
// above g_min, and the read weight drifts from the controller's code.
TEST(PulsedUpdate, SlicedPulsesFollowTheNonlinearity) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 4;
  c.crossbar.bits_per_cell = 2;
  MappedMatrix m(c, 3, 2, 1);
  std::vector<float> w(6, 0.0f);
  m.program(w.data(), 15.0f);  // one code is 1.0
  UpdateConfig u;
  u.kind = UpdateKind::TxSim;
  u.nu = 0.5;
  u.sliced_pulses = true;
  std::vector<float> dw(6, 0.0f);
  dw[0] = 15.0f;  // code 0 -> 15: digits 0,0 -> 3,3 on the positive devices of weight (o 0, i 0)
  m.update(dw.data(), u, 1);
  const double g_min = c.device.g_min, span = c.device.g_max - c.device.g_min;
  const double up = (1 - std::exp(-0.5)) / 0.5;
  for (int s = 0; s < 2; ++s) {
    EXPECT_NEAR((m.plane(s, 0).conductance(0, 0) - g_min) / span, up, 1e-9) << s;
    EXPECT_EQ(m.plane(s, 1).conductance(0, 0), g_min) << s;       // the negative device rests
    EXPECT_EQ(m.plane(s, 0).conductance(1, 0), g_min) << s;       // an unchanged weight's device too
  }
  EXPECT_EQ(m.codes()[0], 15);
  EXPECT_NEAR(m.weights()[0], 15 * up, 1e-4);
  dw[0] = -15.0f;  // back to code 0: three pulses down from `up`
  m.update(dw.data(), u, 2);
  const double down = 1 - (1 - (1 - 0.5 * (1 - up)) * std::exp(-0.5)) / 0.5;
  EXPECT_EQ(m.codes()[0], 0);
  EXPECT_NEAR((m.plane(1, 0).conductance(0, 0) - g_min) / span, down, 1e-9);
  EXPECT_GT(down, 0.05);  // the device did not return to g_min
}

// Write noise on open-loop sliced pulses: one level (one pulse) moves a device by 1/3 of the
// range with a spread of write_noise / 3 per pulse.
TEST(PulsedUpdate, SlicedPulsesWriteNoiseVariance) {
  CrossbarConfig c = analog_config();
  c.crossbar.weight_bits = 4;
  c.crossbar.bits_per_cell = 2;
  const int in = 100, out = 100;
  MappedMatrix m(c, in, out, 2);
  std::vector<float> w(in * out, 0.0f), dw(in * out, 1.0f);  // code 0 -> 1: one LSB pulse
  m.program(w.data(), 15.0f);
  UpdateConfig u;
  u.sliced_pulses = true;
  u.write_noise = 0.1;
  m.update(dw.data(), u, 5);
  const double g_min = c.device.g_min, span = c.device.g_max - c.device.g_min;
  double s = 0, s2 = 0;
  const int n = in * out;
  for (int i = 0; i < in; ++i)
    for (int o = 0; o < out; ++o) {
      const double d = (m.plane(0, 0).conductance(i, o) - g_min) / span - 1.0 / 3;
      s += d;
      s2 += d * d;
    }
  const double mean = s / n, var = s2 / n - mean * mean, expected = std::pow(0.1 / 3, 2);
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(expected / n));
  EXPECT_NEAR(var, expected, 5 * expected * std::sqrt(2.0 / n));
}

}  // namespace
}  // namespace txsim

namespace txsim {
namespace {

// The pulsed update draws every pulse from a key of (row, device): one thread and two give the
// same conductances, bit for bit, for the batched linear path and the row-by-row path.
TEST(PulseTrains, SameResultOnAnyThreadCount) {
  const int in = 70, out = 50, rows = 9;
  std::vector<float> x(rows * in), d(rows * out), w(in * out, 0.0f);
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(2 * uniform01(1, k) - 1);
  for (std::size_t k = 0; k < d.size(); ++k) d[k] = static_cast<float>(2 * uniform01(2, k) - 1);
  for (UpdateKind kind : {UpdateKind::Linear, UpdateKind::SoftBounds}) {
    UpdateConfig u;
    u.kind = kind;
    u.write_noise = 0.3;
    std::vector<double> result[2];
    for (int threads : {1, 2}) {
      txsim::set_threads(threads);
      MappedMatrix m(analog_config(), in, out, 3);
      m.program_centered(w.data(), 1.0f);
      m.pulsed_update(x.data(), d.data(), rows, 0.05, 31, u, 17);
      const double* g = m.plane(0, 0).conductances();
      result[threads - 1].assign(g, g + in * out);
    }
    txsim::set_threads(2);
    EXPECT_EQ(result[0], result[1]);
  }
}

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

// Read-modify-write reprograms only the devices whose digit moved. Oracles: the closed form of
// programming (level, the device's own deviation, its fault) on every device of every plane, for
// each kind of variation; and the same update on a copy whose planes are reprogrammed in full
// (a loaded state always is), bit for bit.
TEST(PulsedUpdate, ReprogrammingOnlyMovedDigitsEqualsReprogrammingAll) {
  for (int kind = 0; kind < 3; ++kind) {
    CrossbarConfig c = analog_config();
    c.crossbar.weight_bits = 8;
    c.crossbar.bits_per_cell = 2;
    c.crossbar.rows = c.crossbar.cols = 32;
    c.device.program_sigma = 0.1;
    c.device.program_scale = kind == 1 ? VariationScale::Absolute : VariationScale::Relative;
    c.device.program_shape = kind == 2 ? VariationShape::LogNormal : VariationShape::Gaussian;
    c.device.stuck_on_rate = c.device.stuck_off_rate = 0.02;
    const int in = 70, out = 45;
    MappedMatrix a(c, in, out, 9), b(c, in, out, 9);
    const std::vector<float> w = test::normal_matrix(in * out, 4);
    a.program(w.data());
    for (int step = 0; step < 4; ++step) {
      StateWriter saved;
      a.save_state(saved);
      StateReader reader(saved.bytes(), "copy");
      b.load_state(reader);
      std::vector<float> dw = test::normal_matrix(in * out, 10 + step);
      for (float& v : dw) v *= 0.3f * a.weight_scale() / 255;  // a third of the codes move, or so
      const std::vector<int32_t> before = a.codes();
      a.update(dw.data(), UpdateConfig{}, 20 + step);
      b.update(dw.data(), UpdateConfig{}, 20 + step);
      ASSERT_EQ(a.codes(), b.codes());
      const auto moved = std::inner_product(before.begin(), before.end(), a.codes().begin(), 0, std::plus<>(),
                                            [](int32_t x, int32_t y) { return x != y ? 1 : 0; });
      ASSERT_GT(moved, in * out / 20);
      ASSERT_LT(moved, in * out / 2);
      const double span = c.device.g_max - c.device.g_min, unit = span / 3;
      for (int s = 0; s < c.crossbar.slices(); ++s)
        for (int pol = 0; pol < 2; ++pol) {
          const DeviceArray& pa = a.plane(s, pol);
          const DeviceArray& pb = b.plane(s, pol);
          for (int i = 0; i < in; ++i)
            for (int o = 0; o < out; ++o) {
              ASSERT_EQ(pa.conductance(i, o), pb.conductance(i, o)) << "kind " << kind << " step " << step;
              const int q = a.codes()[static_cast<std::size_t>(o) * in + i];
              const int digit = (q < 0) != (pol == 1) ? 0 : (std::abs(q) >> (2 * s)) & 3;
              const double level = c.device.g_min + digit * unit;
              const double z = pa.deviations()[static_cast<std::size_t>(i) * out + o];
              double want = kind == 1 ? level + c.device.program_sigma * span * z
                            : kind == 2 ? level * std::exp(c.device.program_sigma * z)
                                        : level * (1 + c.device.program_sigma * z);
              want = std::max(want, 0.0);
              if (pa.fault(i, o) == Fault::StuckOn) want = c.device.g_max;
              if (pa.fault(i, o) == Fault::StuckOff) want = c.device.g_min;
              ASSERT_NEAR(pa.conductance(i, o), want, 1e-12 * c.device.g_max) << "kind " << kind << " device " << i << "," << o;
            }
        }
    }
  }
}

}  // namespace
}  // namespace txsim
