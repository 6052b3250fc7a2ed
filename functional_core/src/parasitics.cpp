#include "txsim/parallel.h"
#include "txsim/parasitics.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

extern "C" {  // LAPACK, from the same OpenBLAS
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}

namespace txsim {
namespace {

std::string show(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Every model is written for the forward read. The backward read is the forward read of the
// array seen from its bit lines: driven line r' = cols-1-j, position along it c' = rows-1-i
// (the bit-line driver sits at row rows-1, the word-line sense amplifier at column 0).
struct Frame {
  int rows, cols;
  std::vector<double> g;
};

// The frame's conductances into f (sized here; its buffer is reused).
void fill_backward_frame(const double* g, int rows, int cols, Frame& f) {
  f.rows = cols;
  f.cols = rows;
  f.g.resize(static_cast<std::size_t>(rows) * cols);
  // In 8 x 8 blocks: both sides' cache lines stay in L1 while a block is turned.
  for (int r0 = 0; r0 < f.rows; r0 += 8)
    for (int c0 = 0; c0 < f.cols; c0 += 8)
      for (int r = r0; r < std::min(f.rows, r0 + 8); ++r)
        for (int c = c0; c < std::min(f.cols, c0 + 8); ++c)
          f.g[static_cast<std::size_t>(r) * f.cols + c] = g[static_cast<std::size_t>(rows - 1 - c) * cols + cols - 1 - r];
}

Frame backward_frame(const double* g, int rows, int cols) {
  Frame f{0, 0, {}};
  fill_backward_frame(g, rows, cols, f);
  return f;
}

// eff[i][j] (backward convention) from the frame's forward matrix e[r'][c'].
void from_backward_frame(const std::vector<double>& e, int rows, int cols, double* eff) {
  for (int i0 = 0; i0 < rows; i0 += 8)  // in 8 x 8 blocks, as above
    for (int j0 = 0; j0 < cols; j0 += 8)
      for (int i = i0; i < std::min(rows, i0 + 8); ++i)
        for (int j = j0; j < std::min(cols, j0 + 8); ++j)
          eff[static_cast<std::size_t>(i) * cols + j] = e[static_cast<std::size_t>(cols - 1 - j) * rows + rows - 1 - i];
}

// In-place inverse of the symmetric positive definite n x n matrix a (column-major, both
// triangles in and out). Blocks [[A, B^T], [B, D]]: A^-1 recursively, X = B A^-1, the Schur
// complement D - X B^T inverted recursively, then the blocks of the inverse by three GEMMs.
// 4/3 n^3 flops in GEMMs, where LAPACK's potri spends most of its time in level-2 kernels at
// these sizes (OpenBLAS: 177 us for n = 128 against about 80 here). Returns LAPACK's info.
int spd_inverse(double* a, int n, int lda) {
  if (n <= 32) {
    int info = 0;
    dpotrf_("L", &n, a, &lda, &info);
    if (info == 0) dpotri_("L", &n, a, &lda, &info);
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < k; ++j) a[static_cast<std::size_t>(k) * lda + j] = a[static_cast<std::size_t>(j) * lda + k];
    return info;
  }
  const int n1 = n / 2, n2 = n - n1;
  double* A = a;
  double* B = a + n1;                                   // n2 x n1, below A
  double* Bt = a + static_cast<std::size_t>(n1) * lda;  // n1 x n2, right of A
  double* D = Bt + n1;
  int info = spd_inverse(A, n1, lda);
  if (info != 0) return info;
  std::vector<double> x(static_cast<std::size_t>(n2) * n1);  // X = B A^-1, n2 x n1
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n2, n1, n1, 1.0, B, lda, A, lda, 0.0, x.data(), n2);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n2, n2, n1, -1.0, x.data(), n2, Bt, lda, 1.0, D, lda);
  info = spd_inverse(D, n2, lda);
  if (info != 0) return info + n1;
  // Lower-left = -Sc^-1 X; top-left = A^-1 - X^T (lower-left); top-right = its transpose.
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n2, n1, n2, -1.0, D, lda, x.data(), n2, 0.0, B, lda);
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n1, n1, n2, -1.0, x.data(), n2, B, lda, 1.0, A, lda);
  for (int k = 0; k < n2; ++k)
    for (int j = 0; j < n1; ++j) Bt[static_cast<std::size_t>(k) * lda + j] = B[static_cast<std::size_t>(j) * lda + k];
  return 0;
}

