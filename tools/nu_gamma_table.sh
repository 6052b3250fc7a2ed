#!/usr/bin/env bash
# The TxSim nu / gamma study (issue 4): LeNet-5 on MNIST, one epoch per point, with the
# TxSim-like update preset (workloads/devices/txsim_update.json: one-sided pairs, 8-bit analog
# cells); nu swept at gamma 0, gamma swept at the preset's nu. Prints a Markdown table.
# Usage: [PRESET=workloads/devices/txsim_sliced.json] tools/nu_gamma_table.sh [extra txsim train
# options, e.g. --epochs 2]  (PRESET: another update preset, e.g. TxSim's 2-bit cells)
set -euo pipefail
cd "$(dirname "$0")/.."
txsim=build/apps/txsim
preset=${PRESET:-workloads/devices/txsim_update.json}
run() {  # prints the final test accuracy of one point
  "$txsim" train --workload workloads/lenet5.json --device "$preset" --epochs 1 "$@" |
    sed -n 's/^final test accuracy: \(.*\)%$/\1/p'
}
echo "| setting | test accuracy (%) |"
echo "|---|---|"
echo "| digital (ideal reference) | $("$txsim" train --workload workloads/lenet5.json --epochs 1 "$@" | sed -n 's/^final test accuracy: \(.*\)%$/\1/p') |"
for nu in 0 0.1 0.3 0.6 0.9 1; do
  echo "| nu = $nu, gamma = 0 | $(run --set update.nu=$nu --set update.write_noise=0 "$@") |"
done
for gamma in 1 5 10; do
  echo "| nu = 0.1, gamma = $gamma | $(run --set update.nu=0.1 --set update.write_noise=$gamma "$@") |"
done
