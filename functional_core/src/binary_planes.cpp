#include "txsim/binary_planes.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "txsim/scratch_buffer.h"

namespace txsim {

void split_binary_planes(const float* digits, int rows, int lines, int dac_bits, bool is_signed, BinaryPlanes& out) {
  out.rows = rows;
  out.subplanes = dac_bits * (is_signed ? 2 : 1);
  out.chunks = (lines + kLookupBits - 1) / kLookupBits;
  out.coefficient.clear();
  for (int sign = 0; sign < (is_signed ? 2 : 1); ++sign)
    for (int bit = 0; bit < dac_bits; ++bit) out.coefficient.push_back((sign ? -1.0f : 1.0f) * std::ldexp(1.0f, bit));
  out.index.assign(static_cast<std::size_t>(rows) * out.subplanes * out.chunks, 0);
  for (int r = 0; r < rows; ++r) {
    const float* row = digits + static_cast<std::size_t>(r) * lines;
    uint8_t* idx = out.index.data() + static_cast<std::size_t>(r) * out.subplanes * out.chunks;
    for (int k = 0; k < lines; ++k) {
      const int v = static_cast<int>(row[k]);
      if (v == 0) continue;
      const int magnitude = v < 0 ? -v : v;
      const int sign = v < 0 ? 1 : 0;
      for (int bit = 0; bit < dac_bits; ++bit)
        if ((magnitude >> bit) & 1)
          idx[(sign * dac_bits + bit) * out.chunks + k / kLookupBits] |= static_cast<uint8_t>(1u << (k % kLookupBits));
    }
  }
}

namespace {

// Columns per table: one vector register's floats, so each lookup reads one whole cache line on
// AVX-512 (a 32-byte entry took a 64-byte line from L2 and used half of it: 16 columns per strip
// made the per-slice read 20-25% faster on a 2 MB-L2 AVX-512 core). A tile's tables for one strip
// (16 chunks of 256 entries: 128 KB with AVX2, 256 KB with AVX-512) then stay in L2 while every
// row looks them up; tables as wide as the whole 32-column block (512 KB) spilled to L3 on CPUs
// with a 512 KB L2, and the lookups waited on it.
#if defined(__AVX512F__)
constexpr int kStrip = 16;
#else
constexpr int kStrip = 8;
#endif
static_assert(kLookupWidth % kStrip == 0, "a lookup block is a whole number of strips");
typedef float strip_v __attribute__((vector_size(kStrip * sizeof(float)), aligned(4)));

inline strip_v load(const float* p) { return *reinterpret_cast<const strip_v*>(p); }
inline void store(float* p, strip_v v) { *reinterpret_cast<strip_v*>(p) = v; }

// Table of one chunk: entry v = the sum of the rows whose bit is set in v, added from the highest
// set bit down (entry v = entry (v without its lowest bit) + that bit's row). Eight entries at a
// time: entry 8u comes from the table, the seven above it from registers, in the same order.
void build_table(const strip_v* rows, float* t) {
  constexpr int entries = 1 << kLookupBits;
  static_assert(kLookupBits >= 3, "eight entries per step");
  const strip_v r0 = rows[0], r1 = rows[1], r2 = rows[2];
  for (int v = 0; v < entries; v += 8) {
    const strip_v e0 = v ? load(t + static_cast<std::size_t>(v & (v - 1)) * kStrip) + rows[__builtin_ctz(v)] : strip_v{};
    const strip_v e4 = e0 + r2, e2 = e0 + r1, e6 = e4 + r1;
    float* out = t + static_cast<std::size_t>(v) * kStrip;
    store(out, e0);
    store(out + 1 * kStrip, e0 + r0);
    store(out + 2 * kStrip, e2);
    store(out + 3 * kStrip, e2 + r0);
    store(out + 4 * kStrip, e4);
    store(out + 5 * kStrip, e4 + r0);
    store(out + 6 * kStrip, e6);
    store(out + 7 * kStrip, e6 + r0);
  }
}

// The sums of kRows consecutive rows over the sub-planes, one table entry per chunk. Per row,
// even and odd chunks add into separate accumulators; the rows' chains are independent, so
// 2 kRows table reads are in flight while each waits on L2.
template <int kRows>
inline void row_sums(const uint8_t* idx, std::size_t per_row, int subplanes, int chunks, const float* coefficient,
                     const float* table, float* c) {
  constexpr int entries = 1 << kLookupBits;
  auto entry = [&](int row, int sp, int ch) {
    return load(table + (static_cast<std::size_t>(ch) * entries + idx[row * per_row + sp * chunks + ch]) * kStrip);
  };
  strip_v out[kRows] = {};
  for (int sp = 0; sp < subplanes; ++sp) {
    strip_v a[kRows] = {}, b[kRows] = {};
    int ch = 0;
    for (; ch + 1 < chunks; ch += 2)
      for (int i = 0; i < kRows; ++i) {
        a[i] += entry(i, sp, ch);
        b[i] += entry(i, sp, ch + 1);
      }
    if (ch < chunks)
      for (int i = 0; i < kRows; ++i) a[i] += entry(i, sp, ch);
    for (int i = 0; i < kRows; ++i) out[i] += coefficient[sp] * (a[i] + b[i]);
  }
  for (int i = 0; i < kRows; ++i) store(c + static_cast<std::size_t>(i) * kLookupWidth, out[i]);
}

}  // namespace

void binary_plane_products(const BinaryPlanes& planes, const float* e, int lines, std::size_t ld, int width,
                           float* c, std::vector<float>& table) {
  constexpr int W = kStrip;
  constexpr int entries = 1 << kLookupBits;
  const int chunks = planes.chunks;
  const int subplanes = planes.subplanes;
  const std::size_t per_row = static_cast<std::size_t>(subplanes) * chunks;
  // Entries start on cache lines: an entry that straddles two lines costs two L2 reads, and large
  // vectors come from mmap 16 bytes past a page.
  constexpr std::size_t kLine = 64, kLineFloats = kLine / sizeof(float);
  grow_to(table, static_cast<std::size_t>(chunks) * entries * W + kLineFloats);
  float* const tables = table.data() + ((kLine - reinterpret_cast<std::uintptr_t>(table.data()) % kLine) % kLine) / sizeof(float);
  for (int col0 = 0; col0 < width; col0 += W) {
    const int strip_width = std::min(W, width - col0);
    for (int ch = 0; ch < chunks; ++ch) {
      // The chunk's rows of e, straight from e when whole; lines past the tile and columns past
      // the block count 0.
      strip_v rows[kLookupBits];
      for (int bit = 0; bit < kLookupBits; ++bit) {
        const int line = ch * kLookupBits + bit;
        const float* src = e + static_cast<std::size_t>(line) * ld + col0;
        if (line < lines && strip_width == W) {
          rows[bit] = load(src);
        } else {
          float padded[W] = {};
          if (line < lines) std::copy_n(src, strip_width, padded);
          rows[bit] = load(padded);
        }
      }
      build_table(rows, tables + static_cast<std::size_t>(ch) * entries * W);
    }
    // Four rows at a time, then the rest one by one.
    const uint8_t* index = planes.index.data();
    const float* coefficient = planes.coefficient.data();
    int r = 0;
    for (; r + 4 <= planes.rows; r += 4)
      row_sums<4>(index + r * per_row, per_row, subplanes, chunks, coefficient, tables,
                  c + static_cast<std::size_t>(r) * kLookupWidth + col0);
    for (; r < planes.rows; ++r)
      row_sums<1>(index + r * per_row, per_row, subplanes, chunks, coefficient, tables,
                  c + static_cast<std::size_t>(r) * kLookupWidth + col0);
  }
}

}  // namespace txsim
