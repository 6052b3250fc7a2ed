// The nn layers: gradients against finite differences, shapes, losses.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <memory>
#include <vector>

#include "test_util.h"
#include "txsim/nn/conv2d.h"
#include "txsim/nn/layers.h"
#include "txsim/nn/network.h"
#include "txsim/rng.h"

namespace txsim::nn {
namespace {

Tensor random_tensor(std::vector<int> shape, uint64_t seed) {
  Tensor t(std::move(shape));
  fill_normal(seed, 0, t.size(), t.ptr());
  return t;
}

// Loss = sum(y * r) for a fixed random r: its gradient wrt y is r.
double probe_loss(Layer& layer, const Tensor& x, const Tensor& r) {
  Tensor y;
  layer.forward(x, y, true);
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += double(y.data[i]) * r.data[i];
  return s;
}

// Checks dx and every parameter gradient against central differences (double-sided, step h).
void check_gradients(Layer& layer, Tensor x, double tolerance) {
  Tensor y;
  layer.forward(x, y, true);
  const Tensor r = random_tensor(y.shape, 99);
  for (Param* p : layer.params()) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  layer.forward(x, y, true);
  Tensor dx;
  layer.backward(r, dx);
  const float h = 1e-2f;
  auto numeric = [&](float& v) {
    const float saved = v;
    v = saved + h;
    const double up = probe_loss(layer, x, r);
    v = saved - h;
    const double down = probe_loss(layer, x, r);
    v = saved;
    return (up - down) / (2 * h);
  };
  double worst = 0, scale = 1e-3;
  for (std::size_t i = 0; i < x.size(); i += std::max<std::size_t>(1, x.size() / 40)) {
    const double n = numeric(x.data[i]);
    worst = std::max(worst, std::fabs(n - dx.data[i]));
    scale = std::max(scale, std::fabs(n));
  }
  for (Param* p : layer.params()) {
    const std::vector<float> analytic = p->grad;
    for (std::size_t i = 0; i < p->value.size(); i += std::max<std::size_t>(1, p->value.size() / 40)) {
      const double n = numeric(p->value[i]);
      worst = std::max(worst, std::fabs(n - analytic[i]));
      scale = std::max(scale, std::fabs(n));
    }
  }
  EXPECT_LT(worst / scale, tolerance) << layer.kind();
}

TEST(NnGradients, Linear) {
  Linear l(7, 5, true, 3);
  check_gradients(l, random_tensor({4, 7}, 1), 2e-3);
}

TEST(NnGradients, Conv2dStridePadding) {
  Conv2d c(2, 3, 3, 2, 1, true, 4);
  check_gradients(c, random_tensor({2, 2, 7, 6}, 2), 2e-3);
}

// Stride 1 with the padding that keeps the width (patch rows copied as one run per channel and
// tap), over more samples than one group of the weight gradient's partial sums.
TEST(NnGradients, Conv2dSameWidthOverSeveralGroups) {
  Conv2d c(2, 3, 3, 1, 1, true, 4);
  check_gradients(c, random_tensor({6, 2, 6, 5}, 3), 2e-3);
}

TEST(NnGradients, Pools) {
  Pool2d maxp(PoolKind::Max, 2, 2), avgp(PoolKind::Average, 3, 1);
  // Distinct values 0.05 apart: a finite-difference step of 0.01 never changes a window's maximum.
  Tensor distinct({2, 2, 6, 6});
  for (std::size_t i = 0; i < distinct.size(); ++i) distinct.data[i] = 0.05f * static_cast<float>((i * 37) % distinct.size());
  check_gradients(maxp, distinct, 2e-3);
  check_gradients(avgp, random_tensor({2, 2, 6, 5}, 4), 2e-3);
}

TEST(NnGradients, BatchNorm) {
  BatchNorm2d bn(3);
  check_gradients(bn, random_tensor({4, 3, 3, 3}, 5), 5e-3);
}

// Running statistics: a moving average with momentum 0.1; with average_statistics on, the plain
// average of the batches since (batch means and unbiased variances), also inside residual blocks;
// switched off, the moving average resumes from there.
TEST(NnBatchNorm, PreciseStatisticsAreThePlainAverageOfTheBatches) {
  auto stats = [](const Tensor& x, int c, double& mean, double& var) {
    const int n = x.shape[0], hw = x.shape[2] * x.shape[3];
    double s = 0, s2 = 0;
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < hw; ++i) {
        const double v = x.data[(static_cast<std::size_t>(b) * x.shape[1] + c) * hw + i];
        s += v;
        s2 += v * v;
      }
    const double count = double(n) * hw;
    mean = s / count;
    var = (s2 / count - mean * mean) * count / (count - 1);
  };
  std::vector<Tensor> batches;
  for (int k = 0; k < 3; ++k) {
    Tensor x = random_tensor({4, 2, 3, 3}, 20 + k);
    for (float& v : x.data) v = v * (1.0f + k) + 2.0f * k;  // batches with different statistics
    batches.push_back(x);
  }
  BatchNorm2d bn(2);
  Tensor y;
  bn.forward(batches[0], y, true);
  double m0, v0;
  stats(batches[0], 1, m0, v0);
  EXPECT_NEAR(bn.running_mean()[1], 0.1 * m0, 1e-5);
  EXPECT_NEAR(bn.running_var()[1], 0.9 + 0.1 * v0, 1e-5);
  bn.average_statistics(true);
  double mean = 0, var = 0;
  for (const Tensor& x : batches) {
    bn.forward(x, y, true);
    double m, v;
    stats(x, 1, m, v);
    mean += m / 3;
    var += v / 3;
  }
  EXPECT_NEAR(bn.running_mean()[1], mean, 1e-5);
  EXPECT_NEAR(bn.running_var()[1], var, 1e-4);
  bn.forward(batches[0], y, false);  // evaluation changes nothing
  EXPECT_NEAR(bn.running_mean()[1], mean, 1e-5);
  bn.average_statistics(false);
  bn.forward(batches[0], y, true);
  EXPECT_NEAR(bn.running_mean()[1], 0.9 * mean + 0.1 * m0, 1e-5);

