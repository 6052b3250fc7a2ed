#!/usr/bin/env bash
# txsim sweep and txsim plot end to end (issue 6):
#  - a 3 x 2 sweep (MLP on Fashion-MNIST, a few thousand samples) killed after its first point and
#    run again: every point once, the finished one not retrained, the same numbers as a sweep
#    that was never interrupted; no training left running after the kill;
#  - the plots (PNG and SVG) and the table come out of the CSV;
#  - a timed sweep records time and energy and gets its breakdown bars;
#  - a grid over seeds is averaged: mean and standard deviation in the table, error bars in the plot;
#  - a bad spec is refused before anything trains;
#  - make-data writes files that the CIFAR-10 loader reads.
# Usage: sweep_cli_test.sh TXSIM SOURCE_DIR
set -uo pipefail
txsim=$1
cd "$2"
dir=$(mktemp -d)
trap 'pkill -KILL -f "$dir/" 2> /dev/null; rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
rows() { [ -f "$1" ] && tail -n +2 "$1" | grep -c '^[0-9]' || echo 0; }

# The reference: one uninterrupted run.
"$txsim" sweep tests/sweep/resume.json --out "$dir/whole" > "$dir/whole.log" 2>&1 || fail "uninterrupted sweep exited $?: $(tail -3 "$dir/whole.log")"
[ "$(rows "$dir/whole/results.csv")" = 7 ] || fail "uninterrupted sweep: $(rows "$dir/whole/results.csv") rows, expected 7"

# Killed as soon as its first point is in the CSV.
"$txsim" sweep tests/sweep/resume.json --out "$dir/killed" > "$dir/killed1.log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
  [ "$(rows "$dir/killed/results.csv")" -ge 1 ] && break
  sleep 0.02
done
kill -KILL $pid 2> /dev/null
wait $pid 2> /dev/null
before=$(rows "$dir/killed/results.csv")
[ "$before" -ge 1 ] && [ "$before" -lt 7 ] || fail "killed sweep: $before rows at the kill (expected 1..6: the kill came too late or never)"
sleep 0.3
pgrep -f "$dir/killed/points" > /dev/null && fail "a point's training still runs after the sweep was killed"
first=$(sed -n 2p "$dir/killed/results.csv" | cut -d, -f4)
stamp=$(stat -c '%i %.9Y' "$dir/killed/points/$first/metrics.json" 2> /dev/null)
"$txsim" sweep tests/sweep/resume.json --out "$dir/killed" > "$dir/killed2.log" 2>&1 || fail "resumed sweep exited $?: $(tail -3 "$dir/killed2.log")"
grep -q "($before finished before), $((7 - before)) to train" "$dir/killed2.log" || fail "the resumed sweep did not skip the $before finished point(s): $(head -1 "$dir/killed2.log")"
[ "$(stat -c '%i %.9Y' "$dir/killed/points/$first/metrics.json" 2> /dev/null)" = "$stamp" ] || fail "the finished point $first was trained again"
ids=$(tail -n +2 "$dir/killed/results.csv" | cut -d, -f4 | sort)
[ "$(echo "$ids" | wc -l)" = 7 ] && [ "$(echo "$ids" | uniq | wc -l)" = 7 ] || fail "resumed CSV: expected 7 distinct points, got: $ids"
cmp -s "$dir/whole/results.csv" "$dir/killed/results.csv" || fail "killed + resumed CSV differs from the uninterrupted one: $(diff "$dir/whole/results.csv" "$dir/killed/results.csv" | head -4 | cut -c1-200)"
# Running a finished sweep again trains nothing.
"$txsim" sweep tests/sweep/resume.json --out "$dir/killed" > "$dir/killed3.log" 2>&1
grep -q "(7 finished before), 0 to train" "$dir/killed3.log" || fail "a finished sweep trained again: $(head -1 "$dir/killed3.log")"

