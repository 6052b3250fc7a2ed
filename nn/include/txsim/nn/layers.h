// Layers of a network: each transforms a batch forward and propagates gradients backward,
// caching what its backward pass needs. Linear and Conv2d (conv2d.h) hold weights in a WeightCore, digital
// (float) or analog (read and programmed through crossbars).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "txsim/activity.h"
#include "txsim/row_source.h"
#include "txsim/state_archive.h"
#include "txsim/nn/tensor.h"

namespace txsim {
struct ArrayConfig;
}

namespace txsim::nn {

// A trainable tensor with its gradient and the optimizer's state.
struct Param {
  std::string name;
  std::vector<float> value, grad, momentum;
  explicit Param(std::string n = {}, std::size_t size = 0)
      : name(std::move(n)), value(size, 0.0f), grad(size, 0.0f), momentum(size, 0.0f) {}
};

class WeightCore;

// What one weighted layer did in one phase of a batch: the seam to the timed model, which turns
// it into time and energy without touching any number of the training.
struct PhaseEvent {
  Phase phase = Phase::Forward;
  int index = 0;      // the layer's position among the network's weighted layers
  int rows = 0;       // rows of the phase's GEMM: samples x output positions (0 for the update)
  int in = 0, out = 0;
  // Values of the layer's input tensor for the batch (what it keeps from FW for its backward
  // pass): rows x in for a linear layer, N x C x H x W for a convolution (not its im2col rows).
  uint64_t input_values = 0;
  bool analog = false;
  Activity activity;  // what the crossbars did in this phase (analog layers)
};

// Receives the phases of training and evaluation as they happen (TrainOptions::observer).
class PhaseObserver {
 public:
  virtual ~PhaseObserver() = default;
  // Before each batch's forward pass: its samples, and whether it trains or evaluates.
  virtual void on_batch(int samples, bool train) = 0;
  virtual void on_phase(const PhaseEvent& e) = 0;
  // After the last batch of an epoch and its evaluation (epoch from 1).
  virtual void on_epoch(int /*epoch*/) {}
  // What it has accumulated, for checkpoints (a resumed run reports every epoch).
  virtual void save_state(StateWriter& /*w*/) const {}
  virtual void load_state(StateReader& /*r*/) {}
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;
  // Per-sample output shape for a per-sample input shape; throws std::invalid_argument naming
  // the layer when the input does not fit.
  virtual std::vector<int> output_shape(const std::vector<int>& in) const = 0;
  virtual void forward(const Tensor& x, Tensor& y, bool train) = 0;
  // dx for dy, from the state the last forward left; accumulates parameter gradients.
  virtual void backward(const Tensor& dy, Tensor& dx) = 0;
  virtual std::vector<Param*> params() { return {}; }
  // State beyond the parameters that a checkpoint must keep (running statistics, devices).
  virtual std::vector<std::vector<float>*> buffers() { return {}; }
  // Called after a checkpoint restored params() and buffers().
  virtual void restored() {}
  // Applies an optimizer step (the change the optimizer wants, at learning rate lr) to a
  // parameter of this layer. Digital: value += step. Analog weights: programs the devices.
  virtual void apply_step(Param& p, const std::vector<float>& step, double lr);
  // Appends the weight cores of this layer (and of layers it contains), in network order.
  virtual void collect_cores(std::vector<WeightCore*>& /*cores*/) {}
  // Precise statistics: while on, train-mode forwards make the running statistics the plain
  // average over the batches seen since it was switched on (instead of a moving average).
  virtual void average_statistics(bool /*on*/) {}
  // Whether backward must compute dx (false for a network's first layer in training: nothing
  // reads the gradient of the data). A layer may then leave dx zero where it saves work.
  void need_input_grad(bool need) { need_input_grad_ = need; }

