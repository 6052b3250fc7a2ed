#!/usr/bin/env python3
"""Draws a TxSim Chrome/Perfetto trace as a picture (PNG, through gnuplot): one row per
layer-phase of the controller (when each layer-phase's groups ran: overlapping rows are the
pipeline), then one row per tile that did any work in the traced batch (a tile's row is busy when
any of its units is), then the NoC and the off-chip port.

usage: tools/trace_picture.py TRACE.json OUT.png [TITLE] [MAX_TILES]
(MAX_TILES, default 24: the tiles drawn, from tile 0; the rest are left out and counted in the title)
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    trace_path, out_path = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else os.path.basename(trace_path)
    with open(trace_path) as f:
        events = json.load(f)["traceEvents"]
    groups = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    spans = {}  # row -> [(start_us, end_us)]
    open_at = {}
    for e in events:
        if e["ph"] not in ("B", "E"):
            continue
        key = (e["pid"], e["tid"])
        group, track = groups.get(e["pid"], ""), names.get(key, "")
        if group == "controller":
            row = "batch" if track == "batches" else track
        elif group.startswith("tile"):
            row = group
        elif group in ("noc", "offchip", "global_buffer", "gradient_unit"):
            row = group
        else:
            continue
        if e["ph"] == "B":
            open_at[key] = e["ts"]
        elif key in open_at:
            spans.setdefault(row, []).append((open_at.pop(key), e["ts"]))
    if not spans:
        sys.exit(trace_path + ": no spans to draw")

    def order(row):
        if row == "batch":
            return (0, 0, "")
        if row.startswith("L") and " " in row:
            layer, phase = row[1:].split(" ", 1)
            return (1, int(layer) if layer.isdigit() else 0, ["FW", "AG", "WG", "WU"].index(phase) if phase in ("FW", "AG", "WG", "WU") else 9)
        if row == "input":
            return (1, -1, "")
        if row.startswith("tile"):
            return (2, int(row[4:]), "")
        return (3, 0, row)

    max_tiles = int(sys.argv[4]) if len(sys.argv) > 4 else 24
    rows = sorted(spans, key=order)
    tiles = [r for r in rows if r.startswith("tile")]
    if len(tiles) > max_tiles:
        rows = [r for r in rows if not r.startswith("tile") or r in tiles[:max_tiles]]
        title += " (tiles %d of %d with work shown)" % (max_tiles, len(tiles))
    colors = {"FW": "#1f77b4", "AG": "#ff7f0e", "WG": "#2ca02c", "WU": "#d62728"}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "spans.dat")
        with open(data, "w") as f:
            for i, row in enumerate(rows):
                phase = row.split(" ")[-1] if row.startswith("L") else ""
                color = colors.get(phase, "#7f7f7f" if row.startswith("tile") else "#9467bd")
                for a, b in spans[row]:
                    f.write("%g %g %d %s\n" % ((a + b) / 2e3, (b - a) / 2e3, i, "0x" + color[1:]))
        script = os.path.join(tmp, "plot.gp")
        height = max(400, 14 * len(rows) + 120)
        with open(script, "w") as f:
            f.write("set terminal pngcairo noenhanced size 1200,%d font ',9'\n" % height)
            f.write("set output '%s'\n" % out_path.replace("'", "''"))
            f.write("set title '%s'\n" % title.replace("'", "''"))
            f.write("set xlabel 'simulated time (ms)'\nset yrange [%g:-1] reverse\nset ytics (%s)\n" % (
                len(rows), ", ".join("'%s' %d" % (r.replace("'", "''"), i) for i, r in enumerate(rows))))
            f.write("set xrange [0:*]\nunset key\nset grid xtics\n")
            f.write("plot '%s' using 1:3:2:(0.4):4 with boxxyerror fs solid 0.9 noborder lc rgb variable\n" % data)
        subprocess.run(["gnuplot", script], check=True)


if __name__ == "__main__":
    main()