  // Through a network with a residual block: its batch norm averages too.
  Workload w = workload_from_json(nlohmann::json::parse(R"({"name": "bn", "dataset": "mnist", "input": [2, 3, 3], "classes": 2,
      "layers": [{"type": "residual", "main": [{"type": "batchnorm2d"}]}, {"type": "flatten"}, {"type": "linear", "in": 18, "out": 2}]})"),
                                 "bn.json");
  auto net = build_network(w, 1);
  auto* block = dynamic_cast<Residual*>(net->layers()[0].get());
  ASSERT_NE(block, nullptr);
  net->average_statistics(true);
  for (const Tensor& x : batches) net->forward(x, true);
  net->average_statistics(false);
  EXPECT_NEAR((*block->buffers()[0])[1], mean, 1e-5);
}

TEST(NnGradients, ReluAwayFromZero) {
  ReLU r;
  Tensor x = random_tensor({3, 10}, 6);
  for (float& v : x.data) v += v > 0 ? 0.1f : -0.1f;  // finite differences must not cross the kink
  check_gradients(r, x, 1e-3);
}

// Residual blocks: out = main(x) + shortcut(x), with the identity and with a strided 1x1 conv
// shortcut (ResNet's projection); built from JSON so the workload path is the one tested.
TEST(NnGradients, ResidualBlocks) {
  for (const char* shortcut : {"[]", R"([{"type": "conv2d", "out": 4, "kernel": 1, "stride": 2, "bias": false}])"}) {
    const bool identity = std::string(shortcut) == "[]";
    const std::string text = std::string(R"({"dataset": "synthetic", "input": [2, 6, 6], "classes": 2, "layers": [
      {"type": "residual", "main": [
        {"type": "conv2d", "out": )") + (identity ? "2" : "4") + R"(, "kernel": 3, "padding": 1, "stride": )" +
                             (identity ? "1" : "2") + R"(},
        {"type": "batchnorm2d"},
        {"type": "conv2d", "out": )" + (identity ? "2" : "4") + R"(, "kernel": 3, "padding": 1}],
       "shortcut": )" + shortcut + R"(},
      {"type": "flatten"}, {"type": "linear", "in": )" + (identity ? "72" : "36") + R"(, "out": 2}]})";
    const Workload w = workload_from_json(nlohmann::json::parse(text), "residual.json");
    auto net = build_network(w, 5);
    Layer& block = *net->layers()[0];
    EXPECT_EQ(block.kind(), "residual");
    EXPECT_EQ(block.params().size(), identity ? 6u : 7u);  // conv w+b, bn gamma+beta, conv w+b (+ shortcut w)
    check_gradients(block, random_tensor({3, 2, 6, 6}, 8), 5e-3);
  }
}

TEST(NnWorkload, ResidualPathsMustAgree) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [2, 6, 6], "classes": 2, "layers": [
    {"type": "residual", "main": [{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1}]},
    {"type": "flatten"}, {"type": "linear", "in": 144, "out": 2}]})");
  try {
    build_network(workload_from_json(j, "bad_residual.json"), 1);
    FAIL() << "no error";
  } catch (const WorkloadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("bad_residual.json"), std::string::npos) << m;
    EXPECT_NE(m.find("layers[0] (residual)"), std::string::npos) << m;
    EXPECT_NE(m.find("must agree"), std::string::npos) << m;
  }
}

