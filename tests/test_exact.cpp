// Acceptance 2: integer operands through a lossless ADC are exact in both modes; a lossy ADC's
// per-slice error has the uniform quantization distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "test_util.h"
#include "txsim/mapped_matrix.h"

namespace txsim {
namespace {

// Exact integer product in 64-bit integers.
std::vector<float> integer_product(const std::vector<float>& x, const std::vector<float>& w, int batch, int in,
                                   int out) {
  std::vector<float> y(static_cast<std::size_t>(batch) * out);
  for (int b = 0; b < batch; ++b)
    for (int o = 0; o < out; ++o) {
      int64_t s = 0;
      for (int i = 0; i < in; ++i)
        s += static_cast<int64_t>(x[static_cast<std::size_t>(b) * in + i]) *
             static_cast<int64_t>(w[static_cast<std::size_t>(o) * in + i]);
      y[static_cast<std::size_t>(b) * out + o] = static_cast<float>(s);
    }
  return y;
}

struct ExactCase {
  Mapping mapping;
  int dac_bits;
  AdcModel adc;
};

class IntegerOperandsAreExact : public ::testing::TestWithParam<ExactCase> {};

TEST_P(IntegerOperandsAreExact, PerSliceAndFoldedEqualTheIntegerProduct) {
  const ExactCase p = GetParam();
  const int in = 300, out = 141, batch = 9;
  CrossbarConfig c;
  c.crossbar.weight_bits = 6;
  c.crossbar.bits_per_cell = 2;
  c.crossbar.input_bits = 6;  // sign + 5 magnitude bits
  c.crossbar.dac_bits = p.dac_bits;
  c.crossbar.mapping = p.mapping;
  c.crossbar.adc_model = p.adc;
  c.crossbar.adc_range = AdcRange::Fixed;
  const int w_max = p.mapping == Mapping::Differential ? 63 : 31;
  const auto w = test::integer_matrix(out, in, w_max, 5);
  const auto x = test::integer_matrix(batch, in, 31, 6);
  const auto d = test::integer_matrix(batch, out, 31, 7);
  std::vector<float> wt(static_cast<std::size_t>(in) * out);  // W^T for the backward product
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) wt[static_cast<std::size_t>(i) * out + o] = w[static_cast<std::size_t>(o) * in + i];

