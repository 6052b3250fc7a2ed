#include "txsim/nn/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "txsim/config.h"
#include "txsim/json_fields.h"
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

// The format number is kept twice, as the magic's last character and as the "format" entry.
constexpr uint64_t kFormat = 3;
constexpr char kMagic[8] = {'T', 'X', 'S', 'I', 'M', 'C', 'K', static_cast<char>('0' + kFormat)};

nlohmann::json metrics_json(const EpochMetrics& m, bool with_wall) {
  nlohmann::json j = {{"epoch", m.epoch}, {"lr", m.lr}, {"train_loss", m.train_loss}, {"train_accuracy", m.train_accuracy},
                      {"test_accuracy", m.test_accuracy}};
  if (with_wall) j["wall_seconds"] = m.wall_seconds;
  return j;
}

// Every layer's parameters and buffers, then every weight core's own state, in network order.
void save_model(Network& net, StateWriter& w) {
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    Layer& layer = *net.layers()[i];
    const std::string where = "layer " + std::to_string(i) + " (" + layer.kind() + ")";
    for (Param* p : layer.params()) {
      w.put(where + " " + p->name, p->value);
      w.put(where + " " + p->name + " momentum", p->momentum);
    }
    int k = 0;
    for (std::vector<float>* b : layer.buffers()) w.put(where + " buffer " + std::to_string(k++), *b);
  }
  const auto cores = net.cores();
  for (std::size_t i = 0; i < cores.size(); ++i) {
    w.put("core " + std::to_string(i) + " analog", static_cast<uint64_t>(cores[i]->analog()));
    cores[i]->save_state(w);
  }
}

void load_model(Network& net, StateReader& r) {
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    Layer& layer = *net.layers()[i];
    const std::string where = "layer " + std::to_string(i) + " (" + layer.kind() + ")";
    for (Param* p : layer.params()) {
      r.get(where + " " + p->name, p->value, p->value.size());
      r.get(where + " " + p->name + " momentum", p->momentum, p->momentum.size());
    }
    int k = 0;
    for (std::vector<float>* b : layer.buffers()) r.get(where + " buffer " + std::to_string(k++), *b, b->size());
    layer.restored();
  }
  const auto cores = net.cores();
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if ((r.get_u64("core " + std::to_string(i) + " analog") != 0) != cores[i]->analog())
      throw StateError(r.source() + ": weight core " + std::to_string(i) + " is " + (cores[i]->analog() ? "analog" : "digital") +
                       " here and not in the checkpoint (another device preset?)");
    cores[i]->load_state(r);
  }
}

}  // namespace

void save_checkpoint(Network& net, const Checkpoint& c, PhaseObserver* observer, const std::string& path) {
  StateWriter w;
  w.put("format", kFormat);
  w.put_text("run", c.run.dump());
  w.put("epoch", static_cast<uint64_t>(c.epoch));
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochMetrics& m : c.epochs) epochs.push_back(metrics_json(m, false));
  w.put_text("metrics", epochs.dump());
  save_model(net, w);
  w.put("observer", static_cast<uint64_t>(observer != nullptr));
  if (observer) observer->save_state(w);
  write_atomically(path, std::string(kMagic, sizeof kMagic) + w.bytes());
}

