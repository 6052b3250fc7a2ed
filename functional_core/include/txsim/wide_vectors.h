// TXSIM_WIDE_VECTORS: a function whose loops GCC vectorizes in whole 512-bit registers on AVX-512
// builds (with -march=native it prefers 256 bits), the same operations per element, twice the
// elements per instruction. The function is kept out of line: inlined, its loops took the
// caller's 256-bit preference (measured on the pulsed update's coincidence loop).
#pragma once

#ifdef __AVX512F__
#define TXSIM_WIDE_VECTORS __attribute__((noinline, target("prefer-vector-width=512")))
#else
#define TXSIM_WIDE_VECTORS
#endif
