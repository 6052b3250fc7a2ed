// The threads TxSim computes on, and the two ways it uses them: loops over independent items and
// GEMMs split into blocks. Both give every number the same at any thread count: an item or a
// block is computed whole by one thread, in the same order, and a GEMM's blocks depend on its
// shape alone. OpenBLAS itself always runs single-threaded (inside our blocks), because its own
// split of a GEMM depends on the thread count and changes the last bits of the results.
#pragma once

#include <cblas.h>

#include <cstddef>
#include <functional>

namespace txsim {

// The cores this process may run on (its CPU affinity).
int available_cores();
// The thread count: set_threads, else OMP_NUM_THREADS where valid, else available_cores().
int threads();
// 1..kMaxThreads; std::invalid_argument outside. Also keeps OpenMP's own default at one thread,
// so that a BLAS call outside our loops never splits itself.
void set_threads(int n);
constexpr int kMaxThreads = 256;

// While one lives, the parallel loops and GEMMs (and the exact circuit solve) called on this
// thread run on it alone, in order, as loops nested in a worker do: a thread that computes beside
// the pool's users (the Python package's background builds) takes no workers and waits for none.
// The numbers are those of any thread count.
class SerialOnThisThread {
 public:
  SerialOnThisThread();
  ~SerialOnThisThread();
  SerialOnThisThread(const SerialOnThisThread&) = delete;
  SerialOnThisThread& operator=(const SerialOnThisThread&) = delete;

 private:
  bool before_;
};
// The threads a loop called here may use: 1 under SerialOnThisThread or inside a worker, else threads().
int threads_here();

// body(begin, end) over [0, n) in chunks of about `grain` items, on threads() threads when there
// is more than one chunk. Each item must be computed independently of the chunk it falls in.
void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body);

// Row-major C = alpha op(A) op(B) + beta C, as cblas_sgemm, split into blocks of C's rows (or
// columns when it has few rows) that follow from (m, n, k) only.
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace txsim
