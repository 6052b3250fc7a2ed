// Device update models: how a device's conductance moves under programming pulses. The state is
// the normalized conductance x = (g - g_min) / (g_max - g_min) in [0, 1]; one nominal pulse moves
// a linear device by step = 1 / pulses (pulses: from g_min to g_max). n pulses are applied in
// closed form, so an update costs O(1) per device whatever its pulse count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace txsim {

enum class UpdateKind {
  Linear,       // x +- n step
  SoftBounds,   // up: 1 - x shrinks by (1 - step)^n; down: x shrinks by (1 - step)^n (aihwkit SoftBounds)
  Exponential,  // NeuroSim: x(P) = (1 - e^(-P/A)) / (1 - e^(-Pmax/A)) for LTP, mirrored for LTD
  Measured,     // a user's device: conductance against pulse number (or step against conductance)
                // from a CSV, interpolated piecewise linearly
  TxSim,        // TxSim's asymmetric nonlinearity nu in [0, 1]: one pulse moves x by step (1 - nu x)
                // up and step (1 - nu (1 - x)) down: up and down differ everywhere but at x = 1/2,
                // and at nu = 1 a device at g_min cannot be depressed
};

// A measured device: the normalized state after k LTP pulses from the bottom (up[k], k = 0..P,
// rising from 0 to 1), and how far k LTD pulses bring it down from the top (down[k], 1 - state,
// rising from 0 to 1).
struct MeasuredCurve {
  std::vector<double> up, down;
  std::string source;
  int ltp_pulses() const { return static_cast<int>(up.size()) - 1; }
};

// Reads a measured device from a CSV with a header line, in one of two forms (siemens; blank,
// comma or tab separated):
//   pulse,g_ltp,g_ltd   the conductance after `pulse` LTP pulses (from the bottom) and after
//                       `pulse` LTD pulses (from the top); pulse = 0, 1, 2, ... in order
//   g,step_ltp,step_ltd the change of one LTP pulse (> 0) and one LTD pulse (magnitude, > 0) at
//                       conductance g (g increasing); integrated pulse by pulse into curves
// Each curve is scaled to span the device's [g_min, g_max]: the file gives its shape. Errors
// (std::runtime_error) name the file, the line and the value: non-monotone curves, a step <= 0,
// missing columns, fewer than two points.
std::shared_ptr<const MeasuredCurve> load_measured_curve(const std::string& path);

struct UpdateConfig {
  UpdateKind kind = UpdateKind::Linear;
  int pulses = 0;            // nominal pulses from g_min to g_max; 0: the device's levels - 1
  double asymmetry = 0;      // up pulses count (1 + asymmetry), down pulses (1 - asymmetry); in [-1, 1]
  double nl_ltp = 5, nl_ltd = 5;  // Exponential: A / Pmax for potentiation and depression (> 0; large = linear)
  double nu = 0;             // TxSim: asymmetric nonlinearity in [0, 1] (0: linear)
  std::shared_ptr<const MeasuredCurve> measured;  // Measured: the curves; pulses 0 means the LTP pulse count
  double write_noise = 0;    // cycle-to-cycle: std of each pulse's change, as a fraction of the nominal step
  double step_d2d = 0;       // device-to-device: relative std of each device's step (fixed per device)
  double nl_d2d = 0;         // device-to-device: relative std of each device's nonlinearity (Exponential's
                             // A, TxSim's 1 / nu; NeuroSim's D2D variation of NL), fixed per device
  bool stochastic = true;    // pulse counts by stochastic rounding (unbiased); false: nearest count
  bool mixed_precision = false;  // accumulate updates digitally, program whole pulses only
  bool one_sided = false;    // pair mapping: false: both devices around the middle, each moves half
                             // the change; true (TxSim, ISAAC): one device holds |w| above g_min,
                             // the other rests at g_min, and the holder takes the whole change
  bool sliced_pulses = false;  // bit-sliced weights (bits_per_cell < weight_bits): false ("verify"):
                               // a changed digit's device is reprogrammed to its level (write-verify;
                               // the update model does not apply); true ("pulses"): it takes one
                               // nominal pulse per level of change from its present conductance,
                               // open loop, along the update model (nonlinearity, write noise)
};

// Validates (throws std::invalid_argument naming the field and what is accepted).
void check_update(const UpdateConfig& u, const char* where);

// The normalized state after n pulses (n >= 0) up or down, for a device whose step is scaled by
// `scale` (its device-to-device factor, asymmetry applied here), whose nonlinearity is scaled by
// `nl_scale` (its device-to-device factor: A x nl_scale, nu / nl_scale), and a standard normal
// draw `z` for the write noise. Saturates at 0 and 1.
double apply_pulses(const UpdateConfig& u, double step, double x, double n, bool up, double scale, double z,
                    double nl_scale = 1.0);

}  // namespace txsim
