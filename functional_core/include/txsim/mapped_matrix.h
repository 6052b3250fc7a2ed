// A float weight matrix mapped onto crossbars: tiles x slices x (differential pair | offset with a
// reference column). The device conductances are the state; float weights are derived from them.
// Every read is one GEMM per crossbar row-tile with the DAC, ADC and shift-and-add around it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "txsim/activity.h"
#include "txsim/binary_planes.h"
#include "txsim/circuit_model.h"
#include "txsim/config.h"
#include "txsim/device_array.h"
#include "txsim/mapped_state.h"
#include "txsim/narrow_gemm.h"
#include "txsim/periphery.h"
#include "txsim/row_source.h"
#include "txsim/state_archive.h"
#include "txsim/update_model.h"

namespace txsim {

// Where a read parallelizes, at one level only: inside OpenBLAS (its thread pool in each GEMM,
// everything else sequential), or over blocks of output columns (our threads, each running
// single-threaded GEMMs for its columns through every crossbar row-tile in order).
enum class Parallelism { Blas, Columns };

// How per-slice partial sums are computed: one SGEMM per row-tile and slice, or table lookup
// over binary input planes (exact too; faster for 1-bit DACs). Auto picks by the DAC digits.
enum class PartialSumKernel { Auto, Gemm, Lookup };

class MappedMatrix {
 public:
  // Builds what reads in this direction need now, instead of at the first read after a change.
  // A build of one direction touches nothing a read of the other uses, once that direction's
  // own build is done (its first build after a change checks the kept solves): the Python
  // package builds the transposed read's on a second thread while the forward reads run.
  void prepare_reads(Direction dir) { uses_strips() ? (void)effective_in_strips(dir) : (void)effective(dir); }
  // A layer with `in` inputs and `out` outputs (weights out x in). `seed` and `layer` select the
  // random streams of its devices and reads.
  // `circuit` overrides the circuit model that config.circuit describes.
  MappedMatrix(const CrossbarConfig& config, int in, int out, uint64_t seed, uint64_t layer = 0,
               std::shared_ptr<const CircuitModel> circuit = nullptr);

  // Programs the devices to represent W (row-major out x in). Weights are quantized to
  // weight_bits over [-w_scale, w_scale]; w_scale 0 means max |W|. Invalidates the cached
  // effective matrices.
  // With a rounding key, weights round to codes stochastically (unbiased), as a read-modify-write
  // update of bit-sliced weights needs for changes below one code.
  void program(const float* w, float w_scale = 0.0f, const uint64_t* rounding_key = nullptr);
  // The signed weight codes last programmed (out x in), in units of one weight step.
  const std::vector<int32_t>& codes() const { return s_.codes; }

  // One device pair per weight (one slice, differential mapping): what pulsed updates and
  // centered programming need.
  bool analog_cells() const { return analog_cells(config_.crossbar); }
  static bool analog_cells(const ArrayConfig& a) { return a.slices() == 1 && a.mapping == Mapping::Differential; }

  // For pulsed training (one slice, differential): programs each pair around the middle of the
  // conductance range, G+- = mid +- w / 2, so that both devices can move either way.
  void program_centered(const float* w, float w_scale);

  // Applies the weight change dw (out x in) by programming pulses into the devices: each weight's
  // pair moves half the change each way (G+ up and G- down for dw > 0), under the update model.
  // With one slice per weight (bits_per_cell == weight_bits) and differential mapping. Pulse
  // counts: stochastic rounding (or nearest) of the change in nominal steps; `key` seeds this
  // update's draws. With mixed precision the remainder below one pulse is kept and carried.
  // Bit-sliced weights are updated by read-modify-write of their codes: the controller's code
  // plus dw (in codes) is rounded stochastically and the changed digits reprogrammed (the update
  // model does not apply there; device deviations stay those of the devices, never compounded).
  void update(const float* dw, const UpdateConfig& u, uint64_t key);
  // The stochastic pulsed update of aihwkit: for every row r, x_r (in) and d_r (out) become
  // random pulse trains of `bit_length` bits, and each device pair receives one pulse per
  // coincidence, in the direction of -sign(x) sign(d): an outer-product update of expected size
  // lr x d^T, with x and d probabilities balanced per row (update management). One slice per
  // weight, differential mapping. Returns the number of coincidences applied.
  uint64_t pulsed_update(const float* x, const float* d, int rows, double lr, int bit_length, const UpdateConfig& u,
                         uint64_t key);
  float weight_scale() const { return s_.w_scale; }
  // Checkpoints: every piece of state that the next read or update depends on (conductances,
  // weight codes and scale, device-to-device update factors, mixed-precision remainders, the
  // read-noise stream's counter, the parasitic-refresh schedule), so a restored matrix reads and
  // updates exactly as the saved one would have.
  void save_state(StateWriter& w) const;
  void load_state(StateReader& r);

  // The float weights the programmed conductances represent (out x in), as a forward read sees them.
  std::vector<float> weights();

