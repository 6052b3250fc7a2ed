#include "txsim/nn/data.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "txsim/rng.h"

namespace txsim::nn {

// The whole file, decompressed if it is gzip (zlib reads plain files unchanged).
std::vector<unsigned char> read_all(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(path + ": no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(path + ": cannot open for reading");
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  int got = 0;
  while ((got = gzread(f, buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + got);
  int err = 0;
  // zlib owns the message and frees it with the stream: copy it before gzclose. It reads
  // "path: what"; the path is said once.
  std::string msg = gzerror(f, &err);
  if (msg.rfind(path + ": ", 0) == 0) msg.erase(0, path.size() + 2);
  gzclose(f);
  if (got < 0 || (err != Z_OK && err != Z_STREAM_END)) throw DataError(path + ": read error: " + msg + " (a damaged or truncated file?)");
  return data;
}

namespace {

uint32_t be32(const std::vector<unsigned char>& d, std::size_t at) {
  return (uint32_t(d[at]) << 24) | (uint32_t(d[at + 1]) << 16) | (uint32_t(d[at + 2]) << 8) | d[at + 3];
}

std::string hex(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

}  // namespace

std::size_t Dataset::sample_size() const {
  std::size_t n = 1;
  for (int d : sample_shape) n *= static_cast<std::size_t>(d);
  return n;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path, int classes) {
  return parse_idx(read_all(images_path), images_path, read_all(labels_path), labels_path, classes);
}

Dataset parse_idx(const std::vector<unsigned char>& img, const std::string& images_path, const std::vector<unsigned char>& lab,
                  const std::string& labels_path, int classes) {
  if (img.size() < 16) throw DataError(images_path + ": truncated IDX header (" + std::to_string(img.size()) + " bytes)");
  if (be32(img, 0) != 0x803)
    throw DataError(images_path + ": bad magic number " + hex(be32(img, 0)) + ": accepted 0x00000803 (IDX unsigned-byte images)");
  const uint32_t n = be32(img, 4), h = be32(img, 8), w = be32(img, 12);
  if (h == 0 || w == 0 || h > 4096 || w > 4096) throw DataError(images_path + ": image size " + std::to_string(h) + "x" + std::to_string(w) + " out of range");
  const std::size_t want = 16 + std::size_t(n) * h * w;
  if (img.size() != want)
    throw DataError(images_path + ": " + std::to_string(img.size()) + " bytes where the header (" + std::to_string(n) +
                    " images of " + std::to_string(h) + "x" + std::to_string(w) + ") needs " + std::to_string(want) +
                    (img.size() < want ? " (truncated)" : ""));
  if (lab.size() < 8) throw DataError(labels_path + ": truncated IDX header (" + std::to_string(lab.size()) + " bytes)");
  if (be32(lab, 0) != 0x801)
    throw DataError(labels_path + ": bad magic number " + hex(be32(lab, 0)) + ": accepted 0x00000801 (IDX unsigned-byte labels)");
  const uint32_t m = be32(lab, 4);
  if (lab.size() != 8 + std::size_t(m))
    throw DataError(labels_path + ": " + std::to_string(lab.size()) + " bytes where the header (" + std::to_string(m) +
                    " labels) needs " + std::to_string(8 + std::size_t(m)));
  if (m != n)
    throw DataError(labels_path + ": " + std::to_string(m) + " labels for " + std::to_string(n) + " images in " + images_path);
  Dataset d;
  d.sample_shape = {1, int(h), int(w)};
  d.classes = classes;
  d.images.resize(std::size_t(n) * h * w);
  for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = img[16 + i] / 255.0f;
  d.labels.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (lab[8 + i] >= classes)
      throw DataError(labels_path + ": label " + std::to_string(lab[8 + i]) + " at index " + std::to_string(i) +
                      ": accepted 0.." + std::to_string(classes - 1));
    d.labels[i] = lab[8 + i];
  }
  return d;
}

Dataset load_cifar10(const std::vector<std::string>& batch_paths) {
  constexpr std::size_t kRecord = 1 + 3072;
  Dataset d;
  d.sample_shape = {3, 32, 32};
  d.classes = 10;
  for (const auto& path : batch_paths) {
    const auto raw = read_all(path);
    if (raw.empty() || raw.size() % kRecord != 0)
      throw DataError(path + ": " + std::to_string(raw.size()) + " bytes is not a whole number of CIFAR-10 records (" +
                      std::to_string(kRecord) + " bytes each)");
    for (std::size_t r = 0; r < raw.size() / kRecord; ++r) {
      const unsigned char* rec = raw.data() + r * kRecord;
      if (rec[0] > 9)
        throw DataError(path + ": record " + std::to_string(r) + " has label " + std::to_string(rec[0]) + ": accepted 0..9");
      d.labels.push_back(rec[0]);
      for (std::size_t i = 1; i < kRecord; ++i) d.images.push_back(rec[i] / 255.0f);
    }
  }
  return d;
}

Dataset synthetic(int n, std::vector<int> sample_shape, int classes, uint64_t seed, uint64_t draw) {
  Dataset d;
  d.sample_shape = std::move(sample_shape);
  d.classes = classes;
  const std::size_t size = d.sample_size();
  std::vector<float> centers(static_cast<std::size_t>(classes) * size);
  fill_normal(derive_key(seed, 1), 0, centers.size(), centers.data());
  d.images.resize(static_cast<std::size_t>(n) * size);
  const uint64_t samples = derive_key(seed, 100 + draw);
  fill_normal(derive_key(samples, 2), 0, d.images.size(), d.images.data());
  d.labels.resize(n);
  for (int i = 0; i < n; ++i) {
    d.labels[i] = static_cast<int>(uniform01(derive_key(samples, 3), i) * classes);
    for (std::size_t k = 0; k < size; ++k)
      d.images[i * size + k] = 0.5f * d.images[i * size + k] + centers[d.labels[i] * size + k];
  }
  return d;
}

void augment_batch(std::vector<float>& images, const std::vector<int>& shape, int crop_padding, bool flip, uint64_t key) {
  if (crop_padding == 0 && !flip) return;
  if (shape.size() != 4) throw std::invalid_argument("augment_batch: accepted N x C x H x W images");
  const int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  const std::size_t plane = static_cast<std::size_t>(h) * w, sample = plane * c;
  std::vector<float> src(sample);
  const int span = 2 * crop_padding + 1;
  for (int i = 0; i < n; ++i) {
    const uint64_t at = 3 * static_cast<uint64_t>(i);
    const int dy = static_cast<int>(uniform01(key, at) * span) - crop_padding;
    const int dx = static_cast<int>(uniform01(key, at + 1) * span) - crop_padding;
    const bool mirror = flip && uniform01(key, at + 2) < 0.5;
    float* x = images.data() + static_cast<std::size_t>(i) * sample;
    std::copy_n(x, sample, src.data());
    // out(y, x) = in(y + dy, mirror ? w - 1 - (x + dx) : x + dx), zero outside the image.
    for (int ch = 0; ch < c; ++ch)
      for (int y = 0; y < h; ++y)
        for (int xo = 0; xo < w; ++xo) {
          const int sy = y + dy, sx0 = xo + dx, sx = mirror ? w - 1 - sx0 : sx0;
          const bool inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
          x[ch * plane + static_cast<std::size_t>(y) * w + xo] = inside ? src[ch * plane + static_cast<std::size_t>(sy) * w + sx] : 0.0f;
        }
  }
}

void normalize(Dataset& d, const std::vector<float>& mean, const std::vector<float>& std) {
  const int c = d.sample_shape[0];
  const std::size_t per_channel = d.sample_size() / c;
  for (std::size_t i = 0; i < d.images.size(); ++i) {
    const int ch = static_cast<int>((i / per_channel) % c);
    d.images[i] = (d.images[i] - mean[ch]) / std[ch];
  }
}

void keep_first(Dataset& d, int limit) {
  if (limit <= 0 || limit >= d.size()) return;
  d.labels.resize(limit);
  d.images.resize(static_cast<std::size_t>(limit) * d.sample_size());
}

void normalize_named(const std::string& name, Dataset& d) {
  if (name == "mnist" || name == "fashion-mnist") {
    const float mean = name == "mnist" ? 0.1307f : 0.2860f, sd = name == "mnist" ? 0.3081f : 0.3530f;
    normalize(d, {mean}, {sd});
  } else if (name == "cifar10") {
    normalize(d, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f});
  }
}

namespace {

std::string first_existing(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (std::filesystem::exists(c)) return c;
  return candidates.front();
}
}  // namespace

std::array<std::string, 4> idx_files(const std::string& name, const std::string& data_dir) {
  std::vector<std::string> dirs = {data_dir + "/" + name};
  if (name == "fashion-mnist") dirs.push_back("/usr/share/datasets/fashion-mnist");
  auto file = [&](const std::string& base) {
    std::vector<std::string> c;
    for (const auto& dir : dirs) {
      c.push_back(dir + "/" + base);
      c.push_back(dir + "/" + base + ".gz");
    }
    return first_existing(c);
  };
  return {file("train-images-idx3-ubyte"), file("train-labels-idx1-ubyte"), file("t10k-images-idx3-ubyte"),
          file("t10k-labels-idx1-ubyte")};
}

Split load_named(const std::string& name, const std::string& data_dir, int limit_train, int limit_test) {
  if (limit_train < 0 || limit_test < 0)
    throw DataError("dataset '" + name + "': sample limit " + std::to_string(std::min(limit_train, limit_test)) +
                    ": accepted 0 (all samples) or a positive count");
  Split s;
  if (name == "mnist" || name == "fashion-mnist") {
    const std::array<std::string, 4> f = idx_files(name, data_dir);
    s.train = load_idx(f[0], f[1]);
    s.test = load_idx(f[2], f[3]);
    normalize_named(name, s.train);
    normalize_named(name, s.test);
  } else if (name == "cifar10") {
    const std::string dir = data_dir + "/cifar-10-batches-bin/";
    std::vector<std::string> train;
    for (int b = 1; b <= 5; ++b) train.push_back(dir + "data_batch_" + std::to_string(b) + ".bin");
    s.train = load_cifar10(train);
    s.test = load_cifar10({dir + "test_batch.bin"});
    normalize_named(name, s.train);
    normalize_named(name, s.test);
  } else if (name == "synthetic") {
    s.train = synthetic(2000, {1, 8, 8}, 4, 1, 0);
    s.test = synthetic(500, {1, 8, 8}, 4, 1, 1);
  } else {
    throw DataError("dataset '" + name + "': accepted mnist, fashion-mnist, cifar10, synthetic");
  }
  keep_first(s.train, limit_train);
  keep_first(s.test, limit_test);
  return s;
}

}  // namespace txsim::nn
