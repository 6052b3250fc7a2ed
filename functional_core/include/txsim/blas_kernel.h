// Which OpenBLAS kernel runs, and whether the CPU could run a faster one. Debian's OpenBLAS
// 0.3.21 falls back to generic kernels (Prescott, ~5x slower SGEMM) on CPUs it does not know;
// OPENBLAS_CORETYPE, read when the library loads, selects another.
#pragma once

#include <string>
#include <vector>

namespace txsim {

// The kernel OpenBLAS chose (openblas_get_corename()).
std::string blas_core_name();
// The CPU's feature flags (the "flags" line of /proc/cpuinfo; empty where there is none).
std::vector<std::string> cpu_flags();
// The faster kernel a CPU with `flags` runs than `core` (SkylakeX with AVX-512 where a generic
// or Haswell kernel runs, Haswell with AVX2 and FMA where a generic one runs), or "" when `core` is already as fast as the CPU allows or is not one OpenBLAS
// falls back to.
std::string faster_blas_core(const std::string& core, const std::vector<std::string>& flags);
// One line of advice when OpenBLAS runs a slower kernel than the CPU could ("" otherwise).
std::string blas_kernel_advice();

}  // namespace txsim
