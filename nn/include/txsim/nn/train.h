// The training loop: shuffled mini-batches, SGD, per-epoch test accuracy, metrics (CSV and
// JSON), atomic checkpoints with resume, and a stop on divergence that keeps the last good
// checkpoint.
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

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
  bool progress_bar = false;  // redraw one line per update (a terminal), else a line per epoch
  std::string label;          // written into metrics.json (workload and device)
  PhaseObserver* observer = nullptr;  // the timed model: sees every batch and phase
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

// Checkpoints: every parameter (value and momentum) and buffer of the network, and the epoch.
void save_checkpoint(Network& net, int epoch, const std::string& path);
int load_checkpoint(Network& net, const std::string& path);  // returns the epoch

}  // namespace txsim::nn
