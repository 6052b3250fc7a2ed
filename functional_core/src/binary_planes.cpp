#include "txsim/binary_planes.h"

#include <algorithm>
#include <cmath>

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

// Columns per table: one vector register's floats. A tile's tables for one such strip (16
// chunks of 256 entries: 128 KB with AVX2, 256 KB with AVX-512) then stay in L2 while every row
// looks them up; tables as wide as the whole 32-column block (512 KB) spilled to L3 on CPUs with
// a 512 KB L2, and the lookups waited on it.
#if defined(__AVX512F__)
constexpr int kStrip = 16;
#else
constexpr int kStrip = 8;
#endif
static_assert(kLookupWidth % kStrip == 0, "a lookup block is a whole number of strips");
typedef float strip_v __attribute__((vector_size(kStrip * sizeof(float)), aligned(4)));

inline strip_v load(const float* p) { return *reinterpret_cast<const strip_v*>(p); }
inline void store(float* p, strip_v v) { *reinterpret_cast<strip_v*>(p) = v; }

}  // namespace

void binary_plane_products(const BinaryPlanes& planes, const float* e, int lines, std::size_t ld, int width,
                           float* c, std::vector<float>& table) {
  constexpr int W = kStrip;
  constexpr int entries = 1 << kLookupBits;
  const int chunks = planes.chunks;
  const int subplanes = planes.subplanes;
  table.resize(static_cast<std::size_t>(chunks) * entries * W);
  for (int col0 = 0; col0 < width; col0 += W) {
    const int strip_width = std::min(W, width - col0);
    // Table ch: entry v = sum of the rows of e whose bit is set in v (lines past the tile and
    // columns past the block count 0).
    for (int ch = 0; ch < chunks; ++ch) {
      float* t = table.data() + static_cast<std::size_t>(ch) * entries * W;
      float rows[kLookupBits][W] = {};
      for (int bit = 0; bit < kLookupBits && ch * kLookupBits + bit < lines; ++bit)
        std::copy_n(e + static_cast<std::size_t>(ch * kLookupBits + bit) * ld + col0, strip_width, rows[bit]);
      std::fill(t, t + W, 0.0f);
      for (int v = 1; v < entries; ++v)
        store(t + static_cast<std::size_t>(v) * W, load(t + static_cast<std::size_t>(v & (v - 1)) * W) + load(rows[__builtin_ctz(v)]));
    }
    // Each row sums one table entry per chunk; even and odd chunks in separate accumulators so
    // that the adds do not wait on each other.
    for (int r = 0; r < planes.rows; ++r) {
      const uint8_t* idx = planes.index.data() + static_cast<std::size_t>(r) * subplanes * chunks;
      strip_v out = {};
      for (int sp = 0; sp < subplanes; ++sp) {
        const uint8_t* id = idx + sp * chunks;
        strip_v a = {}, b = {};
        int ch = 0;
        for (; ch + 1 < chunks; ch += 2) {
          a += load(table.data() + (static_cast<std::size_t>(ch) * entries + id[ch]) * W);
          b += load(table.data() + (static_cast<std::size_t>(ch + 1) * entries + id[ch + 1]) * W);
        }
        if (ch < chunks) a += load(table.data() + (static_cast<std::size_t>(ch) * entries + id[ch]) * W);
        out += planes.coefficient[sp] * (a + b);
      }
      store(c + static_cast<std::size_t>(r) * kLookupWidth + col0, out);
    }
  }
}

}  // namespace txsim
