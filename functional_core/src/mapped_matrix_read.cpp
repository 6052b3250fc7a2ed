// MappedMatrix, reads: forward / backward reads through DACs, read noise, ADCs and shift-and-add,
// of rows given as a matrix or made by a RowSource, into a matrix or a RowSink.
#include "txsim/mapped_matrix.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include <cblas.h>

#include "txsim/narrow_gemm.h"
#include "txsim/parallel.h"
#include "txsim/periphery.h"
#include "txsim/rng.h"
#include "txsim/scratch_buffer.h"
#include "txsim/wide_vectors.h"

namespace txsim {

void MappedMatrix::forward(const float* x, int batch, float* y) { read(Direction::Forward, x, nullptr, batch, y, nullptr); }
void MappedMatrix::forward(const RowSource& rows, int batch, float* y) {
  if (rows.group < 1 || batch % rows.group != 0)
    throw std::invalid_argument("MappedMatrix read: a source's groups of " + std::to_string(rows.group) + " rows do not divide the batch of " +
                                std::to_string(batch));
  read(Direction::Forward, nullptr, &rows, batch, y, nullptr);
}
void MappedMatrix::backward(const float* d, int batch, float* dx) { read(Direction::Backward, d, nullptr, batch, dx, nullptr); }
void MappedMatrix::backward(const float* d, int batch, const RowSink& sink) {
  if (sink.group < 1 || batch % sink.group != 0)
    throw std::invalid_argument("MappedMatrix read: a sink's groups of " + std::to_string(sink.group) + " rows do not divide the batch of " +
                                std::to_string(batch));
  read(Direction::Backward, d, nullptr, batch, nullptr, &sink);
}

PartialSumKernel MappedMatrix::partial_sum_kernel() const {
  const ArrayConfig& a = config_.crossbar;
  if (a.read_mode == ReadMode::Folded) return PartialSumKernel::Gemm;
  if (kernel_ != PartialSumKernel::Auto) return kernel_;
  // Lookup does dac_bits (x2 signed) table reads per 8 lines where SGEMM does 8 multiply-adds.
  return a.dac_bits * (a.input_signed ? 2 : 1) <= 2 ? PartialSumKernel::Lookup : PartialSumKernel::Gemm;
}

namespace {

// y += shift * ADC(c + std_dev * z), one sensed line per element. Restrict-qualified and
// branch-free inside so that it vectorizes without alias checks; on AVX-512 in whole 512-bit
// registers (wide_vectors.h), the same operations per element.
TXSIM_WIDE_VECTORS void convert_row(const float* __restrict c, const float* __restrict z, float std_dev, const float* __restrict lsb,
                 const float* __restrict inv, const AdcCodes& codes, bool quantize, float shift, int w,
                 float* __restrict y) {
  const float lo = codes.lo, hi = codes.hi;
  if (quantize && z) {
    for (int j = 0; j < w; ++j) y[j] += shift * std::clamp(std::nearbyint((c[j] + std_dev * z[j]) * inv[j]), lo, hi) * lsb[j];
  } else if (quantize) {
    for (int j = 0; j < w; ++j) y[j] += shift * std::clamp(std::nearbyint(c[j] * inv[j]), lo, hi) * lsb[j];
  } else if (z) {
    for (int j = 0; j < w; ++j) y[j] += shift * (c[j] + std_dev * z[j]);
  } else {
    for (int j = 0; j < w; ++j) y[j] += shift * c[j];
  }
}

// 2^e, exactly, for the shifts of planes and slices (0..48: inputs and weights have at most 24
// bits), without a call to ldexp per row.
inline float power_of_two(int e) {
  assert(e > -127 && e < 128);
  const uint32_t bits = static_cast<uint32_t>(127 + e) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// sum_k row[k]^2 for integer-valued rows. When every partial sum is exact (`exact`), eight
// running sums (it vectorizes) give the same as one; otherwise the one, in order.
double integer_power(const float* __restrict row, int n, bool exact) {
  double power = 0;
  int k = 0;
  if (exact) {
    double lanes[8] = {};
    for (; k + 8 <= n; k += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += double(row[k + l]) * row[k + l];
    for (double v : lanes) power += v;
  }
  for (; k < n; ++k) power += double(row[k]) * row[k];
  return power;
}

}  // namespace

void MappedMatrix::convert(Direction dir, const Effective& e, const ReadBuffers& rb, int batch, int r0, int r1, int t, int s, int j0, int w,
                           const float* c, std::size_t ldc, uint64_t tile_key, float* y, std::size_t ldy, int y_row0,
                           std::vector<float>& z) const {
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const int width = (per_slice ? a.slices() : 1) * sh.n;
  const int planes = per_slice ? a.input_planes() : 1;
  const int m = planes * batch;
  const int col0 = s * sh.n + j0;  // first column in the tile's stacked matrix
  const bool noisy = config_.device.read_noise_sigma > 0;
  const bool quantize = a.adc_model == AdcModel::Uniform;
  const AdcCodes codes(a.adc_bits);
  const float* lsb = e.lsb.data() + static_cast<std::size_t>(t) * width + col0;
  const float* inv = e.inv_lsb.data() + static_cast<std::size_t>(t) * width + col0;
  // Rows in sample order, a sample's planes one after another, so that its outputs stay in L1
  // while they take every plane; each output still adds its planes in plane order.
  const int rows = r1 - r0;
  // Draw (r, col) of the tile's stream: the same numbers however the columns are split. When
  // the block spans whole rows taken in order (narrow outputs: a convolution's channels), the
  // draws of consecutive rows are consecutive in the stream: drawn for many rows at once; else
  // the rows' runs are drawn side by side, a group of rows at a time (rows that sense no current
  // draw nothing).
  const bool whole_rows = w == width && (planes == 1 || rows != m);
  constexpr int kMaxRuns = 256;
  const int rows_per_draw = std::max(1, std::min(whole_rows ? rows : kMaxRuns, 4096 / w));
  if (noisy) grow_to(z, static_cast<std::size_t>(rows_per_draw) * w);
  auto row_of = [&](int i) { return rows == m ? (i % planes) * batch + i / planes : r0 + i; };
  uint64_t firsts[kMaxRuns];
  for (int i0 = 0; i0 < rows; i0 += rows_per_draw) {
    const int i1 = std::min(rows, i0 + rows_per_draw);
    if (noisy && whole_rows) {
      fill_normal(tile_key, static_cast<uint64_t>(row_of(i0)) * width + col0, static_cast<std::size_t>(i1 - i0) * w, z.data());
    } else if (noisy) {
      std::size_t runs = 0;
      for (int i = i0; i < i1; ++i) {
        const int r = row_of(i);
        if (rb.noise_std[static_cast<std::size_t>(t) * m + r] > 0) firsts[runs++] = static_cast<uint64_t>(r) * width + col0;
      }
      fill_normal_runs(tile_key, firsts, runs, w, z.data());
    }
    std::size_t run = 0;
    for (int i = i0; i < i1; ++i) {
      const int r = row_of(i);
      const int p = r / batch, b = r % batch;
      const float* c_row = c + static_cast<std::size_t>(r - r0) * ldc;
      const float std_dev = noisy ? rb.noise_std[static_cast<std::size_t>(t) * m + r] : 0.0f;
      const float* z_row = nullptr;
      if (whole_rows && noisy) z_row = z.data() + static_cast<std::size_t>(i - i0) * w;
      else if (std_dev > 0) z_row = z.data() + run++ * w;
      const float shift = per_slice ? power_of_two(a.dac_bits * p + a.bits_per_cell * s) : 1.0f;
      convert_row(c_row, std_dev > 0 ? z_row : nullptr, std_dev, lsb, inv, codes, quantize, shift, w,
                  y + static_cast<std::size_t>(b - y_row0) * ldy);
    }
  }
}

void MappedMatrix::read_columns(Direction dir, const Effective& e, const ReadBuffers& rb, const float* ints, int batch, int r0, int r1, int n0,
                                int nn, uint64_t key, float* y, int y_row0, Scratch& scratch) const {
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const int slices = per_slice ? a.slices() : 1;
  const int width = slices * sh.n;
  const int m = (per_slice ? a.input_planes() : 1) * batch;
  const bool lookup = partial_sum_kernel() == PartialSumKernel::Lookup;
  assert((r0 == 0 && r1 == m) || (!per_slice && !lookup));  // rows are split for folded reads only
  if (uses_strips()) {
    // Each strip of the block's columns in turn, its tiles and slices in order; for each, the
    // partial sums of a few rows at a time, made against the packed strip and converted while in
    // L1, and the strip's outputs stay in cache over its tiles. Each partial sum is one in-order
    // fused sum over the tile's lines (narrow_gemm.h) and each conversion depends only on its
    // row and column, and every output still takes its tiles and slices in order: the same bits
    // as SGEMM's block at once.
    constexpr int kStrip = kNarrowGemmMaxColumns;
    constexpr int kStripRows = 48;  // a multiple of the narrow GEMM's 6-row blocks
    const int strips = ceil_div(sh.n, kStrip);
    const std::size_t per_strip = static_cast<std::size_t>(sh.k_tile) * kStrip;
    // The strip's outputs gather in a buffer of their own, rows kStrip apart, and go to y once
    // their tiles are done, scaled to real values there: y's rows are a whole output row apart
    // (often a multiple of 4 KiB, which maps a strip's rows onto the same few cache sets). Each
    // starts from zero as y's do elsewhere.
    const int samples = per_slice ? batch : r1 - r0;
    grow_to(scratch.c, static_cast<std::size_t>(kStripRows) * kStrip);
    grow_to(scratch.strip_out, static_cast<std::size_t>(samples) * kStrip);
    float* strip_out = scratch.strip_out.data();
    for (int j0 = n0; j0 < n0 + nn; j0 += kStrip) {
      const int w = std::min(kStrip, n0 + nn - j0);
      std::fill(strip_out, strip_out + static_cast<std::size_t>(samples) * w, 0.0f);
      for (int t = 0; t < sh.k_tiles; ++t) {
        const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
        const uint64_t tile_key = derive_key(key, t);
        const float* a_tile = per_slice ? rb.planes.data() + static_cast<std::size_t>(k0) * m : ints + k0;
        const int lda = per_slice ? kt : sh.k;
        for (int s = 0; s < slices; ++s) {
          // pack_narrow_strips' layout: strip q of a tile of kt lines at q * kt * kStrip.
          const float* packed = e.strips.data() + static_cast<std::size_t>(t * slices + s) * strips * per_strip +
                                static_cast<std::size_t>(j0) * kt;
          for (int ra = r0; ra < r1; ra += kStripRows) {
            const int rz = std::min(r1, ra + kStripRows);
            narrow_gemm_packed(rz - ra, w, kt, a_tile + static_cast<std::size_t>(ra - r0) * lda, lda, packed, scratch.c.data(), w);
            convert(dir, e, rb, batch, ra, rz, t, s, j0, w, scratch.c.data(), w, tile_key, strip_out, w, y_row0, scratch.z);
          }
        }
      }
      for (int i = 0; i < samples; ++i) {
        const float scale = rb.inputs.step[y_row0 + i] * s_.w_step;
        const float* from = strip_out + static_cast<std::size_t>(i) * w;
        float* to = y + static_cast<std::size_t>(i) * sh.n + j0;
        for (int j = 0; j < w; ++j) to[j] = from[j] * scale;
      }
    }
    return;
  }
  grow_to(scratch.c, static_cast<std::size_t>(r1 - r0) * (lookup ? kLookupWidth : nn));

  for (int t = 0; t < sh.k_tiles; ++t) {
    const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
    const uint64_t tile_key = derive_key(key, t);
    for (int s = 0; s < slices; ++s) {
      const float* e_block = e.matrix.data() + static_cast<std::size_t>(k0) * width + s * sh.n;
      if (lookup) {
        for (int j0 = n0; j0 < n0 + nn; j0 += kLookupWidth) {
          const int w = std::min(kLookupWidth, n0 + nn - j0);
          binary_plane_products(rb.binary_planes[t], e_block + j0, kt, width, w, scratch.c.data(), scratch.table);
          convert(dir, e, rb, batch, r0, r1, t, s, j0, w, scratch.c.data(), kLookupWidth, tile_key, y + j0, sh.n, y_row0, scratch.z);
        }
      } else {
        // Per-slice: the tile's stacked planes; folded: the quantized inputs in place.
        const float* a_tile = per_slice ? rb.planes.data() + static_cast<std::size_t>(k0) * m
                                        : ints + k0;
        const int lda = per_slice ? kt : sh.k;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, nn, kt, 1.0f, a_tile, lda, e_block + n0, width, 0.0f,
                    scratch.c.data(), nn);
        convert(dir, e, rb, batch, r0, r1, t, s, n0, nn, scratch.c.data(), nn, tile_key, y + n0, sh.n, y_row0, scratch.z);
      }
    }
  }
}

MappedMatrix::ReadBuffers& MappedMatrix::read_buffers() {
  thread_local ReadBuffers buffers;
  return buffers;
}

MappedMatrix::Scratch& MappedMatrix::scratch() {
  thread_local Scratch scratch;
  return scratch;
}

void MappedMatrix::read(Direction dir, const float* x, const RowSource* source, int batch, float* y, const RowSink* sink) {
  if (batch < 1) throw std::invalid_argument("MappedMatrix read: batch must be >= 1");
  const Effective& e = uses_strips() ? effective_in_strips(dir) : effective(dir);
  const ArrayConfig& a = config_.crossbar;
  const Shape sh = shape(dir);
  const bool per_slice = a.read_mode == ReadMode::PerSlice;
  const bool lookup = partial_sum_kernel() == PartialSumKernel::Lookup;
  const int planes = per_slice ? a.input_planes() : 1;
  const int m = planes * batch;
  const double unit_sigma = config_.device.read_noise_sigma * ((1 << a.bits_per_cell) - 1);
  double fold_power = 0;  // folded reads: each slice's devices add noise scaled by the slice weight
  for (int s = 0; s < (per_slice ? 1 : a.slices()); ++s) fold_power += std::ldexp(1.0, 2 * a.bits_per_cell * s);

  ReadBuffers& rb = read_buffers();
  QuantizedInputs& q = rb.inputs;
  // The rows are integers: their sums of squares are exact in double, in any order, while every
  // partial sum stays below 2^53.
  const bool exact_power = 2 * a.input_magnitude_bits() + std::ceil(std::log2(std::max(1, sh.k_tile))) <= 53;
  // Shared by the reads of every shape: grown, never cleared (scratch_buffer.h).
  grow_to(q.step, static_cast<std::size_t>(batch));
  if (per_slice) grow_to(rb.planes, static_cast<std::size_t>(m) * sh.k);
  if (unit_sigma > 0) grow_to(rb.noise_std, static_cast<std::size_t>(sh.k_tiles) * m);
  if (lookup) rb.binary_planes.resize(sh.k_tiles);
  const bool parallel = parallelism_ == Parallelism::Columns;
  const bool strips = uses_strips();
  // Blocks of whole lookup widths, as many as the shape alone gives (a block's width changes the
  // GEMM's edge kernels, hence the last bits: it must not follow the thread count). The lookup
  // kernel and the strips (whole strips per block: their results do not depend on the block)
  // take several blocks per thread so that a slow core does not hold the rest; SGEMM a few,
  // since small GEMMs repack their inputs.
  constexpr int kBlocks = 4;
  const int per_block = lookup || strips ? 4 : 1;
  const int unit = strips ? kNarrowGemmMaxColumns : kLookupWidth;
  const int block = unit * ceil_div(ceil_div(sh.n, per_block * kBlocks), unit);
  const int column_blocks = ceil_div(sh.n, block);
  // Folded reads of many rows (a convolution's positions) split their rows too, by the batch's
  // size alone, into blocks that stay in cache from the quantizing to the conversions: each block
  // is quantized and read at once. (A row's result does not depend on the block that holds it.)
  constexpr int kRowsPerBlock = 512;  // 256 cost LeNet-5's conv2 2-3%; ResNet-20 the same or better
  const bool row_split = !per_slice && !lookup && batch >= 2 * kRowsPerBlock;
  // Sources and sinks take whole groups: blocks of whole groups, as near the block size as they come.
  const int group = sink ? sink->group : source ? source->group : 1;
  const int rows_per_block = !row_split           ? batch
                             : (sink || source)   ? group * std::max(1, (kRowsPerBlock + group / 2) / group)
                                                  : ceil_div(batch, ceil_div(batch, kRowsPerBlock));
  const int row_blocks = ceil_div(batch, rows_per_block);
  // Rows from a source: made a block at a time where the rows are split, else all at once here.
  auto all_rows = [&] {
    grow_to(rb.rows, static_cast<std::size_t>(batch) * sh.k);
    source->make(0, batch, rb.rows.data());
    return rb.rows.data();
  };
  if (source && !row_split) {
    x = all_rows();
    source = nullptr;
  }
  if (sink && !row_split) {  // the whole read, then its groups to the sink
    grow_to(rb.out, static_cast<std::size_t>(batch) * sh.n);
    y = rb.out.data();
  }

  // Parallel loops on the pool (parallel.h), or in order here (Parallelism::Blas). Every output
  // accumulates its row-tiles in order, whoever computes it: results do not depend on the thread
  // count or on the parallelism chosen.
  auto loop = [&](int n, const std::function<void(std::size_t, std::size_t)>& body) {
    if (parallel) parallel_for(static_cast<std::size_t>(n), 1, body);
    else body(0, static_cast<std::size_t>(n));
  };
  // Per sample: quantize; per-slice reads stack its digit planes into each tile's rows (one
  // GEMM or lookup pass then covers every (plane, slice) partial sum of a crossbar row-tile);
  // read noise: independent per device and read, so each sensed current gets a Gaussian whose
  // variance sums over its devices: sigma^2 * 2 devices (the pair, or the device and its
  // reference) * sum_k input_k^2 * fold_power.
  // Each sample's inputs are checked as it is quantized (still in cache); exceptions cannot leave
  // the parallel loop, so a bad input is reported after it, by check_inputs, before anything the
  // read keeps (its stream counter, its activity) changes.
  std::atomic<bool> out_of_range{false};
  // Rows [b0, b1) from `from` (row b0's inputs) into `to` (row b0's quantized values; may be
  // `from`), their outputs (row b0's at `out`) cleared.
  auto quantize_rows = [&](int b0, int b1, const float* from, float* to, float* out) {
    bool all_in_range = true;
    for (int b = b0; b < b1; ++b) {
      float* ints = to + static_cast<std::size_t>(b - b0) * sh.k;
      const std::optional<float> step = quantize_sample(from + static_cast<std::size_t>(b - b0) * sh.k, sh.k, a, ints);
      if (!step) {
        out_of_range = true;
        all_in_range = false;
        continue;
      }
      q.step[b] = *step;
      if (!strips)  // strips write every output once, the others accumulate into it
        std::fill(out + static_cast<std::size_t>(b - b0) * sh.n, out + static_cast<std::size_t>(b - b0 + 1) * sh.n, 0.0f);
      for (int t = 0; t < sh.k_tiles; ++t) {
        const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
        for (int p = 0; p < planes; ++p) {
          const int r = p * batch + b;
          const float* row = ints + k0;
          if (per_slice) {
            float* digits = rb.planes.data() + static_cast<std::size_t>(k0) * m + static_cast<std::size_t>(r) * kt;
            input_digits(row, kt, p, a.dac_bits, digits);
            row = digits;
          }
          if (unit_sigma > 0) {
            const double power = integer_power(row, kt, exact_power);
            rb.noise_std[static_cast<std::size_t>(t) * m + r] = static_cast<float>(unit_sigma * std::sqrt(2.0 * fold_power * power));
          }
        }
      }
    }
    return all_in_range;
  };
  // The read's noise stream; its counter moves only once every input has passed.
  const uint64_t key = derive_key(derive_key(s_.key, dir == Direction::Forward ? 0xF0 : 0xB0), s_.reads + 1);
  // Column block c of row block rb (whose first row's quantized values are at `ints`, its
  // outputs at `out`): partial sums, conversions, then integer units back to real values.
  auto read_block = [&](int c, int row_block, const float* ints, float* out) {
    Scratch& local = scratch();  // partial sums, draws and tables, kept per thread
    const int n0 = c * block, nn = std::min(block, sh.n - n0);
    const int b0 = row_block * rows_per_block, b1 = std::min(batch, b0 + rows_per_block);
    // Rows of the partial sums: the block's samples, or all m when the rows are not split.
    read_columns(dir, e, rb, ints, batch, row_split ? b0 : 0, row_split ? b1 : m, n0, nn, key, out, b0, local);
    if (strips) return;  // scaled by read_columns
    for (int b = b0; b < b1; ++b) {
      const float scale = q.step[b] * s_.w_step;
      float* row = out + static_cast<std::size_t>(b - b0) * sh.n + n0;
      for (int n = 0; n < nn; ++n) row[n] *= scale;
    }
  };
  if (row_split) {
    loop(row_blocks, [&](std::size_t i0, std::size_t i1) {
      // The block's inputs (made here from a source) are quantized in place in a per-thread
      // buffer, and its outputs for a sink go to another: both stay in cache for the block.
      std::vector<float>& block_rows = scratch().rows;
      std::vector<float>& block_out = scratch().out;
      grow_to(block_rows, static_cast<std::size_t>(rows_per_block) * sh.k);
      if (sink) grow_to(block_out, static_cast<std::size_t>(rows_per_block) * sh.n);
      for (int i = static_cast<int>(i0); i < static_cast<int>(i1); ++i) {
        const int b0 = i * rows_per_block, b1 = std::min(batch, b0 + rows_per_block);
        if (source) source->make(b0, b1, block_rows.data());
        const float* from = source ? block_rows.data() : x + static_cast<std::size_t>(b0) * sh.k;
        float* out = sink ? block_out.data() : y + static_cast<std::size_t>(b0) * sh.n;
        if (!quantize_rows(b0, b1, from, block_rows.data(), out)) continue;  // reported below
        for (int c = 0; c < column_blocks; ++c) read_block(c, i, block_rows.data(), out);
        if (sink) sink->take(b0, b1, out);
      }
    });
    if (out_of_range) check_inputs(source ? all_rows() : x, batch, sh.k, a);  // throws, naming the first bad input
  } else {
    grow_to(q.ints, static_cast<std::size_t>(batch) * sh.k);
    loop(batch, [&](std::size_t b0, std::size_t b1) {
      quantize_rows(static_cast<int>(b0), static_cast<int>(b1), x + b0 * sh.k, q.ints.data() + b0 * sh.k, y + b0 * sh.n);
    });
    if (out_of_range) check_inputs(x, batch, sh.k, a);
    if (lookup)
      loop(sh.k_tiles, [&](std::size_t t0, std::size_t t1) {
        for (int t = static_cast<int>(t0); t < static_cast<int>(t1); ++t) {
          const int k0 = t * sh.k_tile, kt = std::min(sh.k_tile, sh.k - k0);
          split_binary_planes(rb.planes.data() + static_cast<std::size_t>(k0) * m, m, kt, a.dac_bits, a.input_signed,
                              rb.binary_planes[t]);
        }
      });
    loop(column_blocks, [&](std::size_t i0, std::size_t i1) {
      for (int c = static_cast<int>(i0); c < static_cast<int>(i1); ++c) read_block(c, 0, q.ints.data(), y);
    });
    if (sink)
      loop(batch / group, [&](std::size_t g0, std::size_t g1) {
        for (std::size_t g = g0; g < g1; ++g) sink->take(static_cast<int>(g) * group, static_cast<int>(g + 1) * group, y + g * group * sh.n);
      });
  }
  ++s_.reads;

  // Hardware activity: the array is read once per input plane whatever the read mode (folded
  // reads accumulate the planes and slices in the analog domain before one conversion).
  const uint64_t n_side_tiles = dir == Direction::Forward ? col_tiles_ : row_tiles_;
  const uint64_t devices_per_weight = static_cast<uint64_t>(a.slices()) * polarities();
  const uint64_t hw_planes = a.input_planes();
  activity_.crossbar_reads += batch * hw_planes * crossbars();
  activity_.dac_conversions += batch * hw_planes * sh.k * n_side_tiles * devices_per_weight;
  const uint64_t conversions = batch * planes * (per_slice ? a.slices() : 1) * sh.n * sh.k_tiles;
  activity_.adc_conversions += conversions;
  activity_.shift_adds += conversions;
  activity_.device_macs += batch * hw_planes * devices_per_weight * sh.k * sh.n;
}

}  // namespace txsim
