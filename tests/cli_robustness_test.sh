#!/usr/bin/env bash
# Issue 17 on the command line, one case per numbered defect:
#   plot      (1) text from a results CSV, its headers or its folder never runs as a command, and
#             a single quote in the path is no problem
#   options   (7) --seed -1, --limit-train -5, 1e400, a wrong type, a folder or /dev/zero as a file:
#             clear errors naming the option or file, exit status 1 or 2
#   pipeline  (issue 19) --platform-set chip.pipeline, units.csv, the schedule, bad settings
#   replay    (issue 21) txsim train --record-activity and txsim time: the record timed on the
#             run's platform gives the timed run's figures exactly, on a pipelined platform the
#             pipelined timed run's; bad records, platforms and options are refused by name
#   commands  (9) a mistyped subcommand, --help, --version, --trace into a missing folder (refused
#             before training), --set errors blamed on the command line, an 80-column progress bar
# Usage: cli_robustness_test.sh TXSIM SOURCE_DIR CASE
set -uo pipefail
txsim=$1
cd "$2"
src=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect() {  # status, text, command...: the command exits with that status and says that text
  local want=$1 text=$2
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(echo "$out" | tail -2)"
  [[ "$out" == *"$text"* ]] || fail "'$*' did not say '$text': $(echo "$out" | tail -2)"
}

case $3 in
  plot)
    # A results CSV as a colleague might send it: backquotes and $(...) in an axis value, a
    # header and the folder's name (the default title), a quote in the folder's name.
    folder="$dir/run 'x\`touch $dir/PWNED_TITLE\`"
    mkdir -p "$folder"
    cat > "$folder/results.csv" <<CSV
