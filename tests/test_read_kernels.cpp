// The reads' kernels. The narrow GEMM against two oracles: a double-precision product (accuracy)
// and a scalar loop of std::fma over k in order (the summation order it documents, to the bit).
// The quantizer's one-pass input check against its definition on the values. A read whose rows
// come from a RowSource against the same read of the matrix those rows form; reads with kept
// parasitic solves against a freshly solved matrix.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "txsim/mapped_matrix.h"
#include "txsim/narrow_gemm.h"
#include "txsim/state_archive.h"
#include "txsim/update_model.h"
#include "txsim/periphery.h"

namespace txsim {
namespace {

struct Case {
  int m, n, k;
};

TEST(NarrowGemm, EqualsInOrderFusedSumsToTheBitAndTheDoubleProductToFloatPrecision) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> ints(-255, 255);  // the reads' quantized inputs
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Every packed width (16..64), ragged columns, row counts off the blocking, k = 0 and long k.
  for (const Case c : {Case{1, 1, 1}, Case{7, 13, 5}, Case{33, 16, 64}, Case{130, 32, 64}, Case{41, 40, 17},
                       Case{64, 48, 144}, Case{9, 64, 300}, Case{5, 3, 0}}) {
    const int lda = c.k + 3, ldb = c.n + 5, ldc = c.n + 2;
    std::vector<float> a(static_cast<std::size_t>(c.m) * lda), b(static_cast<std::size_t>(std::max(c.k, 1)) * ldb);
    for (float& v : a) v = static_cast<float>(ints(gen));
    for (float& v : b) v = normal(gen);
    std::vector<float> out(static_cast<std::size_t>(c.m) * ldc, -99.0f);
    narrow_gemm(c.m, c.n, c.k, a.data(), lda, b.data(), ldb, out.data(), ldc);
    for (int i = 0; i < c.m; ++i) {
      for (int j = 0; j < c.n; ++j) {
        float fused = 0;
        double exact = 0, magnitude = 0;
        for (int p = 0; p < c.k; ++p) {
          const float x = a[static_cast<std::size_t>(i) * lda + p], y = b[static_cast<std::size_t>(p) * ldb + j];
          fused = std::fma(x, y, fused);
          exact += double(x) * y;
          magnitude += std::fabs(double(x) * y);
        }
        const float got = out[static_cast<std::size_t>(i) * ldc + j];
        ASSERT_EQ(got, fused) << c.m << "x" << c.n << "x" << c.k << " at (" << i << ", " << j << ")";
        ASSERT_NEAR(got, exact, 1e-6 * c.k * magnitude + 1e-30);
      }
      for (int j = c.n; j < ldc; ++j) ASSERT_EQ(out[static_cast<std::size_t>(i) * ldc + j], -99.0f) << "wrote past n";
    }
  }
}

// Any number of columns packed once as strips (the layout the folded reads keep), each strip
// then multiplied on its own: every element is still the in-order fused sum, and the padding of
// a narrow last strip never reaches C.
TEST(NarrowGemm, PackedStripsOfManyColumnsEqualInOrderFusedSums) {
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> ints(-255, 255);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Case c : {Case{3, 1, 1}, Case{13, 65, 7}, Case{50, 129, 128}, Case{7, 200, 33}, Case{2, 64, 0}}) {
    const int lda = c.k + 1, ldb = c.n + 3;
    std::vector<float> a(static_cast<std::size_t>(c.m) * lda), b(static_cast<std::size_t>(std::max(c.k, 1)) * ldb);
    for (float& v : a) v = static_cast<float>(ints(gen));
    for (float& v : b) v = normal(gen);
    const int strips = (c.n + kNarrowGemmMaxColumns - 1) / kNarrowGemmMaxColumns;
    std::vector<float> packed(static_cast<std::size_t>(strips) * kNarrowGemmMaxColumns * std::max(c.k, 1), -7.0f);
    pack_narrow_strips(c.n, c.k, b.data(), ldb, packed.data());
    for (int j0 = 0; j0 < c.n; j0 += kNarrowGemmMaxColumns) {
      const int w = std::min(kNarrowGemmMaxColumns, c.n - j0), ldc = w + 1;
      std::vector<float> out(static_cast<std::size_t>(c.m) * ldc, -99.0f);
      narrow_gemm_packed(c.m, w, c.k, a.data(), lda, packed.data() + static_cast<std::size_t>(j0) * c.k, out.data(), ldc);
      for (int i = 0; i < c.m; ++i) {
        for (int j = 0; j < w; ++j) {
          float fused = 0;
          for (int p = 0; p < c.k; ++p)
            fused = std::fma(a[static_cast<std::size_t>(i) * lda + p], b[static_cast<std::size_t>(p) * ldb + j0 + j], fused);
          ASSERT_EQ(out[static_cast<std::size_t>(i) * ldc + j], fused) << c.m << "x" << c.n << "x" << c.k << " at (" << i << ", " << j0 + j << ")";
        }
        ASSERT_EQ(out[static_cast<std::size_t>(i) * ldc + w], -99.0f) << "wrote past the strip";
      }
    }
  }
}

