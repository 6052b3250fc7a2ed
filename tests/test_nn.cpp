// The nn layers: gradients against finite differences, shapes, losses.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

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

TEST(NnGradients, ReluAwayFromZero) {
  ReLU r;
  Tensor x = random_tensor({3, 10}, 6);
  for (float& v : x.data) v += v > 0 ? 0.1f : -0.1f;  // finite differences must not cross the kink
  check_gradients(r, x, 1e-3);
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