// Exact forward matrix: eff[i][j] = dI_j / dV_i. With w_i, b_i the word- and bit-line node
// voltages of row i, KCL reads T_i w_i - G_i b_i = gs V_i e_0 on the word line (T_i tridiagonal)
// and (G_i + L_i) b_i - G_i w_i - gw (b_{i-1} + b_{i+1}) = 0 on the bit lines. Eliminating w_i
// leaves B_i b_i - gw (b_{i-1} + b_{i+1}) = f_i V_i with B_i = G_i + L_i - G_i T_i^-1 G_i and
// f_i = gs G_i T_i^-1 e_0; sweeping rows 0..R-1 gives S_i = B_i - gw^2 S_{i-1}^-1 and a right-hand
// side M_i V with M_i = [gw S_{i-1}^-1 M_{i-1}, f_i]. The outputs are gk b_{R-1} = gk S_{R-1}^-1 M V.
//
// Work per row: the inverse of S_i (about C^3 flops) and the update of M (2 C^2 i flops). Both
// read only S_{i-1}^-1, so two threads run them side by side, one row apart, with the update's
// columns split so that each thread gets half of the row's work (BLAS runs single-threaded inside
// our parallel region). With one thread (a caller already in a parallel region) it runs serially.
class ExactSweep {
 public:
  ExactSweep(const double* g, int R, int C, const Parasitics& p)
      : g_(g), R_(R), C_(C), gw_(1 / p.wire_ohm), gs_(1 / p.source_ohm), gk_(1 / p.sink_ohm),
        cc_(static_cast<std::size_t>(C) * C), inv_{std::vector<double>(cc_), std::vector<double>(cc_)},
        m_(static_cast<std::size_t>(C) * R), x_(cc_), d_(C), l_(C) {}

