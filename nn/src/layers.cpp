#include "txsim/nn/layers.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "txsim/parallel.h"
#include "txsim/rng.h"
#include "txsim/scratch_buffer.h"

namespace txsim::nn {

std::string shape_string(const std::vector<int>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void Layer::apply_step(Param& p, const std::vector<float>& step, double /*lr*/) {
  for (std::size_t i = 0; i < step.size(); ++i) p.value[i] += step[i];
}

// ---- WeightCore ---------------------------------------------------------------------------------

WeightCore::WeightCore(int in, int out, uint64_t seed)
    : in_(in), out_(out), w_("weight", static_cast<std::size_t>(in) * out) {
  if (in < 1 || out < 1) throw std::invalid_argument("weights " + std::to_string(out) + "x" + std::to_string(in));
  // He initialization for ReLU networks: N(0, 2 / fan_in).
  fill_normal(derive_key(seed, 0x1417), 0, w_.value.size(), w_.value.data());
  const float scale = std::sqrt(2.0f / in);
  for (float& v : w_.value) v *= scale;
}

void WeightCore::forward(const float* x, int rows, float* y) {
  gemm(CblasNoTrans, CblasTrans, rows, out_, in_, 1.0f, x, in_, w_.value.data(), in_, 0.0f, y, out_);
}

void WeightCore::forward(const RowSource& source, int rows, float* y) {
  std::vector<float> x(static_cast<std::size_t>(rows) * in_);
  source.make(0, rows, x.data());
  forward(x.data(), rows, y);
}

void WeightCore::backward(const float* dy, int rows, float* dx) {
  gemm(CblasNoTrans, CblasNoTrans, rows, in_, out_, 1.0f, dy, out_, w_.value.data(), in_, 0.0f, dx, in_);
}

void WeightCore::backward(const float* dy, int rows, const RowSink& sink) {
  std::vector<float> dx(static_cast<std::size_t>(rows) * in_);
  backward(dy, rows, dx.data());
  sink.take(0, rows, dx.data());
}

void WeightCore::apply(const std::vector<float>& step, double /*lr*/) {
  for (std::size_t i = 0; i < step.size(); ++i) w_.value[i] += step[i];
}

void WeightCore::report(Phase phase, int rows, uint64_t input_values) {
  if (!observer_) return;
  PhaseEvent e;
  e.phase = phase;
  e.index = index_;
  e.rows = rows;
  e.in = in_;
  e.out = out_;
  e.input_values = input_values ? input_values : static_cast<uint64_t>(rows) * in_;
  e.analog = analog();
  e.activity = take_activity();
  observer_->on_phase(e);
}

namespace {

// dW (out x in) += dy^T x over rows.
void accumulate_weight_grad(const float* dy, const float* x, int rows, int in, int out, float* dw) {
  gemm(CblasTrans, CblasNoTrans, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in);
}

}  // namespace

WeightedLayer::WeightedLayer(std::unique_ptr<WeightCore> core, int in, int out, bool bias, uint64_t seed)
    : core_(core ? std::move(core) : std::make_unique<WeightCore>(in, out, seed)), has_bias_(bias),
      b_("bias", bias ? out : 0) {
  if (core_->in() != in || core_->out() != out) throw std::invalid_argument("weight core shape mismatch");
}

std::vector<Param*> WeightedLayer::params() {
  std::vector<Param*> p = {&core_->weight()};
  if (has_bias_) p.push_back(&b_);
  return p;
}

void WeightedLayer::apply_step(Param& p, const std::vector<float>& step, double lr) {
  if (&p == &core_->weight()) {
    core_->apply(step, lr);
    core_->report(Phase::WeightUpdate, 0);
  } else {
    Layer::apply_step(p, step, lr);
  }
}

// ---- Linear -------------------------------------------------------------------------------------

Linear::Linear(int in, int out, bool bias, uint64_t seed, std::unique_ptr<WeightCore> core)
    : WeightedLayer(std::move(core), in, out, bias, seed) {}

std::vector<int> Linear::output_shape(const std::vector<int>& in) const {
  if (Tensor::count(in) != static_cast<std::size_t>(core_->in()))
    throw std::invalid_argument("linear layer expects " + std::to_string(core_->in()) + " inputs per sample, gets " +
                                shape_string(in) + " = " + std::to_string(Tensor::count(in)));
  return {core_->out()};
}

void Linear::forward(const Tensor& x, Tensor& y, bool train) {
  const int n = x.batch();
  if (x.per_sample() != static_cast<std::size_t>(core_->in()))
    throw std::invalid_argument("linear layer: input " + shape_string(x.shape) + " does not have " +
                                std::to_string(core_->in()) + " features per sample");
  y.resize({n, core_->out()});
  core_->forward(x.ptr(), n, y.ptr());
  core_->report(Phase::Forward, n);
  if (has_bias_)
    for (int r = 0; r < n; ++r)
      for (int o = 0; o < core_->out(); ++o) y.data[static_cast<std::size_t>(r) * core_->out() + o] += b_.value[o];
  if (train) x_ = x;
}

void Linear::backward(const Tensor& dy, Tensor& dx) {
  const int n = dy.batch(), in = core_->in(), out = core_->out();
  accumulate_weight_grad(dy.ptr(), x_.ptr(), n, in, out, core_->weight().grad.data());
  core_->report(Phase::WeightGradient, n);
  if (has_bias_)
    for (int r = 0; r < n; ++r)
      for (int o = 0; o < out; ++o) b_.grad[o] += dy.data[static_cast<std::size_t>(r) * out + o];
  dx.resize(x_.shape);
  core_->backward(dy.ptr(), n, dx.ptr());
  core_->report(Phase::ActivationGradient, n);
}


// ---- Activations, pooling, reshaping --------------------------------------------------------------

void ReLU::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.resize(x.shape);
  positive_.resize(x.size());
  parallel_for(x.size(), 1 << 16, [&](std::size_t i0, std::size_t i1) {
    const float* __restrict in = x.ptr();
    float* __restrict out = y.ptr();
    unsigned char* __restrict positive = positive_.data();
    for (std::size_t i = i0; i < i1; ++i) {
      positive[i] = in[i] > 0;
      out[i] = in[i] > 0 ? in[i] : 0.0f;
    }
  });
}

void ReLU::backward(const Tensor& dy, Tensor& dx) {
  dx.resize(dy.shape);
  parallel_for(dy.size(), 1 << 16, [&](std::size_t i0, std::size_t i1) {
    const float* __restrict in = dy.ptr();
    float* __restrict out = dx.ptr();
    const unsigned char* __restrict positive = positive_.data();
    for (std::size_t i = i0; i < i1; ++i) out[i] = positive[i] ? in[i] : 0.0f;
  });
}

Pool2d::Pool2d(PoolKind kind, int kernel, int stride) : kind_(kind), kernel_(kernel), stride_(stride) {
  if (kernel < 1 || stride < 1) throw std::invalid_argument("pool2d: kernel and stride must be >= 1");
}

std::vector<int> Pool2d::output_shape(const std::vector<int>& in) const {
  if (in.size() != 3 || in[1] < kernel_ || in[2] < kernel_)
    throw std::invalid_argument(kind() + " layer (kernel " + std::to_string(kernel_) + ") does not fit input " +
                                shape_string(in));
  return {in[0], (in[1] - kernel_) / stride_ + 1, (in[2] - kernel_) / stride_ + 1};
}

namespace {

// One image plane of max or average pooling; kKernel and kStride fix the window at compile time
// (0: the runtime kernel and stride), so the common 2x2 window unrolls.
template <int kKernel, int kStride>
void pool_plane(bool max, int kernel_rt, int stride_rt, const float* __restrict src, int w, int oh, int ow,
                float* __restrict out, int* __restrict argmax) {
  const int kernel = kKernel ? kKernel : kernel_rt, stride = kStride ? kStride : stride_rt;
  const float area = 1.0f / (kernel * kernel);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      float best = -std::numeric_limits<float>::infinity(), sum = 0;
      int at = 0;
      for (int ky = 0; ky < kernel; ++ky)
        for (int kx = 0; kx < kernel; ++kx) {
          const int i = (oy * stride + ky) * w + ox * stride + kx;
          sum += src[i];
          if (src[i] > best) {
            best = src[i];
            at = i;
          }
        }
      if (max) {
        out[oy * ow + ox] = best;
        argmax[oy * ow + ox] = at;
      } else {
        out[oy * ow + ox] = sum * area;
      }
    }
}

}  // namespace

