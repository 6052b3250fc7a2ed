#!/usr/bin/env bash
# Acceptance: the example virtual platform trains a small MLP through the accelerator's register
# interface and DMA only, and its result matches the CLI's timed run of the same work: the same
# final test accuracy and the same simulated hardware figures. Also: a run whose trace and VCD
# come out, and a wrong platform file that is refused.
set -uo pipefail
txsim=$1
vp=$2
cd "$3"  # the source tree: workloads/, platforms/
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
args=(--workload workloads/mlp.json --device workloads/devices/txsim_reram.json --platform platforms/default.json
      --epochs 1 --limit-train 1000 --limit-test 300 --seed 3)

"$txsim" train "${args[@]}" --out "$dir/cli" --trace "$dir/trace.json" --vcd "$dir/run.vcd" > "$dir/cli.log" 2>&1 \
  || fail "txsim train exited $?: $(tail -3 "$dir/cli.log")"
"$vp" "${args[@]}" --out "$dir/vp.json" > "$dir/vp.log" 2>&1 || fail "txsim_vp exited $?: $(tail -3 "$dir/vp.log")"
grep -q "interrupt at .*: DONE" "$dir/vp.log" || fail "the virtual platform saw no DONE interrupt"

field() { grep -o "\"$1\": [^,}]*" "$2" | head -1; }
for f in final_test_accuracy; do
  a=$(field "$f" "$dir/cli/metrics.json"); b=$(field "$f" "$dir/vp.json")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$f: CLI '$a', virtual platform '$b'"
done
for f in train_seconds images_per_second energy_per_image_joules tops_per_watt eval_seconds; do
  a=$(field "$f" "$dir/cli/hardware.json"); b=$(field "$f" "$dir/vp.json")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$f: CLI '$a', virtual platform '$b'"
done
echo "CLI and virtual platform: $(field final_test_accuracy "$dir/vp.json"), $(field train_seconds "$dir/vp.json")"

# The outputs of the timed run exist and say what they should.
[ -s "$dir/cli/layers.csv" ] && head -1 "$dir/cli/layers.csv" | grep -q "^layer,kind,phase,calls,latency_ns,energy_pj" \
  || fail "no per-layer CSV"
grep -q '"traceEvents"' "$dir/trace.json" || fail "no trace JSON"
grep -q '\$var wire *1 .* busy' "$dir/run.vcd" || fail "the VCD has no busy signal"
[ ! -e "$dir/run.vcd.tmp.vcd" ] || fail "the VCD's temporary file was left behind"

# A bad platform file is refused before training, naming the file and the field.
sed 's/"per_crossbar": 1/"per_crossbar": 0/' platforms/default.json > "$dir/bad.json"
out=$("$txsim" train "${args[@]/platforms\/default.json/$dir/bad.json}" 2>&1) && fail "a bad platform was accepted"
echo "$out" | grep -q "bad.json: adc.per_crossbar: 0" || fail "bad platform message: $out"

[ "$failures" -eq 0 ] && echo "all passed"
exit "$failures"