  void run(double* eff) {
    bool failed = false;
    int failed_row = -1, failed_info = 0;
#pragma omp parallel num_threads(std::min(2, threads_here()))
    {
      const int threads = omp_get_num_threads(), me = omp_get_thread_num();
      for (int i = 0; i < R_; ++i) {
        const std::vector<double>& prev = inv_[(i + 1) % 2];  // S_{i-1}^-1
        // Columns [0, split) of the update go with the inverse; [split, i) to the other thread.
        const int split = threads == 1 ? i : std::clamp(i / 2 - C_ / 4, 0, i);
        if (me == 0) {
          const int info = invert_row(i, prev, inv_[i % 2]);
          if (info != 0 && !failed) {
            failed = true;
            failed_row = i;
            failed_info = info;
          }
          if (i > 0) update(prev, 0, split);
        }
        if (me == threads - 1 && i > 0) update(prev, split, i);
#pragma omp barrier
      }
      if (me == 0 && !failed)  // column-major C x R with leading dimension C is row-major R x C
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, C_, R_, C_, gk_, inv_[(R_ - 1) % 2].data(), C_,
                    m_.data(), C_, 0.0, eff, C_);
    }
    if (failed)
      throw std::runtime_error("exact parasitic solve: the nodal system of row " + std::to_string(failed_row) +
                               " is not positive definite (LAPACK info " + std::to_string(failed_info) + ")");
  }

 private:
  // S_i from row i's word line and S_{i-1}^-1; writes f_i into M's column i and S_i^-1 into out.
  int invert_row(int i, const std::vector<double>& prev, std::vector<double>& out) {
    const int C = C_;
    const double gw = gw_;
    const double* gi = g_ + static_cast<std::size_t>(i) * C;
    // LDL^T of the word line's tridiagonal T (off-diagonals -gw), then its inverse column by column.
    for (int j = 0; j < C; ++j) {
      const double diag = gi[j] + gw * ((j > 0) + (j < C - 1)) + (j == 0 ? gs_ : 0.0);
      l_[j] = j > 0 ? -gw / d_[j - 1] : 0.0;
      d_[j] = j > 0 ? diag - gw * gw / d_[j - 1] : diag;
    }
    for (int j = 0; j < C; ++j) d_[j] = 1 / d_[j];
    // X = T^-1 (symmetric) by L D L^T solves of all unit vectors at once, vectorized across them:
    // row j of X holds element j of every solution.
    for (int j = 0; j < C; ++j) {  // L y = e_k
      double* row = x_.data() + static_cast<std::size_t>(j) * C;
      const double* above = row - C;
      for (int k = 0; k < j; ++k) row[k] = -l_[j] * above[k];
      row[j] = 1.0;
      std::fill(row + j + 1, row + C, 0.0);
    }
    for (int j = 0; j < C; ++j) {  // z = D^-1 y
      double* row = x_.data() + static_cast<std::size_t>(j) * C;
      for (int k = 0; k <= j; ++k) row[k] *= d_[j];
    }
    for (int j = C - 2; j >= 0; --j) {
      double* row = x_.data() + static_cast<std::size_t>(j) * C;
      const double* below = row + C;
      for (int k = 0; k < C; ++k) row[k] -= l_[j + 1] * below[k];  // L^T x = z
    }
    const double line = gw * ((i > 0) + (i < R_ - 1)) + (i == R_ - 1 ? gk_ : 0.0);
    const double couple = i > 0 ? gw * gw : 0.0;
    // S_i into `out`, inverted in place.
    for (int k = 0; k < C; ++k) {
      const std::size_t c0 = static_cast<std::size_t>(k) * C;
      for (int j = 0; j < C; ++j) out[c0 + j] = -gi[j] * x_[c0 + j] * gi[k] - couple * prev[c0 + j];
      out[c0 + k] += gi[k] + line;
    }
    for (int j = 0; j < C; ++j) m_[static_cast<std::size_t>(i) * C + j] = gs_ * gi[j] * x_[j];  // f_i
    return spd_inverse(out.data(), C, C);
  }

  // M's columns [c0, c1) <- gw S_{i-1}^-1 M's columns [c0, c1).
  void update(const std::vector<double>& prev, int c0, int c1) {
    if (c1 <= c0) return;
    std::vector<double>& tmp = tmp_[omp_get_thread_num() % 2];
    const std::size_t n = static_cast<std::size_t>(C_) * (c1 - c0);
    tmp.resize(n);
    double* cols = m_.data() + static_cast<std::size_t>(c0) * C_;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, C_, c1 - c0, C_, gw_, prev.data(), C_, cols, C_, 0.0,
                tmp.data(), C_);
    std::copy_n(tmp.data(), n, cols);
  }

  const double* g_;
  int R_, C_;
  double gw_, gs_, gk_;
  std::size_t cc_;
  std::vector<double> inv_[2];  // S_i^-1 by row parity
  std::vector<double> m_;       // column-major C x R
  std::vector<double> x_, d_, l_;
  std::vector<double> tmp_[2];
};

void exact_forward(const double* g, int R, int C, const Parasitics& p, double* eff) { ExactSweep(g, R, C, p).run(eff); }

