#!/usr/bin/env bash
# txsim sweep under MPI (issue 6): `mpirun -np 2 txsim sweep SPEC` gives the same CSV (the same
# rows, the same numbers) as the single-process run, with points trained on both ranks.
# Usage: sweep_mpi_test.sh TXSIM MPIEXEC SOURCE_DIR
set -uo pipefail
txsim=$1
mpiexec=$2
cd "$3"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# OpenMPI in a container: allow root, two ranks on any core count, no ptrace-based copies.
# Under tools/sanitize.sh: OpenMPI's dlopen'ed components leave allocations that LeakSanitizer
# cannot name (their modules are unloaded at exit); the same sweep without MPI (sweep_cli) is
# checked for leaks, so here only memory errors are.
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none

"$txsim" sweep tests/sweep/resume.json --out "$dir/single" > "$dir/single.log" 2>&1 || fail "single-process sweep exited $?: $(tail -3 "$dir/single.log")"
"$mpiexec" -np 2 --oversubscribe "$txsim" sweep tests/sweep/resume.json --out "$dir/mpi" > "$dir/mpi.log" 2>&1 \
  || fail "mpirun -np 2 sweep exited $?: $(tail -5 "$dir/mpi.log")"
grep -q "2 ranks x 1 job" "$dir/mpi.log" || fail "the sweep did not see 2 ranks: $(head -3 "$dir/mpi.log")"
r1=$(grep -c "(rank 1)$" "$dir/mpi.log")
[ "$r1" -ge 1 ] && [ "$r1" -le 6 ] || fail "rank 1 trained $r1 of the 7 points (expected both ranks to train)"
[ "$(tail -n +2 "$dir/mpi/results.csv" | wc -l)" = 7 ] || fail "MPI CSV: expected 7 rows"
cmp -s "$dir/single/results.csv" "$dir/mpi/results.csv" || fail "MPI CSV differs from the single-process CSV: $(diff "$dir/single/results.csv" "$dir/mpi/results.csv" | head -4 | cut -c1-200)"
[ $failures = 0 ] && echo "sweep MPI: the 2-rank CSV equals the single-process CSV"
exit $((failures > 0))