TEST(NnLoss, SoftmaxCrossEntropyGradient) {
  Tensor z = random_tensor({3, 4}, 7);
  const std::vector<int> labels = {0, 3, 1};
  Tensor dz;
  const LossResult base = softmax_cross_entropy(z, labels, &dz);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const float saved = z.data[i];
    z.data[i] = saved + 1e-2f;
    const double up = softmax_cross_entropy(z, labels, nullptr).loss;
    z.data[i] = saved - 1e-2f;
    const double down = softmax_cross_entropy(z, labels, nullptr).loss;
    z.data[i] = saved;
    EXPECT_NEAR((up - down) / 2e-2, dz.data[i], 1e-4);
  }
  // Closed form: uniform logits give log(classes).
  Tensor flat({2, 4}, 0.5f);
  EXPECT_NEAR(softmax_cross_entropy(flat, {1, 2}, nullptr).loss, std::log(4.0), 1e-9);
  EXPECT_GT(base.loss, 0);
}

TEST(NnWorkload, ShapeMismatchNamesTheLayer) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 8, 8], "classes": 4,
    "layers": [{"type": "conv2d", "out": 2, "kernel": 3}, {"type": "flatten"}, {"type": "linear", "in": 64, "out": 4}]})");
  try {
    build_network(workload_from_json(j, "w.json"), 1);
    FAIL() << "accepted a linear layer of the wrong size";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("w.json: layers[2] (linear): expects 64 inputs per sample, gets [72] = 72"),
              std::string::npos) << e.what();
  }
  const auto bad_type = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 8, 8], "classes": 4,
    "layers": [{"type": "dense", "out": 4}]})");
  try {
    build_network(workload_from_json(bad_type, "t.json"), 1);
    FAIL() << "accepted an unknown layer type";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("t.json: layers[0].type: \"dense\": accepted one of linear, conv2d"),
              std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace txsim::nn

#include "txsim/nn/analog.h"
#include "txsim/nn/data.h"
#include "txsim/nn/train.h"

namespace txsim::nn {
namespace {

DevicePreset ideal_preset() {
  return device_preset_from_json(nlohmann::json::parse(R"({
    "crossbar": {"rows": 32, "cols": 32, "weight_bits": 22, "bits_per_cell": 22, "input_bits": 22, "dac_bits": 21,
                 "read_mode": "folded", "adc_model": "ideal"},
    "update": {"kind": "linear", "stochastic": false}})"), "ideal");
}

// An analog convolution (patches as rows, the crossbar read, the transposed read, col2im) in
// the ideal configuration against the digital one (patches as columns, float GEMMs) with the
// same weights: outputs, input gradients and weight gradients within the 22-bit device
// resolution, for kernels of 1, 3 (the specialized rows) and 5 (any width), strides and padding.
TEST(AnalogTwin, IdealAnalogConvolutionEqualsDigital) {
  for (const auto [kernel, stride, pad] : {std::array{1, 1, 0}, std::array{3, 1, 1}, std::array{3, 2, 1}, std::array{5, 2, 2},
                                           std::array{3, 1, 0}}) {
    const int c = 3, k = 4;
    Conv2d digital(c, k, kernel, stride, pad, false, 5);
    Conv2d analog(c, k, kernel, stride, pad, false, 5, analog_factory(ideal_preset())(c * kernel * kernel, k, 5, 0));
    ASSERT_TRUE(analog.core().analog() && !digital.core().analog());
    digital.core().weight().value = analog.core().weight().value;
    const Tensor x = random_tensor({2, c, 9, 7}, 11);
    Tensor yd, ya, dxd, dxa;
    digital.forward(x, yd, true);
    analog.forward(x, ya, true);
    ASSERT_EQ(ya.shape, yd.shape);
    EXPECT_LT(test::relative_error(ya.data, yd.data), 1e-4) << "kernel " << kernel << " stride " << stride << " pad " << pad;
    const Tensor dy = random_tensor(yd.shape, 12);
    digital.core().weight().grad.assign(digital.core().weight().grad.size(), 0.0f);
    analog.core().weight().grad.assign(analog.core().weight().grad.size(), 0.0f);
    digital.backward(dy, dxd);
    analog.backward(dy, dxa);
    EXPECT_LT(test::relative_error(dxa.data, dxd.data), 1e-4) << "kernel " << kernel << " stride " << stride << " pad " << pad;
    EXPECT_LT(test::relative_error(analog.core().weight().grad, digital.core().weight().grad), 1e-5) << "kernel " << kernel;
  }
}

// An analog layer in its ideal configuration trains like its digital twin: same data, same
// steps, weights and losses equal within the 22-bit device resolution.
TEST(AnalogTwin, IdealAnalogLayerTrainsLikeDigital) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 8, 8], "classes": 4,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 64, "out": 40, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 40, "out": 4}]})");
  const Workload w = workload_from_json(j, "twin");
  auto digital = build_network(w, 7);
  auto analog = build_network(w, 7, analog_factory(ideal_preset()));
  // Start from the same weights: the digital twin takes what the devices hold.
  auto* a_layer = dynamic_cast<Linear*>(analog->layers()[1].get());
  auto* d_layer = dynamic_cast<Linear*>(digital->layers()[1].get());
  ASSERT_TRUE(a_layer && d_layer && a_layer->core().analog() && !d_layer->core().analog());
  d_layer->core().weight().value = a_layer->core().weight().value;
  const Dataset data = synthetic(256, {1, 8, 8}, 4, 3);
  TrainConfig t;
  t.lr = 0.05;
  t.momentum = 0.9;
  Tensor x({32, 1, 8, 8}), dz;
  std::vector<int> labels(32);
  double worst_loss = 0;
  for (int step = 0; step < 8; ++step) {
    for (int b = 0; b < 32; ++b) {
      const int s = (step * 32 + b) % data.size();
      std::copy_n(data.images.data() + s * 64, 64, x.ptr() + b * 64);
      labels[b] = data.labels[s];
    }
    const LossResult ld = softmax_cross_entropy(digital->forward(x, true), labels, &dz);
    digital->backward(dz);
    sgd_step(*digital, t, t.lr);
    const LossResult la = softmax_cross_entropy(analog->forward(x, true), labels, &dz);
    analog->backward(dz);
    sgd_step(*analog, t, t.lr);
    worst_loss = std::max(worst_loss, std::fabs(ld.loss - la.loss) / ld.loss);
  }
  EXPECT_LT(worst_loss, 1e-4);
  const auto& wa = a_layer->core().weight().value;
  const auto& wd = d_layer->core().weight().value;
  double err = 0, norm = 0, moved = 0;
  for (std::size_t k = 0; k < wa.size(); ++k) {
    err += std::pow(wa[k] - wd[k], 2);
    norm += std::pow(wd[k], 2);
  }
  EXPECT_LT(std::sqrt(err / norm), 1e-4);
  // And training moved the weights by far more than that.
  const auto fresh = build_network(w, 7, analog_factory(ideal_preset()));
  const auto& w0 = dynamic_cast<Linear*>(fresh->layers()[1].get())->core().weight().value;
  for (std::size_t k = 0; k < wa.size(); ++k) moved += std::pow(wa[k] - w0[k], 2);
  EXPECT_GT(std::sqrt(moved / norm), 1e-2);
}

