#include "txsim/nn/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "txsim/config.h"
#include "txsim/periphery.h"
#include "txsim/rng.h"

namespace txsim::nn {
namespace {

using Clock = std::chrono::steady_clock;

// Copies samples idx[from, from + n) into a batch tensor and its labels.
void gather(const Dataset& d, const std::vector<int>& idx, int from, int n, Tensor& x, std::vector<int>& labels) {
  std::vector<int> shape = {n};
  shape.insert(shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  x.resize(shape);
  labels.resize(n);
  const std::size_t size = d.sample_size();
  for (int i = 0; i < n; ++i) {
    const int s = idx[from + i];
    std::copy_n(d.images.data() + static_cast<std::size_t>(s) * size, size, x.ptr() + static_cast<std::size_t>(i) * size);
    labels[i] = d.labels[s];
  }
}

std::string clock_text(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

constexpr char kMagic[8] = {'T', 'X', 'S', 'I', 'M', 'C', 'K', '1'};

}  // namespace

void save_checkpoint(Network& net, int epoch, const std::string& path) {
  std::ostringstream out;
  auto put = [&out](const void* p, std::size_t n) { out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); };
  auto put_vec = [&](const std::vector<float>& v) {
    const uint64_t n = v.size();
    put(&n, sizeof n);
    put(v.data(), n * sizeof(float));
  };
  put(kMagic, sizeof kMagic);
  const int32_t e = epoch;
  put(&e, sizeof e);
  for (const auto& layer : net.layers()) {
    for (Param* p : layer->params()) {
      put_vec(p->value);
      put_vec(p->momentum);
    }
    for (std::vector<float>* b : layer->buffers()) put_vec(*b);
  }
  write_atomically(path, out.str());
}

int load_checkpoint(Network& net, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TrainingError(path + ": cannot open the checkpoint");
  char magic[8];
  int32_t epoch = 0;
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw TrainingError(path + ": not a TxSim checkpoint (bad magic)");
  if (!in.read(reinterpret_cast<char*>(&epoch), sizeof epoch)) throw TrainingError(path + ": truncated checkpoint");
  auto get_vec = [&](std::vector<float>& v, const std::string& what) {
    uint64_t n = 0;
    if (!in.read(reinterpret_cast<char*>(&n), sizeof n)) throw TrainingError(path + ": truncated checkpoint at " + what);
    if (n != v.size())
      throw TrainingError(path + ": " + what + " has " + std::to_string(n) + " values, the network " +
                          std::to_string(v.size()) + " (another workload or device?)");
    if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float))))
      throw TrainingError(path + ": truncated checkpoint at " + what);
  };
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    Layer& layer = *net.layers()[i];
    const std::string where = "layer " + std::to_string(i) + " (" + layer.kind() + ")";
    for (Param* p : layer.params()) {
      get_vec(p->value, where + " " + p->name);
      get_vec(p->momentum, where + " " + p->name + " momentum");
    }
    for (std::vector<float>* b : layer.buffers()) get_vec(*b, where + " buffer");
    layer.restored();
  }
  if (in.peek() != std::char_traits<char>::eof()) throw TrainingError(path + ": trailing data after the checkpoint");
  return epoch;
}

double evaluate(Network& net, const Dataset& d, int batch, PhaseObserver* observer) {
  std::vector<int> idx(d.size());
  std::iota(idx.begin(), idx.end(), 0);
  Tensor x;
  std::vector<int> labels;
  int correct = 0;
  for (int from = 0; from < d.size(); from += batch) {
    const int n = std::min(batch, d.size() - from);
    gather(d, idx, from, n, x, labels);
    if (observer) observer->on_batch(n, false);
    correct += softmax_cross_entropy(net.forward(x, false), labels, nullptr).correct;
  }
  return d.size() ? double(correct) / d.size() : 0.0;
}

