// C = A B for the crossbar reads' shapes: many rows (a batch's samples or a convolution's
// positions), few columns (one tile's outputs, at most kNarrowGemmMaxColumns) and a short sum (one
// crossbar's rows). General SGEMM repacks the long A for each call and spends as long on it as on
// the products; here each row of A is read once, in place.
#pragma once

namespace txsim {

constexpr int kNarrowGemmMaxColumns = 64;
// Whether this build has the vector version (AVX-512); the portable one is correct but slower
// than SGEMM, so callers keep SGEMM without it. Where both run (SkylakeX OpenBLAS), their results
// are the same bits: both take each sum over k in order, one fused multiply-add per term.
#ifdef __AVX512F__
constexpr bool kNarrowGemmVectorized = true;
#else
constexpr bool kNarrowGemmVectorized = false;
#endif

// Row-major: C (m x n, row stride ldc) = A (m x k, lda) * B (k x n, ldb), with n <= 64. Each
// element is one running sum over k in ascending order, one fused multiply-add per term, starting
// from zero: the same result as a scalar loop of std::fma, on any machine.
void narrow_gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

// The same product in two steps, for callers that reuse one B over many blocks of rows: B
// packed once (k rows of narrow_packed_width(n) floats, zeros past n), then any rows of A against
// it. The results are narrow_gemm's, to the bit.
int narrow_packed_width(int n);
void pack_narrow(int n, int k, const float* b, int ldb, float* packed);
// Any number of columns as consecutive strips of kNarrowGemmMaxColumns (the last may be
// narrower), strip j0 / kNarrowGemmMaxColumns at packed + j0 * k, each packed as pack_narrow's.
void pack_narrow_strips(int n, int k, const float* b, int ldb, float* packed);
void narrow_gemm_packed(int m, int n, int k, const float* a, int lda, const float* packed, float* c, int ldc);

}  // namespace txsim
