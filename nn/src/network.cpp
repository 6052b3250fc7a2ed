#include "txsim/nn/network.h"
#include "txsim/nn/conv2d.h"

#include <cmath>
#include <fstream>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "txsim/config.h"
#include "txsim/parallel.h"
#include "txsim/json_fields.h"
#include "txsim/rng.h"

namespace txsim::nn {

using nlohmann::json;

const Tensor& Network::forward(const Tensor& x, bool train) {
  if (layers_.empty()) return x;
  // The first layer reads x itself (a residual block's input is its caller's activation): no
  // layer reads an activation after its forward, so nothing needs a copy.
  acts_.resize(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->forward(i == 0 ? x : acts_[i - 1], acts_[i], train);
  return acts_.back();
}

void Network::backward(const Tensor& dlogits) {
  if (layers_.empty()) {
    grad_a_ = dlogits;
    return;
  }
  const Tensor* dy = &dlogits;  // the last layer reads the caller's gradient itself
  for (std::size_t i = layers_.size(); i-- > 0; dy = &grad_a_) {
    layers_[i]->backward(*dy, grad_b_);
    std::swap(grad_a_, grad_b_);
  }
}

namespace {

// out = a + b, elementwise, in one pass (out may not alias either).
void add_into(const Tensor& a, const Tensor& b, Tensor& out) {
  out.resize(a.shape);
  parallel_for(a.size(), 1 << 16, [&](std::size_t i0, std::size_t i1) {
    const float* __restrict pa = a.ptr();
    const float* __restrict pb = b.ptr();
    float* __restrict po = out.ptr();
    for (std::size_t i = i0; i < i1; ++i) po[i] = pa[i] + pb[i];
  });
}

}  // namespace

void Residual::forward(const Tensor& x, Tensor& y, bool train) {
  const Tensor& m = main_->forward(x, train);
  add_into(m, shortcut_->layers().empty() ? x : shortcut_->forward(x, train), y);
}

void Residual::backward(const Tensor& dy, Tensor& dx) {
  main_->backward(dy);
  if (!shortcut_->layers().empty()) shortcut_->backward(dy);
  add_into(main_->input_grad(), shortcut_->layers().empty() ? dy : shortcut_->input_grad(), dx);
}

std::vector<Param*> Residual::params() {
  std::vector<Param*> out;
  for (Network* n : {main_.get(), shortcut_.get()})
    for (auto& [layer, p] : n->params()) out.push_back(p);
  return out;
}

std::vector<std::vector<float>*> Residual::buffers() {
  std::vector<std::vector<float>*> out;
  for (Network* n : {main_.get(), shortcut_.get()})
    for (const auto& l : n->layers())
      for (auto* b : l->buffers()) out.push_back(b);
  return out;
}

void Residual::average_statistics(bool on) {
  for (Network* n : {main_.get(), shortcut_.get()}) n->average_statistics(on);
}

void Residual::restored() {
  for (Network* n : {main_.get(), shortcut_.get()})
    for (const auto& l : n->layers()) l->restored();
}

void Residual::apply_step(Param& p, const std::vector<float>& step, double lr) {
  for (Network* n : {main_.get(), shortcut_.get()})
    for (auto& [layer, q] : n->params())
      if (q == &p) return layer->apply_step(p, step, lr);
  throw std::logic_error("Residual::apply_step: parameter '" + p.name + "' is not in this block");
}

void Residual::collect_cores(std::vector<WeightCore*>& cores) {
  for (Network* n : {main_.get(), shortcut_.get()})
    for (const auto& l : n->layers()) l->collect_cores(cores);
}

std::vector<WeightCore*> Network::cores() {
  std::vector<WeightCore*> out;
  for (auto& l : layers_) l->collect_cores(out);
  return out;
}

void Network::observe(PhaseObserver* observer) {
  const std::vector<WeightCore*> all = cores();
  for (std::size_t i = 0; i < all.size(); ++i) all[i]->observe(observer, static_cast<int>(i));
}

void Network::average_statistics(bool on) {
  for (auto& l : layers_) l->average_statistics(on);
}

std::vector<std::pair<Layer*, Param*>> Network::params() {
  std::vector<std::pair<Layer*, Param*>> out;
  for (auto& l : layers_)
    for (Param* p : l->params()) out.emplace_back(l.get(), p);
  return out;
}

void Network::zero_grad() {
  for (auto& [layer, p] : params()) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
}

std::size_t Network::parameter_count() {
  std::size_t n = 0;
  for (auto& [layer, p] : params()) n += p->value.size();
  return n;
}

double learning_rate(const TrainConfig& t, int epoch) {
  switch (t.schedule) {
    case Schedule::Constant: return t.lr;
    case Schedule::Step: return t.lr * std::pow(t.step_gamma, epoch / t.step_epochs);
    case Schedule::Cosine: return t.lr * 0.5 * (1 + std::cos(M_PI * epoch / t.epochs));
  }
  return t.lr;
}

void momentum_step(std::size_t n, double mu, double wd, double lr, const float* grad, const float* value, float* momentum,
                   float* step) {
  for (std::size_t i = 0; i < n; ++i) {
    momentum[i] = static_cast<float>(mu * momentum[i] + grad[i] + wd * value[i]);
    step[i] = static_cast<float>(-lr * momentum[i]);
  }
}

void sgd_step(Network& net, const TrainConfig& t, double lr) {
  std::vector<float> step;
  for (auto& [layer, p] : net.params()) {
    step.resize(p->value.size());
    // No weight decay on biases and normalization parameters.
    const double wd = p->name == "weight" ? t.weight_decay : 0.0;
    momentum_step(step.size(), t.momentum, wd, lr, p->grad.data(), p->value.data(), p->momentum.data(), step.data());
    layer->apply_step(*p, step, lr);
    std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  }
}

// ---- Workloads ------------------------------------------------------------------------------------

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& where, const std::string& what) {
  throw WorkloadError(source + ": " + where + ": " + what);
}

// Reads the members of one object, each at most once; unknown keys are errors.
using Members = JsonFields<WorkloadError>;

const std::vector<std::string> kLayerTypes = {"linear", "conv2d", "relu", "maxpool2d", "avgpool2d", "flatten", "batchnorm2d",
                                             "residual"};

}  // namespace

