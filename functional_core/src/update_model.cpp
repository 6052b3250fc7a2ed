#include "txsim/update_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "txsim/config.h"

namespace txsim {

void check_update(const UpdateConfig& u, const char* where) {
  auto bad = [&](const char* field, double v, const char* accepted) {
    throw std::invalid_argument(std::string(where) + ": field 'update." + field + "' = " + std::to_string(v) +
                                ": accepted " + accepted);
  };
  if (u.pulses < 0 || u.pulses > (1 << 24)) bad("pulses", u.pulses, "0..16777216 (0: the device's levels - 1)");
  if (!(u.asymmetry >= -1 && u.asymmetry <= 1)) bad("asymmetry", u.asymmetry, "-1..1");
  if (!(u.nl_ltp > 0 && u.nl_ltp <= 1e6)) bad("nl_ltp", u.nl_ltp, "A / Pmax in (0, 1e6]");
  if (!(u.nl_ltd > 0 && u.nl_ltd <= 1e6)) bad("nl_ltd", u.nl_ltd, "A / Pmax in (0, 1e6]");
  if (u.kind == UpdateKind::Measured && !u.measured)
    throw std::invalid_argument(std::string(where) + ": update.kind 'measured' needs a curve (update.csv)");
  if (!(u.nu >= 0 && u.nu <= 1)) bad("nu", u.nu, "0..1 (1: the step vanishes at the far bound)");
  if (!(u.write_noise >= 0 && u.write_noise <= 100)) bad("write_noise", u.write_noise, "0..100 (fraction of a step)");
  if (!(u.step_d2d >= 0 && u.step_d2d <= 1)) bad("step_d2d", u.step_d2d, "0..1");
  if (!(u.nl_d2d >= 0 && u.nl_d2d <= 1)) bad("nl_d2d", u.nl_d2d, "0..1");
}

namespace {
// NeuroSim's curve with a = A / Pmax: x(p) for the pulse fraction p in [0, 1], and its inverse.
double curve(double a, double p) { return -std::expm1(-p / a) / -std::expm1(-1 / a); }
double inverse(double a, double x) { return -a * std::log1p(x * std::expm1(-1 / a)); }

// A rising piecewise-linear curve c[0..P] over pulse numbers (MeasuredCurve stores LTD as the
// distance from the top): its value at pulse p (held at the ends) and the first pulse number
// where it reaches x.
double at(const std::vector<double>& c, double p) {
  if (p <= 0) return c.front();
  const std::size_t last = c.size() - 1;
  if (p >= static_cast<double>(last)) return c.back();
  const std::size_t k = static_cast<std::size_t>(p);
  return c[k] + (p - k) * (c[k + 1] - c[k]);
}
double pulse_of(const std::vector<double>& c, double x) {
  if (x <= c.front()) return 0;
  if (x >= c.back()) return static_cast<double>(c.size() - 1);
  const std::size_t k = static_cast<std::size_t>(std::upper_bound(c.begin(), c.end(), x) - c.begin()) - 1;
  return k + (c[k + 1] > c[k] ? (x - c[k]) / (c[k + 1] - c[k]) : 0.0);
}
}  // namespace

std::shared_ptr<const MeasuredCurve> load_measured_curve(const std::string& path) {
  std::vector<std::string> header;
  const auto rows = read_numeric_csv(path, &header);
  auto fail = [&](int line, const std::string& what) {
    throw std::runtime_error(path + (line > 0 ? ": line " + std::to_string(line) : std::string()) + ": " + what);
  };
  if (rows.size() < 2) fail(0, "needs at least two data lines");
  if (rows.front().size() != 3) fail(0, "needs three columns: pulse,g_ltp,g_ltd or g,step_ltp,step_ltd");
  auto curve = std::make_shared<MeasuredCurve>();
  curve->source = path;
  auto number = [](double v) { return std::to_string(v); };
  // Scales a monotone curve to the distance travelled in [0, 1] (LTD: from the top).
  auto normalize = [&](const std::vector<double>& c, bool rising, const char* what) {
    const double lo = *std::min_element(c.begin(), c.end()), hi = *std::max_element(c.begin(), c.end());
    if (!(hi > lo)) fail(0, std::string(what) + " has no range (every conductance " + number(lo) + ")");
    std::vector<double> out(c.size());
    for (std::size_t k = 0; k < c.size(); ++k) out[k] = rising ? (c[k] - lo) / (hi - lo) : (hi - c[k]) / (hi - lo);
    return out;
  };
  if (header[0] == "pulse" && header[1] == "g_ltp" && header[2] == "g_ltd") {
    std::vector<double> up, down;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const int line = static_cast<int>(k) + 2;
      if (rows[k][0] != static_cast<double>(k)) fail(line, "pulse = " + number(rows[k][0]) + ": accepted " + std::to_string(k) + " (pulses 0, 1, 2, ... in order)");
      for (int col : {1, 2})
        if (!(rows[k][col] > 0)) fail(line, header[col] + " = " + number(rows[k][col]) + ": accepted a conductance > 0 (siemens)");
      if (k > 0 && rows[k][1] < rows[k - 1][1]) fail(line, "g_ltp = " + number(rows[k][1]) + " falls below the previous " + number(rows[k - 1][1]) + ": LTP must not decrease (smooth or fit the data first)");
      if (k > 0 && rows[k][2] > rows[k - 1][2]) fail(line, "g_ltd = " + number(rows[k][2]) + " rises above the previous " + number(rows[k - 1][2]) + ": LTD must not increase (smooth or fit the data first)");
      up.push_back(rows[k][1]);
      down.push_back(rows[k][2]);
    }
    curve->up = normalize(up, true, "g_ltp");
    curve->down = normalize(down, false, "g_ltd");
  } else if (header[0] == "g" && header[1] == "step_ltp" && header[2] == "step_ltd") {
    std::vector<double> g, up_step, down_step;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const int line = static_cast<int>(k) + 2;
      if (k > 0 && !(rows[k][0] > rows[k - 1][0])) fail(line, "g = " + number(rows[k][0]) + ": accepted conductances increasing line by line");
      for (int col : {1, 2})
        if (!(rows[k][col] > 0)) fail(line, header[col] + " = " + number(rows[k][col]) + ": accepted a step > 0 (siemens; a device that cannot move is a stuck device)");
      g.push_back(rows[k][0]);
      up_step.push_back(rows[k][1]);
      down_step.push_back(rows[k][2]);
    }
    const double lo = g.front(), span = g.back() - g.front();
    // Integrate pulse by pulse: the step at the current conductance, interpolated.
    auto integrate = [&](const std::vector<double>& step, bool up) {
      std::vector<double> c = {0.0};
      double x = 0;  // distance travelled from the start, normalized
      while (x < 1) {
        const double gx = up ? lo + x * span : g.back() - x * span;
        const double p = pulse_of(g, gx);
        x += at(step, p) / span;
        c.push_back(std::min(x, 1.0));
        if (c.size() > (1u << 24)) fail(0, std::string(up ? "step_ltp" : "step_ltd") + " too small: more than 16777216 pulses across the range");
      }
      return c;
    };
    curve->up = integrate(up_step, true);
    curve->down = integrate(down_step, false);
  } else {
    fail(1, "header '" + header[0] + "," + header[1] + "," + header[2] + "': accepted 'pulse,g_ltp,g_ltd' or 'g,step_ltp,step_ltd'");
  }
  return curve;
}