TrainResult train(Network& net, const Split& data, const TrainOptions& o, std::ostream& log) {
  const TrainConfig& t = o.config;
  TrainResult result;
  const std::string dir = o.out_dir;
  const std::string ckpt = dir.empty() ? "" : dir + "/checkpoint.bin";
  int start = 0;
  nlohmann::json metrics = {{"label", o.label}, {"seed", o.seed}, {"epochs", nlohmann::json::array()}};
  if (!dir.empty()) std::filesystem::create_directories(dir);
  if (o.resume) {
    if (ckpt.empty() || !std::filesystem::exists(ckpt)) throw TrainingError("--resume: no checkpoint at " + (ckpt.empty() ? std::string("(no output folder)") : ckpt));
    start = load_checkpoint(net, ckpt);
    std::ifstream m(dir + "/metrics.json");
    if (m) {
      nlohmann::json old;
      m >> old;
      for (const auto& e : old.at("epochs"))
        if (e.at("epoch").get<int>() <= start) {
          metrics["epochs"].push_back(e);
          result.epochs.push_back({e.at("epoch"), e.at("lr"), e.at("train_loss"), e.at("train_accuracy"),
                                   e.at("test_accuracy"), e.at("wall_seconds")});
        }
    }
    log << "resumed from " << ckpt << " after epoch " << start << "\n";
  }

  // The observer sees the phases of this run only; it is detached whatever way the run ends.
  struct Detach {
    Network& net;
    ~Detach() { net.observe(nullptr); }
  } detach{net};
  net.observe(o.observer);
  std::vector<int> idx(data.train.size());
  Tensor x, dlogits;
  std::vector<int> labels;
  const int batches = (data.train.size() + t.batch - 1) / t.batch;
  // Batch b of an epoch's shuffled order (idx), augmented: into x and labels; returns its size.
  auto load_batch = [&](int epoch, int b) {
    const int n = std::min(t.batch, data.train.size() - b * t.batch);
    gather(data.train, idx, b * t.batch, n, x, labels);
    augment_batch(x.data, x.shape, t.crop_padding, t.flip, derive_key(derive_key(o.seed, 0xA06 + epoch), b));
    return n;
  };
  // Divergence (a non-finite loss, or non-finite values reaching a crossbar: NonFiniteInput)
  // ends the run; the checkpoint of the last finished epoch stays.
  auto diverge = [&](int epoch, const std::string& where) {
    result.diverged = true;
    result.message = "training diverged at epoch " + std::to_string(epoch + 1) + ", " + where;
    if (!ckpt.empty())
      result.message += epoch == 0 ? "; no epoch had finished, so there is no checkpoint"
                                   : "; the last good checkpoint (epoch " + std::to_string(epoch) + ") is kept in " + ckpt;
    if (o.progress_bar) log << "\n";
    log << result.message << "\n";
    result.final_test_accuracy = result.epochs.empty() ? 0 : result.epochs.back().test_accuracy;
    return result;
  };
  for (int epoch = start; epoch < t.epochs; ++epoch) {
    const auto t0 = Clock::now();
    const double lr = learning_rate(t, epoch);
    // Shuffle: a pure function of (seed, epoch), so a resumed run draws what the whole run would.
    std::iota(idx.begin(), idx.end(), 0);
    for (int i = data.train.size() - 1; i > 0; --i)
      std::swap(idx[i], idx[static_cast<int>(uniform01(derive_key(o.seed, 0x5EED + epoch), i) * (i + 1))]);
    double loss_sum = 0;
    long correct = 0, seen = 0;
    auto last_draw = Clock::now();
    for (int b = 0; b < batches; ++b) {
      const int n = load_batch(epoch, b);
      if (o.observer) o.observer->on_batch(n, true);
      LossResult r;
      try {
        r = softmax_cross_entropy(net.forward(x, true), labels, &dlogits);
        if (!std::isfinite(r.loss)) return diverge(epoch, "batch " + std::to_string(b + 1) + " (loss " + std::to_string(r.loss) + ")");
        net.backward(dlogits);
        sgd_step(net, t, lr);
      } catch (const NonFiniteInput& e) {
        return diverge(epoch, "batch " + std::to_string(b + 1) + " (" + e.what() + ")");
      }
      loss_sum += r.loss * n;
      correct += r.correct;
      seen += n;
      if (o.progress_bar && (std::chrono::duration<double>(Clock::now() - last_draw).count() > 0.25 || b + 1 == batches)) {
        last_draw = Clock::now();
        const double done = double(b + 1) / batches, elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        const int width = 30, filled = static_cast<int>(done * width);
        char line[256];
        std::snprintf(line, sizeof line, "\repoch %d/%d [%s%s] %3.0f%% loss %.4f acc %.2f%% ETA %s", epoch + 1, t.epochs,
                      std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), 100 * done,
                      loss_sum / seen, 100.0 * correct / seen, clock_text(elapsed / done - elapsed).c_str());
        log << line << std::flush;
      }
    }
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = lr;
    m.train_loss = loss_sum / seen;
    m.train_accuracy = double(correct) / seen;
    try {
      if (t.bn_recalibrate > 0) {
        // Precise batch-norm statistics: the moving averages lag behind weights that moved during
        // the epoch; replace them by the plain average over the epoch's first batches (forward
        // reads only, as inference batches for the timed model; no update).
        net.average_statistics(true);
        for (int b = 0; b < std::min(t.bn_recalibrate, batches); ++b) {
          const int n = load_batch(epoch, b);
          if (o.observer) o.observer->on_batch(n, false);
          net.forward(x, true);
        }
        net.average_statistics(false);
      }
      m.test_accuracy = evaluate(net, data.test, 256, o.observer);
    } catch (const NonFiniteInput& e) {  // the last batch's step left non-finite weights
      return diverge(epoch, std::string("evaluation (") + e.what() + ")");
    }
    if (o.observer) o.observer->on_epoch(m.epoch);
    m.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    result.epochs.push_back(m);
    if (o.progress_bar) log << "\n";
    char line[256];
    std::snprintf(line, sizeof line, "epoch %d/%d: lr %.4g, train loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, %.1f s",
                  m.epoch, t.epochs, m.lr, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy, m.wall_seconds);
    log << line << std::endl;
    if (!dir.empty()) {
      save_checkpoint(net, m.epoch, ckpt);
      metrics["epochs"].push_back({{"epoch", m.epoch}, {"lr", m.lr}, {"train_loss", m.train_loss},
                                   {"train_accuracy", m.train_accuracy}, {"test_accuracy", m.test_accuracy},
                                   {"wall_seconds", m.wall_seconds}});
      metrics["final_test_accuracy"] = m.test_accuracy;
      write_atomically(dir + "/metrics.json", metrics.dump(2) + "\n");
      std::ostringstream csv;
      csv << "epoch,lr,train_loss,train_accuracy,test_accuracy,wall_seconds\n";
      csv.precision(9);
      for (const auto& e : result.epochs)
        csv << e.epoch << "," << e.lr << "," << e.train_loss << "," << e.train_accuracy << "," << e.test_accuracy << ","
            << e.wall_seconds << "\n";
      write_atomically(dir + "/metrics.csv", csv.str());
    }
  }
  result.final_test_accuracy = result.epochs.empty() ? 0 : result.epochs.back().test_accuracy;
  return result;
}

}  // namespace txsim::nn
