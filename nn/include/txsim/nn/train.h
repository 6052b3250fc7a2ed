// The training loop: shuffled mini-batches, SGD, per-epoch test accuracy, metrics (CSV and
// JSON), atomic checkpoints with resume, and a stop on divergence that keeps the last good
// checkpoint.
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "txsim/nn/data.h"
#include "txsim/nn/network.h"

namespace txsim::nn {

struct EpochMetrics {
  int epoch = 0;  // from 1
  double lr = 0, train_loss = 0, train_accuracy = 0, test_accuracy = 0, wall_seconds = 0;
};

struct TrainOptions {
  TrainConfig config;
  uint64_t seed = 1;
  std::string out_dir;  // metrics.csv, metrics.json, checkpoint.bin; empty: none written
  bool resume = false;
  int stop_after = 0;         // > 0: stop after this epoch of the recipe (--resume continues it)
  bool progress_bar = false;  // redraw one line per update (a terminal), else a line per epoch
  std::string label;          // written into metrics.json (workload and device)
  PhaseObserver* observer = nullptr;  // the timed model: sees every batch and phase
  // What the run is, beyond the recipe, seed and data sizes that train() adds itself (the
  // workload, device preset and platform as loaded): a checkpoint records it and --resume
  // refuses a checkpoint of another run, naming what differs.
  nlohmann::json run = nlohmann::json::object();
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  double final_test_accuracy = 0;
  bool diverged = false;
  std::string message;
};

class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

TrainResult train(Network& net, const Split& data, const TrainOptions& options, std::ostream& log);
// Fraction of correct predictions.
double evaluate(Network& net, const Dataset& d, int batch, PhaseObserver* observer = nullptr);

// Checkpoints (format 3): a header naming the run it belongs to and the epochs it finished with
// their metrics, then every parameter (value and momentum), buffer and weight core state of the
// network (analog: devices and stream counters), then the observer's accumulated state.
struct Checkpoint {
  nlohmann::json run;                      // what the run is (the identity train() compares)
  int epoch = 0;                           // epochs finished, from 1
  std::vector<EpochMetrics> epochs;        // their metrics (wall_seconds 0: not reproducible)
};
void save_checkpoint(Network& net, const Checkpoint& c, PhaseObserver* observer, const std::string& path);
// Restores the network (and the observer); checks the header: format, finite values, the epoch
// range (1..max_epoch), the metrics and, with expected_run, that every member of it is the
// checkpoint's run's (before any of the model is read); every error names the file and what is
// wrong.
Checkpoint load_checkpoint(Network& net, PhaseObserver* observer, const std::string& path, int max_epoch,
                           const nlohmann::json* expected_run = nullptr);

}  // namespace txsim::nn
