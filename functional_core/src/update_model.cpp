#include "txsim/update_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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
  if (!(u.write_noise >= 0 && u.write_noise <= 100)) bad("write_noise", u.write_noise, "0..100 (fraction of a step)");
  if (!(u.step_d2d >= 0 && u.step_d2d <= 1)) bad("step_d2d", u.step_d2d, "0..1");
}

namespace {
// NeuroSim's curve with a = A / Pmax: x(p) for the pulse fraction p in [0, 1], and its inverse.
double curve(double a, double p) { return -std::expm1(-p / a) / -std::expm1(-1 / a); }
double inverse(double a, double x) { return -a * std::log1p(x * std::expm1(-1 / a)); }
}  // namespace

double apply_pulses(const UpdateConfig& u, double step, double x, double n, bool up, double scale, double z) {
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
        const double p = inverse(u.nl_ltp, std::clamp(x, 0.0, 1.0)) + m * step;
        next = p >= 1 ? 1 : curve(u.nl_ltp, p);
      } else {
        const double q = inverse(u.nl_ltd, std::clamp(1 - x, 0.0, 1.0)) + m * step;
        next = q >= 1 ? 0 : 1 - curve(u.nl_ltd, q);
      }
      break;
  }
  if (u.write_noise > 0 && n > 0) next += u.write_noise * step * std::sqrt(n) * z;  // n independent pulses
  return std::clamp(next, 0.0, 1.0);
}

}  // namespace txsim
