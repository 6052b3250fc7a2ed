// The 2-D convolution layer: its patches made where they are used (im2col's layout for digital
// weights and the weight gradient, one row per output position for analog reads), never kept.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "txsim/nn/layers.h"

namespace txsim::nn {

class Conv2d final : public WeightedLayer {
 public:
  Conv2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias, uint64_t seed,
         std::unique_ptr<WeightCore> core = nullptr);
  std::string kind() const override { return "conv2d"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;

 private:
  // The weight gradient's samples per partial sum (digital and analog weights alike): fixed, so
  // that the sum's order does not depend on the thread count.
  static constexpr std::size_t kWeightGradSamples = 4;
  int c_, k_, kernel_, stride_, pad_;
  std::vector<int> in_shape_;  // N, C, H, W of the last forward
  bool backward_ready_ = false;  // the last forward was a training one
  void input_grad_digital(const Tensor& dy, Tensor& dx);
  void input_grad_analog(const Tensor& dy, Tensor& dx);
  void accumulate_weight_grad(const Tensor& dy);
  std::pair<int, int> inside_outputs(int kx, int w, int ow) const;
  std::pair<int, int> inside_rows(int ky, int h, int oh) const;
  void im2col(const float* x, std::size_t b, int h, int w, int oh, int ow, std::size_t ld, float* cols) const;
  void col2im(float* cols, std::size_t b, int h, int w, int oh, int ow, std::size_t ld, float* dx) const;
  void im2col_rows(const float* x, std::size_t first, std::size_t last, int h, int w, int oh, int ow, float* rows) const;
  void col2im_rows(const float* rows, std::size_t b, int h, int w, int oh, int ow, float* dx) const;
  // The input, kept from a training forward for backward, which rebuilds each sample's patches
  // from it. A call's buffers are shared by every layer (conv2d.cpp).
  Tensor x_;
};

}  // namespace txsim::nn