  std::vector<std::vector<float>> ys, dxs;
  for (ReadMode mode : {ReadMode::PerSlice, ReadMode::Folded}) {
    c.crossbar.read_mode = mode;
    // Lossless: the top code covers the full scale with a one-unit LSB.
    //   per-slice: 128 rows * (2^dac - 1) * 3;  folded: 128 rows * 31 * 63.
    c.crossbar.adc_bits = mode == ReadMode::PerSlice ? (p.dac_bits == 1 ? 10 : 12) : 19;
    MappedMatrix layer(c, in, out, 3);
    layer.program(w.data());
    std::vector<float> y(static_cast<std::size_t>(batch) * out), dx(static_cast<std::size_t>(batch) * in);
    layer.forward(x.data(), batch, y.data());
    layer.backward(d.data(), batch, dx.data());
    ys.push_back(y);
    dxs.push_back(dx);
    EXPECT_EQ(y, integer_product(x, w, batch, in, out));
    EXPECT_EQ(dx, integer_product(d, wt, batch, out, in));
  }
  EXPECT_EQ(ys[0], ys[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
}

INSTANTIATE_TEST_SUITE_P(Configs, IntegerOperandsAreExact,
                         ::testing::Values(ExactCase{Mapping::Differential, 1, AdcModel::Uniform},
                                           ExactCase{Mapping::Differential, 2, AdcModel::Uniform},
                                           ExactCase{Mapping::Offset, 1, AdcModel::Uniform},
                                           ExactCase{Mapping::Differential, 1, AdcModel::Ideal},
                                           ExactCase{Mapping::Offset, 2, AdcModel::Ideal}),
                         [](const ::testing::TestParamInfo<ExactCase>& info) {
                           const ExactCase& p = info.param;
                           return std::string(p.mapping == Mapping::Differential ? "Differential" : "Offset") +
                                  "_dac" + std::to_string(p.dac_bits) +
                                  (p.adc == AdcModel::Uniform ? "_LosslessUniformAdc" : "_IdealAdc");
                         });

// One fewer ADC bit than lossless must lose: the lossless claim above is not vacuous.
TEST(IntegerOperandsAreExact, OneBitLessIsLossy) {
  const int in = 128, out = 64, batch = 16;
  CrossbarConfig c;
  c.crossbar.weight_bits = 6;
  c.crossbar.input_bits = 6;
  c.crossbar.adc_bits = 9;  // LSB 2 units
  MappedMatrix layer(c, in, out, 3);
  const auto w = test::integer_matrix(out, in, 63, 5);
  const auto x = test::integer_matrix(batch, in, 31, 6);
  layer.program(w.data());
  std::vector<float> y(static_cast<std::size_t>(batch) * out);
  layer.forward(x.data(), batch, y.data());
  EXPECT_NE(y, integer_product(x, w, batch, in, out));
}

// Two layers in the same state, one with an ideal ADC: their output difference is the ADC error.
std::vector<double> adc_errors_in_units(CrossbarConfig c, int in, int out, int batch) {
  // A wide absolute variation (1.5 units per device) makes every partial sum a smooth density
  // several LSBs wide: the condition under which quantization error is uniform.
  c.device.program_sigma = 0.5;
  c.device.program_scale = VariationScale::Absolute;
  const auto w = test::normal_matrix(static_cast<std::size_t>(out) * in, 21);
  const auto x = test::normal_matrix(static_cast<std::size_t>(batch) * in, 22);
  std::vector<float> y_ideal(static_cast<std::size_t>(batch) * out), y_adc(y_ideal.size());
  c.crossbar.adc_model = AdcModel::Ideal;
  MappedMatrix ideal(c, in, out, 9);
  ideal.program(w.data());
  ideal.forward(x.data(), batch, y_ideal.data());
  c.crossbar.adc_model = AdcModel::Uniform;
  MappedMatrix lossy(c, in, out, 9);
  lossy.program(w.data());
  lossy.forward(x.data(), batch, y_adc.data());

  // Back to units of (input step x weight step): one input and one weight integer step.
  float w_max = 0;
  for (float v : w) w_max = std::max(w_max, std::fabs(v));
  const double q_max = std::ldexp(1.0, c.crossbar.weight_bits) - 1;
  const double x_top = std::ldexp(1.0, c.crossbar.input_magnitude_bits()) - 1;
  std::vector<double> e;
  for (int b = 0; b < batch; ++b) {
    float x_max = 0;
    for (int i = 0; i < in; ++i) x_max = std::max(x_max, std::fabs(x[static_cast<std::size_t>(b) * in + i]));
    const double step = (double(x_max) / x_top) * (double(w_max) / q_max);
    for (int o = 0; o < out; ++o) {
      const std::size_t k = static_cast<std::size_t>(b) * out + o;
      e.push_back((double(y_adc[k]) - y_ideal[k]) / step);
    }
  }
  return e;
}

TEST(LossyAdc, SingleConversionErrorIsUniformOverOneLsb) {
  // One plane, one slice, one crossbar: each output is exactly one conversion.
  CrossbarConfig c;
  c.crossbar.weight_bits = 2;
  c.crossbar.bits_per_cell = 2;
  c.crossbar.input_bits = 2;
  c.crossbar.adc_bits = 8;  // full scale 128*1*3 = 384 units -> LSB 4 units
  const double lsb = 4.0;
  auto e = adc_errors_in_units(c, 128, 256, 256);
  // Kolmogorov-Smirnov against U(-lsb/2, lsb/2); critical D at alpha = 0.001 is 1.95/sqrt(n).
  std::sort(e.begin(), e.end());
  double d_max = 0;
  const double n = static_cast<double>(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double cdf = std::clamp(e[i] / lsb + 0.5, 0.0, 1.0);
    d_max = std::max({d_max, std::fabs(cdf - i / n), std::fabs((i + 1) / n - cdf)});
  }
  EXPECT_LT(d_max, 1.95 / std::sqrt(n)) << "KS distance to the uniform quantization error";
  EXPECT_LE(e.front(), -0.45 * lsb);
  EXPECT_GE(e.back(), 0.45 * lsb);
  EXPECT_LE(e.back(), 0.5 * lsb + 1e-3);
}

TEST(LossyAdc, PerSliceErrorVarianceIsTheSumOverPlanesAndSlices) {
  // 7 planes x 4 slices, each conversion uniform with variance lsb^2/12, weighted by its shift.
  CrossbarConfig c;
  c.crossbar.adc_bits = 8;
  const double lsb = 4.0;
  double expected = 0;
  for (int p = 0; p < c.crossbar.input_planes(); ++p)
    for (int s = 0; s < c.crossbar.slices(); ++s) expected += std::ldexp(1.0, 2 * (p + 2 * s)) * lsb * lsb / 12;
  const auto m = test::moments(adc_errors_in_units(c, 128, 256, 256));
  // Sampling: the variance estimate has relative std sqrt(0.8/n) (< 0.4% here); allow 2%.
  EXPECT_NEAR(m.variance / expected, 1.0, 0.02);
  EXPECT_NEAR(m.mean, 0.0, 5 * std::sqrt(expected / m.n));
}

}  // namespace
}  // namespace txsim

namespace txsim {
namespace {

// The lookup kernel and SGEMM compute the same partial sums (only the float summation order
// differs) and draw the same read noise: with an ideal ADC their outputs agree to float
// precision, and integer operands through a lossless ADC agree exactly.
TEST(PartialSumKernels, LookupAndGemmAgree) {
  for (bool is_signed : {false, true})
    for (int dac_bits : {1, 2}) {
      CrossbarConfig c;
      c.crossbar.input_signed = is_signed;
      c.crossbar.dac_bits = dac_bits;
      c.crossbar.adc_model = AdcModel::Ideal;
      c.device.program_sigma = 0.05;
      c.device.read_noise_sigma = 0.01;
      const int in = 300, out = 77, batch = 5;
      auto w = test::normal_matrix(in * out, 1);
      auto x = test::normal_matrix(in * batch, 2);
      auto d = test::normal_matrix(out * batch, 3);
      if (!is_signed) {
        for (float& v : x) v = std::fabs(v);
        for (float& v : d) v = std::fabs(v);
      }
      std::vector<float> y[2], dx[2];
      int k = 0;
      for (PartialSumKernel kernel : {PartialSumKernel::Gemm, PartialSumKernel::Lookup}) {
        MappedMatrix m(c, in, out, 4);
        m.set_partial_sum_kernel(kernel);
        ASSERT_EQ(m.partial_sum_kernel(), kernel);
        m.program(w.data());
        y[k].resize(batch * out);
        dx[k].resize(batch * in);
        m.forward(x.data(), batch, y[k].data());
        m.backward(d.data(), batch, dx[k].data());
        ++k;
      }
      EXPECT_LT(test::relative_error(y[1], y[0]), 1e-5) << "signed " << is_signed << " dac " << dac_bits;
      EXPECT_LT(test::relative_error(dx[1], dx[0]), 1e-5) << "signed " << is_signed << " dac " << dac_bits;
    }
}

TEST(PartialSumKernels, IntegerOperandsExactInBoth) {
  CrossbarConfig c;
  c.crossbar.weight_bits = 6;
  c.crossbar.input_bits = 6;
  c.crossbar.adc_bits = 10;
  const int in = 200, out = 50, batch = 6;
  const auto w = test::integer_matrix(out, in, 63, 5);
  const auto x = test::integer_matrix(batch, in, 31, 6);
  std::vector<float> y[2];
  int k = 0;
  for (PartialSumKernel kernel : {PartialSumKernel::Gemm, PartialSumKernel::Lookup}) {
    MappedMatrix m(c, in, out, 4);
    m.set_partial_sum_kernel(kernel);
    m.program(w.data());
    y[k].resize(batch * out);
    m.forward(x.data(), batch, y[k++].data());
  }
  EXPECT_EQ(y[0], y[1]);
  EXPECT_EQ(y[0], integer_product(x, w, batch, in, out));
}

}  // namespace
}  // namespace txsim