Checkpoint load_checkpoint(Network& net, PhaseObserver* observer, const std::string& path, int max_epoch,
                           const nlohmann::json* expected_run) {
  constexpr std::uintmax_t kMaxBytes = std::uintmax_t(1) << 34;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw TrainingError(path + ": not a regular file (a TxSim checkpoint)");
  std::string bytes;
  try {
    bytes = read_text_file(path, kMaxBytes);
  } catch (const ConfigError& e) {
    throw TrainingError(e.what());
  }
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    if (bytes.size() >= 7 && std::memcmp(bytes.data(), kMagic, 7) == 0)
      throw TrainingError(path + ": a checkpoint of an older TxSim (format " + std::string(1, bytes[7]) + "); accepted format " + std::to_string(kFormat) + ": train again");
    throw TrainingError(path + ": not a TxSim checkpoint (bad magic)");
  }
  Checkpoint c;
  try {
    StateReader r(bytes, path, sizeof kMagic);
    if (const uint64_t f = r.get_u64("format"); f != kFormat)
      throw TrainingError(path + ": checkpoint format " + std::to_string(f) + ": accepted " + std::to_string(kFormat));
    c.run = parse_json_text(r.get_text("run", 1 << 24), path + " (run header)");
    // Another run's checkpoint is named as such before its model is read.
    if (expected_run)
      for (const auto& item : expected_run->items()) {
        const auto saved = c.run.find(item.key());
        if (saved == c.run.end() || *saved != item.value())
          throw TrainingError(path + ": the checkpoint belongs to another run: " + item.key() + " was " +
                              (saved == c.run.end() ? std::string("absent") : saved->dump()) + ", this run has " +
                              item.value().dump() + "; resume with the settings it started with, or train into another --out");
      }
    const uint64_t epoch = r.get_u64("epoch");
    if (epoch < 1 || epoch > static_cast<uint64_t>(max_epoch))
      throw TrainingError(path + ": epoch " + std::to_string(epoch) + ": accepted 1.." + std::to_string(max_epoch) +
                          " (the run's epochs)");
    c.epoch = static_cast<int>(epoch);
    const nlohmann::json epochs = parse_json_text(r.get_text("metrics", 1 << 24), path + " (metrics)");
    if (!epochs.is_array() || epochs.size() != epoch)
      throw TrainingError(path + ": metrics: accepted one record per finished epoch (" + std::to_string(epoch) + ")");
    for (const auto& e : epochs) {
      JsonFields<TrainingError> f(e, "metrics[" + std::to_string(c.epochs.size()) + "]", path);
      EpochMetrics m;
      m.epoch = f.integer("epoch", 1, max_epoch);
      m.lr = f.number("lr", 0, 1e300);
      m.train_loss = f.number("train_loss", 0, 1e300);
      m.train_accuracy = f.number("train_accuracy", 0, 1);
      m.test_accuracy = f.number("test_accuracy", 0, 1);
      f.finish();
      if (m.epoch != static_cast<int>(c.epochs.size()) + 1) throw TrainingError(path + ": metrics: epochs out of order");
      c.epochs.push_back(m);
    }
    load_model(net, r);
    const bool observed = r.get_u64("observer") != 0;
    if (observed != (observer != nullptr))
      throw TrainingError(path + ": a checkpoint of a " + (observed ? "timed" : "functional") + " run; this run is " +
                          (observer ? "timed" : "functional") + " (resume it the way it started)");
    if (observer) observer->load_state(r);
    if (!r.done()) throw TrainingError(path + ": trailing data after the checkpoint");
  } catch (const StateError& e) {
    throw TrainingError(e.what());
  } catch (const ConfigError& e) {
    throw TrainingError(e.what());
  }
  return c;
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
  // The run's identity: a checkpoint of another run (recipe, seed, data, workload, device,
  // platform) is refused rather than continued into numbers that no run would give.
  nlohmann::json run = o.run;
  run["seed"] = o.seed;
  run["train_samples"] = data.train.size();
  run["test_samples"] = data.test.size();
  // The epochs may grow on a resume unless the schedule depends on them (cosine).
  run["recipe"] = {{"cosine_epochs", t.schedule == Schedule::Cosine ? t.epochs : 0}, {"batch", t.batch}, {"lr", t.lr}, {"momentum", t.momentum},
                   {"weight_decay", t.weight_decay}, {"schedule", static_cast<int>(t.schedule)}, {"step_epochs", t.step_epochs},
                   {"step_gamma", t.step_gamma}, {"crop_padding", t.crop_padding}, {"flip", t.flip},
                   {"bn_recalibrate", t.bn_recalibrate}};
  if (!dir.empty()) std::filesystem::create_directories(dir);
  // metrics.json and metrics.csv: the epochs of result, as one atomic write each.
  auto write_metrics = [&] {
    nlohmann::json m = {{"label", o.label}, {"seed", o.seed}, {"epochs", nlohmann::json::array()}};
    for (const EpochMetrics& e : result.epochs) m["epochs"].push_back(metrics_json(e, true));
    if (!result.epochs.empty()) m["final_test_accuracy"] = result.epochs.back().test_accuracy;
    write_atomically(dir + "/metrics.json", m.dump(2) + "\n");
    std::ostringstream csv;
    csv << "epoch,lr,train_loss,train_accuracy,test_accuracy,wall_seconds\n";
    csv.precision(17);
    for (const auto& e : result.epochs)
      csv << e.epoch << "," << e.lr << "," << e.train_loss << "," << e.train_accuracy << "," << e.test_accuracy << ","
          << e.wall_seconds << "\n";
    write_atomically(dir + "/metrics.csv", csv.str());
  };
  if (o.resume && ckpt.empty()) throw TrainingError("--resume: needs an output folder (--out) holding the checkpoint");
  if (o.resume && !std::filesystem::exists(ckpt)) {
    // Stopped before its first epoch ended: nothing to continue, so the run starts over (the
    // same numbers as a run that was never stopped).
    log << "resume: no checkpoint in " << dir << " yet (no epoch had finished): starting from epoch 1\n";
  } else if (o.resume) {
    const Checkpoint c = load_checkpoint(net, o.observer, ckpt, t.epochs, &run);
    start = c.epoch;
    // The metrics the checkpoint holds, with the wall times metrics.json recorded for them (a
    // kill between the two writes cannot lose an epoch: metrics.json is written first).
    std::map<int, double> wall;
    try {
      const nlohmann::json old = read_json_file(dir + "/metrics.json");
      for (const auto& e : old.at("epochs")) wall[e.at("epoch").get<int>()] = e.at("wall_seconds").get<double>();
    } catch (const std::exception&) {
      // No or a damaged metrics.json: the checkpoint's metrics stand; wall times are not known.
    }
    for (EpochMetrics m : c.epochs) {
      m.wall_seconds = wall.count(m.epoch) ? wall[m.epoch] : 0.0;
      result.epochs.push_back(m);
    }
    write_metrics();  // as the checkpoint has them (a metrics.json behind it or damaged is repaired)
    log << "resumed from " << ckpt << " after epoch " << start << (start == t.epochs ? " (the run had finished)" : "") << "\n";
  }

  // For this run only, whatever way it ends: the observer sees its phases, and the first layer
  // skips the gradient of the data (nothing reads it).
  struct RunSettings {
    Network& net;
    RunSettings(Network& n, PhaseObserver* observer) : net(n) {
      net.observe(observer);
      if (!net.layers().empty()) net.layers().front()->need_input_grad(false);
    }
    ~RunSettings() {
      net.observe(nullptr);
      if (!net.layers().empty()) net.layers().front()->need_input_grad(true);
    }
  } settings{net, o.observer};
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
  const int last = o.stop_after > 0 ? std::min(o.stop_after, t.epochs) : t.epochs;
  for (int epoch = start; epoch < last; ++epoch) {
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
        const int width = 20, filled = static_cast<int>(done * width);  // the line stays under 80 columns
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
      // metrics first, then the checkpoint: a kill between the two leaves metrics ahead of the
      // checkpoint, and a resume recomputes that epoch to the same numbers, so nothing that
      // either file reported is ever lost.
      write_metrics();
      save_checkpoint(net, {run, m.epoch, result.epochs}, o.observer, ckpt);
    }
  }
  result.final_test_accuracy = result.epochs.empty() ? 0 : result.epochs.back().test_accuracy;
  return result;
}

}  // namespace txsim::nn
