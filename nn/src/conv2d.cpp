#include "txsim/nn/conv2d.h"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "txsim/parallel.h"
#include "txsim/scratch_buffer.h"

namespace txsim::nn {

Conv2d::Conv2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias, uint64_t seed,
               std::unique_ptr<WeightCore> core)
    : WeightedLayer(std::move(core), in_channels * kernel * kernel, out_channels, bias, seed), c_(in_channels),
      k_(out_channels), kernel_(kernel), stride_(stride), pad_(padding) {
  if (kernel < 1 || stride < 1 || padding < 0)
    throw std::invalid_argument("conv2d: kernel and stride must be >= 1, padding >= 0");
}

std::vector<int> Conv2d::output_shape(const std::vector<int>& in) const {
  if (in.size() != 3 || in[0] != c_)
    throw std::invalid_argument("conv2d layer expects [" + std::to_string(c_) + ", H, W] per sample, gets " +
                                shape_string(in));
  const int oh = (in[1] + 2 * pad_ - kernel_) / stride_ + 1, ow = (in[2] + 2 * pad_ - kernel_) / stride_ + 1;
  if (oh < 1 || ow < 1)
    throw std::invalid_argument("conv2d layer: kernel " + std::to_string(kernel_) + " does not fit input " +
                                shape_string(in));
  return {k_, oh, ow};
}

// The output columns [first, second) whose input column ox * stride - pad + kx lies inside a
// row of width w (patch rows in im2col's layout).
std::pair<int, int> Conv2d::inside_outputs(int kx, int w, int ow) const {
  const int shift = kx - pad_;
  const int ox0 = std::min(ow, std::max(0, (-shift + stride_ - 1) / stride_));
  const int ox1 = std::max(ox0, w - 1 - shift < 0 ? 0 : std::min(ow, (w - 1 - shift) / stride_ + 1));
  return {ox0, ox1};
}

// The output rows [first, second) whose input row oy * stride - pad + ky lies inside an image of
// height h.
std::pair<int, int> Conv2d::inside_rows(int ky, int h, int oh) const { return inside_outputs(ky, h, oh); }

// Sample b's patches: one column per output position and one row per (c, ky, kx), into the
// block at `cols` of a matrix whose rows are `ld` long.
void Conv2d::im2col(const float* x, std::size_t b, int h, int w, int oh, int ow, std::size_t ld, float* cols) const {
  for (int c = 0; c < c_; ++c)
    for (int ky = 0; ky < kernel_; ++ky)
      for (int kx = 0; kx < kernel_; ++kx) {
        float* dst = cols + ((c * kernel_ + ky) * kernel_ + kx) * ld;
        const float* plane = x + (b * c_ + c) * h * w;
        const int shift = kx - pad_;
        const auto [ox0, ox1] = inside_outputs(kx, w, ow);
        const auto [oy0, oy1] = inside_rows(ky, h, oh);
        if (stride_ == 1 && ow == w && oy0 < oy1 && ox0 < ox1) {
          // Output and input rows have the same pitch, so the rows inside the image are one
          // shifted copy; the columns that fell outside (copied from the neighbouring row) are
          // cleared after it.
          const int iy0 = oy0 - pad_ + ky;
          std::fill(dst, dst + oy0 * ow, 0.0f);
          std::copy(plane + iy0 * w + ox0 + shift, plane + (iy0 + oy1 - oy0 - 1) * w + ox1 + shift, dst + oy0 * ow + ox0);
          std::fill(dst + (oy1 - 1) * ow + ox1, dst + oh * ow, 0.0f);
          for (int oy = oy0; oy < oy1; ++oy) {
            for (int ox = 0; ox < ox0; ++ox) dst[oy * ow + ox] = 0.0f;
            for (int ox = ox1; ox < ow; ++ox) dst[oy * ow + ox] = 0.0f;
          }
          continue;
        }
        for (int oy = 0; oy < oh; ++oy, dst += ow) {
          const int iy = oy * stride_ - pad_ + ky;
          if (iy < 0 || iy >= h) {
            std::fill(dst, dst + ow, 0.0f);
            continue;
          }
          const float* src = plane + iy * w + shift;
          std::fill(dst, dst + ox0, 0.0f);
          if (stride_ == 1) std::copy(src + ox0, src + ox1, dst + ox0);
          else for (int ox = ox0; ox < ox1; ++ox) dst[ox] = src[ox * stride_];
          std::fill(dst + ox1, dst + ow, 0.0f);
        }
      }
}

