// The reads' kernels. The narrow GEMM against two oracles: a double-precision product (accuracy)
// and a scalar loop of std::fma over k in order (the summation order it documents, to the bit).
// The quantizer's one-pass input check against its definition on the values.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "txsim/narrow_gemm.h"
#include "txsim/periphery.h"

namespace txsim {
namespace {

struct Case {
  int m, n, k;
};

TEST(NarrowGemm, EqualsInOrderFusedSumsToTheBitAndTheDoubleProductToFloatPrecision) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> ints(-255, 255);  // the reads' quantized inputs
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Every packed width (16..64), ragged columns, row counts off the blocking, k = 0 and long k.
  for (const Case c : {Case{1, 1, 1}, Case{7, 13, 5}, Case{33, 16, 64}, Case{130, 32, 64}, Case{41, 40, 17},
                       Case{64, 48, 144}, Case{9, 64, 300}, Case{5, 3, 0}}) {
    const int lda = c.k + 3, ldb = c.n + 5, ldc = c.n + 2;
    std::vector<float> a(static_cast<std::size_t>(c.m) * lda), b(static_cast<std::size_t>(std::max(c.k, 1)) * ldb);
    for (float& v : a) v = static_cast<float>(ints(gen));
    for (float& v : b) v = normal(gen);
    std::vector<float> out(static_cast<std::size_t>(c.m) * ldc, -99.0f);
    narrow_gemm(c.m, c.n, c.k, a.data(), lda, b.data(), ldb, out.data(), ldc);
    for (int i = 0; i < c.m; ++i) {
      for (int j = 0; j < c.n; ++j) {
        float fused = 0;
        double exact = 0, magnitude = 0;
        for (int p = 0; p < c.k; ++p) {
          const float x = a[static_cast<std::size_t>(i) * lda + p], y = b[static_cast<std::size_t>(p) * ldb + j];
          fused = std::fma(x, y, fused);
          exact += double(x) * y;
          magnitude += std::fabs(double(x) * y);
        }
        const float got = out[static_cast<std::size_t>(i) * ldc + j];
        ASSERT_EQ(got, fused) << c.m << "x" << c.n << "x" << c.k << " at (" << i << ", " << j << ")";
        ASSERT_NEAR(got, exact, 1e-6 * c.k * magnitude + 1e-30);
      }
      for (int j = c.n; j < ldc; ++j) ASSERT_EQ(out[static_cast<std::size_t>(i) * ldc + j], -99.0f) << "wrote past n";
    }
  }
}

TEST(NarrowGemm, RefusesShapesOutsideItsRange) {
  std::vector<float> a(64), b(64 * 65), c(65);
  EXPECT_THROW(narrow_gemm(1, 65, 1, a.data(), 1, b.data(), 65, c.data(), 65), std::invalid_argument);
  EXPECT_THROW(narrow_gemm(1, 0, 1, a.data(), 1, b.data(), 1, c.data(), 1), std::invalid_argument);
}

}  // namespace
}  // namespace txsim

// The check on the bits against its definition on the values: finite, and not below zero when
// inputs are unsigned (-0 passes); and the step against the largest magnitude.
namespace txsim {
namespace {

TEST(QuantizerCheck, RefusesExactlyWhatTheValueTestRefuses) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float denormal = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  for (const bool is_signed : {false, true}) {
    ArrayConfig a;
    a.input_signed = is_signed;
    for (const float v : {0.0f, -0.0f, denormal, -denormal, 1.0f, -1.0f, big, -big, inf, -inf, nan, -nan}) {
      // v among ordinary values, at every position of a row longer than a vector.
      for (int at = 0; at < 19; at += 6) {
        std::vector<float> x(19, 0.25f), out(19, -7.0f);
        x[at] = v;
        const bool valid = std::isfinite(v) && (is_signed || !(v < 0));
        const std::optional<float> step = quantize_sample(x.data(), 19, a, out.data());
        ASSERT_EQ(step.has_value(), valid) << "value " << v << " signed " << is_signed;
        ASSERT_EQ(inputs_in_range(x.data(), x.size(), a), valid) << "value " << v << " signed " << is_signed;
        if (!valid) {
          EXPECT_EQ(out[0], -7.0f) << "wrote a refused sample";
          continue;
        }
        const float max_abs = std::max(0.25f, std::fabs(v));
        EXPECT_EQ(*step, max_abs / (std::ldexp(1.0f, a.input_magnitude_bits()) - 1.0f)) << v;
      }
    }
  }
}

}  // namespace
}  // namespace txsim
