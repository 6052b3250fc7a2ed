// What the accelerator reads from and writes to system memory for a training job (plain C++:
// the host driver and the accelerator share it).
//
// Network descriptor (NETWORK_ADDR, NETWORK_SIZE bytes): JSON text
//   {"workload": {...a workload file...}, "device": {...a device preset...} (absent: digital),
//    "seed": 1, "epochs": N, "batch": N, "lr": x}   (epochs, batch, lr optional: the workload's)
// Data region (DATA_ADDR, DATA_SIZE bytes), little-endian:
//   "TXSIMDAT", u32 version = 1, u32 count = 4, then count x {u64 offset, u64 bytes} (offsets
//   from DATA_ADDR), then the IDX files: train images, train labels, test images, test labels.
// Results (RESULT_ADDR, at most RESULT_SIZE bytes): "TXSIMRES", u32 bytes, then JSON text
//   {"final_test_accuracy": x, "epochs": [...], "hardware": {...}}.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace txsim::hw {

class JobFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using IdxFiles = std::array<std::vector<unsigned char>, 4>;

std::vector<unsigned char> pack_data_region(const IdxFiles& files);
// JobFormatError naming what is wrong (magic, version, count, a file beyond the region).
IdxFiles unpack_data_region(const std::vector<unsigned char>& region);
// The first `n` records of an IDX file (n <= 0 or beyond its count: unchanged).
std::vector<unsigned char> truncate_idx(const std::vector<unsigned char>& idx, int n);

std::vector<unsigned char> pack_result(const std::string& json_text);
std::string unpack_result(const std::vector<unsigned char>& region);
constexpr std::size_t kResultHeader = 12;

}  // namespace txsim::hw