  // y = W x for each sample: x is batch x in, y is batch x out.
  void forward(const float* x, int batch, float* y);
  // The same with x's rows made by `rows` as the read needs them (the same results as x itself).
  void forward(const RowSource& rows, int batch, float* y);
  // dx = W^T d for each sample (the transposed read): d is batch x out, dx is batch x in.
  void backward(const float* d, int batch, float* dx);
  // The same with dx's rows handed to `sink` (the same values) as blocks of them are read.
  void backward(const float* d, int batch, const RowSink& sink);

  int inputs() const { return in_; }
  int outputs() const { return out_; }
  int row_tiles() const { return row_tiles_; }
  int col_tiles() const { return col_tiles_; }
  int polarities() const { return polarities(config_.crossbar); }
  static int polarities(const ArrayConfig& a) { return a.mapping == Mapping::Differential ? 2 : 1; }
  int crossbars() const { return crossbars_for(config_.crossbar, in_, out_); }
  // The physical crossbars an in x out matrix takes on arrays of this config (tiles x slices x
  // polarities), without building it: for planning a mapping.
  static int crossbars_for(const ArrayConfig& a, int in, int out) {
    return ceil_div(in, a.rows) * ceil_div(out, a.weight_cols()) * a.slices() * polarities(a);
  }
  const CrossbarConfig& config() const { return config_; }
  // Device plane of weights for (slice, polarity): in x out. Offset mapping: polarity 0 only.
  const DeviceArray& plane(int slice, int polarity = 0) const;
  // Offset mapping: the reference devices of `slice`, in x col_tiles.
  const DeviceArray& reference(int slice) const;

  const Activity& activity() const { return activity_; }
  void reset_activity() { activity_ = Activity{}; }
  void set_parallelism(Parallelism p) { parallelism_ = p; }
  void set_partial_sum_kernel(PartialSumKernel k) { kernel_ = k; }
  // The kernel a per-slice read uses now (Gemm for folded reads).
  PartialSumKernel partial_sum_kernel() const;

 private:
  static int ceil_div(int a, int b) { return (a + b - 1) / b; }
  // A read direction seen as one shape: inputs of length k, outputs of length n, the k side cut
  // into tiles of the crossbar lines that share one sensing line.
  struct Shape {
    int k, n, k_tile, k_tiles;
  };
  // Everything a read needs that depends only on the programmed state, per direction.
  struct Effective {
    bool valid = false;
    std::vector<float> matrix;   // per-slice: k x (slices*n); folded: k x n (units of one step)
    std::vector<float> lsb;      // per k-tile x (slices*n | n)
    std::vector<float> inv_lsb;
    // The matrix again in the narrow GEMM's packed strips (narrow_gemm.h), made by the first read
    // that uses them after each build: slice s of row-tile t (kt lines) from ((t * slices + s) *
    // strips) * k_tile * kNarrowGemmMaxColumns, its strip q a further q * kt *
    // kNarrowGemmMaxColumns on. Reads then take each strip in one run instead of lines a page apart.
    std::vector<float> strips;
    bool strips_valid = false;
  };

  // What the programmings since a kept crossbar's last check changed in it: nothing, devices a
  // programming listed (gathered again without a comparison), or what no list says (compared).
  enum class Changed : uint8_t { Nothing, Listed, Unknown };
  // One physical crossbar's conductances as last gathered and each direction's solve of them. A
  // reprogramming leaves most crossbars of a layer as they were (an update moves a few codes,
  // and higher slices' digits seldom), and an unchanged crossbar is not solved again. The
  // conductances are checked once after a programming (`since_check`), whichever direction
  // builds first; `version` counts their changes, `solved` the version each solve saw.
  struct Solved {
    std::vector<double> g, eff[2];
    uint64_t version = 0, solved[2] = {~uint64_t(0), ~uint64_t(0)};
    Changed since_check = Changed::Unknown;
  };
  // Every change of the devices goes through one of these: the effective matrices are rebuilt,
  // and the kept conductances checked again (all of them, or the crossbars holding `devices`:
  // per plane, (in x out) indices, the only devices the programming touched).
  void invalidate_effective() {
    forward_.valid = backward_.valid = false;
    for (Solved& kept : solved_) kept.since_check = Changed::Unknown;
  }
  void invalidate_effective(const std::vector<std::vector<uint32_t>>& devices);

