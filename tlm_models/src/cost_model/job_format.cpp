#include "txsim/tlm/cost_model/job_format.h"

#include <cstring>

namespace txsim::hw {
namespace {

constexpr char kDataMagic[8] = {'T', 'X', 'S', 'I', 'M', 'D', 'A', 'T'};
constexpr char kResultMagic[8] = {'T', 'X', 'S', 'I', 'M', 'R', 'E', 'S'};
constexpr std::size_t kDataHeader = 16, kEntry = 16;

template <class T>
void put(std::vector<unsigned char>& out, T v) {
  unsigned char b[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  out.insert(out.end(), b, b + sizeof(T));
}

template <class T>
T get(const std::vector<unsigned char>& in, std::size_t at) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(in[at + i]) << (8 * i);
  return v;
}

uint32_t be32(const std::vector<unsigned char>& d, std::size_t at) {
  return (uint32_t(d[at]) << 24) | (uint32_t(d[at + 1]) << 16) | (uint32_t(d[at + 2]) << 8) | d[at + 3];
}

}  // namespace

std::vector<unsigned char> pack_data_region(const IdxFiles& files) {
  std::vector<unsigned char> out(kDataMagic, kDataMagic + 8);
  put<uint32_t>(out, 1);
  put<uint32_t>(out, static_cast<uint32_t>(files.size()));
  uint64_t offset = kDataHeader + kEntry * files.size();
  for (const auto& f : files) {
    put<uint64_t>(out, offset);
    put<uint64_t>(out, f.size());
    offset += f.size();
  }
  for (const auto& f : files) out.insert(out.end(), f.begin(), f.end());
  return out;
}

IdxFiles unpack_data_region(const std::vector<unsigned char>& r) {
  if (r.size() < kDataHeader || std::memcmp(r.data(), kDataMagic, 8) != 0)
    throw JobFormatError("data region: no \"TXSIMDAT\" header (" + std::to_string(r.size()) + " bytes)");
  if (get<uint32_t>(r, 8) != 1) throw JobFormatError("data region: version " + std::to_string(get<uint32_t>(r, 8)) + ": accepted 1");
  const uint32_t count = get<uint32_t>(r, 12);
  if (count != 4) throw JobFormatError("data region: " + std::to_string(count) + " files: accepted 4 (train images, train labels, test images, test labels)");
  if (r.size() < kDataHeader + kEntry * count) throw JobFormatError("data region: truncated file table");
  IdxFiles files;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t offset = get<uint64_t>(r, kDataHeader + kEntry * i), bytes = get<uint64_t>(r, kDataHeader + kEntry * i + 8);
    if (offset > r.size() || bytes > r.size() - offset)
      throw JobFormatError("data region: file " + std::to_string(i) + " at offset " + std::to_string(offset) + " (" +
                           std::to_string(bytes) + " bytes) lies beyond the region's " + std::to_string(r.size()) + " bytes");
    files[i].assign(r.begin() + static_cast<std::ptrdiff_t>(offset), r.begin() + static_cast<std::ptrdiff_t>(offset + bytes));
  }
  return files;
}

std::vector<unsigned char> truncate_idx(const std::vector<unsigned char>& idx, int n) {
  if (n <= 0 || idx.size() < 8) return idx;
  const unsigned dims = idx[3];
  if (idx.size() < 4 + 4 * std::size_t(dims) || dims == 0) return idx;
  const uint32_t count = be32(idx, 4);
  if (static_cast<uint32_t>(n) >= count) return idx;
  std::size_t record = 1;
  for (unsigned d = 1; d < dims; ++d) record *= be32(idx, 4 + 4 * d);
  const std::size_t header = 4 + 4 * std::size_t(dims);
  std::vector<unsigned char> out(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), header + record * n)));
  out[4] = static_cast<unsigned char>(n >> 24);
  out[5] = static_cast<unsigned char>(n >> 16);
  out[6] = static_cast<unsigned char>(n >> 8);
  out[7] = static_cast<unsigned char>(n);
  return out;
}

std::vector<unsigned char> pack_result(const std::string& json_text) {
  std::vector<unsigned char> out(kResultMagic, kResultMagic + 8);
  put<uint32_t>(out, static_cast<uint32_t>(json_text.size()));
  out.insert(out.end(), json_text.begin(), json_text.end());
  return out;
}

std::string unpack_result(const std::vector<unsigned char>& r) {
  if (r.size() < kResultHeader || std::memcmp(r.data(), kResultMagic, 8) != 0) throw JobFormatError("results: no \"TXSIMRES\" header");
  const uint32_t n = get<uint32_t>(r, 8);
  if (n > r.size() - kResultHeader) throw JobFormatError("results: " + std::to_string(n) + " bytes announced, " + std::to_string(r.size() - kResultHeader) + " present");
  return std::string(r.begin() + kResultHeader, r.begin() + kResultHeader + n);
}

}  // namespace txsim::hw
