#!/usr/bin/env bash
# The installed package from a separate CMake project: install the build tree into a temporary
# prefix, configure and build tests/package against it with find_package(TxSim), run it.
set -euo pipefail
build=$1
source=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cmake --install "$build" --prefix "$dir/prefix" > "$dir/install.log"
test -f "$dir/prefix/include/txsim/tlm/systemc/training_accelerator.h"
test -f "$dir/prefix/include/txsim/tlm/cost_model/registers.h"
cmake -S "$source/tests/package" -B "$dir/consumer" -DCMAKE_PREFIX_PATH="$dir/prefix" -DCMAKE_BUILD_TYPE=Release > "$dir/configure.log" \
  || { cat "$dir/configure.log"; exit 1; }
cmake --build "$dir/consumer" -j "$(nproc)" > "$dir/build.log" 2>&1 || { tail -30 "$dir/build.log"; exit 1; }
SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$dir/consumer/consumer"
