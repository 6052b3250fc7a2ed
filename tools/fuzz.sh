#!/usr/bin/env bash
# A bounded fuzz of the readers of untrusted input (IDX, gzip, CIFAR-10, JSON presets, workloads,
# platforms and sweep specs, numeric and results CSV, the accelerator's data region, checkpoints)
# against the AddressSanitizer + UndefinedBehaviorSanitizer build of tools/sanitize.sh: N mutants
# per reader (default 1000); a crash, a sanitizer report or an input over 20 s fails the run.
#   bash tools/fuzz.sh [N] [SEED]     about 10 minutes on 2 cores after the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TXSIM_SANITIZE_DIR:-build-sanitize}
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTXSIM_BUILD_BENCH=OFF -DTXSIM_BUILD_FUZZ=ON \
      -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target fuzz_readers
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp:${LSAN_OPTIONS:-}"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/tools/fuzz/fuzz_readers" "$PWD" "$work" "${1:-1000}" "${2:-1}"
