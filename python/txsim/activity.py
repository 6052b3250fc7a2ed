"""Activity record and replay from PyTorch: an ActivityRecorder watches a model's training (its
batches, and every phase of its Linear and Conv2d layers, analog or digital) as the C++ training
reports it to the timed model; `time` charges the record on a platform with that timed model.

    preset = txsim.load_preset("workloads/devices/txsim_reram.json", platform="platforms/default.json")
    ...
    with txsim.ActivityRecorder(model, optimizer) as rec:
        for epoch ...: train and evaluate; rec.end_epoch()
    rec.save("run.txa")                            # txsim time run.txa --platform P ...
    timed = txsim.time(rec, "platforms/default.json")
    print(timed.summary, timed.images_per_second, timed.energy_per_image_joules)
"""
import csv
import io
import json
import os

import torch

from . import _core, background
from .analog import AG, FW, WG, WU, AnalogConv2d, AnalogLinear, _AnalogModule

_WEIGHTED = (torch.nn.Linear, torch.nn.Conv2d, AnalogLinear, AnalogConv2d)


def _digital_shape(m):
    """(in, out) of a digital layer as the mapper sees it: a convolution's fan-in per group."""
    if isinstance(m, torch.nn.Linear):
        return m.in_features, m.out_features
    return m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1], m.out_channels


def _rows(m, x, y):
    """Rows of the layer's GEMM: samples (times output positions for a convolution)."""
    if isinstance(m, torch.nn.Conv2d):
        return y.shape[0] * y.shape[2] * y.shape[3]
    return x.numel() // x.shape[-1]


class ActivityRecorder:
    """Records what the timed model charges while `model` trains or evaluates: a batch for each
    call of model's forward (training when model.training), the phases of its layers (FW on
    their forward, WG then AG on their backward, when the weight's gradient is formed, WU for
    every layer after each optimizer.step()),
    and an epoch end per end_epoch(). Layers are the model's nn.Linear, nn.Conv2d and analog
    modules in model.modules() order, which should be the order the forward runs them (the
    timed model maps them onto tiles in that order). close() (or leaving the with block) stops
    recording; the record stays."""

    def __init__(self, model, optimizer=None, label=None):
        self._rec = _core.ActivityRecorder()
        self._layers = [m for m in model.modules() if isinstance(m, _WEIGHTED)]
        if not self._layers:
            raise ValueError("ActivityRecorder: the model has no nn.Linear, nn.Conv2d or analog layer")
        # (in, out) of each digital layer, and the rows and input values of its last forward.
        self._digital = {i: _digital_shape(m) for i, m in enumerate(self._layers) if not isinstance(m, _AnalogModule)}
        self._last_forward = {}
        shapes, cores = [], []
        for index, m in enumerate(self._layers):
            layer = _core.RecordedLayer()
            if index in self._digital:
                layer.in_features, layer.out_features = self._digital[index]
            shapes.append(layer)
            cores.append(None if index in self._digital else m.core)
        self._rec.set_layers(shapes, cores)
        analog = sorted({m.preset.name for m in self._layers if isinstance(m, _AnalogModule)})
        self._rec.record.label = label or f"{type(model).__name__} (PyTorch) / {', '.join(analog) or 'digital'}"
        self._epochs = 0
        self._hooks = [model.register_forward_pre_hook(self._on_model_forward)]
        for index, m in enumerate(self._layers):
            if isinstance(m, _AnalogModule):
                background.wait(m.core)
                m.core.observe(self._rec, index)
                m._recording = True
            else:
                self._hooks.append(m.register_forward_hook(self._digital_forward(index)))
                # The weight's gradient hook, not a module backward hook: those wrap the output in a
                # view that an in-place activation after the layer (ReLU(inplace=True)) may not modify.
                if m.weight.requires_grad:
                    self._hooks.append(m.weight.register_hook(self._digital_backward(index)))
        self._optimizer, self._step = optimizer, None
        if optimizer is not None:
            self._step = optimizer.step
            recorder = self

            def step(*args, **kwargs):
                out = recorder._step(*args, **kwargs)
                recorder._on_step()
                return out

            optimizer.step = step

    def _on_model_forward(self, model, inputs):
        x = inputs[0]
        if self._rec.record.sample_values == 0:
            self._rec.record.sample_values = x[0].numel()
        self._rec.batch(x.shape[0], model.training)

    def _digital_forward(self, index):
        fan_in, out = self._digital[index]

        def hook(module, inputs, y):
            x = inputs[0]
            rows, values = self._last_forward[index] = (_rows(module, x, y), x.numel())
            self._rec.digital_phase(FW, index, rows, fan_in, out, values)

        return hook

    def _digital_backward(self, index):
        fan_in, out = self._digital[index]

        def hook(grad):  # the layer's backward node has formed its weight gradient (and its input gradient)
            rows, values = self._last_forward[index]
            self._rec.digital_phase(WG, index, rows, fan_in, out, values)
            self._rec.digital_phase(AG, index, rows, fan_in, out, values)

        return hook

    def _on_step(self):
        for index, m in enumerate(self._layers):
            if index in self._digital:
                self._rec.digital_phase(WU, index, 0, *self._digital[index])
            else:
                m.core.report(WU, 0)

    def end_epoch(self):
        """Marks the end of an epoch (after its evaluation, as the C++ training does)."""
        self._epochs += 1
        self._rec.epoch(self._epochs)

    def close(self):
        for h in self._hooks:
            h.remove()
        self._hooks = []
        for m in self._layers:
            if isinstance(m, _AnalogModule):
                background.wait(m.core)
                m.core.observe(None, 0)
                m._recording = False
        if self._step is not None:
            self._optimizer.step = self._step
            self._step = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def record(self):
        """The record so far (txsim._core.ActivityRecord: reports, train_samples, save(path))."""
        return self._rec.record

    def save(self, path):
        """Writes the record for `txsim time` (atomically)."""
        self.record.save(os.fspath(path))


