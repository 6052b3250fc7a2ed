// A network: layers in sequence, built from a workload file (JSON) with every layer checked
// against the shape it receives; SGD with momentum and weight decay; learning-rate schedules.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "txsim/nn/layers.h"

namespace txsim::nn {

class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Network {
 public:
  void add(std::unique_ptr<Layer> layer) { layers_.push_back(std::move(layer)); }
  const Tensor& forward(const Tensor& x, bool train);
  void backward(const Tensor& dlogits);
  // The gradient with respect to the input of the last backward.
  const Tensor& input_grad() const { return grad_a_; }
  // (layer, parameter) pairs, in layer order.
  std::vector<std::pair<Layer*, Param*>> params();
  void zero_grad();
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  std::size_t parameter_count();
  // The weight cores of every layer (residual blocks included), in network order.
  std::vector<WeightCore*> cores();
  // Sends every weighted layer's phase reports to `observer` (nullptr: none); layer i of cores().
  void observe(PhaseObserver* observer);
  // Every layer's precise statistics on or off (Layer::average_statistics).
  void average_statistics(bool on);

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Tensor> acts_;  // acts_[i] is the output of layer i
  Tensor grad_a_, grad_b_;
};

// out = main(x) + shortcut(x): a residual block; an empty shortcut is the identity. The two
// paths are layer chains of their own; parameters, buffers and steps go to the layer that owns them.
class Residual final : public Layer {
 public:
  Residual(std::unique_ptr<Network> main, std::unique_ptr<Network> shortcut, std::vector<int> out_shape)
      : main_(std::move(main)), shortcut_(std::move(shortcut)), out_shape_(std::move(out_shape)) {}
  std::string kind() const override { return "residual"; }
  std::vector<int> output_shape(const std::vector<int>&) const override { return out_shape_; }
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::vector<Param*> params() override;
  std::vector<std::vector<float>*> buffers() override;
  void restored() override;
  void apply_step(Param& p, const std::vector<float>& step, double lr) override;
  void collect_cores(std::vector<WeightCore*>& cores) override;
  void average_statistics(bool on) override;

 private:
  std::unique_ptr<Network> main_, shortcut_;
  std::vector<int> out_shape_;
};

enum class Schedule { Constant, Step, Cosine };

struct TrainConfig {
  int epochs = 1;
  int batch = 64;
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 0.0;
  Schedule schedule = Schedule::Constant;
  int step_epochs = 1;      // Step: multiply by step_gamma every step_epochs
  double step_gamma = 0.1;
  int crop_padding = 0;     // augmentation: random crops of the image padded by this many pixels
  bool flip = false;        // augmentation: random left-right mirroring
  int bn_recalibrate = 0;   // before each evaluation, batch-norm statistics become the plain
                            // average over this many training batches (no update); 0: off
};

double learning_rate(const TrainConfig& t, int epoch);  // epoch from 0

// v <- momentum v + (grad + weight_decay w); the layer applies step = -lr v; gradients zeroed.
void sgd_step(Network& net, const TrainConfig& t, double lr);
// The rule sgd_step applies to each parameter of n values: momentum = mu momentum + grad + wd
// value and step = -lr momentum, each in double and rounded once to float.
void momentum_step(std::size_t n, double mu, double wd, double lr, const float* grad, const float* value, float* momentum,
                   float* step);

// Builds the analog weight core of a layer (in, out, seed, layer index); nullptr: digital.
using CoreFactory = std::function<std::unique_ptr<WeightCore>(int in, int out, uint64_t seed, int layer)>;

struct Workload {
  std::string name, dataset, source;
  std::vector<int> input;  // C, H, W
  int classes = 0;
  std::vector<nlohmann::json> layers;
  TrainConfig train;
  int analog_layers() const;
};

Workload load_workload(const std::string& path);
Workload workload_from_json(const nlohmann::json& j, const std::string& source);
// Builds the network; layers marked "analog": true take their weights from `analog` (when given).
// Throws WorkloadError naming the source, the layer index and what does not fit.
std::unique_ptr<Network> build_network(const Workload& w, uint64_t seed, const CoreFactory& analog = nullptr);

}  // namespace txsim::nn