TEST(AnalogTwin, CheckpointRestoresDevices) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 8, 8], "classes": 4,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 64, "out": 4, "analog": true}]})");
  const Workload w = workload_from_json(j, "ckpt");
  DevicePreset noisy = ideal_preset();
  noisy.crossbar.device.program_sigma = 0.05;
  auto a = build_network(w, 3, analog_factory(noisy));
  auto b = build_network(w, 4, analog_factory(noisy));  // another seed: other devices
  const std::string path = ::testing::TempDir() + "twin_ckpt.bin";
  Checkpoint c;
  c.epoch = 5;
  c.epochs.resize(5);
  for (int e = 0; e < 5; ++e) c.epochs[e].epoch = e + 1;
  save_checkpoint(*a, c, nullptr, path);
  EXPECT_EQ(load_checkpoint(*b, nullptr, path, 5).epoch, 5);
  Tensor x({2, 1, 8, 8});
  fill_normal(1, 0, x.size(), x.ptr());
  const Tensor ya = a->forward(x, false), yb = b->forward(x, false);
  EXPECT_EQ(ya.data, yb.data);
}

// The training loop with batch-norm recalibration, through a checkpoint: two epochs in one run
// and one epoch then --resume give the same metrics and the same parameters, bit for bit; the
// recalibrated statistics are those a plain average over the first batches gives, not the
// moving average's.
TEST(NnTrain, RecalibratedRunResumesBitForBit) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [2, 6, 6], "classes": 3,
    "layers": [{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"}, {"type": "relu"},
               {"type": "flatten"}, {"type": "linear", "in": 144, "out": 3}],
    "train": {"epochs": 2, "batch": 16, "lr": 0.05, "flip": true, "crop_padding": 1, "bn_recalibrate": 3}})");
  const Workload w = workload_from_json(j, "recal.json");
  Split data;
  data.train = synthetic(160, {2, 6, 6}, 3, 5, 0);
  data.test = synthetic(60, {2, 6, 6}, 3, 5, 1);
  std::ostringstream log;
  TrainOptions whole;
  whole.config = w.train;
  whole.seed = 9;
  auto a = build_network(w, 9);
  const TrainResult ra = train(*a, data, whole, log);
  ASSERT_EQ(ra.epochs.size(), 2u);

  TrainOptions first = whole;
  first.out_dir = ::testing::TempDir() + "recal_run";
  std::filesystem::remove_all(first.out_dir);
  first.config.epochs = 1;
  auto b = build_network(w, 9);
  train(*b, data, first, log);
  TrainOptions rest = first;
  rest.config.epochs = 2;
  rest.resume = true;
  auto c = build_network(w, 1);  // everything comes from the checkpoint
  const TrainResult rc = train(*c, data, rest, log);
  ASSERT_EQ(rc.epochs.size(), 2u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(ra.epochs[e].train_loss, rc.epochs[e].train_loss) << e;
    EXPECT_EQ(ra.epochs[e].test_accuracy, rc.epochs[e].test_accuracy) << e;
  }
  const auto pa = a->params(), pc = c->params();
  ASSERT_EQ(pa.size(), pc.size());
  for (std::size_t k = 0; k < pa.size(); ++k) EXPECT_EQ(pa[k].second->value, pc[k].second->value) << k;
  auto* bn_a = dynamic_cast<BatchNorm2d*>(a->layers()[1].get());
  auto* bn_c = dynamic_cast<BatchNorm2d*>(c->layers()[1].get());
  ASSERT_TRUE(bn_a && bn_c);
  EXPECT_EQ(bn_a->running_mean(), bn_c->running_mean());
  EXPECT_EQ(bn_a->running_var(), bn_c->running_var());

  // Without recalibration the moving average after the epoch differs from the recalibrated one.
  Workload plain = w;
  plain.train.bn_recalibrate = 0;
  auto d = build_network(plain, 9);
  TrainOptions p = whole;
  p.config = plain.train;
  train(*d, data, p, log);
  EXPECT_NE(dynamic_cast<BatchNorm2d*>(d->layers()[1].get())->running_mean(), bn_a->running_mean());
}

