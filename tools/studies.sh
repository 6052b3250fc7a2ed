#!/usr/bin/env bash
# The README's studies: runs each sweep of studies/*.json (resuming where a previous run stopped),
# plots it, and copies the figures and tables into docs/studies/<name>/.
# Usage: tools/studies.sh [names...]   (default: every studies/*.json)
# Environment: JOBS (points at a time, default: the number of cores), TXSIM (default build/apps/txsim),
# MPIRUN (e.g. "mpirun -np 4": run each sweep under MPI instead of local jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
txsim=${TXSIM:-build/apps/txsim}
jobs=${JOBS:-$(nproc)}
names=("$@")
if ((${#names[@]} == 0)); then
  for f in studies/*.json; do names+=("$(basename "$f" .json)"); done
fi
for name in "${names[@]}"; do
  spec=studies/$name.json
  [ -f "$spec" ] || { echo "studies.sh: no $spec" >&2; exit 2; }
  echo "== $name"
  if [ -n "${MPIRUN:-}" ]; then $MPIRUN "$txsim" sweep "$spec"; else "$txsim" sweep "$spec" --jobs "$jobs"; fi
  x=()
  [ "$name" = degradation ] && x=(--x device)
  "$txsim" plot "runs/sweeps/$name/results.csv" "${x[@]}" --title "$name" > /dev/null
  mkdir -p "docs/studies/$name"
  cp runs/sweeps/"$name"/plots/*.png runs/sweeps/"$name"/plots/*.svg runs/sweeps/"$name"/plots/table.md "docs/studies/$name/"
  cp runs/sweeps/"$name"/results.csv "docs/studies/$name/results.csv"
done
