#include "txsim/parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
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

namespace {

// The pool behind parallel_for and gemm. Why not an OpenMP team: a team ends with a barrier, so
// on a machine where another process holds a core every loop waits for a descheduled worker
// (spinning makes it worse, sleeping makes every loop pay a wake-up: both measured). Here the
// caller takes chunks too and returns once every chunk is done; a worker that has not woken up
// by then is not waited for. Idle workers spin briefly, yielding the core to whatever else wants
// it, then sleep.
class Pool {
 public:
  static Pool& get() {
    static Pool pool;
    return pool;
  }

  // body(i) for i in [0, chunks), on up to `team` threads including the caller.
  void run(std::size_t chunks, int team, const std::function<void(std::size_t)>& body) {
    if (in_worker_ || team <= 1 || chunks <= 1 || chunks > kCountMask) {  // nested or serial: here, in order
      for (std::size_t i = 0; i < chunks; ++i) body(i);
      return;
    }
    std::lock_guard<std::mutex> one_at_a_time(run_mutex_);
    grow(team - 1);
    body_ = &body;
    wanted_.store(team - 1);
    const uint64_t gen = (generation(state_.load()) + 1) & kGenMask;
    state_.store(gen << 40 | static_cast<uint64_t>(chunks) << 20);  // publishes body_ (sequentially consistent)
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    work(gen);
    while (active_.load() != 0) std::this_thread::yield();
  }

 private:
  Pool() = default;
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      stop_.store(true);
      wake_.notify_all();
    }
    for (auto& t : workers_) t.join();
  }

  void grow(int workers) {
    while (static_cast<int>(workers_.size()) < workers) {
      const int id = static_cast<int>(workers_.size());
      workers_.emplace_back([this, id] { loop(id); });
    }
  }

  // The state word holds the job's generation, its chunk count and the next chunk to claim, so
  // that a claim is valid for exactly one job. A claimed chunk keeps its job (and body_) alive:
  // run() returns only when no claimed chunk is running.
  static constexpr uint64_t kGenMask = (uint64_t(1) << 24) - 1, kCountMask = (uint64_t(1) << 20) - 1;
  static uint64_t generation(uint64_t v) { return v >> 40; }

  // Claims and runs chunks of job `gen` until none is left.
  void work(uint64_t gen) {
    for (uint64_t v = state_.load();;) {
      const uint64_t chunks = (v >> 20) & kCountMask, next = v & kCountMask;
      if (generation(v) != gen || next >= chunks) return;
      if (state_.compare_exchange_weak(v, v + 1)) {
        (*body_)(next);
        v = state_.load();
      }
    }
  }

  void loop(int id) {
    in_worker_ = true;
    omp_set_num_threads(1);  // OpenBLAS called from here runs single-threaded
    uint64_t seen = 0;
    for (;;) {
      // Wait for a job newer than the last one seen: spin with yields for a while, then sleep.
      uint64_t gen = 0;
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      for (int spins = 0;; ++spins) {
        gen = generation(state_.load());
        if (gen != seen || stop_.load()) break;
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(sleep_mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return stop_.load() || generation(state_.load()) != seen; });
          sleepers_.fetch_sub(1);
          if (stop_) return;
          continue;
        }
        std::this_thread::yield();
      }
      if (stop_.load()) return;
      seen = gen;
      active_.fetch_add(1);
      // Joins job `gen` only if it still runs and wants this many helpers; a newer job is
      // picked up on the next turn.
      if (id < wanted_.load()) work(gen);
      active_.fetch_sub(1);
    }
  }

  static thread_local bool in_worker_;
  friend class txsim::SerialOnThisThread;
  friend int txsim::threads_here();
  std::mutex run_mutex_, sleep_mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> state_{0};  // generation (24 bits), chunks (20 bits), next chunk (20 bits)
  std::atomic<int> active_{0}, sleepers_{0}, wanted_{0};
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::atomic<bool> stop_{false};
};

thread_local bool Pool::in_worker_ = false;

}  // namespace

SerialOnThisThread::SerialOnThisThread() : before_(Pool::in_worker_) { Pool::in_worker_ = true; }
SerialOnThisThread::~SerialOnThisThread() { Pool::in_worker_ = before_; }

int threads_here() { return Pool::in_worker_ ? 1 : threads(); }

void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = std::min<std::size_t>((n + grain - 1) / grain, 4 * static_cast<std::size_t>(threads()));
  const std::size_t per = (n + chunks - 1) / chunks;
  Pool::get().run((n + per - 1) / per, threads(), [&](std::size_t i) { body(i * per, std::min(n, (i + 1) * per)); });
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
  if (blocks <= 1 && k < 2 * kUnit * wanted) {  // neither side of C nor the sum is worth splitting
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (blocks > 1) {
    const int per = kUnit * ((side + blocks * kUnit - 1) / (blocks * kUnit));
    Pool::get().run(blocks, threads(), [&](std::size_t block) {
      const int s0 = static_cast<int>(block) * per, len = std::min(per, side - s0);
      if (len <= 0) return;
      if (by_rows)
        cblas_sgemm(CblasRowMajor, ta, tb, len, n, k, alpha, a_at(s0, 0), lda, b, ldb, beta, c + static_cast<std::size_t>(s0) * ldc, ldc);
      else
        cblas_sgemm(CblasRowMajor, ta, tb, m, len, k, alpha, a, lda, b_at(0, s0), ldb, beta, c + s0, ldc);
    });
    return;
  }
  // ...or, when C is small and the sum long (a convolution's weight gradient), split the sum into
  // parts of fixed length, each into its own copy of C, added to C in order.
  const int per = kUnit * ((k + wanted * kUnit - 1) / (wanted * kUnit));
  const int parts = (k + per - 1) / per;
  std::vector<float> partial(static_cast<std::size_t>(parts) * m * n);
  Pool::get().run(parts, threads(), [&](std::size_t i) {
    const int k0 = static_cast<int>(i) * per, len = std::min(per, k - k0);
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, len, alpha, a_at(0, k0), lda, b_at(k0, 0), ldb, 0.0f,
                partial.data() + i * m * n, n);
  });
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float sum = 0;
      for (int p = 0; p < parts; ++p) sum += partial[(static_cast<std::size_t>(p) * m + i) * n + j];
      float& out = c[static_cast<std::size_t>(i) * ldc + j];
      out = beta == 0.0f ? sum : beta * out + sum;
    }
}

}  // namespace txsim
