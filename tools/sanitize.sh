#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the library, the tools and the tests
# (build-sanitize/), then the whole suite under it. Any sanitizer report fails the run.
#   bash tools/sanitize.sh            build and run every test
#   bash tools/sanitize.sh -R Regex   pass options on to ctest
# About 20 minutes on 2 cores (most of it the build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TXSIM_SANITIZE_DIR:-build-sanitize}
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTXSIM_BUILD_BENCH=OFF \
      -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" -DTXSIM_BUILD_FUZZ=ON > /dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
# A report aborts the process (the test fails); leaks are reported too. SystemC and libgomp keep
# their thread pools and kernels alive at exit on purpose: those are not leaks of ours.
# No detect_stack_use_after_return: SystemC runs its threads on coroutine stacks that ASan is not
# told about, and its fake stacks then report overflows in any frame of a SystemC thread.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp:${LSAN_OPTIONS:-}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=passive
# The installed-package test builds a consumer project of its own: with the same flags.
export CXXFLAGS="$FLAGS" LDFLAGS="-fsanitize=address,undefined"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1500 "$@"
