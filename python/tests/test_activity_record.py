"""Activity record and replay from PyTorch: a PyTorch LeNet-5 recorded and timed by txsim.time
against the CLI's timed run of the same network on the same data (txsim train --platform, the
oracle): every read, gradient and data-movement figure equal, the update phases' calls equal
(their pulses follow the weights' own trajectory, which differs between the two trainings); the
record's file, replays in one process, and bad records, platforms and arguments."""
import csv
import io
import os
import struct
import subprocess
import sys

import pytest
import torch

import txsim

SOURCE = os.environ.get("TXSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("TXSIM_CLI", os.path.join(SOURCE, "build", "apps", "txsim"))
RERAM = os.path.join(SOURCE, "workloads", "devices", "txsim_reram.json")
PLATFORM = os.path.join(SOURCE, "platforms", "default.json")
sys.path.insert(0, os.path.join(SOURCE, "python", "examples"))
from lenet5_mnist import LeNet5, mnist, train_epoch  # noqa: E402  (the example's network, reader and epoch)


def write_mnist(folder, n_train, n_test):
    os.makedirs(folder)
    g = torch.Generator().manual_seed(3)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = torch.randint(0, 10, (n,), generator=g)
        images = (torch.rand(n, 28, 28, generator=g) * 64 + 19 * labels.view(-1, 1, 1)).clamp(0, 255).to(torch.uint8)
        with open(os.path.join(folder, f"{split}-images-idx3-ubyte"), "wb") as f:
            f.write(struct.pack(">4I", 2051, n, 28, 28) + images.numpy().tobytes())
        with open(os.path.join(folder, f"{split}-labels-idx1-ubyte"), "wb") as f:
            f.write(struct.pack(">2I", 2049, n) + labels.to(torch.uint8).numpy().tobytes())


def train_recorded(folder, preset, epochs=1):
    """The example's epoch (batch 32, evaluation in batches of 256), recorded."""
    torch.manual_seed(1)
    x_train, y_train = mnist(folder, "train")
    x_test, y_test = mnist(folder, "t10k")
    net = txsim.convert_to_analog(LeNet5(), preset, layers=["conv2", "fc1", "fc2"], seed=1)
    opt = txsim.AnalogSGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    with txsim.ActivityRecorder(net, opt) as rec:
        for _ in range(epochs):
            train_epoch(net, opt, x_train, y_train, x_test, y_test)
            rec.end_epoch()
    return rec


def rows_by_phase(text):
    return {(r["layer"], r["phase"]): r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_mnist(str(folder / "mnist"), 96, 40)
    return folder


def test_timed_record_gives_the_cli_timed_runs_figures(data, tmp_path):
    out = tmp_path / "cli"
    subprocess.run([CLI, "train", "--workload", os.path.join(SOURCE, "workloads", "lenet5.json"), "--device", RERAM, "--epochs", "1",
                    "--data", str(data), "--platform", PLATFORM, "--out", str(out)], check=True, capture_output=True, cwd=SOURCE)
    cli_layers = rows_by_phase((out / "layers.csv").read_text())
    rec = train_recorded(str(data / "mnist"), txsim.load_preset(RERAM, platform=PLATFORM))
    assert rec.record.train_samples == 96
    timed = txsim.time(rec, PLATFORM)
    py_layers = rows_by_phase(timed.layers_csv)
    breakdown = {(int(r["layer"]), r["phase"]): r for r in timed.layers}  # the same rows, numbers as floats
    assert len(breakdown) == 20 and breakdown[(1, "FW")]["latency_ns"] == float(cli_layers[("1", "FW")]["latency_ns"])
    assert set(py_layers) == set(cli_layers) and len(py_layers) == 20
    for key, want in cli_layers.items():
        got = py_layers[key]
        if key[1] == "WU":  # pulses follow each training's own weights; the updates themselves match
            assert got["calls"] == want["calls"] and got["kind"] == want["kind"], key
        else:
            assert got == want, key
    import json
    cli = json.loads((out / "hardware.json").read_text())
    for k in ("eval_seconds", "eval_joules", "eval_samples", "train_samples", "area_mm2", "crossbars_used"):
        assert timed.hardware[k] == cli[k], k
    assert timed.hardware["train_latency_by_phase_seconds"]["FW"] == cli["train_latency_by_phase_seconds"]["FW"]


def test_record_file_and_repeated_timing(data, tmp_path):
    rec = train_recorded(str(data / "mnist"), txsim.load_preset(RERAM, platform=PLATFORM))
    path = tmp_path / "run.txa"
    rec.save(path)
    loaded = txsim.load_record(str(path))
    assert loaded.reports == rec.record.reports and loaded.train_samples == 96
    assert [l.analog for l in loaded.layers] == [False, True, True, True, False]
    first, again = txsim.time(rec, PLATFORM), txsim.time(str(path), PLATFORM)  # two simulations, one process
    def figures(t):  # the simulator's own speed aside
        return {k: v for k, v in t.hardware.items() if k not in ("simulated_images_per_wall_second", "wall_seconds")}

    assert figures(first) == figures(again)
    pipelined = txsim.time(loaded, PLATFORM, platform_set=["chip.pipeline=layers", "chip.pipeline_group=8"])
    assert pipelined.hardware["schedule"]["pipeline"] == "layers"
    assert pipelined.images_per_second > first.images_per_second
    # Its trace and VCD: those txsim time writes for the same record.
    t = txsim.time(rec, PLATFORM, trace=tmp_path / "trace.json", trace_batches=2, vcd=tmp_path / "timed.vcd")
    assert figures(t) == figures(first)
    subprocess.run([CLI, "time", str(path), "--platform", PLATFORM, "--out", str(tmp_path / "cli"), "--trace-batches", "2", "--vcd"],
                   check=True, capture_output=True, cwd=SOURCE)
    import json
    spans = [[e for e in json.loads(p.read_text())["traceEvents"] if e.get("ph") != "M"]
             for p in (tmp_path / "trace.json", tmp_path / "cli" / "small-default" / "trace.json")]
    assert spans[0] and spans[0] == spans[1]
    vcds = [p.read_text().splitlines()[2:] for p in (tmp_path / "timed.vcd", tmp_path / "cli" / "small-default" / "timed.vcd")]
    assert vcds[0] == vcds[1]
    with pytest.raises(ValueError, match="accepted a file name in an existing folder"):
        txsim.time(rec, PLATFORM, trace=tmp_path / "missing" / "trace.json")
    # The CLI reads the Python record.
    cli = subprocess.run([CLI, "time", str(path), "--platform", PLATFORM], capture_output=True, text=True, cwd=SOURCE)
    assert cli.returncode == 0, cli.stderr
    assert f"{first.images_per_second:.6g} images/s" in cli.stdout


def test_bad_records_platforms_and_arguments(data, tmp_path):
    rec = train_recorded(str(data / "mnist"), txsim.load_preset(RERAM))  # the preset's own geometry: 64 x 64
    with pytest.raises(ValueError, match=r"crossbar.rows 64, the platform imposes 128"):
        txsim.time(rec, os.path.join(SOURCE, "platforms", "isaac.json"))
    with pytest.raises(ValueError, match="not a TxSim activity record"):
        txsim.load_record(os.path.join(str(data), "mnist", "t10k-labels-idx1-ubyte"))
    path = tmp_path / "run.txa"
    rec.save(path)
    cut = tmp_path / "cut.txa"
    cut.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="record events"):
        txsim.time(str(cut), PLATFORM)
    with pytest.raises(ValueError, match="platform_set"):
        txsim.time(rec, PLATFORM, platform_set=["chip.pipeline=sideways"])
    with pytest.raises(ValueError, match="expected an ActivityRecorder"):
        txsim.time(42, PLATFORM)
    with pytest.raises(ValueError, match="no nn.Linear"):
        txsim.ActivityRecorder(torch.nn.ReLU())
    empty = txsim.ActivityRecorder(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="holds no batch"):
        txsim.time(empty, PLATFORM)
    with pytest.raises(ValueError, match=r"adc.bits: 99"):
        txsim.load_preset(RERAM, platform=PLATFORM, platform_set=["adc.bits=99"])


def test_records_models_with_in_place_activations():
    """A digital layer followed by ReLU(inplace=True), as torchvision's models have it: each
    training batch reports the batch, and FW, WG, AG and WU of both layers (a hand count)."""
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(inplace=True), torch.nn.Flatten(), torch.nn.Linear(144, 3))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with txsim.ActivityRecorder(m, opt) as rec:
        for _ in range(2):
            opt.zero_grad()
            m(torch.randn(5, 1, 8, 8)).sum().backward()
            opt.step()
        rec.end_epoch()
    assert rec.record.reports == 2 * (1 + 2 * 4) + 1 and rec.record.train_samples == 10
    assert rec.record.sample_values == 64
    assert txsim.time(rec, PLATFORM).hardware["train_samples"] == 10


def test_preact_resnet_example_trains_records_and_times(tmp_path):
    """python/examples/preact_resnet_cifar.py end to end on 256 synthetic CIFAR-format images
    (txsim make-data): it trains, records and is timed on the ISAAC-like platform."""
    subprocess.run([CLI, "make-data", "--out", str(tmp_path), "--train", "256", "--test", "64"], check=True, capture_output=True)
    run = subprocess.run([sys.executable, os.path.join(SOURCE, "python", "examples", "preact_resnet_cifar.py"), "--data", str(tmp_path),
                          "--record", str(tmp_path / "resnet.txa")], capture_output=True, text=True, cwd=SOURCE)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "14 analog convolutions" in run.stdout and "platform isaac-like" in run.stdout
    rec = txsim.load_record(str(tmp_path / "resnet.txa"))
    assert rec.train_samples == 256 and sum(l.analog for l in rec.layers) == 14 and len(rec.layers) == 16