// dx of sample b += the patches' gradients (laid out as im2col's), in (c, ky, kx, oy, ox) order.
// `cols` is scratch: where output and input rows have the same pitch, the entries of taps outside
// the image are cleared so that the rows inside add as one run.
void Conv2d::col2im(float* cols, std::size_t b, int h, int w, int oh, int ow, std::size_t ld, float* dx) const {
  for (int c = 0; c < c_; ++c)
    for (int ky = 0; ky < kernel_; ++ky)
      for (int kx = 0; kx < kernel_; ++kx) {
        float* src = cols + ((c * kernel_ + ky) * kernel_ + kx) * ld;
        float* plane = dx + (b * c_ + c) * h * w;
        const int shift = kx - pad_;
        const auto [ox0, ox1] = inside_outputs(kx, w, ow);
        const auto [oy0, oy1] = inside_rows(ky, h, oh);
        if (stride_ == 1 && ow == w && oy0 < oy1 && ox0 < ox1) {
          for (int oy = oy0; oy < oy1; ++oy) {
            for (int ox = 0; ox < ox0; ++ox) src[oy * ow + ox] = 0.0f;
            for (int ox = ox1; ox < ow; ++ox) src[oy * ow + ox] = 0.0f;
          }
          const int iy0 = oy0 - pad_ + ky;
          const std::size_t len = static_cast<std::size_t>(oy1 - oy0 - 1) * ow + ox1 - ox0;
          float* __restrict to = plane + iy0 * w + ox0 + shift;
          const float* __restrict from = src + oy0 * ow + ox0;
          for (std::size_t i = 0; i < len; ++i) to[i] += from[i];
          continue;
        }
        for (int oy = 0; oy < oh; ++oy, src += ow) {
          const int iy = oy * stride_ - pad_ + ky;
          if (iy < 0 || iy >= h) continue;
          float* __restrict dst = plane + iy * w + shift;
          const float* __restrict from = src;
          if (stride_ == 1) for (int ox = ox0; ox < ox1; ++ox) dst[ox] += from[ox];
          else for (int ox = ox0; ox < ox1; ++ox) dst[ox * stride_] += from[ox];
        }
      }
}

// Analog cores' reads take one row per output position, (n, oy, ox) x (c, ky, kx).
namespace {

// A convolution call's buffers that do not outlive it, shared by every layer on the thread: the
// outputs (analog) and their gradients in the layout of the GEMM that takes them, one sample's
// patches and patch gradients, and the weight gradient's per-group partial sums. Per layer they
// would hold every layer's largest batch at once.
struct ConvScratch {
  std::vector<float> out_rows, sample_patches, sample_cols, dw_partials;
};
ConvScratch& conv_scratch() {
  thread_local ConvScratch scratch;
  return scratch;
}

}  // namespace

// Patch rows [first, last) of the batch (row (b, oy, ox) of every sample's oh x ow), row `first`
// at `rows`: each sample's patches as im2col lays them out (a channel's rows are runs of the
// image), transposed by OpenBLAS's out-of-place copy, which runs far faster than writing the rows
// a kernel row (three floats) at a time.
void Conv2d::im2col_rows(const float* x, std::size_t first, std::size_t last, int h, int w, int oh, int ow, float* rows) const {
  const int ckk = c_ * kernel_ * kernel_;
  const std::size_t spatial = static_cast<std::size_t>(oh) * ow;
  std::vector<float>& cols = conv_scratch().sample_cols;
  grow_to(cols, ckk * spatial);
  for (std::size_t b = first / spatial; b * spatial < last; ++b) {
    const std::size_t p0 = std::max(first, b * spatial) - b * spatial, p1 = std::min(last, (b + 1) * spatial) - b * spatial;
    im2col(x, b, h, w, oh, ow, spatial, cols.data());
    cblas_somatcopy(CblasRowMajor, CblasTrans, ckk, static_cast<int>(p1 - p0), 1.0f, cols.data() + p0, static_cast<int>(spatial),
                    rows + (b * spatial + p0 - first) * ckk, ckk);
  }
}

// Sample b's patch-row gradients (its first row at `rows`) added into dx: transposed into
// im2col's layout, then col2im.
void Conv2d::col2im_rows(const float* rows, std::size_t b, int h, int w, int oh, int ow, float* dx) const {
  const int ckk = c_ * kernel_ * kernel_, spatial = oh * ow;
  std::vector<float>& cols = conv_scratch().sample_cols;
  grow_to(cols, static_cast<std::size_t>(ckk) * spatial);
  cblas_somatcopy(CblasRowMajor, CblasTrans, spatial, ckk, 1.0f, rows, ckk, cols.data(), spatial);
  col2im(cols.data(), b, h, w, oh, ow, spatial, dx);
}

