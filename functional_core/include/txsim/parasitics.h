// Circuit non-idealities of one crossbar: source, sink and wire resistances (IR drop) and a
// nonlinear device I-V.
//
// The circuit: word line i is driven by its DAC voltage through the source resistance into the
// cell at column 0; one wire resistance lies between adjacent cells along every word line and
// every bit line; the device joins the word-line node and the bit-line node of its cell; bit line
// j is sensed at a virtual ground through the sink resistance below its last cell (row rows-1).
// The backward read drives the bit lines at row rows-1 (through the source resistance) and senses
// the word lines at column 0 (through the sink resistance): the same array, the other direction.
//
// Models of the effective conductance matrix (outputs = eff^T inputs forward, eff inputs backward):
//  - exact: Kirchhoff's equations solved by block elimination line by line (dense LAPACK on
//    blocks of one line); exact to rounding. The word-line nodes of each row are eliminated first
//    (a tridiagonal solve), leaving a block-tridiagonal system over the bit-line rows whose
//    couplings are diagonal; the outputs sit on the last row, so one forward sweep gives them.
//  - first_order: the voltage drops that the ideal currents cause along both lines, fed back once
//    into the device currents (one Jacobi step from the ideal solution); O(rows x cols).
//  - short_path: each device in series with the resistance of its own path from the driver to
//    the sensing amplifier (TxSim's analytical model); O(rows x cols).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "txsim/circuit_model.h"
#include "txsim/config.h"

namespace txsim {

struct Parasitics {
  double source_ohm = 0;  // driver to the first cell of a driven line
  double sink_ohm = 0;    // last cell of a sensed line to its virtual ground
  double wire_ohm = 0;    // between adjacent cells, on word lines and bit lines alike
};

// Throws std::invalid_argument naming `where` and the field unless every resistance is finite
// and > 0 (a zero resistance makes the nodal system singular; use the ideal circuit instead).
void check_parasitics(const Parasitics& p, const std::string& where);

// Device current at voltage v for small-signal conductance g: linear g v, or sinh:
// I = g sinh(a v) / a, whose slope at v = 0 is g (a in 1/V, > 0).
struct IvModel {
  IvKind kind = IvKind::Linear;
  double a = 0;
  static constexpr double kMaxExponent = 50;  // a |v| beyond this is outside the model (and sinh overflows soon)

  double current(double g, double v) const;
  double slope(double g, double v) const;
  // Conductance that carries the device's current at v: g sinh(a v) / (a v); exact for a read
  // whose devices all see 0 or +-v, as with 1-bit DACs and no parasitics.
  double secant(double g, double v) const;
  // Parses "linear" or "sinh:A"; throws std::invalid_argument naming `where` otherwise.
  static IvModel parse(const std::string& text, const std::string& where);
  std::string str() const;
};

const char* name(ParasiticModel m);  // "ideal", "exact", "first_order", "short_path"

// eff (rows x cols, row-major) of the crossbar with conductances g (siemens, rows x cols), in the
// convention of CircuitModel::effective. Linear devices.
void effective_matrix(ParasiticModel model, const double* g, int rows, int cols, Direction dir, const Parasitics& p,
                      double* eff);

// The sensed currents of a read through an effective matrix (rows x cols, CircuitModel
// convention): forward, cols currents from rows voltages; backward, rows currents from cols.
std::vector<double> sensed_currents(const std::vector<double>& eff, int rows, int cols, Direction dir,
                                    const std::vector<double>& inputs);

// The full nodal solve for given input voltages, linear or nonlinear (Newton with a sparse
// Cholesky factorization per iteration): the reference path, also for the I-V nonlinearity, which
// no effective matrix captures once the wires are resistive. One factorization pattern per object.
class NodalCrossbar {
 public:
  NodalCrossbar(std::vector<double> g, int rows, int cols, Direction dir, const Parasitics& p, IvModel iv);
  ~NodalCrossbar();
  // inputs: rows volts (forward) or cols volts (backward); returns the sensed currents (amperes).
  // Throws std::runtime_error if Newton does not converge, never returns NaN.
  // Newton stops when no node moves by more than 1e-14 of the largest input; more than
  // max_iterations steps is an error.
  std::vector<double> solve(const std::vector<double>& inputs, int* iterations = nullptr,
                            int max_iterations = 100) const;

 private:
  struct Impl;
  Impl* impl_;
};

// A CircuitModel with parasitics (or with model None, only the I-V), for MappedMatrix. Devices follow `iv` through their secant
// conductance at the full read voltage (exact for 1-bit DACs without parasitics; with parasitics
// the linear solve at that conductance is an approximation, documented in the README).
class ParasiticCircuit final : public CircuitModel {
 public:
  ParasiticCircuit(ParasiticModel model, const Parasitics& p, IvModel iv = {}, double read_voltage = 0.2);
  // From a layer's config (circuit section and read voltage), with another model if given.
  static std::shared_ptr<const ParasiticCircuit> from(const CrossbarConfig& c);
  static std::shared_ptr<const ParasiticCircuit> from(const CrossbarConfig& c, ParasiticModel model);
  void effective(const double* g, int rows, int cols, Direction dir, double* eff) const override;
  ParasiticModel model() const { return model_; }

 private:
  ParasiticModel model_;
  Parasitics p_;
  IvModel iv_;
  double read_voltage_;
};

}  // namespace txsim
