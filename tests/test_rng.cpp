// The counter-based normal generator: distribution, and draw i depending only on (key, i).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "txsim/rng.h"

namespace txsim {
namespace {

TEST(Rng, NormalMomentsAndKolmogorovSmirnov) {
  const std::size_t n = 1 << 20;
  std::vector<float> z(n);
  fill_normal(derive_key(42, 1), 0, n, z.data());
  double s = 0, s2 = 0, s4 = 0;
  for (float v : z) { s += v; s2 += double(v) * v; s4 += std::pow(double(v), 4); }
  EXPECT_NEAR(s / n, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96.0 / n));  // var of z^4 is 105 - 9 = 96
  std::sort(z.begin(), z.end());
  double d = 0;
  for (std::size_t i = 0; i < n; i += 7) {
    const double cdf = 0.5 * std::erfc(-z[i] / std::sqrt(2.0));
    d = std::max({d, std::fabs(cdf - double(i) / n), std::fabs(double(i + 1) / n - cdf)});
  }
  EXPECT_LT(d, 1.95 / std::sqrt(double(n)));  // alpha = 0.001
  EXPECT_GT(z.back(), 4.0f);
  EXPECT_LT(z.front(), -4.0f);
}

TEST(Rng, DrawDependsOnlyOnKeyAndIndex) {
  std::vector<float> whole(1000), part(333);
  fill_normal(7, 0, whole.size(), whole.data());
  fill_normal(7, 101, part.size(), part.data());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + 101));
  std::vector<float> other(1000);
  fill_normal(8, 0, other.size(), other.data());
  EXPECT_NE(whole, other);
}

TEST(Rng, UniformIsUniform) {
  const std::size_t n = 200000;
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = uniform01(3, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    s += u;
    s2 += u * u;
  }
  EXPECT_NEAR(s / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(s2 / n - 0.25, 1.0 / 12, 0.002);
}

}  // namespace
}  // namespace txsim