void Pool2d::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const std::vector<int> o = output_shape({x.shape[1], x.shape[2], x.shape[3]});
  const int n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], oh = o[1], ow = o[2];
  in_shape_ = x.shape;
  y.resize({n, c, oh, ow});
  const bool max = kind_ == PoolKind::Max;
  argmax_.resize(max ? y.size() : 0);
  parallel_for(static_cast<std::size_t>(n) * c, 16, [&](std::size_t p0, std::size_t p1) {
    for (std::size_t p = p0; p < p1; ++p) {  // one image plane per item
      const float* src = x.ptr() + p * h * w;
      float* out = y.ptr() + p * oh * ow;
      int* at = max ? argmax_.data() + p * oh * ow : nullptr;
      if (kernel_ == 2 && stride_ == 2) pool_plane<2, 2>(max, 2, 2, src, w, oh, ow, out, at);
      else pool_plane<0, 0>(max, kernel_, stride_, src, w, oh, ow, out, at);
    }
  });
}

void Pool2d::backward(const Tensor& dy, Tensor& dx) {
  const int n = in_shape_[0], c = in_shape_[1], h = in_shape_[2], w = in_shape_[3], oh = dy.shape[2], ow = dy.shape[3];
  dx.resize(in_shape_);
  const float area = 1.0f / (kernel_ * kernel_);
  parallel_for(static_cast<std::size_t>(n) * c, 16, [&](std::size_t p0, std::size_t p1) {
  std::fill(dx.ptr() + p0 * h * w, dx.ptr() + p1 * h * w, 0.0f);
  for (std::size_t p = p0; p < p1; ++p) {
    float* dst = dx.ptr() + p * h * w;
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const std::size_t out = (static_cast<std::size_t>(p) * oh + oy) * ow + ox;
        if (kind_ == PoolKind::Max) {
          dst[argmax_[out]] += dy.data[out];
        } else {
          for (int ky = 0; ky < kernel_; ++ky)
            for (int kx = 0; kx < kernel_; ++kx) dst[(oy * stride_ + ky) * w + ox * stride_ + kx] += dy.data[out] * area;
        }
      }
  }
  });
}