// One Jacobi step from the ideal currents I_ij = g_ij V_i: the word-line node of (i, j) drops by
// V_i a_ij (source resistance under the row's whole current, each wire segment under the
// currents of the cells beyond it), the bit-line node rises by sum_i' c(i, i') g_i'j V_i' with
// c = Rk + Rw (R - 1 - max(i, i')) (the segments that both currents share on their way down).
void first_order_forward(const double* g, int R, int C, const Parasitics& p, double* eff) {
  const double rs = p.source_ohm, rk = p.sink_ohm, rw = p.wire_ohm;
  const std::size_t cells = static_cast<std::size_t>(R) * C;
  // Scratch kept per thread (this runs after every reprogramming of every crossbar).
  thread_local std::vector<double> a, prefix, below, tail;
  a.resize(cells);
  prefix.resize(cells);
  below.resize(cells);
  // Per row i: tail[j] = sum of g[i][j..C), and the word line's drop a[i][j] = rs tail[0] +
  // rw (tail[1] + ... + tail[j]). Each row is two chains of dependent adds, so eight rows go
  // side by side (the same sums per row, in the same order).
  constexpr int kRows = 8;
  tail.resize(static_cast<std::size_t>(kRows) * (C + 1));
  for (int i0 = 0; i0 < R; i0 += kRows) {
    const int rows = std::min(kRows, R - i0);
    double acc[kRows] = {};
    for (int r = 0; r < rows; ++r) tail[static_cast<std::size_t>(r) * (C + 1) + C] = 0;
    for (int j = C - 1; j >= 0; --j)
      for (int r = 0; r < rows; ++r) {
        acc[r] = acc[r] + g[static_cast<std::size_t>(i0 + r) * C + j];
        tail[static_cast<std::size_t>(r) * (C + 1) + j] = acc[r];
      }
    for (int r = 0; r < rows; ++r) {
      acc[r] = rs * tail[static_cast<std::size_t>(r) * (C + 1)];
      a[static_cast<std::size_t>(i0 + r) * C] = acc[r];
    }
    for (int j = 1; j < C; ++j)
      for (int r = 0; r < rows; ++r) {
        acc[r] += rw * tail[static_cast<std::size_t>(r) * (C + 1) + j];
        a[static_cast<std::size_t>(i0 + r) * C + j] = acc[r];
      }
  }
  // Per column j: prefix[i] = sum of g over rows 0..i, below[i] = sum over rows i' > i of
  // g (R - 1 - i'); computed a row at a time (the same sums in the same order as per column).
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      const std::size_t at = static_cast<std::size_t>(i) * C + j;
      prefix[at] = (i ? prefix[at - C] : 0.0) + g[at];
    }
  for (int i = R - 1; i >= 0; --i)
    for (int j = 0; j < C; ++j) {
      const std::size_t at = static_cast<std::size_t>(i) * C + j;
      below[at] = i == R - 1 ? 0.0 : below[at + C] + g[at + C] * (R - 2 - i);
    }
  const double* total = prefix.data() + static_cast<std::size_t>(R - 1) * C;
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      const std::size_t at = static_cast<std::size_t>(i) * C + j;
      const double h = rk * total[j] + rw * ((R - 1 - i) * prefix[at] + below[at]);
      eff[at] = g[at] / (1 + a[at] + h);
    }
}

void short_path_forward(const double* g, int R, int C, const Parasitics& p, double* eff) {
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      const std::size_t at = static_cast<std::size_t>(i) * C + j;
      eff[at] = 1 / (1 / g[at] + p.source_ohm + p.sink_ohm + p.wire_ohm * (j + R - 1 - i));
    }
}

void forward_model(ParasiticModel model, const double* g, int R, int C, const Parasitics& p, double* eff) {
  switch (model) {
    case ParasiticModel::None: std::copy_n(g, static_cast<std::size_t>(R) * C, eff); return;
    case ParasiticModel::Exact: exact_forward(g, R, C, p, eff); return;
    case ParasiticModel::FirstOrder: first_order_forward(g, R, C, p, eff); return;
    case ParasiticModel::ShortPath: short_path_forward(g, R, C, p, eff); return;
  }
}

}  // namespace

void check_parasitics(const Parasitics& p, const std::string& where) {
  const std::pair<const char*, double> fields[] = {
      {"source_ohm", p.source_ohm}, {"sink_ohm", p.sink_ohm}, {"wire_ohm", p.wire_ohm}};
  for (const auto& [field, v] : fields)
    if (!(v > 0 && std::isfinite(v)))
      throw std::invalid_argument(where + ": field '" + field + "' = " + show(v) +
                                  ": accepted ohms > 0 (finite; for no parasitics use the ideal circuit)");
}

