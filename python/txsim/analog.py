"""Analog layers as torch.nn.Modules over txsim._core.AnalogCore, and the optimizer that
programs them."""
import json
import os
import warnings

import torch

from . import _core


def load_preset(preset):
    """A device preset from a JSON file's path or from a dict (the same schema); an existing
    DevicePreset passes through. Errors are ValueError naming the field."""
    if isinstance(preset, _core.DevicePreset):
        return preset
    if isinstance(preset, (str, os.PathLike)):
        return _core.load_device_preset(os.fspath(preset))
    if isinstance(preset, dict):
        return _core.device_preset_from_json(json.dumps(preset), "preset dict")
    raise ValueError(f"preset: expected a path, a dict or a DevicePreset, got {type(preset).__name__}")


def _as_core_array(t, what):
    """A float32 C-contiguous CPU tensor as a numpy array without a copy; other tensors are
    converted, with a warning (the copy costs time on every call)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{what}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
        warnings.warn(f"{what}: {t.dtype} on {t.device}{'' if t.is_contiguous() else ', not contiguous'} "
                      "converted to a contiguous float32 CPU tensor (a copy per call)", stacklevel=3)
        t = t.detach().to(device="cpu", dtype=torch.float32).contiguous()
    return t.detach().numpy()


class _CrossbarLinear(torch.autograd.Function):
    """y = x W^T by the crossbar read; dx by the transposed read; dW = dy^T x in float (what
    the C++ layers compute digitally)."""

    @staticmethod
    def forward(ctx, x, weight, core):
        y = torch.from_numpy(core.forward(_as_core_array(x, "AnalogLinear input")))
        ctx.core = core
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        dy = dy.contiguous()
        dx = torch.from_numpy(ctx.core.backward(_as_core_array(dy, "AnalogLinear gradient")))
        dw = dy.t().mm(x.to(dy.dtype)) if ctx.needs_input_grad[1] else None
        return dx, dw, None


class AnalogLinear(torch.nn.Module):
    """torch.nn.Linear on crossbars: `weight` mirrors the devices' weights (read-only to
    anything but AnalogSGD, which programs the devices and refreshes it); `bias` is digital."""

    def __init__(self, in_features, out_features, preset, bias=True, seed=1, layer=0):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.preset = load_preset(preset)
        self.core = _core.AnalogCore(self.preset, self.in_features, self.out_features, int(seed), int(layer))
        self.weight = torch.nn.Parameter(torch.from_numpy(self.core.weights()))
        self.weight.analog_core = self.core
        self.bias = torch.nn.Parameter(torch.zeros(self.out_features)) if bias else None

    def program(self, weight):
        """Programs the devices to `weight` (out x in); the module's weight becomes what they hold."""
        w = _as_core_array(torch.as_tensor(weight), "AnalogLinear.program weights")
        self.core.program(w)
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(self.core.weights()))

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"AnalogLinear: expected input of shape (batch, {self.in_features}), got {tuple(x.shape)}")
        y = _CrossbarLinear.apply(x, self.weight, self.core)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, preset={self.preset.name}"


class AnalogSGD(torch.optim.Optimizer):
    """SGD as TxSim's C++ optimizer: m = momentum m + g + wd w (no weight decay on biases),
    step = -lr m. Digital parameters take the step; analog weights are programmed by it through
    their preset's update model (pulse-train presets update from the batch's own inputs and
    errors at lr), then mirror what the devices hold."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        if not lr > 0:
            raise ValueError(f"AnalogSGD: lr must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"AnalogSGD: momentum must be in [0, 1), got {momentum}")
        if not weight_decay >= 0:
            raise ValueError(f"AnalogSGD: weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                core = getattr(p, "analog_core", None)
                wd = group["weight_decay"] if (core is not None or p.dim() > 1) else 0.0
                state = self.state[p]
                m = state.get("momentum")
                if m is None:
                    m = state["momentum"] = torch.zeros_like(p)
                # In double, rounded once, as the C++ step (float(mu m + g + wd w)).
                m.copy_((mu * m.double() + p.grad.double() + wd * p.double()).float())
                step = (-lr * m.double()).float()
                if core is None:
                    p.add_(step)
                else:
                    core.apply(step.contiguous().numpy(), lr)
                    p.copy_(torch.from_numpy(core.weights()))
        return loss