// Defect 5 of issue 17: --resume was not the uninterrupted run for any noisy or stochastic
// device: the read-noise and update stream counters (MappedMatrix reads, AnalogCore updates),
// the mixed-precision remainders and the parasitic-refresh schedule were not in the checkpoint.
// Two epochs straight and one epoch + --resume must agree bit for bit: losses, accuracies and
// the final checkpoint's bytes, for each kind of state.
TEST(Issue17Defect5, ResumeIsTheUninterruptedRunForNoisyAndStochasticDevices) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 6, 6], "classes": 3,
    "layers": [{"type": "flatten"}, {"type": "linear", "in": 36, "out": 12, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 12, "out": 3, "analog": true}],
    "train": {"epochs": 2, "batch": 16, "lr": 0.05, "schedule": "cosine"}})");
  const Workload w = workload_from_json(j, "resume.json");
  Split data;
  data.train = synthetic(96, {1, 6, 6}, 3, 5, 0);
  data.test = synthetic(30, {1, 6, 6}, 3, 5, 1);
  const std::string root = std::string(TXSIM_SOURCE_DIR) + "/workloads/devices/";
  struct Case {
    const char* name;
    nlohmann::json preset;
  };
  auto file = [&](const char* f) { return read_json_file(root + f); };
  std::vector<Case> cases = {{"read noise (txsim_reram)", file("txsim_reram.json")},
                             {"stochastic pulsed update (txsim_update)", file("txsim_update.json")},
                             {"pcm-like", file("pcm.json")},
                             {"pulse trains (constant_step)", file("constant_step.json")}};
  nlohmann::json mixed = file("txsim_update.json");
  mixed["update"]["mixed_precision"] = true;
  cases.push_back({"mixed precision remainders", mixed});
  nlohmann::json refresh = file("txsim_reram.json");
  refresh["crossbar"]["rows"] = refresh["crossbar"]["cols"] = 16;
  refresh["circuit"] = {{"model", "exact"}, {"wire_ohm", 2.0}, {"source_ohm", 100.0}, {"sink_ohm", 100.0}, {"refresh_every", 3}};
  cases.push_back({"parasitic refresh every 3 builds", refresh});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const DevicePreset preset = device_preset_from_json(c.preset, c.name);
    std::ostringstream log;
    TrainOptions whole;
    whole.config = w.train;
    whole.seed = 4;
    whole.out_dir = ::testing::TempDir() + "resume_whole";
    std::filesystem::remove_all(whole.out_dir);
    auto a = build_network(w, 4, analog_factory(preset));
    const TrainResult ra = train(*a, data, whole, log);
    ASSERT_EQ(ra.epochs.size(), 2u);
    // The same run stopped after its first epoch (as a kill after epoch 1's checkpoint leaves
    // it), then resumed by a network built with another seed: everything must come from the
    // checkpoint.
    TrainOptions first = whole;
    first.out_dir = ::testing::TempDir() + "resume_part";
    std::filesystem::remove_all(first.out_dir);
    first.stop_after = 1;
    auto b = build_network(w, 4, analog_factory(preset));
    ASSERT_EQ(train(*b, data, first, log).epochs.size(), 1u);
    TrainOptions rest = first;
    rest.stop_after = 0;
    rest.resume = true;
    auto c2 = build_network(w, 99, analog_factory(preset));  // everything comes from the checkpoint
    const TrainResult rc = train(*c2, data, rest, log);
    ASSERT_EQ(rc.epochs.size(), 2u);
    for (int e = 0; e < 2; ++e) {
      EXPECT_EQ(ra.epochs[e].train_loss, rc.epochs[e].train_loss) << "epoch " << e + 1;
      EXPECT_EQ(ra.epochs[e].test_accuracy, rc.epochs[e].test_accuracy) << "epoch " << e + 1;
    }
    auto bytes = [](const std::string& path) {
      std::ifstream in(path, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    EXPECT_TRUE(bytes(whole.out_dir + "/checkpoint.bin") == bytes(first.out_dir + "/checkpoint.bin")) << "the final checkpoints differ";
  }
}

