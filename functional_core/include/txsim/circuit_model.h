// The seam between the programmed devices and what a read sees: the effective conductance
// matrix of one physical crossbar, computed once per programmed state and direction.
#pragma once

namespace txsim {

enum class Direction { Forward, Backward };  // drive rows, sense columns / drive columns, sense rows

class CircuitModel {
 public:
  virtual ~CircuitModel() = default;
  // g and eff are rows x cols, row-major. Forward: I_col[j] = sum_i V_row[i] * eff[i][j].
  // Backward: I_row[i] = sum_j V_col[j] * eff[i][j].
  virtual void effective(const double* g, int rows, int cols, Direction dir, double* eff) const = 0;
};

// No wire, source or sink resistance: every read sees the device conductances themselves.
class IdealCircuit final : public CircuitModel {
 public:
  void effective(const double* g, int rows, int cols, Direction dir, double* eff) const override;
};

}  // namespace txsim
