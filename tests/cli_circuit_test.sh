#!/usr/bin/env bash
# The circuit subcommands end to end: crossbar-solve against the closed form of a crossbar with
# negligible parasitics, its error messages, and validate against ngspice.
set -uo pipefail
txsim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

printf '1e-5,2e-5,3e-5,4e-5\n5e-5,6e-5,7e-5,8e-5\n9e-5,1e-4,2e-5,3e-5\n' > "$dir/g.csv"
printf '0.1,0.2,0.05\n0.2,0,0.1\n' > "$dir/v.csv"

# 1. Negligible parasitics: I_j = sum_i V_i G_ij, to 1e-9 relative.
"$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/v.csv" --source-ohm 1e-6 --sink-ohm 1e-6 \
  --wire-ohm 1e-6 > "$dir/i.csv" || fail "crossbar-solve exited $?"
awk -F, 'NR==FNR { for (j = 1; j <= NF; j++) g[FNR, j] = $j; rows = FNR; next }
  { for (j = 1; j <= 4; j++) { s = 0; for (i = 1; i <= rows; i++) s += $i * g[i, j]; want[FNR, j] = s } n = FNR }
  END { for (k = 1; k <= n; k++) for (j = 1; j <= 4; j++) print want[k, j] }' "$dir/g.csv" "$dir/v.csv" > "$dir/want"
tr ',' '\n' < "$dir/i.csv" > "$dir/got"
[ "$(wc -l < "$dir/got")" -eq 8 ] || fail "expected 2 lines of 4 currents, got: $(cat "$dir/i.csv")"
paste "$dir/got" "$dir/want" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-9 * $2) { print "mismatch", $0; bad = 1 } }
  END { exit bad }' || fail "currents differ from sum_i V_i G_ij"

# 2. --out writes the same numbers; the backward read takes column voltages.
"$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/v.csv" --source-ohm 1e-6 --sink-ohm 1e-6 \
  --wire-ohm 1e-6 --out "$dir/out.csv" || fail "--out exited $?"
cmp -s "$dir/out.csv" "$dir/i.csv" || fail "--out differs from stdout"
printf '0.1,0.2,0.05,0.1\n' > "$dir/vb.csv"
"$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/vb.csv" --source-ohm 10 --sink-ohm 10 \
  --wire-ohm 1 --direction backward | awk -F, '{ exit !(NF == 3) }' || fail "backward: expected 3 currents"

# 3. Bad input: exit status non-zero, a message naming what is wrong, nothing on stdout.
expect_error() {  # expected-text, then the command
  local want=$1; shift
  if "$@" > "$dir/stdout" 2> "$dir/stderr"; then fail "accepted: $*"; return; fi
  grep -qF -- "$want" "$dir/stderr" || fail "message lacks '$want': $(cat "$dir/stderr")"
  [ ! -s "$dir/stdout" ] || fail "wrote output despite the error: $*"
}
printf '1e-5,abc\n1e-5,2e-5\n' > "$dir/bad.csv"
expect_error "bad.csv: line 1, field 2 = 'abc'" "$txsim" crossbar-solve --conductances "$dir/bad.csv" \
  --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 1
printf '1e-5,2e-5\n1e-5\n' > "$dir/ragged.csv"
expect_error "ragged.csv: line 2 has 1 fields" "$txsim" crossbar-solve --conductances "$dir/ragged.csv" \
  --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 1
printf '1e-5,-2e-5\n' > "$dir/neg.csv"
expect_error "accepted a conductance in siemens > 0" "$txsim" crossbar-solve --conductances "$dir/neg.csv" \
  --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 1
expect_error "field 'wire_ohm' = 0: accepted ohms > 0" "$txsim" crossbar-solve --conductances "$dir/g.csv" \
  --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 0
expect_error "input vector 1 has 3 voltages; the backward read drives 4 lines" "$txsim" crossbar-solve \
  --conductances "$dir/g.csv" --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 1 --direction backward
expect_error "needs --model exact" "$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/v.csv" \
  --source-ohm 1 --sink-ohm 1 --wire-ohm 1 --iv sinh:3 --model first_order
expect_error "accepted \"linear\" or \"sinh:A\"" "$txsim" crossbar-solve --conductances "$dir/g.csv" \
  --inputs "$dir/v.csv" --source-ohm 1 --sink-ohm 1 --wire-ohm 1 --iv sinh:-3
expect_error "outside the model" "$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/v.csv" \
  --source-ohm 1 --sink-ohm 1 --wire-ohm 1 --iv sinh:900
expect_error "--model 'spice'" "$txsim" crossbar-solve --conductances "$dir/g.csv" --inputs "$dir/v.csv" \
  --source-ohm 1 --sink-ohm 1 --wire-ohm 1 --model spice
expect_error "cannot open" "$txsim" crossbar-solve --conductances "$dir/missing.csv" --inputs "$dir/v.csv" \
  --source-ohm 1 --sink-ohm 1 --wire-ohm 1

# 4. validate: ngspice agrees, linear and sinh, both directions.
"$txsim" validate --rows 12 --cols 9 --wire-ohm 5 --netlist "$dir/a.cir" > "$dir/val" || fail "validate linear: $(cat "$dir/val")"
grep -q "PASS" "$dir/val" || fail "validate linear printed no PASS"
"$txsim" validate --rows 9 --cols 12 --direction backward --iv sinh:5 --netlist "$dir/b.cir" > "$dir/val" \
  || fail "validate sinh: $(cat "$dir/val")"
grep -q "worst relative error against ngspice" "$dir/val" || fail "validate printed no error figure"

[ "$failures" -eq 0 ] && echo "all circuit CLI checks passed"
exit "$failures"