// Divergence stops the run with a message and leaves the last finished epoch's checkpoint and
// metrics alone, whether the loss goes non-finite (digital layers) or non-finite values reach
// a crossbar first (an analog layer's input, error signal or update), which before was an
// uncaught error that ended the process.
TEST(NnTrain, DivergenceStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  const auto j = nlohmann::json::parse(R"({"dataset": "synthetic", "input": [1, 6, 6], "classes": 3,
    "layers": [{"type": "conv2d", "out": 2, "kernel": 3, "padding": 1}, {"type": "relu"}, {"type": "flatten"},
               {"type": "linear", "in": 72, "out": 8, "analog": true}, {"type": "relu"},
               {"type": "linear", "in": 8, "out": 3}],
    "train": {"epochs": 1, "batch": 16, "lr": 0.05}})");
  const Workload w = workload_from_json(j, "diverge.json");
  Split data;
  data.train = synthetic(96, {1, 6, 6}, 3, 5, 0);
  data.test = synthetic(30, {1, 6, 6}, 3, 5, 1);
  std::ostringstream log;
  TrainOptions first;
  first.config = w.train;
  first.seed = 2;
  first.out_dir = ::testing::TempDir() + "diverge_run";
  std::filesystem::remove_all(first.out_dir);
  auto a = build_network(w, 2, analog_factory(ideal_preset()));
  const TrainResult r1 = train(*a, data, first, log);
  ASSERT_FALSE(r1.diverged);
  auto read_text = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string metrics = read_text(first.out_dir + "/metrics.json");

  // The same run for three epochs with a step schedule whose second epoch's learning rate is
  // infinite: epoch 1 is the run above, and epoch 2's first step's change is not finite, which
  // the analog layer refuses to program.
  TrainOptions rest = first;
  rest.out_dir = ::testing::TempDir() + "diverge_run_step";
  std::filesystem::remove_all(rest.out_dir);
  rest.config.epochs = 3;
  rest.config.schedule = Schedule::Step;
  rest.config.step_epochs = 1;
  rest.config.step_gamma = std::numeric_limits<double>::infinity();
  auto b = build_network(w, 2, analog_factory(ideal_preset()));
  const TrainResult r2 = train(*b, data, rest, log);
  EXPECT_TRUE(r2.diverged);
  EXPECT_NE(r2.message.find("training diverged at epoch 2, batch "), std::string::npos) << r2.message;
  EXPECT_NE(r2.message.find("not finite"), std::string::npos) << r2.message;
  EXPECT_NE(r2.message.find("the last good checkpoint (epoch 1) is kept in"), std::string::npos) << r2.message;
  ASSERT_EQ(r2.epochs.size(), 1u);
  EXPECT_EQ(r2.final_test_accuracy, r1.final_test_accuracy);
  const nlohmann::json m1 = nlohmann::json::parse(metrics), m2 = nlohmann::json::parse(read_text(rest.out_dir + "/metrics.json"));
  ASSERT_EQ(m2["epochs"].size(), 1u);
  for (const char* k : {"epoch", "lr", "train_loss", "train_accuracy", "test_accuracy"}) EXPECT_EQ(m2["epochs"][0][k], m1["epochs"][0][k]) << k;
  auto c = build_network(w, 5, analog_factory(ideal_preset()));
  EXPECT_EQ(load_checkpoint(*c, nullptr, rest.out_dir + "/checkpoint.bin", 3).epoch, 1);
  const auto pa = a->params(), pc = c->params();
  for (std::size_t k = 0; k < pa.size(); ++k) EXPECT_EQ(pa[k].second->value, pc[k].second->value) << k;

  // All digital: the loss itself goes non-finite.
  auto d = build_network(w, 2);
  TrainOptions digital = first;
  digital.out_dir.clear();
  digital.config.lr = std::numeric_limits<double>::infinity();
  const TrainResult r3 = train(*d, data, digital, log);
  EXPECT_TRUE(r3.diverged);
  EXPECT_NE(r3.message.find("(loss "), std::string::npos) << r3.message;
}

}  // namespace
}  // namespace txsim::nn

#include <fstream>