TEST(NarrowGemm, RefusesShapesOutsideItsRange) {
  std::vector<float> a(64), b(64 * 65), c(65);
  EXPECT_THROW(narrow_gemm(1, 65, 1, a.data(), 1, b.data(), 65, c.data(), 65), std::invalid_argument);
  EXPECT_THROW(narrow_gemm(1, 0, 1, a.data(), 1, b.data(), 1, c.data(), 1), std::invalid_argument);
}

}  // namespace
}  // namespace txsim

// The check on the bits against its definition on the values: finite, and not below zero when
// inputs are unsigned (-0 passes); and the step against the largest magnitude.
namespace txsim {
namespace {

// Folded reads on size x size crossbars, the rest of the config at its defaults.
CrossbarConfig folded_config(int size) {
  CrossbarConfig c;
  c.crossbar.rows = c.crossbar.cols = size;
  c.crossbar.read_mode = ReadMode::Folded;
  return c;
}

// n values, each the next draw().
template <class Draw>
std::vector<float> drawn(std::size_t n, Draw&& draw) {
  std::vector<float> v(n);
  for (float& x : v) x = draw();
  return v;
}

TEST(QuantizerCheck, RefusesExactlyWhatTheValueTestRefuses) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float denormal = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  for (const bool is_signed : {false, true}) {
    ArrayConfig a;
    a.input_signed = is_signed;
    for (const float v : {0.0f, -0.0f, denormal, -denormal, 1.0f, -1.0f, big, -big, inf, -inf, nan, -nan}) {
      // v among ordinary values, at every position of a row longer than a vector.
      for (int at = 0; at < 19; at += 6) {
        std::vector<float> x(19, 0.25f), out(19, -7.0f);
        x[at] = v;
        const bool valid = std::isfinite(v) && (is_signed || !(v < 0));
        const std::optional<float> step = quantize_sample(x.data(), 19, a, out.data());
        ASSERT_EQ(step.has_value(), valid) << "value " << v << " signed " << is_signed;
        ASSERT_EQ(inputs_in_range(x.data(), x.size(), a), valid) << "value " << v << " signed " << is_signed;
        if (!valid) {
          EXPECT_EQ(out[0], -7.0f) << "wrote a refused sample";
          continue;
        }
        const float max_abs = std::max(0.25f, std::fabs(v));
        EXPECT_EQ(*step, max_abs / (std::ldexp(1.0f, a.input_magnitude_bits()) - 1.0f)) << v;
      }
    }
  }
}

// A folded read with read noise and an 8-bit ADC, of rows given as a matrix and of the same rows
// made by a source: the same outputs to the bit, for a batch read at once (the source makes every
// row first) and one read in row blocks (the source makes each block when it is read, never the
// whole batch); a bad row from a source is named as the matrix read names it.
TEST(RowSourceRead, EqualsTheMatrixReadToTheBitAndNamesABadRowTheSame) {
  CrossbarConfig c = folded_config(64);
  c.crossbar.input_signed = false;
  c.device.read_noise_sigma = 0.005;
  const int in = 150, out = 16;
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  const std::vector<float> w = drawn(static_cast<std::size_t>(in) * out, [&] { return normal(gen); });
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (const auto& [batch, group] : {std::pair{100, 1}, std::pair{1500, 1}, std::pair{1500, 300}}) {
    std::vector<float> x = drawn(static_cast<std::size_t>(batch) * in, [&] { return uniform(gen); });
    MappedMatrix from_matrix(c, in, out, 7), from_source(c, in, out, 7);
    from_matrix.program(w.data());
    from_source.program(w.data());
    std::vector<float> y_matrix(static_cast<std::size_t>(batch) * out), y_source(y_matrix.size());
    from_matrix.forward(x.data(), batch, y_matrix.data());
    // (The source may be called from several threads at once.)
    std::atomic<int> largest_request{0}, rows_made{0};
    std::atomic<bool> whole_groups{true};
    RowSource source;
    source.group = group;
    source.make = [&](int first, int last, float* rows) {
      if (!(first >= 0 && first < last && last <= batch && first % group == 0 && last % group == 0)) whole_groups = false;
      std::copy(x.begin() + static_cast<std::ptrdiff_t>(first) * in, x.begin() + static_cast<std::ptrdiff_t>(last) * in, rows);
      for (int seen = largest_request; seen < last - first && !largest_request.compare_exchange_weak(seen, last - first);) {
      }
      rows_made += last - first;
    };
    from_source.forward(source, batch, y_source.data());
    EXPECT_TRUE(whole_groups) << "batch " << batch << ", groups of " << group;
    EXPECT_EQ(rows_made, batch) << "batch " << batch;  // every row made once
    if (batch >= 1024) {
      EXPECT_LT(largest_request, batch) << "a blocked read makes its rows a block at a time";
    }
    EXPECT_EQ(std::memcmp(y_matrix.data(), y_source.data(), y_matrix.size() * sizeof(float)), 0) << "batch " << batch;
    // A NaN in row 1234 (or 77): the same error from both, naming the same input.
    const int bad_row = batch > 1234 ? 1234 : 77;
    x[static_cast<std::size_t>(bad_row) * in + 3] = std::numeric_limits<float>::quiet_NaN();
    std::string matrix_error, source_error;
    try {
      from_matrix.forward(x.data(), batch, y_matrix.data());
    } catch (const NonFiniteInput& e) {
      matrix_error = e.what();
    }
    try {
      from_source.forward(source, batch, y_source.data());
    } catch (const NonFiniteInput& e) {
      source_error = e.what();
    }
    EXPECT_NE(matrix_error.find("[" + std::to_string(bad_row) + "][3]"), std::string::npos) << matrix_error;
    EXPECT_EQ(source_error, matrix_error);
  }
}

// The transposed read into a sink against the same read into a matrix: the same rows to the bit,
// each row given once, in blocks of whole groups; groups that do not divide the batch are refused
// (sources' too).
TEST(RowSinkRead, EqualsTheMatrixReadToTheBitInBlocksOfWholeGroups) {
  CrossbarConfig c = folded_config(64);
  c.device.read_noise_sigma = 0.005;
  const int in = 150, out = 16;
  std::mt19937 gen(9);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  const std::vector<float> w = drawn(static_cast<std::size_t>(in) * out, [&] { return normal(gen); });
  for (const auto& [batch, group] : {std::pair{96, 8}, std::pair{2304, 576}, std::pair{2048, 64}}) {
    const std::vector<float> d = drawn(static_cast<std::size_t>(batch) * out, [&] { return normal(gen); });
    MappedMatrix into_matrix(c, in, out, 7), into_sink(c, in, out, 7);
    into_matrix.program(w.data());
    into_sink.program(w.data());
    std::vector<float> dx_matrix(static_cast<std::size_t>(batch) * in), dx_sink(dx_matrix.size(), -1.0f);
    std::vector<int> taken(batch, 0);  // (each row by one thread; blocks may come from several at once)
    std::atomic<bool> whole_groups{true};
    into_matrix.backward(d.data(), batch, dx_matrix.data());
    RowSink sink;
    sink.group = group;
    sink.take = [&](int first, int last, const float* rows) {
      if (!(first % group == 0 && last % group == 0 && first < last && last <= batch)) whole_groups = false;
      std::copy(rows, rows + static_cast<std::ptrdiff_t>(last - first) * in, dx_sink.begin() + static_cast<std::ptrdiff_t>(first) * in);
      for (int r = first; r < last; ++r) ++taken[r];
    };
    into_sink.backward(d.data(), batch, sink);
    EXPECT_TRUE(whole_groups) << "batch " << batch;
    EXPECT_TRUE(std::all_of(taken.begin(), taken.end(), [](int t) { return t == 1; })) << "batch " << batch;
    EXPECT_EQ(std::memcmp(dx_matrix.data(), dx_sink.data(), dx_matrix.size() * sizeof(float)), 0) << "batch " << batch;
  }
  MappedMatrix m(c, in, out, 7);
  RowSink uneven;
  uneven.group = 7;
  uneven.take = [](int, int, const float*) {};
  std::vector<float> d(static_cast<std::size_t>(20) * out, 0.1f);
  EXPECT_THROW(m.backward(d.data(), 20, uneven), std::invalid_argument);
  RowSource uneven_source;
  uneven_source.group = 7;
  uneven_source.make = [](int, int, float*) {};
  std::vector<float> y(static_cast<std::size_t>(20) * out);
  EXPECT_THROW(m.forward(uneven_source, 20, y.data()), std::invalid_argument);
}

// Kept parasitic solves: after reprogramming a few weights (most crossbars unchanged), by a whole
// programming or by an update that reprograms only the devices whose digits moved, reads in
// either direction order equal those of a matrix restored from the same state, whose every solve
// is fresh.
TEST(KeptSolves, ReadsAfterReprogrammingEqualAFreshlySolvedMatrixInEitherDirectionOrder) {
  CrossbarConfig c = folded_config(32);
  c.circuit.model = ParasiticModel::FirstOrder;
  c.circuit.source_ohm = 100;
  c.circuit.sink_ohm = 50;
  c.circuit.wire_ohm = 1;
  const int in = 80, out = 40, batch = 6;
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> w = drawn(static_cast<std::size_t>(in) * out, [&] { return normal(gen); });
  const std::vector<float> x = drawn(static_cast<std::size_t>(batch) * in, [&] { return normal(gen); });
  const std::vector<float> d = drawn(static_cast<std::size_t>(batch) * out, [&] { return normal(gen); });
  MappedMatrix m(c, in, out, 5);
  m.program(w.data(), 1.0f);
  std::vector<float> y(static_cast<std::size_t>(batch) * out), dx(x.size());
  m.forward(x.data(), batch, y.data());  // both directions solved and kept
  m.backward(d.data(), batch, dx.data());
  uint64_t key = 11;
  for (const bool by_update : {false, true})
    for (const bool backward_first : {true, false}) {
      const std::string what = std::string(by_update ? "update" : "program") + (backward_first ? ", backward first" : ", forward first");
      if (by_update) {  // a few weights move by several codes; the others not at all
        std::vector<float> dw(w.size(), 0.0f);
        for (int k = 0; k < 5; ++k) dw[static_cast<std::size_t>(gen() % dw.size())] = 0.05f;
        m.update(dw.data(), UpdateConfig{}, ++key);
      } else {
        for (int k = 0; k < 5; ++k) w[static_cast<std::size_t>(gen() % w.size())] += 0.4f;
        m.program(w.data(), 1.0f);
      }
      StateWriter saved;
      m.save_state(saved);
      MappedMatrix fresh(c, in, out, 5);
      StateReader r(saved.bytes(), "kept-solves test");
      fresh.load_state(r);
      std::vector<float> y_kept(y.size()), y_fresh(y.size()), dx_kept(dx.size()), dx_fresh(dx.size());
      if (backward_first) m.backward(d.data(), batch, dx_kept.data());
      m.forward(x.data(), batch, y_kept.data());
      if (!backward_first) m.backward(d.data(), batch, dx_kept.data());
      fresh.forward(x.data(), batch, y_fresh.data());
      fresh.backward(d.data(), batch, dx_fresh.data());
      EXPECT_EQ(y_kept, y_fresh) << what;
      EXPECT_EQ(dx_kept, dx_fresh) << what;
      EXPECT_NE(y_kept, y) << what << ": the reprogramming changed the outputs";
      y = y_kept;
    }
}

}  // namespace
}  // namespace txsim
