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

// 16 floats, loaded and stored unaligned: GCC/Clang lower it to one AVX-512 register, or two or
// four narrower ones on other machines.
typedef float f16v __attribute__((vector_size(64), aligned(4)));
static_assert(kLookupWidth == 32, "the kernel below holds one table row in two 16-float vectors");

inline f16v load(const float* p) { return *reinterpret_cast<const f16v*>(p); }
inline void store(float* p, f16v v) { *reinterpret_cast<f16v*>(p) = v; }

}  // namespace

void binary_plane_products(const BinaryPlanes& planes, const float* e, int lines, std::size_t ld, int width,
                           float* c, std::vector<float>& table) {
  constexpr int W = kLookupWidth;
  constexpr int entries = 1 << kLookupBits;
  const int chunks = planes.chunks;
  table.resize(static_cast<std::size_t>(chunks) * entries * W);
  // Table ch: entry v = sum of the rows of e whose bit is set in v (lines past the tile count 0).
  for (int ch = 0; ch < chunks; ++ch) {
    float* t = table.data() + static_cast<std::size_t>(ch) * entries * W;
    float rows[kLookupBits][W] = {};
    for (int bit = 0; bit < kLookupBits && ch * kLookupBits + bit < lines; ++bit)
      std::copy_n(e + static_cast<std::size_t>(ch * kLookupBits + bit) * ld, width, rows[bit]);
    std::fill(t, t + W, 0.0f);
    for (int v = 1; v < entries; ++v) {
      const float* prev = t + static_cast<std::size_t>(v & (v - 1)) * W;
      const float* row = rows[__builtin_ctz(v)];
      float* cur = t + static_cast<std::size_t>(v) * W;
      store(cur, load(prev) + load(row));
      store(cur + 16, load(prev + 16) + load(row + 16));
    }
  }
  // Each row sums one table entry per chunk; even and odd chunks in separate accumulators so
  // that the adds do not wait on each other.
  const int subplanes = planes.subplanes;
  for (int r = 0; r < planes.rows; ++r) {
    const uint8_t* idx = planes.index.data() + static_cast<std::size_t>(r) * subplanes * chunks;
    f16v out0 = {}, out1 = {};
    for (int sp = 0; sp < subplanes; ++sp) {
      const uint8_t* id = idx + sp * chunks;
      f16v a0 = {}, a1 = {}, b0 = {}, b1 = {};
      int ch = 0;
      for (; ch + 1 < chunks; ch += 2) {
        const float* ta = table.data() + (static_cast<std::size_t>(ch) * entries + id[ch]) * W;
        const float* tb = table.data() + (static_cast<std::size_t>(ch + 1) * entries + id[ch + 1]) * W;
        a0 += load(ta);
        a1 += load(ta + 16);
        b0 += load(tb);
        b1 += load(tb + 16);
      }
      if (ch < chunks) {
        const float* ta = table.data() + (static_cast<std::size_t>(ch) * entries + id[ch]) * W;
        a0 += load(ta);
        a1 += load(ta + 16);
      }
      const float coef = planes.coefficient[sp];
      out0 += coef * (a0 + b0);
      out1 += coef * (a1 + b1);
    }
    store(c + static_cast<std::size_t>(r) * W, out0);
    store(c + static_cast<std::size_t>(r) * W + 16, out1);
  }
}

}  // namespace txsim
