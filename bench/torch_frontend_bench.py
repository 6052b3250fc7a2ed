#!/usr/bin/env python3
"""The Python front end's benchmarks (issue 21), each a ratio measured in this one run:

  torch_lenet_epoch_nonideal_over_cli          a PyTorch LeNet-5 (conv2, fc1, fc2 analog, TxSim-like
                                               preset: txsim_reram with first-order parasitics) one
                                               epoch with its evaluation / the same epoch of
                                               `txsim train --workload workloads/lenet5.json`
  torch_lenet_epoch_nonideal_over_torch_ideal  the same / plain PyTorch's ideal LeNet-5 epoch
  replay_over_functional                       `txsim time` of that CLI epoch's record on three
                                               platforms, per platform / the recording run

Both sides train on MNIST from data/mnist (tools/quickstart.sh run fetches it; else 60000
synthetic MNIST-format images), the first 2000 test images, batch 32, on the threads the process has; the three kinds of epoch alternate (rounds of F P T), and each
ratio is the median over the rounds. Usage: torch_frontend_bench.py TXSIM [--rounds N]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "python", "examples"))
sys.path.insert(0, os.path.join(ROOT, "python", "tests"))
import txsim  # noqa: E402
from lenet5_mnist import LeNet5, mnist, train_epoch  # noqa: E402
from test_activity_record import write_mnist  # noqa: E402


def txsim_like(folder):
    """workloads/devices/txsim_reram.json with train_bench's first-order parasitics."""
    with open(os.path.join(ROOT, "workloads", "devices", "txsim_reram.json")) as f:
        preset = json.load(f)
    preset["name"] = "txsim-like"
    preset["circuit"] = {"model": "first_order", "source_ohm": 100, "sink_ohm": 50, "wire_ohm": 1}
    path = os.path.join(folder, "txsim_like.json")
    with open(path, "w") as f:
        json.dump(preset, f)
    return path


def platforms(folder):
    """Three platforms with platforms/default.json's crossbars: as it is, pipelined over layers
    in groups of 8, and in groups of 2."""
    with open(os.path.join(ROOT, "platforms", "default.json")) as f:
        base = json.load(f)
    paths = [os.path.join(ROOT, "platforms", "default.json")]
    for group in (8, 2):
        p = json.loads(json.dumps(base))
        p["name"] = f"{base['name']}-layers-{group}"
        p.setdefault("chip", {}).update({"pipeline": "layers", "pipeline_group": group})
        paths.append(os.path.join(folder, f"layers_{group}.json"))
        with open(paths[-1], "w") as f:
            json.dump(p, f)
    return paths


def cli_epoch(cli, preset, data, record):
    """Seconds of the CLI's epoch with its evaluation (as it prints them), and the process's wall."""
    start = time.time()
    run = subprocess.run([cli, "train", "--workload", os.path.join(ROOT, "workloads", "lenet5.json"), "--device", preset,
                          "--epochs", "1", "--data", data, "--limit-test", "2000", "--record-activity", record],
                         capture_output=True, text=True, cwd=ROOT)
    wall = time.time() - start
    if run.returncode != 0:
        sys.exit(f"torch_frontend_bench: txsim train exited {run.returncode}: {(run.stdout + run.stderr).strip()[-400:]}")
    out = run.stdout
    m = re.search(r"epoch 1/1: .* ([0-9.]+) s\n", out)
    if not m:
        sys.exit(f"torch_frontend_bench: no epoch line in txsim train's output:\n{out}")
    return float(m.group(1)), wall


def python_epoch(preset, x_train, y_train, x_test, y_test, analog):
    torch.manual_seed(1)
    net = LeNet5()
    if analog:
        net = txsim.convert_to_analog(net, preset, layers=["conv2", "fc1", "fc2"], seed=1)
        opt = txsim.AnalogSGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    return train_epoch(net, opt, x_train, y_train, x_test, y_test)[3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("txsim")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(ROOT, "data")
        if not os.path.exists(os.path.join(data, "mnist", "train-images-idx3-ubyte")):
            print("torch_frontend_bench: no MNIST in data/mnist: synthetic MNIST-format images instead")
            data = tmp
            write_mnist(os.path.join(tmp, "mnist"), 60000, 2000)
        preset_path = txsim_like(tmp)
        preset = txsim.load_preset(preset_path)
        x_train, y_train = mnist(os.path.join(data, "mnist"), "train")
        x_test, y_test = mnist(os.path.join(data, "mnist"), "t10k")
        x_test, y_test = x_test[:2000], y_test[:2000]
        record = os.path.join(tmp, "lenet5.txa")
        cli, py, ideal, walls = [], [], [], []
        for _ in range(args.rounds):
            seconds, wall = cli_epoch(args.txsim, preset_path, data, record)
            cli.append(seconds)
            walls.append(wall)
            py.append(python_epoch(preset, x_train, y_train, x_test, y_test, analog=True))
            ideal.append(python_epoch(preset, x_train, y_train, x_test, y_test, analog=False))
        def by_round(seconds):
            return " ".join(f"{s:.2f}" for s in seconds)
        print(f"torch_frontend_bench: epochs (s) by round: CLI {by_round(cli)}, Python {by_round(py)}, PyTorch ideal {by_round(ideal)}")
        over_cli = statistics.median(p / c for p, c in zip(py, cli))
        over_ideal = statistics.median(p / i for p, i in zip(py, ideal))
        print(f"BENCH torch_lenet_epoch_nonideal_s {statistics.median(py):.2f} s")
        print(f"BENCH cli_lenet_epoch_nonideal_s {statistics.median(cli):.2f} s")
        print(f"BENCH torch_lenet_epoch_ideal_s {statistics.median(ideal):.2f} s")
        print(f"BENCH torch_lenet_epoch_nonideal_over_cli {over_cli:.3f} x")
        print(f"BENCH torch_lenet_epoch_nonideal_over_torch_ideal {over_ideal:.3f} x")
        # The last CLI run's record on three platforms, one txsim time process; against that run's wall.
        paths = platforms(tmp)
        start = time.time()
        cmd = [args.txsim, "time", record] + [a for p in paths for a in ("--platform", p)]
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        replay = (time.time() - start) / len(paths)
        print(f"BENCH replay_s_per_platform {replay:.3f} s")
        print(f"BENCH replay_over_functional {replay / walls[-1]:.4f} x")


if __name__ == "__main__":
    main()