class TimedRun:
    """What the timed model reports for a record on a platform: `hardware` (the dict of
    hardware.json), `summary` (the text txsim prints), `layers_csv` and `units_csv` (the CSVs'
    text), and the figures of merit."""

    def __init__(self, answer):
        self.hardware = answer["hardware"]
        self.summary = answer["summary"]
        self.layers_csv = answer["layers_csv"]
        self.units_csv = answer["units_csv"]

    @property
    def layers(self):
        """The per-layer, per-phase breakdown: one dict per row of layers.csv (layer, kind, phase,
        calls, latency_ns, energy_pj, each component's pJ and operations, crossbars, utilization,
        bound, the activity), numbers as floats."""
        rows = []
        for row in csv.DictReader(io.StringIO(self.layers_csv)):
            out = {}
            for k, v in row.items():
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
            rows.append(out)
        return rows

    images_per_second = property(lambda self: self.hardware["images_per_second"])
    energy_per_image_joules = property(lambda self: self.hardware["energy_per_image_joules"])
    area_mm2 = property(lambda self: self.hardware["area_mm2"])
    tops_per_watt = property(lambda self: self.hardware["tops_per_watt"])

    def __repr__(self):
        return (f"TimedRun({self.hardware['platform']}: {self.images_per_second:.6g} images/s, "
                f"{self.energy_per_image_joules * 1e6:.6g} uJ/image, {self.area_mm2:.6g} mm2)")


def time(record, platform, platform_set=(), trace=None, trace_batches=1, vcd=None):
    """The timed model (the chip and controller of `txsim train --platform`) charging a record
    on a platform file, with PATH=VALUE overrides as --platform-set. `record`: an
    ActivityRecorder, an ActivityRecord or a record file's path. The platform must impose the
    crossbar geometry and precision the record was counted with (load_preset(..., platform=P)
    gives analog layers those); else ValueError naming the field. Runs in a child process
    (SystemC simulates once per process), so it can be called again and again. `trace`: a
    Perfetto / Chrome trace of the first `trace_batches` training batches written there; `vcd`:
    the controller's busy, layer and phase signals as a VCD there (txsim time --out's files)."""
    if isinstance(record, ActivityRecorder):
        record = record.record
    elif isinstance(record, (str, os.PathLike)):
        record = _core.load_record(os.fspath(record))
    elif not isinstance(record, _core.ActivityRecord):
        raise ValueError(f"time: expected an ActivityRecorder, an ActivityRecord or a path, got {type(record).__name__}")
    if record.sample_values == 0:
        raise ValueError("time: the record holds no batch (the model's forward never ran while recording)")
    for path, what in ((trace, "trace"), (vcd, "vcd")):
        if path is not None:
            folder = os.path.dirname(os.fspath(path)) or "."
            if os.path.isdir(os.fspath(path)) or not os.path.isdir(folder):
                raise ValueError(f"time: {what} {os.fspath(path)!r}: accepted a file name in an existing folder")
    answer = _core.time_record(record, os.fspath(platform), list(platform_set), os.fspath(trace) if trace else "", int(trace_batches),
                               os.fspath(vcd) if vcd else "")
    return TimedRun(json.loads(answer))