namespace {
int count_analog(const std::vector<json>& layers) {
  int n = 0;
  for (const auto& l : layers) {
    if (!l.is_object()) continue;
    n += l.value("analog", false) ? 1 : 0;
    for (const char* path : {"main", "shortcut"})
      if (l.contains(path) && l[path].is_array()) n += count_analog(l[path].get<std::vector<json>>());
  }
  return n;
}
}  // namespace

int Workload::analog_layers() const { return count_analog(layers); }

Workload workload_from_json(const json& j, const std::string& source) {
  Workload w;
  w.source = source;
  Members top(j, "workload", source);
  w.name = top.take("name") ? j.at("name").get<std::string>() : source;
  w.dataset = top.string("dataset", {"mnist", "fashion-mnist", "cifar10", "synthetic"});
  const json* input = top.take("input");
  if (!input || !input->is_array() || input->size() != 3)
    fail(source, "input", "accepted [channels, height, width]");
  for (const auto& d : *input) {
    const std::optional<long long> v = json_integer(d, 1, 1 << 16);
    if (!v) fail(source, "input", d.dump() + ": accepted integers in 1..65536");
    w.input.push_back(static_cast<int>(*v));
  }
  if (static_cast<long long>(w.input[0]) * w.input[1] * w.input[2] > (1 << 26))
    fail(source, "input", "more than 2^26 values per sample");
  w.classes = top.integer("classes", 2, 100000);
  const json* layers = top.take("layers");
  if (!layers || !layers->is_array() || layers->empty()) fail(source, "layers", "accepted a non-empty array of layers");
  for (const auto& l : *layers) w.layers.push_back(l);
  if (const json* t = top.take("train")) {
    Members m(*t, "train", source);
    w.train.epochs = m.integer("epochs", 1, 100000, 1);
    w.train.batch = m.integer("batch", 1, 1 << 20, 64);
    w.train.lr = m.number("lr", 0, 100, 0.05);
    w.train.momentum = m.number("momentum", 0, 0.999, 0.9);
    w.train.weight_decay = m.number("weight_decay", 0, 1, 0.0);
    const std::string s = m.string("schedule", {"constant", "step", "cosine"}, "constant");
    w.train.schedule = s == "step" ? Schedule::Step : s == "cosine" ? Schedule::Cosine : Schedule::Constant;
    w.train.step_epochs = m.integer("step_epochs", 1, 100000, 1);
    w.train.step_gamma = m.number("step_gamma", 0, 1, 0.1);
    w.train.crop_padding = m.integer("crop_padding", 0, 64, 0);
    w.train.flip = m.boolean("flip", false);
    w.train.bn_recalibrate = m.integer("bn_recalibrate", 0, 1 << 20, 0);
    m.finish();
  }
  top.finish();
  return w;
}

Workload load_workload(const std::string& path) {
  try {
    return workload_from_json(read_json_file(path), path);
  } catch (const ConfigError& e) {  // unreadable or not JSON
    throw WorkloadError(e.what());
  }
}

