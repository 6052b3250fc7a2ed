"""LeNet-5 written in plain PyTorch, its three middle layers (conv2, fc1, fc2) made analog on the
TxSim-like ReRAM preset, trained one epoch on MNIST with TxSim's recipe (batch 32, SGD momentum
0.9, weight decay 5e-4, lr 0.01), its activity recorded and then timed on a platform by the timed
model. `txsim train --workload workloads/lenet5.json --device workloads/devices/txsim_reram.json
--epochs 1 --platform platforms/default.json` trains and times the same network from JSON.

    PYTHONPATH=build/python /usr/bin/python3 python/examples/lenet5_mnist.py [--data data/mnist]
        [--platform platforms/default.json] [--record run.txa] [--out DIR]

The preset takes the platform's crossbar size, cell bits, DAC and ADC bits (as the CLI's timed run
does), so the record can be timed on any platform that shares them (txsim time run.txa --platform ...).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy
import torch

import txsim

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read_idx(path, magic, dims):
    """An IDX file (optionally .gz) of unsigned bytes: magic 2049 (labels) or 2051 (images)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"lenet5_mnist: {path}: {e.strerror or e}")
    header = 4 * (1 + dims)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        sys.exit(f"lenet5_mnist: {path}: not an IDX file with magic {magic}")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if len(data) != header + int(numpy.prod(shape)):
        sys.exit(f"lenet5_mnist: {path}: {len(data) - header} bytes of data, the header says {int(numpy.prod(shape))}")
    return numpy.frombuffer(data, dtype=numpy.uint8, offset=header).reshape(shape)


def mnist(folder, split):
    images = read_idx(os.path.join(folder, f"{split}-images-idx3-ubyte"), 2051, 3)
    labels = read_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte"), 2049, 1)
    x = (torch.from_numpy(images.astype(numpy.float32) / 255.0) - 0.1307) / 0.3081  # as txsim normalizes MNIST
    return x.unsqueeze(1), torch.from_numpy(labels.astype(numpy.int64))


class LeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def train_epoch(net, opt, x_train, y_train, x_test, y_test, batch=32):
    """One epoch of TxSim's recipe (shuffled batches, cross-entropy, the optimizer's step), then
    the test set in batches of 256 as txsim train evaluates: (mean train loss, test accuracy,
    training seconds, seconds with the evaluation)."""
    start = time.time()
    net.train()
    order = torch.randperm(len(x_train))
    total, batches = 0.0, 0
    for b in range(0, len(order), batch):
        idx = order[b:b + batch]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        total += loss.item()
        batches += 1
    train_s = time.time() - start
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(x_test[b:b + 256]).argmax(1) == y_test[b:b + 256]).sum()) for b in range(0, len(x_test), 256))
    return total / batches, correct / len(x_test), train_s, time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    ap.add_argument("--preset", default=os.path.join(ROOT, "workloads", "devices", "txsim_reram.json"))
    ap.add_argument("--platform", default=os.path.join(ROOT, "platforms", "default.json"))
    ap.add_argument("--record", help="also write the activity record here (for txsim time)")
    ap.add_argument("--out", help="write hardware.json, layers.csv and units.csv of the timed run here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=0, help="use the first N training images (0: all)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    x_train, y_train = mnist(args.data, "train")
    x_test, y_test = mnist(args.data, "t10k")
    if args.limit_train > 0:
        x_train, y_train = x_train[: args.limit_train], y_train[: args.limit_train]
    preset = txsim.load_preset(args.preset, platform=args.platform)
    net = txsim.convert_to_analog(LeNet5(), preset, layers=["conv2", "fc1", "fc2"], seed=args.seed)
    opt = txsim.AnalogSGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    recorder = txsim.ActivityRecorder(net, opt, label=f"lenet5 (PyTorch) / {preset.name}")
    loss, accuracy, train_s, epoch_s = train_epoch(net, opt, x_train, y_train, x_test, y_test)
    recorder.end_epoch()
    recorder.close()
    print(f"lenet5_mnist: preset {preset.name}, analog conv2 fc1 fc2, seed {args.seed}: train loss {loss:.4f}, "
          f"test accuracy {100.0 * accuracy:.2f}%, training {train_s:.1f} s, epoch with evaluation {epoch_s:.1f} s "
          f"(torch threads {torch.get_num_threads()}, txsim threads {txsim.threads()})")
    if args.record:
        recorder.save(args.record)
        print(f"activity record: {args.record} ({recorder.record.reports} reports)")
    start = time.time()
    timed = txsim.time(recorder, args.platform)
    print(f"timed on {args.platform} in {time.time() - start:.2f} s:")
    print(timed.summary, end="")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "hardware.json"), "w") as f:
            json.dump(timed.hardware, f, indent=2)
        for name, text in (("layers.csv", timed.layers_csv), ("units.csv", timed.units_csv)):
            with open(os.path.join(args.out, name), "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