namespace txsim::nn {
namespace {

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
std::vector<unsigned char> idx_header(uint32_t magic, std::vector<uint32_t> dims) {
  std::vector<unsigned char> h;
  for (uint32_t v : std::vector<uint32_t>{magic}) for (int s = 24; s >= 0; s -= 8) h.push_back((v >> s) & 0xFF);
  for (uint32_t v : dims) for (int s = 24; s >= 0; s -= 8) h.push_back((v >> s) & 0xFF);
  return h;
}

void expect_data_error(const std::string& images, const std::string& labels, const std::string& needle) {
  try {
    load_idx(images, labels);
    FAIL() << "accepted a bad file; wanted: " << needle;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(NnData, IdxRoundTripAndErrorsNameTheFile) {
  const std::string dir = ::testing::TempDir();
  auto images = idx_header(0x803, {3, 2, 2});
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<unsigned char>(i * 20));
  auto labels = idx_header(0x801, {3});
  labels.insert(labels.end(), {1, 0, 9});
  write_bytes(dir + "img", images);
  write_bytes(dir + "lab", labels);
  const Dataset d = load_idx(dir + "img", dir + "lab");
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.labels, (std::vector<int>{1, 0, 9}));
  EXPECT_FLOAT_EQ(d.images[5], 100 / 255.0f);

  auto bad_magic = images;
  bad_magic[3] = 0x04;
  write_bytes(dir + "bad_magic", bad_magic);
  expect_data_error(dir + "bad_magic", dir + "lab", "bad_magic: bad magic number 0x00000804: accepted 0x00000803");
  auto truncated = images;
  truncated.resize(truncated.size() - 3);
  write_bytes(dir + "truncated", truncated);
  expect_data_error(dir + "truncated", dir + "lab", "truncated: 25 bytes where the header (3 images of 2x2) needs 28 (truncated)");
  auto two = idx_header(0x801, {2});
  two.insert(two.end(), {1, 2});
  write_bytes(dir + "two", two);
  expect_data_error(dir + "img", dir + "two", "two: 2 labels for 3 images");
  expect_data_error(dir + "missing", dir + "lab", "missing: no such file");
  auto bad_label = labels;
  bad_label.back() = 12;
  write_bytes(dir + "bad_label", bad_label);
  expect_data_error(dir + "img", dir + "bad_label", "bad_label: label 12 at index 2: accepted 0..9");
  write_bytes(dir + "cifar", std::vector<unsigned char>(3073 + 10, 1));
  EXPECT_THROW(load_cifar10({dir + "cifar"}), DataError);
}

}  // namespace
}  // namespace txsim::nn

