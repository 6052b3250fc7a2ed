#!/usr/bin/env python3
"""The reference the training benchmarks divide by: one epoch of the same network, recipe and data
in Debian's PyTorch (python3-torch), on the same number of threads, ideal (float) weights.

train_bench writes the data (raw float32 images, already normalized, and int32 labels) and runs
this script; it prints "seconds <wall time of the epoch and its test evaluation>".
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn as nn


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class Block(nn.Module):
    """workloads/resnet20.json's residual block: conv-bn-relu-conv-bn plus the shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def resnet20():
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def load(prefix, shape):
    images = np.fromfile(prefix + ".images.f32", dtype=np.float32).reshape(-1, *shape)
    labels = np.fromfile(prefix + ".labels.i32", dtype=np.int32).astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def augment(x, crop_padding, flip, gen):
    """Random crops of the image padded by crop_padding, and horizontal flips, per sample."""
    if crop_padding == 0 and not flip:
        return x
    n, _, h, w = x.shape
    out = torch.empty_like(x)
    padded = nn.functional.pad(x, (crop_padding,) * 4) if crop_padding else x
    dy = torch.randint(0, 2 * crop_padding + 1, (n,), generator=gen).tolist()
    dx = torch.randint(0, 2 * crop_padding + 1, (n,), generator=gen).tolist()
    flips = (torch.rand(n, generator=gen) < 0.5).tolist() if flip else [False] * n
    for i in range(n):
        s = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = s.flip(-1) if flips[i] else s
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--network", choices=["lenet5", "resnet20"], required=True)
    ap.add_argument("--train", required=True, help="prefix of the training files")
    ap.add_argument("--test", required=True, help="prefix of the test files")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, required=True)
    ap.add_argument("--weight-decay", type=float, required=True)
    ap.add_argument("--crop-padding", type=int, default=0)
    ap.add_argument("--flip", action="store_true")
    ap.add_argument("--bn-recalibrate", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    shape = (1, 28, 28) if a.network == "lenet5" else (3, 32, 32)
    x, y = load(a.train, shape)
    tx, ty = load(a.test, shape)
    net = lenet5() if a.network == "lenet5" else resnet20()
    # Weight decay on the weights only, as TxSim's SGD (not on biases and normalization).
    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() > 1]
    rest = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                          lr=a.lr, momentum=a.momentum)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    net.train()
    order = torch.randperm(len(x), generator=gen)
    batches = math.ceil(len(x) / a.batch)
    for b in range(batches):
        idx = order[b * a.batch:(b + 1) * a.batch]
        xb = augment(x[idx], a.crop_padding, a.flip, gen)
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(xb), y[idx])
        loss.backward()
        opt.step()
    if a.bn_recalibrate:  # the plain average of the first batches' statistics, as TxSim's
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.reset_running_stats()
                    m.momentum = None
            for b in range(min(a.bn_recalibrate, batches)):
                idx = order[b * a.batch:(b + 1) * a.batch]
                net(augment(x[idx], a.crop_padding, a.flip, gen))
    net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(tx), 256):
            correct += int((net(tx[b:b + 256]).argmax(1) == ty[b:b + 256]).sum())
    seconds = time.perf_counter() - start
    print(f"seconds {seconds:.3f}")
    print(f"test_accuracy {correct / len(tx):.4f}")


if __name__ == "__main__":
    main()
