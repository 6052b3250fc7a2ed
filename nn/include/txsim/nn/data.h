// Datasets: IDX (MNIST, Fashion-MNIST; raw or gzip), CIFAR-10 binary batches, and a synthetic
// generator for tests. Every malformed file is an error naming the file and what is wrong.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace txsim::nn {

class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Dataset {
  std::vector<int> sample_shape;  // C, H, W
  int classes = 0;
  std::vector<float> images;      // N x C x H x W
  std::vector<int> labels;
  int size() const { return static_cast<int>(labels.size()); }
  std::size_t sample_size() const;
};

// IDX images (magic 0x803, N x H x W bytes) and labels (magic 0x801, N bytes), raw or gzip.
// Pixels scaled to [0, 1].
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int classes = 10);
// The same from bytes in memory (errors name images_name / labels_name).
Dataset parse_idx(const std::vector<unsigned char>& images, const std::string& images_name,
                  const std::vector<unsigned char>& labels, const std::string& labels_name, int classes = 10);
// A whole file, decompressed if it is gzip; DataError naming the file when it cannot be read.
std::vector<unsigned char> read_all(const std::string& path);
// The IDX files of "mnist" or "fashion-mnist" as load_named finds them: train images, train
// labels, test images, test labels.
std::array<std::string, 4> idx_files(const std::string& name, const std::string& data_dir);
// The per-channel normalization load_named applies to a named dataset (none for others).
void normalize_named(const std::string& name, Dataset& d);
// Keeps the first `limit` samples (limit <= 0: all).
void keep_first(Dataset& d, int limit);
// CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (3 x 32 x 32).
Dataset load_cifar10(const std::vector<std::string>& batch_paths);
// Class-dependent Gaussian blobs in the given shape: learnable, for tests. `seed` fixes the class
// centers, `draw` the samples (train and test sets: same seed, different draws).
Dataset synthetic(int n, std::vector<int> sample_shape, int classes, uint64_t seed, uint64_t draw = 0);

// Training augmentation for images (N x C x H x W, in place): each sample is shifted by a
// random offset in [-crop_padding, crop_padding] in both directions (a random crop of the image
// zero-padded by crop_padding; zero is the mean after normalization) and, with `flip`, mirrored
// left-right with probability 1/2. Draws: sample i of stream `key`.
void augment_batch(std::vector<float>& images, const std::vector<int>& shape, int crop_padding, bool flip, uint64_t key);

// x <- (x - mean[c]) / std[c] per channel.
void normalize(Dataset& d, const std::vector<float>& mean, const std::vector<float>& std);

// Train and test sets of a named dataset: "mnist" (data_dir/mnist), "fashion-mnist"
// (data_dir/fashion-mnist, else Debian's /usr/share/datasets/fashion-mnist), "cifar10"
// (data_dir/cifar-10-batches-bin), normalized. `limit` > 0 keeps the first samples only.
struct Split {
  Dataset train, test;
};
Split load_named(const std::string& name, const std::string& data_dir, int limit_train = 0, int limit_test = 0);

}  // namespace txsim::nn