double IvModel::current(double g, double v) const {
  return kind == IvKind::Linear ? g * v : g * std::sinh(a * v) / a;
}
double IvModel::slope(double g, double v) const { return kind == IvKind::Linear ? g : g * std::cosh(a * v); }
double IvModel::secant(double g, double v) const {
  if (kind == IvKind::Linear || v == 0) return g;
  return g * std::sinh(a * v) / (a * v);
}

IvModel IvModel::parse(const std::string& text, const std::string& where) {
  if (text == "linear") return {};
  if (text.rfind("sinh:", 0) == 0) {
    std::size_t used = 0;
    double a = 0;
    try {
      a = std::stod(text.substr(5), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used > 0 && used == text.size() - 5 && a > 0 && a <= 1000) return {IvKind::Sinh, a};
  }
  throw std::invalid_argument(where + ": '" + text +
                              "': accepted \"linear\" or \"sinh:A\" with A in (0, 1000] per volt "
                              "(I = g sinh(A V) / A)");
}

std::string IvModel::str() const { return kind == IvKind::Linear ? "linear" : "sinh:" + show(a); }

const char* name(ParasiticModel m) {
  switch (m) {
    case ParasiticModel::None: return "ideal";
    case ParasiticModel::Exact: return "exact";
    case ParasiticModel::FirstOrder: return "first_order";
    case ParasiticModel::ShortPath: return "short_path";
  }
  return "?";
}

void effective_matrix(ParasiticModel model, const double* g, int rows, int cols, Direction dir, const Parasitics& p,
                      double* eff) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("effective_matrix: rows and cols must be >= 1");
  if (model != ParasiticModel::None) check_parasitics(p, "effective_matrix");
  const std::size_t cells = static_cast<std::size_t>(rows) * cols;
  // Branch-free over the cells, in an int so that it vectorizes (it runs on every rebuild); NaN
  // fails both comparisons.
  const double highest = std::numeric_limits<double>::max();
  int bad = 0;
  for (std::size_t k = 0; k < cells; ++k) bad |= !((g[k] > 0) & (g[k] <= highest));
  if (bad)
    for (std::size_t k = 0; k < cells; ++k)
      if (!(g[k] > 0 && std::isfinite(g[k])))
        throw std::invalid_argument("effective_matrix: conductance " + std::to_string(k) + " = " + show(g[k]) +
                                    ": accepted siemens > 0");
  if (dir == Direction::Forward) {
    forward_model(model, g, rows, cols, p, eff);
  } else {
    // The frame and its solve in buffers kept per thread (this runs on every rebuild).
    thread_local Frame f{0, 0, {}};
    thread_local std::vector<double> e;
    fill_backward_frame(g, rows, cols, f);
    e.resize(cells);
    forward_model(model, f.g.data(), f.rows, f.cols, p, e.data());
    from_backward_frame(e, rows, cols, eff);
  }
}

std::vector<double> sensed_currents(const std::vector<double>& eff, int rows, int cols, Direction dir,
                                    const std::vector<double>& inputs) {
  const bool fwd = dir == Direction::Forward;
  if (static_cast<int>(inputs.size()) != (fwd ? rows : cols) || eff.size() != static_cast<std::size_t>(rows) * cols)
    throw std::invalid_argument("sensed_currents: shapes do not match");
  std::vector<double> out(fwd ? cols : rows, 0.0);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const double e = eff[static_cast<std::size_t>(i) * cols + j];
      if (fwd) out[j] += e * inputs[i];
      else out[i] += e * inputs[j];
    }
  return out;
}

// ---- Nodal solve --------------------------------------------------------------------------------

struct NodalCrossbar::Impl {
  Frame frame;  // the forward frame: inputs drive its rows, outputs are its columns
  int rows, cols;
  Direction dir;
  Parasitics p;
  IvModel iv;
  Eigen::SparseMatrix<double> linear;  // wires, source and sink conductances
  std::vector<Eigen::Triplet<double>> pattern;

  int w(int i, int j) const { return i * frame.cols + j; }
  int b(int i, int j) const { return frame.rows * frame.cols + i * frame.cols + j; }
};