// Each sample's patches are made where they are used and not kept: digital weights take them a
// sample at a time (its patches and outputs stay in cache), analog reads a block of rows at a
// time (the whole batch is one read per phase, as the hardware and its noise streams see it).
// Training keeps the input instead, from which backward makes the patches again: a ninth of the
// patches' size for 3x3 kernels, and no batch-sized matrix streamed through memory.
void Conv2d::forward(const Tensor& x, Tensor& y, bool train) {
  if (x.shape.size() != 4) throw std::invalid_argument("conv2d: input " + shape_string(x.shape) + " is not NCHW");
  const std::vector<int> o = output_shape({x.shape[1], x.shape[2], x.shape[3]});
  const int n = x.shape[0], h = x.shape[2], w = x.shape[3], oh = o[1], ow = o[2];
  const int ckk = c_ * kernel_ * kernel_, spatial = oh * ow;
  const std::size_t rows = static_cast<std::size_t>(n) * spatial;
  in_shape_ = x.shape;
  backward_ready_ = train;
  y.resize({n, k_, oh, ow});
  if (train) x_.resize(x.shape);
  const bool digital = !core_->analog();
  parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) {
    std::vector<float>& cols = conv_scratch().sample_patches;
    if (digital) grow_to(cols, static_cast<std::size_t>(ckk) * spatial);
    for (std::size_t b = b0; b < b1; ++b) {
      if (train) std::copy_n(x.ptr() + b * x.per_sample(), x.per_sample(), x_.ptr() + b * x.per_sample());
      if (!digital) continue;
      im2col(x.ptr(), b, h, w, oh, ow, spatial, cols.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k_, spatial, ckk, 1.0f, core_->weight().value.data(), ckk,
                  cols.data(), spatial, 0.0f, y.ptr() + b * k_ * spatial, spatial);
    }
  });
  if (!digital) {
    std::vector<float>& out_rows = conv_scratch().out_rows;
    grow_to(out_rows, rows * k_);
    RowSource patch_rows;
    patch_rows.group = spatial;
    patch_rows.make = [&](int first, int last, float* out) { im2col_rows(x.ptr(), first, last, h, w, oh, ow, out); };
    core_->forward(patch_rows, static_cast<int>(rows), out_rows.data());
    parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) {  // each sample's rows into NCHW
      for (std::size_t b = b0; b < b1; ++b)
        cblas_somatcopy(CblasRowMajor, CblasTrans, spatial, k_, 1.0f, out_rows.data() + b * spatial * k_, k_,
                        y.ptr() + b * k_ * spatial, spatial);
    });
  }
  if (has_bias_)
    parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) {
      for (std::size_t b = b0; b < b1; ++b)
        for (int k = 0; k < k_; ++k) {
          float* dst = y.ptr() + (b * k_ + k) * spatial;
          for (int p = 0; p < spatial; ++p) dst[p] += b_.value[k];
        }
    });
  core_->report(Phase::Forward, static_cast<int>(rows), static_cast<uint64_t>(n) * c_ * h * w);
}

// dW from each sample's patches, made again from the kept input; then dx, digital (W^T dy and
// col2im per sample) or analog (the transposed read, its rows added into dx as they come).
void Conv2d::backward(const Tensor& dy, Tensor& dx) {
  if (!backward_ready_)
    throw std::logic_error("conv2d backward: no training forward pass of this batch (forward with train = true first)");
  const int n = in_shape_[0], h = in_shape_[2], w = in_shape_[3], oh = dy.shape[2], ow = dy.shape[3];
  const int spatial = oh * ow;
  const uint64_t input_values = static_cast<uint64_t>(n) * c_ * h * w;
  if (has_bias_)  // each channel in (sample, position) order
    for (int b = 0; b < n; ++b)
      for (int k = 0; k < k_; ++k) {
        const float* src = dy.ptr() + (static_cast<std::size_t>(b) * k_ + k) * spatial;
        float sum = b_.grad[k];
        for (int p = 0; p < spatial; ++p) sum += src[p];
        b_.grad[k] = sum;
      }
  accumulate_weight_grad(dy);
  core_->report(Phase::WeightGradient, n * spatial, input_values);
  dx.resize(in_shape_);
  parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) { std::fill(dx.ptr() + b0 * c_ * h * w, dx.ptr() + b1 * c_ * h * w, 0.0f); });
  if (core_->analog()) input_grad_analog(dy, dx);
  // Digital weights compute nothing nobody reads (the first layer's dx); the phase is still
  // reported, so the timed model charges it as the hardware's schedule has it.
  else if (need_input_grad_) input_grad_digital(dy, dx);
  core_->report(Phase::ActivationGradient, n * spatial, input_values);
}

