// Shared helpers for the core tests: random data, float references, error norms.
#pragma once

#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "txsim/config.h"
#include "txsim/rng.h"

namespace txsim::test {

inline std::vector<float> normal_matrix(std::size_t n, uint64_t seed) {
  std::vector<float> v(n);
  fill_normal(derive_key(seed, 77), 0, n, v.data());
  return v;
}

// Uniform integers in [-max_abs, max_abs], with element 0 of every row set to +-max_abs so that
// the per-row (or whole-matrix) maximum is exactly max_abs.
inline std::vector<float> integer_matrix(int rows, int cols, int max_abs, uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::floor(static_cast<float>(uniform01(seed, i) * (2 * max_abs + 1))) - max_abs;
  for (int r = 0; r < rows; ++r) v[static_cast<std::size_t>(r) * cols] = (r % 2 ? -1.0f : 1.0f) * max_abs;
  return v;
}

// y = x W^T (x batch x in, W out x in) and dx = d W (d batch x out).
inline std::vector<float> gemm_forward(const std::vector<float>& x, const std::vector<float>& w, int batch, int in,
                                       int out) {
  std::vector<float> y(static_cast<std::size_t>(batch) * out);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, x.data(), in, w.data(), in, 0.0f,
              y.data(), out);
  return y;
}
inline std::vector<float> gemm_backward(const std::vector<float>& d, const std::vector<float>& w, int batch, int in,
                                        int out) {
  std::vector<float> dx(static_cast<std::size_t>(batch) * in);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in, out, 1.0f, d.data(), out, w.data(), in, 0.0f,
              dx.data(), in);
  return dx;
}

inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    ref += double(want[i]) * want[i];
  }
  return std::sqrt(err / ref);
}

struct Moments {
  double mean, variance;
  std::size_t n;
};
inline Moments moments(const std::vector<double>& v) {
  double s = 0, s2 = 0;
  for (double x : v) s += x;
  const double mean = s / v.size();
  for (double x : v) s2 += (x - mean) * (x - mean);
  return {mean, s2 / (v.size() - 1), v.size()};
}

// A configuration with every non-ideality off and precision high enough that quantization
// error is below 1e-6 relative.
inline CrossbarConfig ideal_config(ReadMode mode, Mapping mapping) {
  CrossbarConfig c;
  c.crossbar.rows = 128;
  c.crossbar.cols = 128;
  c.crossbar.weight_bits = 22;
  c.crossbar.bits_per_cell = mode == ReadMode::PerSlice ? 11 : 22;
  c.crossbar.input_bits = 22;
  c.crossbar.dac_bits = mode == ReadMode::PerSlice ? 7 : 21;
  c.crossbar.mapping = mapping;
  c.crossbar.read_mode = mode;
  c.crossbar.adc_model = AdcModel::Ideal;
  return c;
}

}  // namespace txsim::test
