// The digital-analog boundary: input DACs (per-sample scaling, bit-serial digit planes) and ADCs.
#pragma once

#include <cmath>
#include <optional>
#include <stdexcept>
#include <vector>

#include "txsim/config.h"

namespace txsim {

// Inputs of a batch as integers of input_magnitude_bits, each sample scaled by its own max |x|
// (so a sample's largest element uses the full DAC range). ints holds the signed integers.
struct QuantizedInputs {
  std::vector<float> ints;  // batch x length, integer-valued
  std::vector<float> step;  // per sample: the real value of one integer step
};

// A NaN or inf handed to a crossbar (an input to read, a change to program). In training this
// means the run has diverged, which the training loop reports as such.
class NonFiniteInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws NonFiniteInput naming the first NaN/inf input, or std::invalid_argument naming the first
// negative one when inputs are unsigned.
void check_inputs(const float* x, int batch, int length, const ArrayConfig& array);
// Whether x[0..n) are all finite (and non-negative when inputs are unsigned): check_inputs' test.
bool inputs_in_range(const float* x, std::size_t n, const ArrayConfig& array);

// Quantizes one sample into out[0..length) and returns its step; or, when an input fails
// inputs_in_range's test, writes nothing and returns nothing (check_inputs then names it).
std::optional<float> quantize_sample(const float* x, int length, const ArrayConfig& array, float* out);

// Digit `plane` (dac_bits wide, least significant first) of |ints[0..n)|, carrying its sign.
void input_digits(const float* ints, int n, int plane, int dac_bits, float* out);

// A uniform midtread ADC with two's complement codes [-2^(bits-1), 2^(bits-1) - 1].
struct AdcCodes {
  float lo, hi;
  explicit AdcCodes(int bits)
      : lo(-std::ldexp(1.0f, bits - 1)), hi(std::ldexp(1.0f, bits - 1) - 1.0f) {}
};

// The LSB for a full scale of `full_scale` units: for the fixed policy the smallest power of two
// whose top code reaches the full scale (codes then align with the shift-and-add), for the
// calibrated policy exactly full_scale / top code.
float adc_lsb(double full_scale, int bits, AdcRange policy);

}  // namespace txsim