  Shape shape(Direction dir) const;
  const Effective& effective(Direction dir);
  // Whether reads take their partial sums from the narrow GEMM's packed strips (the GEMM kernel
  // where the vector narrow GEMM is built) rather than from SGEMM or lookups.
  bool uses_strips() const { return kNarrowGemmVectorized && partial_sum_kernel() == PartialSumKernel::Gemm; }
  // effective(dir) with its strips packed.
  const Effective& effective_in_strips(Direction dir);
  void build_effective(Direction dir, Effective& e);
  // x, or (x null) the rows `source` makes.
  void read(Direction dir, const float* x, const RowSource* source, int batch, float* y, const RowSink* sink);
  // One thread's buffers for the blocks it reads: a row block's inputs and quantized values, its
  // outputs for a sink, partial sums, draws, lookup tables.
  struct Scratch {
    std::vector<float> rows, out, c, z, table, strip_out;
  };
  static Scratch& scratch();
  // What one read prepares for its column blocks: the quantized inputs, each tile's stacked
  // input planes, the read-noise deviation of each of their rows, the lookup kernel's planes per
  // row-tile. Nothing in it outlives the read, so one set per calling thread serves every matrix
  // (a network's layers would otherwise each keep their largest batch's worth).
  struct ReadBuffers {
    QuantizedInputs inputs;
    // rows, out: a source's rows and a sink's, when the read takes them all at once
    std::vector<float> planes, noise_std, rows, out;
    std::vector<BinaryPlanes> binary_planes;
  };
  static ReadBuffers& read_buffers();
  // Pulsed updates: the nominal step of one pulse (normalized conductance), after making sure the
  // device-to-device step factors exist (drawn once, fixed for the layer's lifetime).
  double prepare_pulses(const UpdateConfig& u);
  // Moves device (i, o) of plane p by n pulses up or down along the update model, from the
  // conductance it has; f indexes its device-to-device factors, z is its write-noise draw.
  void pulse_device(const UpdateConfig& u, double step, std::size_t p, int i, int o, double n, bool up, std::size_t f,
                    double z);
  // Accumulates outputs [n0, n0 + nn) of every sample over all row-tiles into y (batch x n).
  // Rows [r0, r1) of the partial sums (a folded read's samples; otherwise all of them).
  // Folded reads take the quantized inputs from `ints` (row r0's). y holds rows from y_row0 on.
  void read_columns(Direction dir, const Effective& e, const ReadBuffers& rb, const float* ints, int batch, int r0, int r1,
                    int n0, int nn, uint64_t key, float* y, int y_row0, Scratch& scratch) const;
  // Read noise, ADC and shift-and-add of the partial sums c (rows r0..r1 x ldc) of tile t, slice
  // s, outputs [j0, j0 + w), accumulated into y.
  void convert(Direction dir, const Effective& e, const ReadBuffers& rb, int batch, int r0, int r1, int t, int s, int j0,
               int w, const float* c, std::size_t ldc, uint64_t tile_key, float* y, std::size_t ldy, int y_row0,
               std::vector<float>& z) const;

  CrossbarConfig config_;
  int in_, out_;
  int row_tiles_, col_tiles_;
  // Everything the next read or update depends on beyond the configuration: devices, codes,
  // update factors, remainders, stream counters (mapped_state.h; saved and loaded as one).
  MappedState s_;
  std::shared_ptr<const CircuitModel> circuit_;
  // circuit.refresh_every > 1: the first-order model (the exact solve's corrections to it and
  // the refresh schedule are in s_).
  std::shared_ptr<const CircuitModel> fast_circuit_;
  void program_codes();                  // programs every plane from s_.codes
  // Programs only the listed devices of each plane (changed[p]: device indices) from s_.codes.
  void program_changed(const std::vector<std::vector<uint32_t>>& changed);
  // Every plane holds exactly what program_codes would put there, so that an update may
  // reprogram only the devices whose digit changed. False after anything else writes the
  // devices (pulses, centered programming, a loaded state): the next update reprograms all.
  bool planes_follow_codes_ = false;
  // The largest weight code (differential: the magnitude's; offset: the signed range's).
  int q_max() const {
    const ArrayConfig& a = config_.crossbar;
    return a.mapping == Mapping::Differential ? (1 << a.weight_bits) - 1 : (1 << (a.weight_bits - 1)) - 1;
  }
  // The level that weight code q puts on the device of slice s and polarity pol (0 when the
  // code's sign selects the other device of a differential pair).
  int digit(int q, int s, int pol) const {
    const ArrayConfig& a = config_.crossbar;
    const bool differential = a.mapping == Mapping::Differential;
    if (differential && (q < 0) != (pol == 1)) return 0;
    const int stored = differential ? std::abs(q) : q + (1 << (a.weight_bits - 1));
    return (stored >> (a.bits_per_cell * s)) & ((1 << a.bits_per_cell) - 1);
  }
  // The conductance one digit adds to a device's g_min (a cell's 2^bits_per_cell - 1 steps span
  // [g_min, g_max]): a digit d is programmed towards g_min + d * digit_step().
  double digit_step() const {
    return (config_.device.g_max - config_.device.g_min) / ((1 << config_.crossbar.bits_per_cell) - 1);
  }
  // Programming activity: pulses[(plane * in + i) * col_tiles + ct] holds, for one update, the
  // largest pulse count among the devices of weight row i in column tile ct of that plane;
  // charges the slowest crossbar's row-serial slots.
  void charge_row_serial(const std::vector<uint32_t>& row_max);
  double nl_scale(std::size_t k) const { return s_.nl_scale.empty() ? 1.0 : s_.nl_scale[k]; }
  Effective forward_, backward_;
  std::vector<Solved> solved_;  // per physical crossbar (non-ideal circuits)
  Activity activity_;
  Parallelism parallelism_ = Parallelism::Columns;
  PartialSumKernel kernel_ = PartialSumKernel::Auto;
};

}  // namespace txsim
