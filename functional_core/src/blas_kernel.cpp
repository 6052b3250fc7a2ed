#include "txsim/blas_kernel.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <cblas.h>

namespace txsim {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool has(const std::vector<std::string>& flags, const char* f) { return std::find(flags.begin(), flags.end(), f) != flags.end(); }

}  // namespace

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

std::vector<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      std::vector<std::string> flags;
      for (std::string w; words >> w;) flags.push_back(w);
      return flags;
    }
  return {};
}

std::string faster_blas_core(const std::string& core, const std::vector<std::string>& flags) {
  // The kernels OpenBLAS falls back to, or runs on CPUs older than AVX2 (lower case, as
  // openblas_get_corename() spells them in any case).
  static const char* const slow[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "sandybridge",
                                     "barcelona", "opteron", "opteron_sse3", "bobcat", "bulldozer", "piledriver",
                                     "steamroller", "excavator", "katmai", "coppermine", "northwood", "banias", "unknown"};
  const std::string c = lower(core);
  const bool avx512 = has(flags, "avx512f") && has(flags, "avx512bw") && has(flags, "avx512vl") && has(flags, "avx512dq");
  const bool avx2 = has(flags, "avx2") && has(flags, "fma");
  const bool is_slow = std::find(std::begin(slow), std::end(slow), c) != std::end(slow);
  if (avx512 && (is_slow || c == "haswell")) return "SkylakeX";
  if (avx2 && is_slow) return "Haswell";
  return "";
}

std::string blas_kernel_advice() {
  const std::string core = blas_core_name(), faster = faster_blas_core(core, cpu_flags());
  if (faster.empty()) return "";
  return "OpenBLAS runs its " + core + " kernels on a CPU that runs " + faster + " ones, several times faster; set "
         "OPENBLAS_CORETYPE=" + faster + " before starting (results may differ in their last bits: the kernels sum "
         "in another order)";
}

}  // namespace txsim