// dW += dy times each sample's patches (made again from the kept input in a per-thread buffer),
// in groups of kWeightGradSamples samples (a fixed split: the sums' order does not depend on the
// thread count), each summed into its own partial in sample order; the partials are added to dW
// in group order.
void Conv2d::accumulate_weight_grad(const Tensor& dy) {
  const int n = in_shape_[0], h = in_shape_[2], w = in_shape_[3], oh = dy.shape[2], ow = dy.shape[3];
  const int ckk = c_ * kernel_ * kernel_, spatial = oh * ow;
  const std::size_t dw_size = static_cast<std::size_t>(k_) * ckk;
  const std::size_t groups = (static_cast<std::size_t>(n) + kWeightGradSamples - 1) / kWeightGradSamples;
  std::vector<float>& partials = conv_scratch().dw_partials;
  grow_to(partials, groups * dw_size);
  parallel_for(groups, 1, [&](std::size_t g0, std::size_t g1) {
    std::vector<float>& patches = conv_scratch().sample_patches;
    grow_to(patches, static_cast<std::size_t>(ckk) * spatial);
    for (std::size_t g = g0; g < g1; ++g) {
      const std::size_t b0 = g * kWeightGradSamples, b1 = std::min<std::size_t>(n, b0 + kWeightGradSamples);
      for (std::size_t b = b0; b < b1; ++b) {
        im2col(x_.ptr(), b, h, w, oh, ow, spatial, patches.data());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k_, ckk, spatial, 1.0f, dy.ptr() + b * k_ * spatial, spatial,
                    patches.data(), spatial, b == b0 ? 0.0f : 1.0f, partials.data() + g * dw_size, ckk);
      }
    }
  });
  float* grad = core_->weight().grad.data();
  parallel_for(dw_size, 4096, [&](std::size_t e0, std::size_t e1) {
    float* __restrict sum = partials.data();
    for (std::size_t g = 1; g < groups; ++g) {
      const float* __restrict from = partials.data() + g * dw_size;
      for (std::size_t e = e0; e < e1; ++e) sum[e] += from[e];
    }
    for (std::size_t e = e0; e < e1; ++e) grad[e] += sum[e];
  });
}

// dx (zero) += col2im(W^T dy) per sample, in cache.
void Conv2d::input_grad_digital(const Tensor& dy, Tensor& dx) {
  const int n = in_shape_[0], h = in_shape_[2], w = in_shape_[3], oh = dy.shape[2], ow = dy.shape[3];
  const int ckk = c_ * kernel_ * kernel_, spatial = oh * ow;
  parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) {
    std::vector<float>& cols = conv_scratch().sample_cols;
    grow_to(cols, static_cast<std::size_t>(ckk) * spatial);
    for (std::size_t b = b0; b < b1; ++b) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ckk, spatial, k_, 1.0f, core_->weight().value.data(), ckk,
                  dy.ptr() + b * k_ * spatial, spatial, 0.0f, cols.data(), spatial);
      col2im(cols.data(), b, h, w, oh, ow, spatial, dx.ptr());
    }
  });
}

// dx (zero) += the transposed read of dy's rows (one per position), added a block of whole
// samples at a time as the read gives them.
void Conv2d::input_grad_analog(const Tensor& dy, Tensor& dx) {
  const int n = in_shape_[0], h = in_shape_[2], w = in_shape_[3], oh = dy.shape[2], ow = dy.shape[3];
  const int ckk = c_ * kernel_ * kernel_, spatial = oh * ow;
  const std::size_t rows = static_cast<std::size_t>(n) * spatial;
  std::vector<float>& out_rows = conv_scratch().out_rows;
  grow_to(out_rows, rows * k_);
  parallel_for(n, 1, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b)
      cblas_somatcopy(CblasRowMajor, CblasTrans, k_, spatial, 1.0f, dy.ptr() + b * k_ * spatial, spatial,
                      out_rows.data() + b * spatial * k_, k_);
  });
  RowSink add_to_dx;
  add_to_dx.group = spatial;
  add_to_dx.take = [&](int first, int last, const float* patch_grads) {
    for (int b = first / spatial; b < last / spatial; ++b)
      col2im_rows(patch_grads + static_cast<std::size_t>(b - first / spatial) * spatial * ckk, b, h, w, oh, ow, dx.ptr());
  };
  core_->backward(out_rows.data(), static_cast<int>(rows), add_to_dx);
}

}  // namespace txsim::nn