double apply_pulses(const UpdateConfig& u, double step, double x, double n, bool up, double scale, double z,
                    double nl_scale) {
  const double m = n * scale * (up ? 1 + u.asymmetry : 1 - u.asymmetry);  // effective pulse count
  double next = x;
  switch (u.kind) {
    case UpdateKind::Linear:
      next = x + (up ? m : -m) * step;
      break;
    case UpdateKind::SoftBounds: {
      const double keep = std::pow(1 - std::min(step, 1.0), m);
      next = up ? 1 - (1 - x) * keep : x * keep;
      break;
    }
    case UpdateKind::Exponential:
      if (up) {
        const double a = u.nl_ltp * nl_scale;
        const double p = inverse(a, std::clamp(x, 0.0, 1.0)) + m * step;
        next = p >= 1 ? 1 : curve(a, p);
      } else {
        const double a = u.nl_ltd * nl_scale;
        const double q = inverse(a, std::clamp(1 - x, 0.0, 1.0)) + m * step;
        next = q >= 1 ? 0 : 1 - curve(a, q);
      }
      break;
    case UpdateKind::Measured: {
      // m nominal pulses are m * step * P real pulses along the measured curves (P: LTP pulses).
      const std::vector<double>& c = up ? u.measured->up : u.measured->down;
      const double real = m * step * u.measured->ltp_pulses();
      const double from = up ? x : 1 - x;
      const double to = at(c, pulse_of(c, from) + real);
      next = up ? to : 1 - to;
      break;
    }
    case UpdateKind::TxSim: {
      // dx/dn = step (1 - nu x) integrates to 1 - nu x' = (1 - nu x) e^(-nu step n) (mirrored
      // for down); the device-to-device factor divides nu (at most 1).
      const double from = up ? x : 1 - x, nu = std::min(1.0, u.nu / nl_scale);
      const double to = nu == 0 ? from + m * step : (1 - (1 - nu * from) * std::exp(-nu * m * step)) / nu;
      next = up ? to : 1 - to;
      break;
    }
  }
  if (u.write_noise > 0 && n > 0) next += u.write_noise * step * std::sqrt(n) * z;  // n independent pulses
  return std::clamp(next, 0.0, 1.0);
}

}  // namespace txsim