std::vector<int> Flatten::output_shape(const std::vector<int>& in) const {
  return {static_cast<int>(Tensor::count(in))};
}

void Flatten::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  in_shape_ = x.shape;
  y.shape = {x.batch(), static_cast<int>(x.per_sample())};
  y.data = x.data;
}

void Flatten::backward(const Tensor& dy, Tensor& dx) {
  dx.shape = in_shape_;
  dx.data = dy.data;
}

// ---- BatchNorm2d ---------------------------------------------------------------------------------

BatchNorm2d::BatchNorm2d(int channels, float momentum, float eps)
    : c_(channels), momentum_(momentum), eps_(eps), gamma_("gamma", channels), beta_("beta", channels),
      mean_(channels, 0.0f), var_(channels, 1.0f) {
  std::fill(gamma_.value.begin(), gamma_.value.end(), 1.0f);
}

std::vector<int> BatchNorm2d::output_shape(const std::vector<int>& in) const {
  if (in.size() != 3 || in[0] != c_)
    throw std::invalid_argument("batchnorm2d layer expects [" + std::to_string(c_) + ", H, W], gets " + shape_string(in));
  return in;
}

namespace {

// Sums of a channel's values and of their squares, in double, over the planes of n samples:
// eight running sums per quantity (so that it vectorizes), combined in a fixed order, so the
// result depends on the data alone (one thread takes a whole channel).
struct ChannelSums {
  double first = 0, second = 0;
};
template <class Pair>
ChannelSums channel_sums(int n, int hw, Pair pair) {
  constexpr int kLanes = 8;
  double s[kLanes] = {}, s2[kLanes] = {};
  for (int b = 0; b < n; ++b) {
    const auto [u, v] = pair(b);  // the plane's two factors: sums of u and of u * v
    const float* __restrict pu = u;
    const float* __restrict pv = v;
    int i = 0;
    for (; i + kLanes <= hw; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        s[l] += pu[i + l];
        s2[l] += double(pu[i + l]) * pv[i + l];
      }
    for (; i < hw; ++i) {
      s[i % kLanes] += pu[i];
      s2[i % kLanes] += double(pu[i]) * pv[i];
    }
  }
  ChannelSums r;
  for (int l = 0; l < kLanes; ++l) {
    r.first += s[l];
    r.second += s2[l];
  }
  return r;
}

}  // namespace