namespace txsim::nn {
namespace {

// Every shipped device preset loads (the measured one reads its CSV beside it), and every
// workload file parses: a preset that cannot load would only fail in a user's run.
TEST(NnPresets, ShippedPresetsAndWorkloadsLoad) {
  const std::string root = TXSIM_SOURCE_DIR;
  int presets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/workloads/devices")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().string();
    const DevicePreset p = load_device_preset(name);
    // The name is the file's own (read here without the loader), not one the loader filled in.
    EXPECT_EQ(p.name, read_json_file(name).at("name").get<std::string>()) << name;
    EXPECT_NO_THROW(AnalogCore(p, 8, 4, 1, 0)) << name;  // and a layer takes it
    ++presets;
  }
  EXPECT_GE(presets, 8);
  const DevicePreset m = load_device_preset(root + "/workloads/devices/measured_example.json");
  ASSERT_TRUE(m.update.measured);
  EXPECT_EQ(m.update.measured->ltp_pulses(), 100);
  for (const char* name : {"lenet5", "mlp", "resnet20", "vgg8"})
    EXPECT_NO_THROW(load_workload(root + "/workloads/" + name + ".json")) << name;
}

// The CIFAR networks build, with analog layers from a preset, and run a batch: ResNet-20 has
// about 0.27 M parameters (He et al. 2016); 18 of its convolutions (and both 1x1 projections) analog.
TEST(NnPresets, CifarNetworksBuildAndRun) {
  const std::string root = TXSIM_SOURCE_DIR;
  const DevicePreset ideal = load_device_preset(root + "/workloads/devices/ideal.json");
  for (const char* name : {"resnet20", "vgg8"}) {
    const Workload w = load_workload(root + "/workloads/" + name + ".json");
    auto net = build_network(w, 1, analog_factory(ideal));
    if (std::string(name) == "resnet20") {
      EXPECT_EQ(w.analog_layers(), 20);
      EXPECT_NEAR(static_cast<double>(net->parameter_count()), 0.27e6, 0.01e6);
    }
    Tensor x({2, 3, 32, 32});
    fill_normal(3, 0, x.size(), x.ptr());
    const Tensor& y = net->forward(x, true);
    EXPECT_EQ(y.shape, (std::vector<int>{2, 10})) << name;
  }
}

TEST(NnPresets, MeasuredKindNeedsItsCsvAndOverridesAreChecked) {
  auto error = [](const nlohmann::json& j) {
    try {
      device_preset_from_json(j, "p.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error(nlohmann::json::parse(R"({"update": {"kind": "measured"}})")).find("p.json: field 'update.csv'"),
            std::string::npos);
  EXPECT_NE(error(nlohmann::json::parse(R"({"update": {"kind": "measured", "csv": "nope.csv"}})")).find("nope.csv: cannot open"),
            std::string::npos);
  // --set PATH=VALUE: numbers, strings and nested objects; a typo is then an unknown key.
  nlohmann::json j = nlohmann::json::parse(R"({"update": {"kind": "txsim"}})");
  set_json_path(j, "update.nu=0.5", "p.json --set");
  set_json_path(j, "crossbar.adc_model=ideal", "p.json --set");
  EXPECT_EQ(j["update"]["nu"], 0.5);
  EXPECT_EQ(j["crossbar"]["adc_model"], "ideal");
  EXPECT_DOUBLE_EQ(device_preset_from_json(j, "p.json").update.nu, 0.5);
  set_json_path(j, "update.nuu=1", "p.json --set");
  EXPECT_NE(error(j).find("unknown key 'update.nuu'"), std::string::npos) << error(j);
  EXPECT_THROW(set_json_path(j, "update.nu.x=1", "p.json --set"), ConfigError);  // through a number
  EXPECT_THROW(set_json_path(j, "update.nu", "p.json --set"), ConfigError);      // no '='
}

// Bit-sliced weights reprogrammed by write-verify would ignore an update model: that is an error
// naming the field, unless update.sliced asks for open-loop pulses.
TEST(NnPresets, UpdateModelOnVerifiedSlicesIsAnError) {
  const nlohmann::json sliced = nlohmann::json::parse(
      R"({"crossbar": {"rows": 16, "cols": 16, "weight_bits": 8, "bits_per_cell": 2}, "update": {"kind": "txsim", "nu": 0.5}})");
  auto error = [](const nlohmann::json& j) {
    try {
      AnalogCore core(device_preset_from_json(j, "p.json"), 8, 4, 1, 0);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error(sliced).find("p.json: field 'update.kind' has no effect on bit-sliced weights (crossbar.bits_per_cell 2 < weight_bits 8)"),
            std::string::npos) << error(sliced);
  nlohmann::json noisy = sliced;
  noisy["update"] = {{"write_noise", 0.5}};
  EXPECT_NE(error(noisy).find("field 'update.write_noise'"), std::string::npos) << error(noisy);
  nlohmann::json pulses = sliced;
  pulses["update"]["sliced"] = "pulses";
  EXPECT_EQ(error(pulses), "no error");
  nlohmann::json plain = sliced;
  plain.erase("update");
  EXPECT_EQ(error(plain), "no error");
  pulses["update"]["sliced"] = "open";
  EXPECT_THROW(device_preset_from_json(pulses, "p.json"), ConfigError);
}

}  // namespace
}  // namespace txsim::nn

namespace txsim::nn {
namespace {

// Augmentation: every augmented sample is the original shifted by some (dy, dx) within the
// padding, mirrored or not, zero outside; about half are mirrored (5 binomial SE); none changes
// without augmentation; the same key gives the same batch.
TEST(NnData, AugmentationIsAShiftedMirroredCopy) {
  const int n = 400, c = 2, h = 5, w = 6, pad = 2;
  std::vector<float> original(static_cast<std::size_t>(n) * c * h * w);
  for (std::size_t k = 0; k < original.size(); ++k) original[k] = 1.0f + static_cast<float>(k % 997);  // no zeros
  std::vector<float> same = original;
  augment_batch(same, {n, c, h, w}, 0, false, 1);
  EXPECT_EQ(same, original);
  std::vector<float> a = original, b = original;
  augment_batch(a, {n, c, h, w}, pad, true, 7);
  augment_batch(b, {n, c, h, w}, pad, true, 7);
  EXPECT_EQ(a, b);
  const std::size_t size = static_cast<std::size_t>(c) * h * w;
  int mirrored = 0, shifted = 0;
  for (int i = 0; i < n; ++i) {
    const float* in = original.data() + i * size;
    const float* out = a.data() + i * size;
    int matches = 0;
    for (int m = 0; m < 2; ++m)
      for (int dy = -pad; dy <= pad; ++dy)
        for (int dx = -pad; dx <= pad; ++dx) {
          bool ok = true;
          for (int ch = 0; ch < c && ok; ++ch)
            for (int y = 0; y < h && ok; ++y)
              for (int x = 0; x < w && ok; ++x) {
                const int sy = y + dy, sx0 = x + dx, sx = m ? w - 1 - sx0 : sx0;
                const bool inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
                const float want = inside ? in[(ch * h + sy) * w + sx] : 0.0f;
                ok = out[(ch * h + y) * w + x] == want;
              }
          if (ok) {
            ++matches;
            mirrored += m;
            shifted += dy != 0 || dx != 0;
          }
        }
    ASSERT_EQ(matches, 1) << "sample " << i;
  }
  EXPECT_NEAR(mirrored, n / 2.0, 5 * std::sqrt(n * 0.25));
  EXPECT_NEAR(shifted, n * 24.0 / 25, 5 * std::sqrt(n * (24.0 / 25) * (1.0 / 25)));
}

}  // namespace
}  // namespace txsim::nn
