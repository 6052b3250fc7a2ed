#include "txsim/narrow_gemm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "txsim/scratch_buffer.h"

namespace txsim {

namespace {

constexpr int kVector = 16;  // columns per accumulator group (one AVX-512 register of floats)

// Rows [r0, r0 + R) of C, with B packed into W columns (zeros past n). R rows share each load of
// B's row; the R x W accumulators stay in registers. Both versions do one fused multiply-add per
// term (std::fma rounds once whatever the compiler's contraction setting).
template <int R, int W>
void rows_block(int r0, int n, int k, const float* a, int lda, const float* packed, float* c, int ldc) {
#ifdef __AVX512F__
  constexpr int V = W / kVector;
  __m512 acc[R][V];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
  const float* a_rows[R];
  for (int i = 0; i < R; ++i) a_rows[i] = a + static_cast<long>(r0 + i) * lda;
  for (int p = 0; p < k; ++p) {
    __m512 b_row[V];
    for (int v = 0; v < V; ++v) b_row[v] = _mm512_loadu_ps(packed + static_cast<long>(p) * W + v * kVector);
    for (int i = 0; i < R; ++i) {
      const __m512 x = _mm512_set1_ps(a_rows[i][p]);
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(x, b_row[v], acc[i][v]);
    }
  }
  for (int i = 0; i < R; ++i) {
    float* row = c + static_cast<long>(r0 + i) * ldc;
    for (int v = 0; v < V; ++v) {
      const int left = n - v * kVector;
      if (left <= 0) break;
      const __mmask16 mask = left >= kVector ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      _mm512_mask_storeu_ps(row + v * kVector, mask, acc[i][v]);
    }
  }
#else
  float acc[R][W] = {};
  const float* a_rows[R];
  for (int i = 0; i < R; ++i) a_rows[i] = a + static_cast<long>(r0 + i) * lda;
  for (int p = 0; p < k; ++p) {
    const float* __restrict b_row = packed + static_cast<long>(p) * W;
    for (int i = 0; i < R; ++i) {
      const float x = a_rows[i][p];
      for (int j = 0; j < W; ++j) acc[i][j] = std::fma(x, b_row[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i) std::copy(acc[i], acc[i] + n, c + static_cast<long>(r0 + i) * ldc);
#endif
}

template <int W>
void all_rows(int m, int n, int k, const float* a, int lda, const float* packed, float* c, int ldc) {
  // 16-24 accumulators: enough independent chains to cover the fused multiply-add's latency,
  // with B's row and A's broadcast still in registers.
  constexpr int kRows = W <= 16 ? 16 : W <= 32 ? 12 : W <= 48 ? 8 : 6;
  int r = 0;
  for (; r + kRows <= m; r += kRows) rows_block<kRows, W>(r, n, k, a, lda, packed, c, ldc);
  for (; r + 2 <= m; r += 2) rows_block<2, W>(r, n, k, a, lda, packed, c, ldc);
  for (; r < m; ++r) rows_block<1, W>(r, n, k, a, lda, packed, c, ldc);
}

void check_shape(int m, int n, int k) {
  if (n < 1 || n > kNarrowGemmMaxColumns || m < 0 || k < 0)
    throw std::invalid_argument("narrow_gemm: " + std::to_string(m) + " x " + std::to_string(n) + " x " +
                                std::to_string(k) + " (columns 1.." + std::to_string(kNarrowGemmMaxColumns) + ")");
}

}  // namespace

int narrow_packed_width(int n) { return kVector * ((n + kVector - 1) / kVector); }

void pack_narrow(int n, int k, const float* b, int ldb, float* packed) {
  check_shape(0, n, k);
  const int width = narrow_packed_width(n);
  for (int p = 0; p < k; ++p) {
    std::copy(b + static_cast<long>(p) * ldb, b + static_cast<long>(p) * ldb + n, packed + static_cast<long>(p) * width);
    std::fill(packed + static_cast<long>(p) * width + n, packed + static_cast<long>(p + 1) * width, 0.0f);
  }
}

void pack_narrow_strips(int n, int k, const float* b, int ldb, float* packed) {
  if (n < 1 || k < 0) throw std::invalid_argument("pack_narrow_strips: " + std::to_string(n) + " columns, " + std::to_string(k) + " rows");
  // Row by row, so that each row of B is read in one run (B's rows are often a page apart).
  for (int p = 0; p < k; ++p) {
    const float* row = b + static_cast<long>(p) * ldb;
    for (int j0 = 0; j0 < n; j0 += kNarrowGemmMaxColumns) {
      const int w = std::min(kNarrowGemmMaxColumns, n - j0), width = narrow_packed_width(w);
      float* out = packed + static_cast<long>(j0) * k + static_cast<long>(p) * width;
      std::copy(row + j0, row + j0 + w, out);
      std::fill(out + w, out + width, 0.0f);
    }
  }
}

void narrow_gemm_packed(int m, int n, int k, const float* a, int lda, const float* packed, float* c, int ldc) {
  check_shape(m, n, k);
  switch (narrow_packed_width(n)) {
    case 16: return all_rows<16>(m, n, k, a, lda, packed, c, ldc);
    case 32: return all_rows<32>(m, n, k, a, lda, packed, c, ldc);
    case 48: return all_rows<48>(m, n, k, a, lda, packed, c, ldc);
    default: return all_rows<64>(m, n, k, a, lda, packed, c, ldc);
  }
}

void narrow_gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  check_shape(m, n, k);
  // B packed contiguous, zero-padded to whole vectors (a crossbar's rows x 64 columns: a few KiB,
  // kept in L1).
  thread_local std::vector<float> packed;
  grow_to(packed, static_cast<std::size_t>(k) * narrow_packed_width(n));
  pack_narrow(n, k, b, ldb, packed.data());
  narrow_gemm_packed(m, n, k, a, lda, packed.data(), c, ldc);
}

}  // namespace txsim