void BatchNorm2d::forward(const Tensor& x, Tensor& y, bool train) {
  const int n = x.shape[0], hw = x.shape[2] * x.shape[3];
  y.resize(x.shape);
  batch_mean_.assign(c_, 0.0f);
  inv_std_.assign(c_, 0.0f);
  if (train) xhat_.resize(x.shape);
  // The weight of this batch in the running statistics: the moving average's, or 1/k for the
  // k-th batch of a plain average.
  const double momentum = averaged_ >= 0 && train ? 1.0 / static_cast<double>(++averaged_) : momentum_;
  parallel_for(c_, 1, [&](std::size_t c0, std::size_t c1) {
  for (std::size_t c = c0; c < c1; ++c) {  // one channel per item
    auto plane = [&](int b) { return (static_cast<std::size_t>(b) * c_ + c) * hw; };
    double mean = mean_[c], var = var_[c];
    if (train) {
      const ChannelSums sums = channel_sums(n, hw, [&](int b) {
        const float* p = x.ptr() + plane(b);
        return std::pair{p, p};
      });
      const double count = double(n) * hw;
      mean = sums.first / count;
      var = std::max(0.0, sums.second / count - mean * mean);
      mean_[c] = static_cast<float>((1 - momentum) * mean_[c] + momentum * mean);
      var_[c] = static_cast<float>((1 - momentum) * var_[c] + momentum * var * count / std::max(1.0, count - 1));
    }
    const float inv = static_cast<float>(1 / std::sqrt(var + eps_));
    batch_mean_[c] = static_cast<float>(mean);
    inv_std_[c] = inv;
    const float m = static_cast<float>(mean), g = gamma_.value[c], beta = beta_.value[c];
    for (int b = 0; b < n; ++b) {
      const float* __restrict in = x.ptr() + plane(b);
      float* __restrict out = y.ptr() + plane(b);
      if (train) {
        float* __restrict xh = xhat_.ptr() + plane(b);
        for (int i = 0; i < hw; ++i) {
          xh[i] = (in[i] - m) * inv;
          out[i] = g * xh[i] + beta;
        }
      } else {
        for (int i = 0; i < hw; ++i) out[i] = g * ((in[i] - m) * inv) + beta;
      }
    }
  }
  });
}

void BatchNorm2d::backward(const Tensor& dy, Tensor& dx) {
  const int n = dy.shape[0], hw = dy.shape[2] * dy.shape[3];
  const double count = double(n) * hw;
  dx.resize(dy.shape);
  parallel_for(c_, 1, [&](std::size_t c0, std::size_t c1) {
  for (std::size_t c = c0; c < c1; ++c) {
    auto plane = [&](int b) { return (static_cast<std::size_t>(b) * c_ + c) * hw; };
    const ChannelSums sums = channel_sums(n, hw, [&](int b) { return std::pair{dy.ptr() + plane(b), xhat_.ptr() + plane(b)}; });
    const double sum_dy = sums.first, sum_dy_xh = sums.second;
    gamma_.grad[c] += static_cast<float>(sum_dy_xh);
    beta_.grad[c] += static_cast<float>(sum_dy);
    const float k = gamma_.value[c] * inv_std_[c];
    // Float from here on, as the forward pass (the sums above stay in double).
    const float mean_dy = static_cast<float>(sum_dy / count), mean_dy_xh = static_cast<float>(sum_dy_xh / count);
    for (int b = 0; b < n; ++b) {
      const float* __restrict g = dy.ptr() + plane(b);
      const float* __restrict xh = xhat_.ptr() + plane(b);
      float* __restrict out = dx.ptr() + plane(b);
      for (int i = 0; i < hw; ++i) out[i] = k * (g[i] - mean_dy - xh[i] * mean_dy_xh);
    }
  }
  });
}

// ---- Loss ----------------------------------------------------------------------------------------

LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels, Tensor* dlogits) {
  const int n = logits.batch(), k = static_cast<int>(logits.per_sample());
  if (static_cast<int>(labels.size()) != n) throw std::invalid_argument("softmax_cross_entropy: label count");
  LossResult r;
  if (dlogits) dlogits->resize(logits.shape);
  for (int b = 0; b < n; ++b) {
    const float* z = logits.ptr() + static_cast<std::size_t>(b) * k;
    const int label = labels[b];
    if (label < 0 || label >= k) throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(label) + " outside 0.." + std::to_string(k - 1));
    const float zmax = *std::max_element(z, z + k);
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(double(z[j]) - zmax);
    r.loss += std::log(sum) + zmax - z[label];
    if (std::max_element(z, z + k) - z == label) ++r.correct;
    if (dlogits)
      for (int j = 0; j < k; ++j)
        dlogits->data[static_cast<std::size_t>(b) * k + j] =
            static_cast<float>((std::exp(double(z[j]) - zmax) / sum - (j == label ? 1.0 : 0.0)) / n);
  }
  r.loss /= n;
  return r;
}

}  // namespace txsim::nn
