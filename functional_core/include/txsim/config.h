// Typed configuration of one crossbar layer: the array and its periphery, and the device.
// Loaded from JSON with every field checked; unknown keys and out-of-range values are errors.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace txsim {

// A configuration error names where it came from, the field, the value and what is accepted.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Mapping { Differential, Offset };   // G+ - G- pair, or G - G_ref (one reference column)
enum class ReadMode { PerSlice, Folded };      // ADC per (bit plane, slice), or one ADC per output
enum class AdcModel { Ideal, Uniform };        // no quantization, or a uniform midtread ADC
enum class AdcRange { Fixed, Calibrated };     // one power-of-two LSB, or a per-column full scale
enum class VariationShape { Gaussian, LogNormal };
enum class VariationScale { Relative, Absolute };

struct ArrayConfig {
  int rows = 128;             // word lines of one crossbar
  int cols = 128;             // bit lines of one crossbar (offset mapping spends one on the reference)
  int weight_bits = 8;        // bits stored per weight (magnitude for differential, offset binary else)
  int bits_per_cell = 2;      // bits per device: weight_bits / bits_per_cell slices
  int input_bits = 8;         // input precision, including the sign bit when input_signed
  int dac_bits = 1;           // bits streamed per read cycle: ceil(magnitude bits / dac_bits) planes
  bool input_signed = true;   // bipolar DAC (sign-magnitude digits) or unsigned inputs only
  Mapping mapping = Mapping::Differential;
  ReadMode read_mode = ReadMode::PerSlice;
  AdcModel adc_model = AdcModel::Uniform;
  int adc_bits = 8;
  AdcRange adc_range = AdcRange::Fixed;
  double adc_clip = 1.0;      // fraction of the full scale kept; currents beyond it clip
  double read_voltage = 0.2;  // volts at the full-scale DAC code

  int slices() const { return weight_bits / bits_per_cell; }
  int input_magnitude_bits() const { return input_bits - (input_signed ? 1 : 0); }
  int input_planes() const { return (input_magnitude_bits() + dac_bits - 1) / dac_bits; }
  int weight_cols() const { return mapping == Mapping::Offset ? cols - 1 : cols; }
};

struct DeviceConfig {
  double g_min = 1e-6;                  // siemens (1 MOhm off state)
  double g_max = 1e-5;                  // siemens (100 kOhm on state)
  std::optional<int> levels;            // programmable levels; unset: 2^bits_per_cell
  double program_sigma = 0.0;           // device-to-device programming variation
  VariationShape program_shape = VariationShape::Gaussian;
  VariationScale program_scale = VariationScale::Relative;
  double read_noise_sigma = 0.0;        // per device per read, std as a fraction of g_max - g_min
  double stuck_on_rate = 0.0;           // fraction of devices stuck at g_max
  double stuck_off_rate = 0.0;          // fraction of devices stuck at g_min

  int levels_for(int bits_per_cell) const { return levels ? *levels : (1 << bits_per_cell); }
};

// Circuit non-idealities (parasitics.h): wire, source and sink resistances, device I-V.
enum class ParasiticModel { None, Exact, FirstOrder, ShortPath };  // None ("ideal"): no resistances
enum class IvKind { Linear, Sinh };

struct CircuitConfig {
  ParasiticModel model = ParasiticModel::None;
  double source_ohm = 0;   // driver to the first cell of a driven line
  double sink_ohm = 0;     // last cell of a sensed line to its virtual ground
  double wire_ohm = 0;     // between adjacent cells
  int refresh_every = 1;   // model exact: solve exactly every L reprogrammings, first order + the
                           // last exact correction in between
  IvKind iv = IvKind::Linear;
  double iv_a = 0;         // sinh I-V: I = g sinh(a V) / a, a per volt
};

struct CrossbarConfig {
  ArrayConfig crossbar;
  DeviceConfig device;
  CircuitConfig circuit;
};

// Throws ConfigError naming `source` (a file name or "config") and the first bad field.
void validate(const CrossbarConfig& config, const std::string& source = "config");

CrossbarConfig crossbar_config_from_json(const nlohmann::json& j, const std::string& source);
// Reads a JSON file; throws ConfigError naming the file when it cannot be opened or parsed.
nlohmann::json read_json_file(const std::string& path);
// JSON text with the depth limit every loader has (json_fields.h); errors name `source`.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);
// A whole file, refused (ConfigError naming it) when it is a folder, cannot be read, or is
// larger than max_bytes (a device file such as /dev/zero is never read to the end of memory).
constexpr std::uintmax_t kMaxConfigBytes = std::uintmax_t(64) << 20;
std::string read_text_file(const std::string& path, std::uintmax_t max_bytes);
// Writes text to path through a temporary file beside it and a rename: a reader never sees a
// partial file. Throws std::runtime_error naming the file when it cannot write.
void write_atomically(const std::string& path, const std::string& text);
// A numeric CSV: every line the same number of fields (commas and/or blanks), every field a
// finite number; blank lines skipped. With `header`, the first line holds the column names.
// Throws std::runtime_error naming the file, line and field.
std::vector<std::vector<double>> read_numeric_csv(const std::string& path, std::vector<std::string>* header = nullptr);
// Applies "a.b.c=VALUE" to a JSON object: VALUE is parsed as JSON (a number, true, an array...)
// or taken as a string; the objects on the path are created when missing. Throws ConfigError
// naming `source` when the assignment has no '=' or the path runs through a non-object.
void set_json_path(nlohmann::json& j, const std::string& assignment, const std::string& source);
// The object that holds the last name of a dotted path, and that name (in `key`); the objects on
// the way are created. Throws ConfigError naming `source` when the path runs through a non-object
// or has an empty name.
nlohmann::json& json_path_parent(nlohmann::json& j, const std::string& path, const std::string& source, std::string& key);
nlohmann::json to_json(const CrossbarConfig& config);
CrossbarConfig load_crossbar_config(const std::string& path);

// The embedded default: a TxSim-like ReRAM layer (Rmin 100 kOhm, Rmax 1 MOhm, 2-bit cells,
// 1-bit DACs) on 128x128 crossbars with a per-column calibrated 8-bit ADC, 2% programming
// variation and 0.5% read noise. (A config file starts from the struct defaults above: no
// variation, no noise, fixed-range ADC.)
CrossbarConfig default_crossbar_config();

}  // namespace txsim