# The figures.
"$txsim" plot "$dir/whole/results.csv" > "$dir/plot.log" 2>&1 || fail "txsim plot exited $?: $(tail -3 "$dir/plot.log")"
for f in accuracy epochs; do
  [ "$(head -c 4 "$dir/whole/plots/$f.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$f.png is not a PNG"
  grep -q "<svg" "$dir/whole/plots/$f.svg" || fail "$f.svg is not an SVG"
done
[ "$(grep -c '^| ' "$dir/whole/plots/table.md")" = 7 ] || fail "table.md: expected a header and 6 rows"
"$txsim" plot "$dir/whole/results.csv" --x update.write_noise --out "$dir/plots2" > /dev/null 2>&1 || fail "txsim plot --x exited $?"
"$txsim" plot "$dir/whole/results.csv" --x nope > "$dir/plot3.log" 2>&1 && fail "txsim plot --x nope was accepted"
grep -q "accepted one of the grid axes: update.nu, update.write_noise" "$dir/plot3.log" || fail "plot --x nope: $(cat "$dir/plot3.log")"

# A timed sweep: time, throughput and energy per point, and the breakdown bars.
"$txsim" sweep tests/sweep/timed.json --out "$dir/timed" > "$dir/timed.log" 2>&1 || fail "timed sweep exited $?: $(tail -3 "$dir/timed.log")"
head -1 "$dir/timed/results.csv" | grep -q "images_per_second,energy_per_image_joules" || fail "timed CSV lacks the hardware columns"
[ "$(tail -n +2 "$dir/timed/results.csv" | grep -c ',grid,ok,')" = 4 ] || fail "timed sweep: expected 4 grid rows"
"$txsim" plot "$dir/timed/results.csv" > /dev/null 2>&1 || fail "txsim plot (timed) exited $?"
for f in energy latency; do [ -s "$dir/timed/plots/$f.png" ] || fail "timed sweep: no $f.png"; done

# Seeds as an axis: one seed column (not two), and the plot's table and accuracy figure give the
# mean and sample standard deviation over the seeds, checked against the CSV's own numbers.
"$txsim" sweep tests/sweep/seeds.json --out "$dir/seeds" > "$dir/seeds.log" 2>&1 || fail "seed sweep exited $?: $(tail -3 "$dir/seeds.log")"
head -1 "$dir/seeds/results.csv" | grep -q ',id,update.nu,seed,epochs,' || fail "seed sweep header: $(head -1 "$dir/seeds/results.csv" | cut -c1-80)"
"$txsim" plot "$dir/seeds/results.csv" > "$dir/seeds_plot.log" 2>&1 || fail "txsim plot (seeds) exited $?: $(tail -2 "$dir/seeds_plot.log")"
grep -q "yerrorlines" "$dir/seeds/plots/accuracy.gp" || fail "seed sweep: the accuracy plot has no error bars"
for nu in 0 0.9; do
  expected=$(awk -F, -v nu=$nu '$2 == "grid" && $5 == nu { a = 100 * $8; s += a; q += a * a; n++ }
    END { m = s / n; printf "| %s | %d | %.2f ± %.2f |", nu, n, m, sqrt((q - n * m * m) / (n - 1)) }' "$dir/seeds/results.csv")
  grep -qF "$expected" "$dir/seeds/plots/table.md" || fail "seed summary for nu=$nu: expected '$expected' in: $(tail -3 "$dir/seeds/plots/table.md")"
done
sed 's/"update.nu": \[0, 0.9\], //' tests/sweep/seeds.json > "$dir/seeds_only.json"
"$txsim" sweep "$dir/seeds_only.json" --out "$dir/seeds_only" > /dev/null 2>&1 || fail "seed-only sweep exited $?"
"$txsim" plot "$dir/seeds_only/results.csv" > /dev/null 2>&1 || fail "txsim plot (seed-only grid) exited $?"
grep -q "against seed" "$dir/seeds_only/plots/accuracy.gp" || fail "seed-only grid: the accuracy is not plotted against the seed"

# A bad spec: refused before any training, naming the file and field.
printf '{"workload": "workloads/mlp.json", "device": "workloads/devices/txsim_update.json", "grid": {"update.nu": [0, 0.5], "update.nuu": [1]}}' > "$dir/bad.json"
"$txsim" sweep "$dir/bad.json" --out "$dir/bad" > "$dir/bad.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "bad spec: exit status $rc, expected 1"
grep -q "bad.json: point .*unknown key 'update.nuu'" "$dir/bad.log" || fail "bad spec message: $(cat "$dir/bad.log")"
[ -e "$dir/bad" ] && fail "bad spec: the output folder was created"

# make-data: CIFAR-10's binary format (records of 1 + 3072 bytes), read back by the loader.
"$txsim" make-data --out "$dir/cifar" --train 10 --test 3 > /dev/null 2>&1 || fail "make-data exited $?"
[ "$(stat -c %s "$dir/cifar/cifar-10-batches-bin/data_batch_1.bin")" = $((2 * 3073)) ] || fail "make-data: data_batch_1.bin is not 2 records"
[ "$(stat -c %s "$dir/cifar/cifar-10-batches-bin/test_batch.bin")" = $((3 * 3073)) ] || fail "make-data: test_batch.bin is not 3 records"
"$txsim" train --workload workloads/vgg8.json --data "$dir/cifar" --epochs 1 --batch 5 > "$dir/cifar.log" 2>&1 || fail "training on make-data's files exited $?: $(tail -2 "$dir/cifar.log")"
grep -q "vgg8 on cifar10 (10 train, 3 test samples)" "$dir/cifar.log" || fail "make-data's files: $(head -1 "$dir/cifar.log")"

[ $failures = 0 ] && echo "sweep CLI: all checks passed"
exit $((failures > 0))
