#include "txsim/parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <omp.h>

namespace txsim {

namespace {

std::atomic<int> g_threads{0};  // 0: not chosen yet

int initial_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= kMaxThreads) return static_cast<int>(v);
  }
  return std::min(available_cores(), kMaxThreads);
}

// The multiply-adds of one GEMM block: about 10 us of single-threaded SGEMM, several times a
// parallel region's start and end.
constexpr double kBlockWork = 1 << 18;
constexpr int kMaxBlocks = 16;

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

int threads() {
  int t = g_threads.load(std::memory_order_relaxed);
  if (t == 0) {
    set_threads(initial_threads());
    t = g_threads.load(std::memory_order_relaxed);
  }
  return t;
}

void set_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("threads " + std::to_string(n) + ": accepted 1.." + std::to_string(kMaxThreads));
  g_threads.store(n, std::memory_order_relaxed);
  omp_set_num_threads(1);
}

void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = (n + grain - 1) / grain;
  const int team = static_cast<int>(std::min<std::size_t>(chunks, static_cast<std::size_t>(threads())));
  if (team <= 1) {
    body(0, n);
    return;
  }
  // As many chunks as threads, of equal size: static, so each thread touches one contiguous range.
  const std::size_t per = (n + team - 1) / team;
#pragma omp parallel for num_threads(team) schedule(static, 1)
  for (int t = 0; t < team; ++t) {
    const std::size_t begin = std::min(n, t * per), end = std::min(n, begin + per);
    if (begin < end) body(begin, end);
  }
}

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  const double work = double(m) * n * k;
  const int wanted = static_cast<int>(std::clamp(work / kBlockWork, 1.0, double(kMaxBlocks)));
  if (wanted <= 1) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Element (i, j) of op(A) is a[i * lda + j] untransposed, a[j * lda + i] transposed; likewise B.
  auto a_at = [&](int i, int j) { return ta == CblasNoTrans ? a + static_cast<std::size_t>(i) * lda + j : a + static_cast<std::size_t>(j) * lda + i; };
  auto b_at = [&](int i, int j) { return tb == CblasNoTrans ? b + static_cast<std::size_t>(i) * ldb + j : b + static_cast<std::size_t>(j) * ldb + i; };
  // Split the longer side of C, in multiples of 16 (the kernels' widest tile)...
  constexpr int kUnit = 16;
  const bool by_rows = m >= n;
  const int side = by_rows ? m : n;
  const int blocks = std::min(wanted, std::max(1, side / kUnit));
  if (blocks > 1 || k < 2 * kUnit * wanted) {
    const int per = kUnit * ((side + blocks * kUnit - 1) / (blocks * kUnit));
#pragma omp parallel for num_threads(std::min(blocks, threads())) schedule(dynamic, 1)
    for (int i = 0; i < blocks; ++i) {
      const int s0 = i * per, len = std::min(per, side - s0);
      if (len <= 0) continue;
      if (by_rows)
        cblas_sgemm(CblasRowMajor, ta, tb, len, n, k, alpha, a_at(s0, 0), lda, b, ldb, beta, c + static_cast<std::size_t>(s0) * ldc, ldc);
      else
        cblas_sgemm(CblasRowMajor, ta, tb, m, len, k, alpha, a, lda, b_at(0, s0), ldb, beta, c + s0, ldc);
    }
    return;
  }
  // ...or, when C is small and the sum long (a convolution's weight gradient), split the sum into
  // parts of fixed length, each into its own copy of C, added to C in order.
  const int per = kUnit * ((k + wanted * kUnit - 1) / (wanted * kUnit));
  const int parts = (k + per - 1) / per;
  std::vector<float> partial(static_cast<std::size_t>(parts) * m * n);
#pragma omp parallel for num_threads(std::min(parts, threads())) schedule(dynamic, 1)
  for (int i = 0; i < parts; ++i) {
    const int k0 = i * per, len = std::min(per, k - k0);
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, len, alpha, a_at(0, k0), lda, b_at(k0, 0), ldb, 0.0f,
                partial.data() + static_cast<std::size_t>(i) * m * n, n);
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float sum = 0;
      for (int p = 0; p < parts; ++p) sum += partial[(static_cast<std::size_t>(p) * m + i) * n + j];
      float& out = c[static_cast<std::size_t>(i) * ldc + j];
      out = beta == 0.0f ? sum : beta * out + sum;
    }
}

}  // namespace txsim