NodalCrossbar::NodalCrossbar(std::vector<double> g, int rows, int cols, Direction dir, const Parasitics& p, IvModel iv)
    : impl_(new Impl) {
  Impl& m = *impl_;
  if (rows < 1 || cols < 1 || g.size() != static_cast<std::size_t>(rows) * cols) {
    delete impl_;
    throw std::invalid_argument("NodalCrossbar: g must hold rows x cols conductances, rows and cols >= 1");
  }
  try {
    check_parasitics(p, "crossbar circuit");
  } catch (...) {
    delete impl_;
    throw;
  }
  m.rows = rows;
  m.cols = cols;
  m.dir = dir;
  m.p = p;
  m.iv = iv;
  m.frame = dir == Direction::Forward ? Frame{rows, cols, std::move(g)} : backward_frame(g.data(), rows, cols);
  const int R = m.frame.rows, C = m.frame.cols, n = 2 * R * C;
  const double gw = 1 / p.wire_ohm, gs = 1 / p.source_ohm, gk = 1 / p.sink_ohm;
  std::vector<Eigen::Triplet<double>> t;
  auto edge = [&t](int u, int v, double c) {
    t.emplace_back(u, u, c);
    t.emplace_back(v, v, c);
    t.emplace_back(u, v, -c);
    t.emplace_back(v, u, -c);
  };
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      if (j + 1 < C) edge(m.w(i, j), m.w(i, j + 1), gw);
      if (i + 1 < R) edge(m.b(i, j), m.b(i + 1, j), gw);
    }
  for (int i = 0; i < R; ++i) t.emplace_back(m.w(i, 0), m.w(i, 0), gs);
  for (int j = 0; j < C; ++j) t.emplace_back(m.b(R - 1, j), m.b(R - 1, j), gk);
  m.linear.resize(n, n);
  m.linear.setFromTriplets(t.begin(), t.end());
}

NodalCrossbar::~NodalCrossbar() { delete impl_; }