namespace {

constexpr long long kMaxLayerWeights = 1LL << 28;  // 1 GiB of float weights

// Builds a chain of layers onto `net`, checking each against the shape it receives; `index`
// numbers the layers of the whole network in order (nested ones included): their seeds.
void build_layers(const Workload& w, const std::vector<json>& layers, const std::string& prefix, std::vector<int>& shape,
                  uint64_t seed, const CoreFactory& analog, int& index, Network& net) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string where = prefix + "[" + std::to_string(i) + "]";
    Members m(layers[i], where, w.source);
    const std::string type = m.string("type", kLayerTypes);
    const std::string at = where + " (" + type + ")";
    const bool is_analog = m.boolean("analog", false);
    const int number = index++;
    const uint64_t layer_seed = derive_key(seed, static_cast<uint64_t>(number));
    std::unique_ptr<Layer> layer;
    auto core = [&](long long in, long long out) -> std::unique_ptr<WeightCore> {
      // A layer's weights are counted in 64 bits and bounded before anything is allocated.
      if (in * out > kMaxLayerWeights)
        fail(w.source, at, std::to_string(in) + " x " + std::to_string(out) + " weights: accepted at most 2^28 per layer");
      if (!is_analog || !analog) return nullptr;
      return analog(in, out, layer_seed, number);
    };
    if (type == "linear") {
      const int in = m.integer("in", 1, 1 << 24), out = m.integer("out", 1, 1 << 24);
      if (Tensor::count(shape) != static_cast<std::size_t>(in))
        fail(w.source, at, "expects " + std::to_string(in) + " inputs per sample, gets " + shape_string(shape) + " = " +
                               std::to_string(Tensor::count(shape)) + " (add a flatten layer or fix 'in')");
      if (shape.size() != 1) fail(w.source, at, "gets " + shape_string(shape) + ": add a flatten layer before it");
      layer = std::make_unique<Linear>(in, out, m.boolean("bias", true), layer_seed, core(in, out));
    } else if (type == "conv2d") {
      if (shape.size() != 3) fail(w.source, at, "gets " + shape_string(shape) + ": accepted [channels, height, width]");
      const int out = m.integer("out", 1, 1 << 16), kernel = m.integer("kernel", 1, 64);
      const int stride = m.integer("stride", 1, 64, 1), padding = m.integer("padding", 0, 64, 0);
      auto weights = core(static_cast<long long>(shape[0]) * kernel * kernel, out);
      layer = std::make_unique<Conv2d>(shape[0], out, kernel, stride, padding, m.boolean("bias", true), layer_seed,
                                       std::move(weights));
    } else if (type == "relu") {
      layer = std::make_unique<ReLU>();
    } else if (type == "maxpool2d" || type == "avgpool2d") {
      const int kernel = m.integer("kernel", 1, 64);
      layer = std::make_unique<Pool2d>(type == "maxpool2d" ? PoolKind::Max : PoolKind::Average, kernel,
                                       m.integer("stride", 1, 64, kernel));
    } else if (type == "flatten") {
      layer = std::make_unique<Flatten>();
    } else if (type == "batchnorm2d") {
      if (shape.size() != 3) fail(w.source, at, "gets " + shape_string(shape) + ": accepted [channels, height, width]");
      layer = std::make_unique<BatchNorm2d>(shape[0]);
    } else if (type == "residual") {
      auto chain = [&](const char* key, bool required) {
        const json* v = m.take(key);
        if (!v && !required) return std::vector<json>{};
        if (!v || !v->is_array() || (required && v->empty()))
          fail(w.source, at + "." + key, std::string(v ? v->dump() : "missing") + ": accepted a list of layers" +
                                             (required ? "" : " (empty or absent: the identity)"));
        return v->get<std::vector<json>>();
      };
      std::vector<int> main_shape = shape, short_shape = shape;
      auto main = std::make_unique<Network>(), shortcut = std::make_unique<Network>();
      build_layers(w, chain("main", true), where + ".main", main_shape, seed, analog, index, *main);
      build_layers(w, chain("shortcut", false), where + ".shortcut", short_shape, seed, analog, index, *shortcut);
      if (main_shape != short_shape)
        fail(w.source, at, "main gives " + shape_string(main_shape) + " but shortcut gives " + shape_string(short_shape) +
                               ": the two paths must agree to be added");
      layer = std::make_unique<Residual>(std::move(main), std::move(shortcut), main_shape);
    }
    if (is_analog && type != "linear" && type != "conv2d") fail(w.source, at, "only linear and conv2d layers can be analog");
    m.finish();
    try {
      shape = layer->output_shape(shape);
    } catch (const std::invalid_argument& e) {
      fail(w.source, at, e.what());
    }
    net.add(std::move(layer));
  }
}

}  // namespace

std::unique_ptr<Network> build_network(const Workload& w, uint64_t seed, const CoreFactory& analog) {
  auto net = std::make_unique<Network>();
  std::vector<int> shape = w.input;
  int index = 0;
  build_layers(w, w.layers, "layers", shape, seed, analog, index, *net);
  if (shape.size() != 1 || shape[0] != w.classes)
    fail(w.source, "layers", "the last layer gives " + shape_string(shape) + " per sample; the workload has " +
                                 std::to_string(w.classes) + " classes");
  return net;
}

}  // namespace txsim::nn
