// Acceptance 3: each non-ideality shows its effect with the magnitude its model predicts.
// Statistical tolerances are five standard errors of the estimate for the sample size used.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "test_util.h"
#include "txsim/parallel.h"
#include "txsim/mapped_matrix.h"

namespace txsim {
namespace {

CrossbarConfig quiet_config() {
  CrossbarConfig c;
  c.crossbar.adc_model = AdcModel::Ideal;
  return c;
}

// Every device of plane (0, 0) programmed to digit 2 of 3.
std::vector<float> uniform_positive_weights(int in, int out) {
  return std::vector<float>(static_cast<std::size_t>(in) * out, 1.0f);
}

// f(conductance) for every device of a plane.
template <class F>
std::vector<double> over_devices(const DeviceArray& a, F f) {
  std::vector<double> v;
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < a.cols(); ++j) v.push_back(f(a.conductance(i, j)));
  return v;
}

TEST(ProgrammingVariation, GaussianRelativeSpreadIsSigma) {
  CrossbarConfig c = quiet_config();
  c.device.program_sigma = 0.05;
  MappedMatrix m(c, 256, 256, 4);
  m.program(uniform_positive_weights(256, 256).data());  // weight 255 -> digit 3 in every slice
  // Devices hold level * (1 + sigma z): the relative deviation has std sigma.
  const double level = c.device.g_max;  // digit 3 of 3
  const auto mo = test::moments(over_devices(m.plane(0, 0), [&](double g) { return g / level - 1.0; }));
  const double se = 0.05 / std::sqrt(2.0 * mo.n);
  EXPECT_NEAR(std::sqrt(mo.variance), 0.05, 5 * se);
  EXPECT_NEAR(mo.mean, 0.0, 5 * 0.05 / std::sqrt(double(mo.n)));
}

TEST(ProgrammingVariation, LogNormalLogSpreadIsSigma) {
  CrossbarConfig c = quiet_config();
  c.device.program_sigma = 0.1;
  c.device.program_shape = VariationShape::LogNormal;
  MappedMatrix m(c, 256, 256, 4);
  m.program(uniform_positive_weights(256, 256).data());
  const auto logs = over_devices(m.plane(1, 0), [&](double g) { return std::log(g / c.device.g_max); });
  const auto mo = test::moments(logs);
  EXPECT_NEAR(std::sqrt(mo.variance), 0.1, 5 * 0.1 / std::sqrt(2.0 * mo.n));
  EXPECT_TRUE(std::all_of(logs.begin(), logs.end(), [](double v) { return std::isfinite(v); }));
}

TEST(ProgrammingVariation, AbsoluteSpreadIsSigmaTimesRange) {
  CrossbarConfig c = quiet_config();
  c.device.program_sigma = 0.02;
  c.device.program_scale = VariationScale::Absolute;
  MappedMatrix m(c, 256, 256, 4);
  m.program(uniform_positive_weights(256, 256).data());
  const double span = c.device.g_max - c.device.g_min;
  // Negative devices rest at g_min.
  const auto mo = test::moments(over_devices(m.plane(0, 1), [&](double g) { return (g - c.device.g_min) / span; }));
  EXPECT_NEAR(std::sqrt(mo.variance), 0.02, 5 * 0.02 / std::sqrt(2.0 * mo.n));
}

TEST(ProgrammingVariation, OnOffRatioSetsTheErrorOfZeroWeights) {
  // A zero weight is a pair at g_min; with relative variation its error is
  // sqrt(2) sigma g_min / unit = sqrt(2) sigma (2^bits_per_cell - 1) / (ratio - 1) weight steps.
  for (double ratio : {2.0, 10.0}) {
    CrossbarConfig c = quiet_config();
    c.crossbar.weight_bits = 2;
    c.device.program_sigma = 0.05;
    c.device.g_min = c.device.g_max / ratio;
    MappedMatrix m(c, 200, 200, 8);
    std::vector<float> w(200 * 200, 0.0f);
    w[0] = 3.0f;  // sets the scale: one weight step is 1.0
    m.program(w.data(), 3.0f);
    auto derived = m.weights();
    derived.erase(derived.begin());
    const auto mo = test::moments(std::vector<double>(derived.begin(), derived.end()));
    const double expected = std::sqrt(2.0) * 0.05 * 3 / (ratio - 1);
    EXPECT_NEAR(std::sqrt(mo.variance) / expected, 1.0, 5 / std::sqrt(2.0 * mo.n)) << "ratio " << ratio;
  }
}

TEST(StuckAtFaults, RatesAndValues) {
  CrossbarConfig c = quiet_config();
  c.device.stuck_off_rate = 0.01;
  c.device.stuck_on_rate = 0.02;
  MappedMatrix m(c, 300, 300, 5);
  m.program(uniform_positive_weights(300, 300).data());  // every positive device targets g_max
  std::size_t off = 0, on = 0, total = 0;
  for (int s = 0; s < c.crossbar.slices(); ++s) {
    const DeviceArray& a = m.plane(s, 0);
    off += a.count(Fault::StuckOff);
    on += a.count(Fault::StuckOn);
    total += static_cast<std::size_t>(a.rows()) * a.cols();
    for (int i = 0; i < a.rows(); ++i)
      for (int j = 0; j < a.cols(); ++j) {
        if (a.fault(i, j) == Fault::StuckOff) EXPECT_EQ(a.conductance(i, j), c.device.g_min);
        else EXPECT_EQ(a.conductance(i, j), c.device.g_max);
      }
  }
  auto near_rate = [&](std::size_t count, double p) {
    EXPECT_NEAR(double(count) / total, p, 5 * std::sqrt(p * (1 - p) / total));
  };
  near_rate(off, 0.01);
  near_rate(on, 0.02);
  // Stuck-on devices on the negative side pull their weights down: the mean weight falls.
  float mean = 0;
  for (float v : m.weights()) mean += v;
  mean /= 300 * 300;
  EXPECT_LT(mean, 0.99f);
}

TEST(FiniteLevels, DigitsSnapToTheNearestLevel) {
  // 8 levels for a 2-bit cell: digits 0,1,2,3 land on levels 0, 2/7, 5/7, 1 of the range.
  CrossbarConfig c = quiet_config();
  c.crossbar.weight_bits = 2;
  c.device.levels = 8;
  MappedMatrix m(c, 4, 1, 1);
  const float w[4] = {0, 1, 2, 3};
  m.program(w, 3.0f);
  const auto got = m.weights();
  const float expected[4] = {0, 3 * 2 / 7.f, 3 * 5 / 7.f, 3};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
}

TEST(Quantization, WeightsAndInputsFollowTheirClosedForms) {
  CrossbarConfig c = quiet_config();
  c.crossbar.weight_bits = 4;
  c.crossbar.input_bits = 5;  // sign + 4 bits
  const int in = 150, out = 40, batch = 3;
  const auto w = test::normal_matrix(in * out, 1);
  const auto x = test::normal_matrix(in * batch, 2);
  MappedMatrix m(c, in, out, 2);
  m.program(w.data());
  float w_max = 0;
  for (float v : w) w_max = std::max(w_max, std::fabs(v));
  std::vector<float> wq(w.size()), xq(x.size());
  for (std::size_t i = 0; i < w.size(); ++i) wq[i] = std::nearbyint(w[i] / w_max * 15) * (w_max / 15);
  for (int b = 0; b < batch; ++b) {
    float x_max = 0;
    for (int i = 0; i < in; ++i) x_max = std::max(x_max, std::fabs(x[b * in + i]));
    for (int i = 0; i < in; ++i) xq[b * in + i] = std::nearbyint(x[b * in + i] / x_max * 15) * (x_max / 15);
  }
  EXPECT_LT(test::relative_error(m.weights(), wq), 1e-6);
  std::vector<float> y(batch * out);
  m.forward(x.data(), batch, y.data());
  EXPECT_LT(test::relative_error(y, test::gemm_forward(xq, wq, batch, in, out)), 1e-6);
  EXPECT_GT(test::relative_error(y, test::gemm_forward(x, w, batch, in, out)), 1e-3);
}

// Read noise: the difference between a noisy and a noise-free read of the same state, divided by
// the predicted standard deviation of each output, must be standard normal.
std::vector<double> normalized_read_noise(ReadMode mode) {
  CrossbarConfig c = quiet_config();
  c.crossbar.read_mode = mode;
  const double sigma = 0.01;
  const int in = 128, out = 256, batch = 128;
  const auto w = test::normal_matrix(in * out, 3);
  const auto x = test::normal_matrix(in * batch, 4);
  MappedMatrix clean(c, in, out, 6);
  c.device.read_noise_sigma = sigma;
  MappedMatrix noisy(c, in, out, 6);
  clean.program(w.data());
  noisy.program(w.data());
  std::vector<float> y0(batch * out), y1(batch * out);
  clean.forward(x.data(), batch, y0.data());
  noisy.forward(x.data(), batch, y1.data());

  const ArrayConfig& a = c.crossbar;
  const double unit_sigma = sigma * 3;  // per device, in units of one cell step
  float w_max = 0;
  for (float v : w) w_max = std::max(w_max, std::fabs(v));
  const double w_step = w_max / 255.0, x_top = 127.0;
  std::vector<double> z;
  for (int b = 0; b < batch; ++b) {
    float x_max = 0;
    for (int i = 0; i < in; ++i) x_max = std::max(x_max, std::fabs(x[b * in + i]));
    // Variance in (input step x weight step)^2: each conversion sees 2 devices per line.
    double var = 0;
    for (int s = 0; s < a.slices(); ++s) {
      if (mode == ReadMode::Folded) {
        double power = 0;
        for (int i = 0; i < in; ++i) power += std::pow(std::nearbyint(x[b * in + i] / x_max * x_top), 2);
        var += std::ldexp(1.0, 4 * s) * 2 * unit_sigma * unit_sigma * power;
      } else {
        for (int p = 0; p < a.input_planes(); ++p) {
          double power = 0;
          for (int i = 0; i < in; ++i) {
            const int q = static_cast<int>(std::fabs(std::nearbyint(x[b * in + i] / x_max * x_top)));
            power += (q >> p) & 1;
          }
          var += std::ldexp(1.0, 2 * (p + 2 * s)) * 2 * unit_sigma * unit_sigma * power;
        }
      }
    }
    const double sd = std::sqrt(var) * (x_max / x_top) * w_step;
    for (int o = 0; o < out; ++o) z.push_back((double(y1[b * out + o]) - y0[b * out + o]) / sd);
  }
  return z;
}

TEST(ReadNoise, PerSliceOutputNoiseHasThePredictedVariance) {
  const auto m = test::moments(normalized_read_noise(ReadMode::PerSlice));
  EXPECT_NEAR(m.variance, 1.0, 5 * std::sqrt(2.0 / m.n));
  EXPECT_NEAR(m.mean, 0.0, 5 / std::sqrt(double(m.n)));
}

TEST(ReadNoise, FoldedOutputNoiseHasThePredictedVariance) {
  const auto m = test::moments(normalized_read_noise(ReadMode::Folded));
  EXPECT_NEAR(m.variance, 1.0, 5 * std::sqrt(2.0 / m.n));
  EXPECT_NEAR(m.mean, 0.0, 5 / std::sqrt(double(m.n)));
}

TEST(ReadNoise, FreshPerReadAndReproduciblePerSeed) {
  CrossbarConfig c = default_crossbar_config();
  const int in = 300, out = 100, batch = 4;
  const auto w = test::normal_matrix(in * out, 3);
  const auto x = test::normal_matrix(in * batch, 4);
  auto run = [&](uint64_t seed, Parallelism par, int threads) {
    txsim::set_threads(threads);
    MappedMatrix m(c, in, out, seed);
    m.set_parallelism(par);
    m.program(w.data());
    std::vector<float> y1(batch * out), y2(batch * out);
    m.forward(x.data(), batch, y1.data());
    m.forward(x.data(), batch, y2.data());
    y1.insert(y1.end(), y2.begin(), y2.end());
    return y1;
  };
  const auto a = run(1, Parallelism::Columns, 2);
  EXPECT_EQ(a, run(1, Parallelism::Columns, 1));  // thread count does not change a number
  EXPECT_EQ(a, run(1, Parallelism::Blas, 2));   // nor does where the parallelism lives
  EXPECT_NE(a, run(2, Parallelism::Columns, 2));
  EXPECT_FALSE(std::equal(a.begin(), a.begin() + batch * out, a.begin() + batch * out));  // fresh per read
}

TEST(Adc, ClippingSaturatesAtTheTopCode) {
  // All inputs and weights at full scale: each partial sum is 128 rows * 1 * 3 = 384 units.
  // adc_clip 0.25 keeps 96 units: 7 bits -> LSB 2^ceil(log2(96/63)) = 2, top code 63 -> 126 units.
  CrossbarConfig c = quiet_config();
  c.crossbar.adc_model = AdcModel::Uniform;
  c.crossbar.adc_bits = 7;
  c.crossbar.adc_clip = 0.25;
  c.crossbar.weight_bits = 2;
  c.crossbar.input_bits = 2;
  MappedMatrix m(c, 128, 8, 1);
  m.program(std::vector<float>(128 * 8, 1.0f).data());
  std::vector<float> x(128, 1.0f), y(8);
  m.forward(x.data(), 1, y.data());
  for (float v : y) EXPECT_FLOAT_EQ(v, 126.0f / 3.0f);  // weight step 1/3, input step 1
}

TEST(Adc, CalibratedRangeBeatsFixedOnSmallColumns) {
  CrossbarConfig c = quiet_config();
  c.crossbar.adc_model = AdcModel::Uniform;
  c.crossbar.adc_bits = 6;
  const int in = 256, out = 64, batch = 64;
  auto w = test::normal_matrix(in * out, 8);
  const auto x = test::normal_matrix(in * batch, 9);
  std::vector<float> ys[2];
  int k = 0;
  for (AdcRange range : {AdcRange::Fixed, AdcRange::Calibrated}) {
    c.crossbar.adc_range = range;
    MappedMatrix m(c, in, out, 3);
    m.program(w.data());
    ys[k].resize(batch * out);
    m.forward(x.data(), batch, ys[k++].data());
  }
  c.crossbar.adc_model = AdcModel::Ideal;
  MappedMatrix ideal(c, in, out, 3);
  ideal.program(w.data());
  std::vector<float> y_ideal(batch * out);
  ideal.forward(x.data(), batch, y_ideal.data());
  const double fixed_err = test::relative_error(ys[0], y_ideal);
  const double calibrated_err = test::relative_error(ys[1], y_ideal);
  EXPECT_GT(fixed_err, 0.05);
  EXPECT_LT(calibrated_err, fixed_err / 3);
}

TEST(Activity, CountsFollowTheTiling) {
  CrossbarConfig c = quiet_config();  // 128x128, 4 slices, differential, 7 planes
  MappedMatrix m(c, 300, 200, 1);
  EXPECT_EQ(m.row_tiles(), 3);
  EXPECT_EQ(m.col_tiles(), 2);
  EXPECT_EQ(m.crossbars(), 3 * 2 * 4 * 2);
  std::vector<float> x(2 * 300, 0.5f), y(2 * 200);
  m.forward(x.data(), 2, y.data());
  const Activity& a = m.activity();
  EXPECT_EQ(a.crossbar_reads, 2u * 7 * 48);
  EXPECT_EQ(a.adc_conversions, 2u * 7 * 4 * 200 * 3);
  EXPECT_EQ(a.device_macs, 2u * 7 * 8 * 300 * 200);
}

TEST(BadInput, RejectsNonFiniteAndUnsignedViolations) {
  CrossbarConfig c = quiet_config();
  c.crossbar.input_signed = false;
  MappedMatrix m(c, 4, 4, 1);
  std::vector<float> y(4);
  const float negative[4] = {1, -1, 0, 0};
  EXPECT_THROW(m.forward(negative, 1, y.data()), std::invalid_argument);
  const float nan[4] = {1, NAN, 0, 0};
  EXPECT_THROW(m.forward(nan, 1, y.data()), std::invalid_argument);
  const float w_inf[16] = {INFINITY};
  EXPECT_THROW(m.program(w_inf), std::invalid_argument);
  EXPECT_THROW(MappedMatrix(c, 0, 4, 1), std::invalid_argument);
}

}  // namespace
}  // namespace txsim
