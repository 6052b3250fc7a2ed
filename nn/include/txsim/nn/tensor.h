// A float32 tensor: a shape (NCHW for images, N x F for features) and its row-major data.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace txsim::nn {

struct Tensor {
  std::vector<int> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int> s, float fill = 0.0f) : shape(std::move(s)), data(count(shape), fill) {}

  static std::size_t count(const std::vector<int>& s) {
    std::size_t n = 1;
    for (int d : s) n *= static_cast<std::size_t>(d);
    return n;
  }
  std::size_t size() const { return data.size(); }
  int batch() const { return shape.empty() ? 0 : shape[0]; }
  // Elements per sample: the product of all dimensions but the first.
  std::size_t per_sample() const { return shape.empty() ? 0 : size() / static_cast<std::size_t>(shape[0]); }
  void resize(std::vector<int> s) {
    shape = std::move(s);
    data.resize(count(shape));
  }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
};

std::string shape_string(const std::vector<int>& shape);

}  // namespace txsim::nn