std::vector<double> NodalCrossbar::solve(const std::vector<double>& inputs, int* iterations, int max_newton) const {
  const Impl& m = *impl_;
  const int R = m.frame.rows, C = m.frame.cols, n = 2 * R * C;
  if (static_cast<int>(inputs.size()) != R)
    throw std::invalid_argument("crossbar solve: " + std::to_string(inputs.size()) + " input voltages for " +
                                std::to_string(R) + " driven lines");
  double v_max = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!std::isfinite(inputs[i])) throw std::invalid_argument("crossbar solve: input " + std::to_string(i) + " is not finite");
    v_max = std::max(v_max, std::fabs(inputs[i]));
  }
  if (m.iv.kind == IvKind::Sinh && m.iv.a * v_max > IvModel::kMaxExponent)
    throw std::invalid_argument("crossbar solve: sinh I-V with a = " + show(m.iv.a) + "/V at " + show(v_max) +
                                " V: a |V| = " + show(m.iv.a * v_max) + " is outside the model (accepted <= " +
                                show(IvModel::kMaxExponent) + ")");
  const double gs = 1 / m.p.source_ohm;
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n), rhs(n), source = Eigen::VectorXd::Zero(n);
  for (int i = 0; i < R; ++i)  // backward: frame row r' is bit line cols-1-r'
    source[m.w(i, 0)] = gs * inputs[m.dir == Direction::Forward ? i : R - 1 - i];

  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt;
  std::vector<Eigen::Triplet<double>> t;
  t.reserve(static_cast<std::size_t>(4) * R * C);
  const double* g = m.frame.g.data();
  if (max_newton < 1) throw std::invalid_argument("crossbar solve: max_iterations must be >= 1");
  const int max_iterations = m.iv.kind == IvKind::Linear ? 1 : max_newton;
  int it = 0;
  for (; it < max_iterations; ++it) {
    // Jacobian = linear part + device slopes; residual F = linear x + device currents - source.
    t.clear();
    rhs = source - m.linear * x;
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) {
        const int u = m.w(i, j), v = m.b(i, j);
        const double gij = g[static_cast<std::size_t>(i) * C + j], dv = x[u] - x[v];
        const double cur = m.iv.current(gij, dv), sl = m.iv.slope(gij, dv);
        rhs[u] -= cur;
        rhs[v] += cur;
        t.emplace_back(u, u, sl);
        t.emplace_back(v, v, sl);
        t.emplace_back(u, v, -sl);
        t.emplace_back(v, u, -sl);
      }
    Eigen::SparseMatrix<double> jac(n, n);
    jac.setFromTriplets(t.begin(), t.end());
    jac += m.linear;
    if (it == 0) ldlt.analyzePattern(jac);
    ldlt.factorize(jac);
    if (ldlt.info() != Eigen::Success) throw std::runtime_error("crossbar solve: the nodal factorization failed");
    Eigen::VectorXd step = ldlt.solve(rhs);
    // Damping: a device's voltage moves by at most 1/a per step (sinh grows e-fold per 1/a).
    if (m.iv.kind == IvKind::Sinh) {
      double worst = 0;
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < C; ++j) worst = std::max(worst, std::fabs(step[m.w(i, j)] - step[m.b(i, j)]));
      if (worst * m.iv.a > 1) step *= 1 / (worst * m.iv.a);
    }
    x += step;
    if (!x.allFinite()) throw std::runtime_error("crossbar solve: the nodal solve produced a non-finite voltage");
    if (m.iv.kind == IvKind::Sinh && step.cwiseAbs().maxCoeff() <= 1e-14 * std::max(v_max, 1e-300)) break;
  }
  if (m.iv.kind == IvKind::Sinh && it == max_iterations)
    throw std::runtime_error("crossbar solve: Newton did not converge in " + std::to_string(max_iterations) +
                             " iterations (sinh I-V, a = " + show(m.iv.a) + "/V)");
  if (iterations) *iterations = std::min(it + 1, max_iterations);
  const double gk = 1 / m.p.sink_ohm;
  std::vector<double> out(C);
  for (int j = 0; j < C; ++j) out[j] = gk * x[m.b(R - 1, j)];
  if (m.dir == Direction::Backward) std::reverse(out.begin(), out.end());  // frame column c' is word line rows-1-c'
  return out;
}

// ---- The core's circuit model ---------------------------------------------------------------------

ParasiticCircuit::ParasiticCircuit(ParasiticModel model, const Parasitics& p, IvModel iv, double read_voltage)
    : model_(model), p_(p), iv_(iv), read_voltage_(read_voltage) {
  if (model != ParasiticModel::None) check_parasitics(p, "circuit");
  if (iv.kind == IvKind::Sinh && iv.a * read_voltage > IvModel::kMaxExponent)
    throw std::invalid_argument("circuit: sinh I-V a = " + show(iv.a) + "/V at the read voltage " + show(read_voltage) +
                                " V is outside the model (a V <= " + show(IvModel::kMaxExponent) + ")");
}

std::shared_ptr<const ParasiticCircuit> ParasiticCircuit::from(const CrossbarConfig& c) {
  return from(c, c.circuit.model);
}
std::shared_ptr<const ParasiticCircuit> ParasiticCircuit::from(const CrossbarConfig& c, ParasiticModel model) {
  const CircuitConfig& k = c.circuit;
  return std::make_shared<ParasiticCircuit>(model, Parasitics{k.source_ohm, k.sink_ohm, k.wire_ohm},
                                            IvModel{k.iv, k.iv_a}, c.crossbar.read_voltage);
}

void ParasiticCircuit::effective(const double* g, int rows, int cols, Direction dir, double* eff) const {
  if (iv_.kind == IvKind::Linear) {
    effective_matrix(model_, g, rows, cols, dir, p_, eff);
    return;
  }
  std::vector<double> secant(static_cast<std::size_t>(rows) * cols);
  for (std::size_t k = 0; k < secant.size(); ++k) secant[k] = iv_.secant(g[k], read_voltage_);
  effective_matrix(model_, secant.data(), rows, cols, dir, p_, eff);
}

}  // namespace txsim