point,kind,status,id,\`touch $dir/PWNED_HEADER\`,seed,epochs,final_test_accuracy,ideal_test_accuracy,accuracy_drop,test_accuracy_by_epoch
0,ideal,ok,ref,,1,1,,0.9,,0.9
1,grid,ok,a,"\`touch $dir/PWNED_VALUE\`",1,1,0.8,0.9,0.1,0.8
2,grid,ok,b,"\$(touch $dir/PWNED_DOLLAR)",1,1,0.7,0.9,0.2,0.7
3,grid,ok,c,"a ' quote and a \\\\ backslash",1,1,0.75,0.9,0.15,0.75
CSV
    (cd "$dir" && "$txsim" plot "$folder/results.csv" > "$dir/plot.log" 2>&1) || fail "txsim plot exited $?: $(tail -3 "$dir/plot.log")"
    for f in PWNED_TITLE PWNED_HEADER PWNED_VALUE PWNED_DOLLAR; do
      [ -e "$dir/$f" ] && fail "txsim plot ran a command from the CSV ($f created)"
    done
    [ "$(head -c 4 "$folder/plots/accuracy.png" 2> /dev/null | od -An -c | tr -d ' ')" = "211PNG" ] || fail "accuracy.png was not made"
    # The text reached the figure as text.
    grep -qF "touch $dir/PWNED_VALUE" "$folder/plots/accuracy.svg" || fail "the backquoted legend text is not in the SVG as text"
    grep -qF "PWNED_TITLE" "$folder/plots/accuracy.svg" || fail "the folder name is not in the SVG title as text"
    # No untrusted text inside double quotes in any script.
    grep -n '"' "$folder"/plots/*.gp && fail "a gnuplot script holds a double-quoted string"
    ;;
  options)
    expect 2 "--seed '-1': accepted a whole number" "$txsim" train --workload tests/sweep/tiny_mlp.json --seed -1
    expect 2 "--limit-train -5: accepted 0.." "$txsim" train --workload tests/sweep/tiny_mlp.json --limit-train -5
    echo '{"device": {"g_max": 1e400}}' > "$dir/big.json"
    expect 1 "$dir/big.json: not valid JSON" "$txsim" train --workload tests/sweep/tiny_mlp.json --device "$dir/big.json"
    echo '{"name": 5}' > "$dir/name.json"
    expect 1 "$dir/name.json: field 'name' = 5" "$txsim" train --workload tests/sweep/tiny_mlp.json --device "$dir/name.json"
    expect 1 "workloads: is a folder; accepted a file" "$txsim" train --workload tests/sweep/tiny_mlp.json --device workloads
    echo '{"update": {"kind": "measured", "csv": "/dev/zero"}}' > "$dir/zero.json"
    expect 1 "/dev/zero: larger than 64 MiB" timeout 60 "$txsim" train --workload tests/sweep/tiny_mlp.json --device "$dir/zero.json"
    sed 's/"classes": 4/"classes": 4294967300/' tests/sweep/tiny_mlp.json > "$dir/wrap.json"
    expect 1 "$dir/wrap.json: workload.classes: 4294967300: accepted an integer" "$txsim" train --workload "$dir/wrap.json"
    # A resume with another seed is refused; with the same one it continues.
    "$txsim" train --workload tests/sweep/tiny_mlp.json --out "$dir/run" --epochs 1 > /dev/null 2>&1
    expect 1 "the checkpoint belongs to another run: seed was 1, this run has 2" \
      "$txsim" train --workload tests/sweep/tiny_mlp.json --out "$dir/run" --epochs 2 --seed 2 --resume
    expect 1 "the checkpoint belongs to another run: device was \"digital\"" \
      "$txsim" train --workload tests/sweep/tiny_mlp.json --out "$dir/run" --epochs 2 --device workloads/devices/ideal.json --resume
    expect 1 "the checkpoint belongs to another run: test_samples was 500, this run has 100" \
      "$txsim" train --workload tests/sweep/tiny_mlp.json --out "$dir/run" --epochs 2 --limit-test 100 --resume
    expect 0 "resumed from" "$txsim" train --workload tests/sweep/tiny_mlp.json --out "$dir/run" --epochs 2 --resume
    ;;
  commands)
    expect 2 "txsim: unknown command 'trian'; accepted: train, sweep" "$txsim" trian
    expect 0 "txsim 0." "$txsim" --version
    out=$("$txsim" --help 2>&1)
    [[ "$out" == *"register-map"* && "$out" == *"train "* ]] || fail "--help does not list the commands: $out"
    [[ "$out" == *"--repeats"* ]] && fail "--help shows the layer options as global ones"
    expect 0 "--repeats" "$txsim" layer --help
    start=$(date +%s)
    expect 2 "the folder '$dir/missing' does not exist" "$txsim" train --workload tests/sweep/tiny_mlp.json \
      --platform platforms/default.json --trace "$dir/missing/trace.json"
    [ $(($(date +%s) - start)) -lt 10 ] || fail "--trace into a missing folder was refused only after training"
    # A trace inside the --out folder (as the main job writes it) is fine: --out is made first.
    expect 0 "trace: $dir/fresh/trace.json" "$txsim" train --workload tests/sweep/tiny_mlp.json --epochs 1 \
      --platform platforms/default.json --out "$dir/fresh" --trace "$dir/fresh/trace.json"
    expect 1 "with the command line's --set: field 'update.nu' = \"abc\"" "$txsim" train --workload tests/sweep/tiny_mlp.json \
      --device workloads/devices/ideal.json --set update.nu=abc
    # The progress bar on a terminal: every redraw fits in 79 columns.
    script -qec "'$txsim' train --workload tests/sweep/tiny_mlp.json --epochs 2" "$dir/tty.log" > /dev/null 2>&1
    widest=$(tr '\r' '\n' < "$dir/tty.log" | grep ' ETA ' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
    [ "$widest" -gt 0 ] && [ "$widest" -le 79 ] || fail "the progress line is $widest columns (at most 79 on an 80-column terminal)"
    ;;
  platform)
    # Issue 18: txsim platform prints the peak report; --json has the keys an architect lays
    # beside a paper's table; the ISAAC figures against its Table 6 totals; a bad file is named.
    "$txsim" platform platforms/isaac.json --json > "$dir/isaac.json" || fail "txsim platform --json exited $?"
    python3 - "$dir/isaac.json" <<'PY' || fail "txsim platform --json: a key or figure is off (the assertion above)"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("area_mm2", "power_w", "peak_tops", "tops_per_mm2", "tops_per_w", "components"):
    assert k in j, k
assert abs(j["area_mm2"] / 85.4 - 1) < 0.03 and abs(j["power_w"] / 65.8 - 1) < 0.03, (j["area_mm2"], j["power_w"])
assert abs(j["peak_tops"] / 41.3 - 1) < 0.02, j["peak_tops"]
assert j["components"]["global_buffer"]["absent"] and not j["components"]["adc"]["absent"]
PY
    expect 0 "not in the platform (zero)" "$txsim" platform platforms/isaac.json
    expect 0 "TOPS/W" "$txsim" platform platforms/default.json
    printf '{"name": "x"}' > "$dir/bad.json"
    expect 1 "bad.json: platform: missing 'crossbar'" "$txsim" platform "$dir/bad.json"
    expect 1 "no_such.json" "$txsim" platform "$dir/no_such.json"
    expect 2 "" "$txsim" platform
    ;;
  pipeline)
    # Issue 19: --platform-set switches the pipeline; a pipelined run writes units.csv and the
    # schedule, with the serial run's accuracy; bad pipeline settings are named.
    w=tests/sweep/tiny_mlp.json
    run=(train --workload $w --device workloads/devices/txsim_reram.json --platform platforms/default.json --seed 2)
    expect 0 "schedule: serial" "$txsim" "${run[@]}" --out "$dir/none"
    expect 0 "schedule: layers pipelined over groups of 2 samples" "$txsim" "${run[@]}" --out "$dir/layers" \
      --platform-set chip.pipeline=layers --platform-set chip.pipeline_group=2
    cmp -s <(cut -d, -f1-4 "$dir/none/metrics.csv") <(cut -d, -f1-4 "$dir/layers/metrics.csv") || fail "the pipelined run's metrics differ from the serial run's"
    python3 - "$dir/layers" <<'PY' || fail "units.csv or the schedule in hardware.json is off (the assertion above)"
import csv, json, sys
d = sys.argv[1]
h = json.load(open(d + "/hardware.json"))
s = h["schedule"]
assert s["pipeline"] == "layers" and s["pipeline_group"] == 2, s
assert s["bottleneck"]["unit"].startswith("chip."), s["bottleneck"]
units = list(csv.DictReader(open(d + "/units.csv")))
kinds = {u["kind"] for u in units}
assert {"crossbars", "adc_bank", "tile_buffer", "digital", "programming", "link", "offchip"} <= kinds, kinds
assert sum(int(u["jobs"]) for u in units if u["kind"] == "crossbars") > 0
assert max(float(u["busy_fraction"]) for u in units) <= 1 + 1e-9
PY
    expect 1 'chip.pipeline: "fast": accepted one of none, layers' "$txsim" "${run[@]}" --platform-set chip.pipeline=fast
    expect 1 'chip.pipeline_group: 4: changes nothing unless chip.pipeline is "layers"' "$txsim" "${run[@]}" \
      --platform-set chip.pipeline_group=4
    expect 1 "need --platform" "$txsim" train --workload $w --platform-set chip.pipeline=layers
    ;;
  replay)
    # LeNet-5 (convolutions and linear layers, digital and analog) on a slice of MNIST-format data.
    python3 - "$dir/data/mnist" <<'PY' || fail "could not write the MNIST-format files"
import os, random, struct, sys
os.makedirs(sys.argv[1])
rng = random.Random(3)
for split, n in (("train", 192), ("t10k", 64)):
    labels = [rng.randrange(10) for _ in range(n)]
    with open(f"{sys.argv[1]}/{split}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">4I", 2051, n, 28, 28) + bytes(min(255, rng.randrange(64) + 19 * l) for l in labels for _ in range(784)))
    with open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">2I", 2049, n) + bytes(labels))
PY
    run=(train --workload workloads/lenet5.json --device workloads/devices/txsim_reram.json --epochs 1 --data "$dir/data" --seed 4)
    expect 0 "activity record: $dir/timed.txa" "$txsim" "${run[@]}" --platform platforms/default.json --out "$dir/timed" \
      --record-activity "$dir/timed.txa"
    expect 0 "activity record: $dir/plain.txa" "$txsim" "${run[@]}" --record-activity "$dir/plain.txa"
    # What the run reports does not depend on whether it is timed (the preset's geometry is the platform's here).
    cmp -s "$dir/timed.txa" "$dir/plain.txa" || fail "the untimed run's record differs from the timed run's"
    expect 0 "schedule: layers pipelined" "$txsim" "${run[@]}" --platform platforms/default.json --out "$dir/timed_layers" \
      --platform-set chip.pipeline=layers --platform-set chip.pipeline_group=4
    sed 's/"name": "small-default"/"name": "small-default-layers"/' platforms/default.json > "$dir/layers.json"
    expect 0 "== platform small-default-layers" "$txsim" time "$dir/plain.txa" --platform platforms/default.json \
      --platform "$dir/layers.json" --platform-set chip.pipeline=layers --platform-set chip.pipeline_group=4 --out "$dir/replay"
    # The first platform with the same --platform-set is the pipelined timed run's platform.
    for f in hardware.json layers.csv units.csv; do
      cmp -s <(grep -v wall "$dir/timed_layers/$f") <(grep -v wall "$dir/replay/small-default/$f") ||
        fail "txsim time's $f differs from the pipelined timed run's"
    done
    expect 0 "== platform small-default" "$txsim" time "$dir/plain.txa" --platform platforms/default.json --out "$dir/replay_none"
    for f in hardware.json layers.csv units.csv; do
      cmp -s <(grep -v wall "$dir/timed/$f") <(grep -v wall "$dir/replay_none/small-default/$f") || fail "txsim time's $f differs from the serial timed run's"
    done
    # The trace and VCD of a replay are the timed run's (the trace's title aside, the VCD's date aside).
    expect 0 "trace: $dir/trace.json" "$txsim" "${run[@]}" --platform platforms/default.json --trace "$dir/trace.json" \
      --trace-batches 2 --vcd "$dir/timed.vcd"
    expect 0 "trace.json (open in" "$txsim" time "$dir/plain.txa" --platform platforms/default.json --out "$dir/traced" \
      --trace-batches 2 --vcd
    python3 - "$dir/trace.json" "$dir/traced/small-default/trace.json" <<'PY' || fail "the replay's trace spans differ from the timed run's"
import json, sys
spans = [[e for e in json.load(open(p))["traceEvents"] if e.get("ph") != "M"] for p in sys.argv[1:]]
assert spans[0] and spans[0] == spans[1], (len(spans[0]), len(spans[1]))
PY
    cmp -s <(sed 2d "$dir/timed.vcd") <(sed 2d "$dir/traced/small-default/timed.vcd") || fail "the replay's VCD differs from the timed run's"
    expect 2 "--trace-batches and --vcd need --out" "$txsim" time "$dir/plain.txa" --platform platforms/default.json --vcd
    # Bad records, platforms and options.
    expect 1 "layer 1's activity was counted with crossbar.rows 64, the platform imposes 128" "$txsim" time "$dir/plain.txa" --platform platforms/isaac.json
    head -c 3000 "$dir/plain.txa" > "$dir/cut.txa"
    expect 1 "$dir/cut.txa: state 'record events'" "$txsim" time "$dir/cut.txa" --platform platforms/default.json
    expect 1 "$dir/data/mnist/t10k-labels-idx1-ubyte: not a TxSim activity record" "$txsim" time "$dir/data/mnist/t10k-labels-idx1-ubyte" --platform platforms/default.json
    expect 1 "missing.txa" "$txsim" time "$dir/missing.txa" --platform platforms/default.json
    python3 - "$dir/plain.txa" "$dir/hostile.txa" <<'PY' || fail "could not write the hostile record"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
events = b.rfind(b"record events")  # the entry's name, type, count, then 120-byte events
first = events + len(b"record events") + 1 + 8
b[first + 120 * 5 + 8] = 9  # the sixth event (a phase): phase 9
open(sys.argv[2], "wb").write(bytes(b))
PY
    expect 1 "$dir/hostile.txa: event 5: phase 9: accepted 0 (FW) .. 3 (WU)" "$txsim" time "$dir/hostile.txa" --platform platforms/default.json
    expect 2 "a second platform named 'small-default'" "$txsim" time "$dir/plain.txa" --platform platforms/default.json --platform platforms/default.json
    expect 2 "--record-activity records a whole run" "$txsim" "${run[@]}" --out "$dir/timed" --resume --record-activity "$dir/x.txa"
    expect 2 "the folder '$dir/nowhere' does not exist" "$txsim" "${run[@]}" --record-activity "$dir/nowhere/x.txa"
    expect 2 "the option '--platform' is required" "$txsim" time "$dir/plain.txa"
    ;;
  *) echo "unknown case $3"; exit 2 ;;
esac
[ $failures = 0 ] && echo "cli robustness ($3): all checks hold"
exit $((failures > 0))
