#!/usr/bin/env bash
# Issue 17, defects 5 and 6 and acceptance 3: a kill -9 at any point of `txsim train --out`
# followed by `--resume` gives the metrics, the hardware figures and the final checkpoint of the
# uninterrupted run, byte for byte (wall-clock fields aside: they time the machine, not the
# model), for the digital, ideal, TxSim-like, PCM-like and constant-step presets, untimed and
# timed. The kills come (a) right after each atomic write of the run in turn
# (TXSIM_KILL_AFTER_WRITE=N: after metrics.json and before checkpoint.bin among them) and (b) at
# a random moment inside an epoch.
# Usage: kill_resume_test.sh TXSIM SOURCE_DIR [PRESET...]
set -uo pipefail
txsim=$1
cd "$2"
shift 2
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(digital workloads/devices/ideal.json workloads/devices/txsim_reram.json
                                     workloads/devices/pcm.json workloads/devices/constant_step.json)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A workload of three epochs (the tiny MLP on synthetic data; the schedule is cosine, so the run
# identity pins the epochs) and, for presets whose cells are analog, a test platform like
# platforms/default.json with the preset's cell bits (the shipped platforms impose 2-bit cells).
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
w = json.load(open("tests/sweep/tiny_mlp.json"))
w["train"].update({"epochs": 3, "schedule": "cosine"})
json.dump(w, open(d + "/workload.json", "w"))
PY

# Strip what times the machine: wall_seconds and simulated_images_per_wall_second.
normalize() {
  python3 -c '
import json, sys
def strip(x):
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if "wall" not in k}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True))' "$1" 2> /dev/null || echo "unreadable $1"
}
csv_no_wall() { cut -d, -f1-5 "$1" 2> /dev/null; }

compare() {  # reference folder, tried folder, what
  local a=$1 b=$2 what=$3
  cmp -s "$a/checkpoint.bin" "$b/checkpoint.bin" || fail "$what: final checkpoint differs"
  [ "$(normalize "$a/metrics.json")" = "$(normalize "$b/metrics.json")" ] || fail "$what: metrics.json differs: $(diff <(normalize "$a/metrics.json") <(normalize "$b/metrics.json") | head -3 | cut -c1-300)"
  [ "$(csv_no_wall "$a/metrics.csv")" = "$(csv_no_wall "$b/metrics.csv")" ] || fail "$what: metrics.csv differs"
  if [ -f "$a/hardware.json" ]; then
    [ "$(normalize "$a/hardware.json")" = "$(normalize "$b/hardware.json")" ] || fail "$what: hardware.json differs: $(diff <(normalize "$a/hardware.json") <(normalize "$b/hardware.json") | head -3 | cut -c1-300)"
    cmp -s "$a/layers.csv" "$b/layers.csv" || fail "$what: layers.csv differs"
    cmp -s "$a/units.csv" "$b/units.csv" || fail "$what: units.csv differs"
  fi
}

for preset in "${presets[@]}"; do
  for timed in no yes; do
    name=$(basename "$preset" .json)-$timed
    args=(train --workload "$dir/workload.json" --device "$preset" --seed 3)
    if [ "$timed" = yes ]; then
      bits=2
      [ "$preset" = digital ] || bits=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["crossbar"]; print(c["bits_per_cell"] if c["bits_per_cell"] == c["weight_bits"] else 2)' "$preset")
      b=$bits; [ "$b" -le 8 ] || b=8
      python3 -c '
import json, sys
p = json.load(open("platforms/default.json"))
p["name"] = "test-%s-bit" % sys.argv[1]
p["notes"] = "A test platform: platforms/default.json with %s-bit cells (tests/kill_resume_test.sh)." % sys.argv[1]
p["crossbar"]["bits_per_cell"] = int(sys.argv[1])
json.dump(p, open(sys.argv[2], "w"))' "$b" "$dir/platform-$name.json"
      args+=(--platform "$dir/platform-$name.json")
      # Platforms hold cells of at most 8 bits: wider analog cells (ideal: 22, constant-step: 10)
      # are timed as 8-bit ones, the rest of the preset unchanged.
      [ "$bits" -le 8 ] || args+=(--set crossbar.weight_bits=8 --set crossbar.bits_per_cell=8)
    fi
    ref=$dir/$name/whole
    "$txsim" "${args[@]}" --out "$ref" > "$dir/$name.log" 2>&1 || { fail "$name: uninterrupted run exited $?: $(tail -2 "$dir/$name.log")"; continue; }
    # Writes of the uninterrupted run: 3 per epoch, and layers.csv, units.csv and hardware.json
    # when timed.
    writes=9
    [ "$timed" = yes ] && writes=12
    for n in $(seq 1 $writes); do
      out=$dir/$name/k$n
      { TXSIM_KILL_AFTER_WRITE=$n "$txsim" "${args[@]}" --out "$out" > "$out.log" 2>&1; } 2> /dev/null
      rc=$?
      [ $rc = 137 ] || [ $n = $writes ] || fail "$name: the kill after write $n did not happen (exit $rc)"
      "$txsim" "${args[@]}" --out "$out" --resume > "$out.resume.log" 2>&1 || { fail "$name, killed after write $n: resume exited $?: $(tail -2 "$out.resume.log")"; continue; }
      compare "$ref" "$out" "$name, killed after write $n"
    done
    # A kill at a random moment, twice in a row, then the resume.
    out=$dir/$name/random
    for attempt in 1 2; do
      "$txsim" "${args[@]}" --out "$out" $([ -f "$out/checkpoint.bin" ] && echo --resume) > "$out.$attempt.log" 2>&1 &
      pid=$!
      sleep "0.$((RANDOM % 9 + 1))"
      kill -KILL $pid 2> /dev/null
      wait $pid 2> /dev/null
    done
    "$txsim" "${args[@]}" --out "$out" --resume > "$out.resume.log" 2>&1 || fail "$name, killed at random: resume exited $?: $(tail -2 "$out.resume.log")"
    compare "$ref" "$out" "$name, killed at random moments"
  done
done
[ $failures = 0 ] && echo "kill and resume: every kill point resumed to the uninterrupted run (${#presets[@]} presets, untimed and timed)"
exit $((failures > 0))