 protected:
  bool need_input_grad_ = true;
};

// y = x W^T (+ b) over rows of x: the one operation behind Linear and Conv2d (its rows are the
// image patches). Digital by default; analog cores override read and update.
class WeightCore {
 public:
  WeightCore(int in, int out, uint64_t seed);
  virtual ~WeightCore() = default;
  int in() const { return in_; }
  int out() const { return out_; }
  Param& weight() { return w_; }
  // y (rows x out) = x (rows x in) W^T; dx (rows x in) = dy W.
  virtual void forward(const float* x, int rows, float* y);
  // The same with x's rows made by `source` (a convolution's patches) as the core needs them:
  // analog reads make them a block at a time; this default makes them all, then forward().
  virtual void forward(const RowSource& source, int rows, float* y);
  virtual void backward(const float* dy, int rows, float* dx);
  // The same with dx's rows handed to `sink` (analog reads: a block at a time, as they are read;
  // this default: all at once, after backward()).
  virtual void backward(const float* dy, int rows, const RowSink& sink);
  // W += step (out x in); lr for cores that update from their own record of the batch.
  virtual void apply(const std::vector<float>& step, double lr);
  virtual bool analog() const { return false; }
  // Checkpoint state beyond the weights (analog: the devices and every stream counter), as
  // named, typed entries; load_state leaves weight() as the restored state reads.
  virtual void save_state(StateWriter& /*w*/) const {}
  virtual void load_state(StateReader& /*r*/) {}
  // Physical crossbars holding the weights (0: digital).
  virtual int crossbars() const { return 0; }
  // The weight gradient is formed in the array by the update itself (stochastic pulse trains),
  // not computed digitally.
  virtual bool in_array_update() const { return false; }
  // The crossbar geometry and precision the activity is counted with (analog; digital: nullptr).
  virtual const ArrayConfig* array() const { return nullptr; }

  // Phase reports: the layer calls report() after each phase; the core hands the observer what
  // its crossbars did since the last report.
  void observe(PhaseObserver* observer, int index) {
    observer_ = observer;
    index_ = index;
    take_activity();  // the first report counts from here
  }
  // input_values: the layer's input tensor's values for the batch (0: rows x in).
  void report(Phase phase, int rows, uint64_t input_values = 0);

 protected:
  // The crossbars' activity since the last call, which resets it (analog cores).
  virtual Activity take_activity() { return {}; }
  int in_, out_;
  Param w_;
  PhaseObserver* observer_ = nullptr;
  int index_ = 0;
};

// A layer whose weights live in a WeightCore (digital or analog), with an optional bias: what
// Linear and Conv2d share (parameters, checkpoint state, applying optimizer steps).
class WeightedLayer : public Layer {
 public:
  std::vector<Param*> params() override;
  void apply_step(Param& p, const std::vector<float>& step, double lr) override;
  void collect_cores(std::vector<WeightCore*>& cores) override { cores.push_back(core_.get()); }
  WeightCore& core() { return *core_; }

 protected:
  WeightedLayer(std::unique_ptr<WeightCore> core, int in, int out, bool bias, uint64_t seed);
  std::unique_ptr<WeightCore> core_;
  bool has_bias_;
  Param b_;
};

class Linear final : public WeightedLayer {
 public:
  Linear(int in, int out, bool bias, uint64_t seed, std::unique_ptr<WeightCore> core = nullptr);
  std::string kind() const override { return "linear"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;

 private:
  Tensor x_;
};

class ReLU final : public Layer {
 public:
  std::string kind() const override { return "relu"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override { return in; }
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;

 private:
  std::vector<unsigned char> positive_;
};

enum class PoolKind { Max, Average };

class Pool2d final : public Layer {
 public:
  Pool2d(PoolKind kind, int kernel, int stride);
  std::string kind() const override { return kind_ == PoolKind::Max ? "maxpool2d" : "avgpool2d"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;

 private:
  PoolKind kind_;
  int kernel_, stride_;
  std::vector<int> in_shape_;
  std::vector<int> argmax_;
};

class Flatten final : public Layer {
 public:
  std::string kind() const override { return "flatten"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;

 private:
  std::vector<int> in_shape_;
};

// Batch normalization over channels (digital), with running statistics for evaluation.
class BatchNorm2d final : public Layer {
 public:
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f);
  std::string kind() const override { return "batchnorm2d"; }
  std::vector<int> output_shape(const std::vector<int>& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  std::vector<std::vector<float>*> buffers() override { return {&mean_, &var_}; }
  std::vector<float>& running_mean() { return mean_; }
  std::vector<float>& running_var() { return var_; }
  void average_statistics(bool on) override { averaged_ = on ? 0 : -1; }

 private:
  int c_;
  float momentum_, eps_;
  Param gamma_, beta_;
  std::vector<float> mean_, var_;        // running
  long averaged_ = -1;                   // batches averaged so far; -1: moving average
  std::vector<float> batch_mean_, inv_std_;
  Tensor xhat_;
};

// Softmax cross-entropy over logits (N x classes): mean loss, its gradient, correct predictions.
struct LossResult {
  double loss = 0;
  int correct = 0;
};
LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels, Tensor* dlogits);

}  // namespace txsim::nn
