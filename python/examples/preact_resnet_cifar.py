"""A pre-activation ResNet written in plain PyTorch, which the JSON workloads cannot express (each
block's shortcut takes the block's pre-activated input, activations are SiLU, the head pools
adaptively and drops out), with every convolution but the stem and the classifier made analog on
the TxSim-like ReRAM preset; trained on CIFAR-10-format data, its activity recorded and timed on a
platform by the timed model.

    ./build/apps/txsim make-data --out data --train 5000 --test 1000   # synthetic CIFAR-format data,
                                                                       # or the real CIFAR-10 binaries
    PYTHONPATH=build/python /usr/bin/python3 python/examples/preact_resnet_cifar.py [--data data]
        [--platform platforms/isaac.json] [--epochs 1] [--record run.txa]
"""
import argparse
import os
import sys
import time

import numpy
import torch
import torch.nn as nn

import txsim

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def cifar(folder, files):
    """CIFAR-10 binary records (label byte, 3 x 32 x 32 bytes), scaled to [0, 1] as txsim reads them."""
    records = []
    for name in files:
        path = os.path.join(folder, "cifar-10-batches-bin", name)
        try:
            raw = numpy.fromfile(path, dtype=numpy.uint8)
        except OSError as e:
            sys.exit(f"preact_resnet_cifar: {path}: {e.strerror or e} (txsim make-data --out {folder} writes such files)")
        if raw.size == 0 or raw.size % 3073:
            sys.exit(f"preact_resnet_cifar: {path}: {raw.size} bytes is not a whole number of 3073-byte CIFAR-10 records")
        records.append(raw.reshape(-1, 3073))
    r = numpy.concatenate(records)
    if r[:, 0].max() > 9:
        sys.exit(f"preact_resnet_cifar: {folder}: a label above 9")
    return torch.from_numpy(r[:, 1:].astype(numpy.float32) / 255.0).view(-1, 3, 32, 32), torch.from_numpy(r[:, 0].astype(numpy.int64))


class PreActBlock(nn.Module):
    """BN-SiLU-conv, BN-SiLU-conv; the shortcut (identity, or a 1x1 conv where the shape changes)
    takes the block's pre-activated input."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        a = nn.functional.silu(self.bn1(x))
        h = self.conv2(nn.functional.silu(self.bn2(self.conv1(a))))  # in model.modules() order, as the recorder numbers them
        return h + (self.shortcut(a) if self.shortcut is not None else x)


class PreActResNet(nn.Module):
    def __init__(self, width=16, blocks=(2, 2, 2), classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        layers, cin = [], width
        for stage, n in enumerate(blocks):
            cout = width * 2 ** stage
            for i in range(n):
                layers.append(PreActBlock(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(cin)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = nn.functional.silu(self.bn(self.blocks(self.stem(x))))
        return self.fc(self.drop(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--preset", default=os.path.join(ROOT, "workloads", "devices", "txsim_reram.json"))
    ap.add_argument("--platform", default=os.path.join(ROOT, "platforms", "isaac.json"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--record", help="also write the activity record here (for txsim time)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    x_train, y_train = cifar(args.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    x_test, y_test = cifar(args.data, ["test_batch.bin"])
    model = PreActResNet()
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and name != "stem"]
    preset = txsim.load_preset(args.preset, platform=args.platform)
    model = txsim.convert_to_analog(model, preset, layers=convs, seed=args.seed)
    opt = txsim.AnalogSGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    print(f"preact_resnet_cifar: {len(x_train)} training and {len(x_test)} test images, {len(convs)} analog convolutions "
          f"on {preset.name}, {sum(p.numel() for p in model.parameters())} parameters")
    with txsim.ActivityRecorder(model, opt, label=f"preact-resnet (PyTorch) / {preset.name}") as recorder:
        for epoch in range(1, args.epochs + 1):
            start = time.time()
            model.train()
            order = torch.randperm(len(x_train))
            total, batches = 0.0, 0
            for b in range(0, len(order), args.batch):
                idx = order[b:b + args.batch]
                x = x_train[idx]
                flip = torch.rand(len(idx)) < 0.5  # horizontal flips, as the CIFAR workloads augment
                x[flip] = x[flip].flip(3)
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y_train[idx])
                loss.backward()
                opt.step()
                total, batches = total + loss.item(), batches + 1
            model.eval()
            with torch.no_grad():
                correct = sum(int((model(x_test[b:b + 256]).argmax(1) == y_test[b:b + 256]).sum()) for b in range(0, len(x_test), 256))
            recorder.end_epoch()
            print(f"epoch {epoch}: train loss {total / batches:.4f}, test accuracy {100.0 * correct / len(x_test):.2f}%, "
                  f"{time.time() - start:.1f} s")
    if args.record:
        recorder.save(args.record)
        print(f"activity record: {args.record} ({recorder.record.reports} reports)")
    timed = txsim.time(recorder, args.platform)
    print(f"timed on {args.platform}:")
    print(timed.summary, end="")


if __name__ == "__main__":
    main()
