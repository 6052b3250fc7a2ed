"""Analog layers as torch.nn.Modules over txsim._core.AnalogCore, and the optimizer that
programs them."""
import json
import os
import warnings

import numpy
import torch

from . import _core, background


def load_preset(preset, platform=None, platform_set=()):
    """A device preset from a JSON file's path or from a dict (the same schema); an existing
    DevicePreset passes through. With `platform` (a platform file, PATH=VALUE overrides as
    --platform-set), the platform's crossbar size, cell bits, DAC and ADC bits replace the
    preset's, as `txsim train --platform` does: a run recorded with it can be timed on that
    platform. Errors are ValueError naming the field."""
    if isinstance(preset, _core.DevicePreset):
        pass
    elif isinstance(preset, (str, os.PathLike)):
        preset = _core.load_device_preset(os.fspath(preset))
    elif isinstance(preset, dict):
        preset = _core.device_preset_from_json(json.dumps(preset), "preset dict")
    else:
        raise ValueError(f"preset: expected a path, a dict or a DevicePreset, got {type(preset).__name__}")
    if platform is not None:
        preset = _core.preset_on_platform(preset, os.fspath(platform), list(platform_set))
    return preset


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


_threads_checked = False


def _check_threads():
    """Warns once when torch's threads and TxSim's pool together want more cores than the
    process has: torch's OpenMP workers spin after each operator on the cores TxSim's next read
    needs (measured on 2 cores: the analog calls 60% slower, torch no faster)."""
    global _threads_checked
    if _threads_checked:
        return
    _threads_checked = True
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() > 1 and torch.get_num_threads() + _core.threads() > cores:
        warnings.warn(f"torch runs {torch.get_num_threads()} threads beside TxSim's pool of {_core.threads()} on {cores} cores: "
                      "their workers slow each other; torch.set_num_threads(1) (or txsim.set_threads) avoids it", stacklevel=4)


def _device_weights(core, shape):
    """The weights the core's devices hold, as a tensor of the layer's weight shape."""
    return torch.from_numpy(core.weights()).reshape(shape)


# The phases as the core reports them (txsim/activity.h): forward read, activation gradient
# (the transposed read), weight gradient, weight update.
FW, AG, WG, WU = 0, 1, 2, 3


class _CrossbarLinear(torch.autograd.Function):
    """y = x W^T by the crossbar read; dx by the transposed read; dW = dy^T x in float (what
    the C++ layers compute digitally). `report` (rows, input values) or None: while an
    ActivityRecorder watches, each phase is reported as the C++ layers report it (FW; then WG
    before AG, so the transposed read's activity is AG's)."""

    @staticmethod
    def forward(ctx, x, weight, core, report):
        _check_threads()
        y = torch.from_numpy(core.forward(_as_core_array(x, "AnalogLinear input")))
        if report is not None:
            core.report(FW, *report)
        ctx.core, ctx.report = core, report
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        dy = dy.contiguous()  # autograd may hand over a strided or expanded gradient: no user-facing warning for that
        dw = dy.t().mm(x.to(dy.dtype)) if ctx.needs_input_grad[1] else None
        if ctx.report is not None:
            ctx.core.report(WG, *ctx.report)
        # Read even when nobody needs dx (a first layer), as the C++ layers do: the same reads
        # draw the same noise, so the cores' streams stay those of the C++ run.
        background.wait(ctx.core)
        dx = torch.from_numpy(ctx.core.backward(_as_core_array(dy, "AnalogLinear gradient")))
        if ctx.report is not None:
            ctx.core.report(AG, *ctx.report)
        return dx, dw, None, None


class _AnalogModule(torch.nn.Module):
    """What analog layers share: the core, the weight that mirrors its devices, programming,
    and a state_dict entry `analog_state` with every conductance and counter of the core (so a
    saved and reloaded model continues bit for bit)."""

    def _make_core(self, preset, fan_in, out, weight_shape, bias, seed, layer, core=None):
        self.preset = load_preset(preset)
        self.core = core(self.preset) if core else _core.AnalogCore(self.preset, int(fan_in), int(out), int(seed), int(layer))
        self.weight = torch.nn.Parameter(_device_weights(self.core, weight_shape))
        self.weight.analog_core = self.core
        self.bias = torch.nn.Parameter(torch.zeros(int(out))) if bias else None
        self._recording = False  # an ActivityRecorder watches: the core reports its phases

    def program(self, weight):
        """Programs the devices to `weight` (the module's weight shape); the module's weight
        becomes what they hold."""
        weight = torch.as_tensor(weight)
        if tuple(weight.shape) != tuple(self.weight.shape):
            raise ValueError(f"{type(self).__name__}.program: expected weights of shape {tuple(self.weight.shape)}, "
                             f"got {tuple(weight.shape)}")
        background.wait(self.core)
        self.core.program(_as_core_array(weight.reshape(self.weight.shape[0], -1), f"{type(self).__name__}.program weights"))
        self._refresh()

    @torch.no_grad()
    def _refresh(self):
        self.weight.copy_(_device_weights(self.core, self.weight.shape))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        background.wait(self.core)
        # A tensor that owns its bytes (one sharing a Python buffer would outlive it in the dict).
        destination[prefix + "analog_state"] = torch.from_numpy(numpy.frombuffer(self.core.save_state(), dtype=numpy.uint8).copy())

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        state = state_dict.pop(prefix + "analog_state", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        if state is None:
            if strict:
                missing_keys.append(prefix + "analog_state")
            return
        background.wait(self.core)
        try:
            self.core.load_state(state.numpy().tobytes())
        except ValueError as e:
            error_msgs.append(f"{prefix}analog_state: {e}")
            return
        self._refresh()

    def _weight_rows(self):
        return self.weight.view(self.weight.shape[0], -1)


class AnalogLinear(_AnalogModule):
    """torch.nn.Linear on crossbars: `weight` mirrors the devices' weights (read-only to
    anything but AnalogSGD and program(), which program the devices and refresh it); `bias` is
    digital."""

    def __init__(self, in_features, out_features, preset, bias=True, seed=1, layer=0):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self._make_core(preset, self.in_features, self.out_features, (self.out_features, self.in_features), bias, seed, layer)

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"AnalogLinear: expected input of shape (batch, {self.in_features}), got {tuple(x.shape)}")
        y = _CrossbarLinear.apply(x, self.weight, self.core, (x.shape[0], 0) if self._recording else None)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, preset={self.preset.name}"


def _pair(v, what):
    t = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(t) != 2 or not all(isinstance(e, int) for e in t):
        raise ValueError(f"AnalogConv2d: {what} must be an int or a pair of ints, got {v!r}")
    return t


class _CrossbarConv2d(torch.autograd.Function):
    """The C++ convolution layer (nn::Conv2d, as txsim train runs it): patches made in C++ as
    the read needs them, the transposed read's rows added into dx as they come, dW in float
    from the kept input; the layer reports its phases itself."""

    @staticmethod
    def forward(ctx, x, weight, layer, train):
        _check_threads()
        y = torch.from_numpy(layer.forward(_as_core_array(x, "AnalogConv2d input"), train))
        ctx.layer, ctx.weight_shape = layer, weight.shape
        return y

    @staticmethod
    def backward(ctx, dy):
        background.wait(ctx.layer.core)
        dx, dw = ctx.layer.backward(dy.contiguous().numpy())
        return torch.from_numpy(dx), torch.from_numpy(dw).reshape(ctx.weight_shape) if ctx.needs_input_grad[1] else None, None, None


class AnalogConv2d(_AnalogModule):
    """torch.nn.Conv2d on crossbars (groups = 1): each output position's patch (channels x
    kernel rows x kernel columns, torch's unfold order) is one row of the crossbar read; the
    input gradient is the transposed read of the output gradient's rows, folded back.

    patches: "cpp" runs the C++ layer of txsim train (square kernel, the same stride and
    padding in both directions, dilation 1), its patches made in C++ a block at a time; "torch"
    makes them with torch's unfold (any stride, padding and dilation); "auto" (the default)
    takes "cpp" where the geometry allows. Both give the same numbers bit for bit."""

    def __init__(self, in_channels, out_channels, kernel_size, preset, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 seed=1, layer=0, patches="auto"):
        super().__init__()
        if groups != 1:
            raise ValueError(f"AnalogConv2d: groups must be 1, got {groups}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
        if min(self.kernel_size + self.stride + self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError("AnalogConv2d: kernel_size, stride and dilation must be >= 1 and padding >= 0")
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        if patches not in ("auto", "cpp", "torch"):
            raise ValueError(f"AnalogConv2d: patches must be 'auto', 'cpp' or 'torch', got {patches!r}")
        square = (self.kernel_size[0] == self.kernel_size[1] and self.stride[0] == self.stride[1]
                  and self.padding[0] == self.padding[1] and self.dilation == (1, 1))
        if patches == "cpp" and not square:
            raise ValueError("AnalogConv2d: patches='cpp' needs a square kernel, the same stride and padding in both "
                             f"directions and dilation 1; got kernel {self.kernel_size}, stride {self.stride}, "
                             f"padding {self.padding}, dilation {self.dilation} (patches='torch' takes any)")
        self._layer = None
        if square and patches != "torch":
            self._layer = _core.AnalogConv2dLayer(load_preset(preset), self.in_channels, self.out_channels, self.kernel_size[0],
                                                  self.stride[0], self.padding[0], int(seed), int(layer))
        self._make_core(preset, fan_in, self.out_channels, (self.out_channels, self.in_channels) + self.kernel_size, bias, seed, layer,
                        core=(lambda _: self._layer.core) if self._layer else None)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"AnalogConv2d: expected input of shape (batch, {self.in_channels}, height, width), got {tuple(x.shape)}")
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"AnalogConv2d: input {h}x{w} is smaller than the dilated kernel")
        if self._layer is not None:
            train = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
            y = _CrossbarConv2d.apply(x, self.weight, self._layer, train)
            return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)
        cols = torch.nn.functional.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # n x fan_in x L
        rows = cols.transpose(1, 2).reshape(n * oh * ow, -1)
        report = (n * oh * ow, x.numel()) if self._recording else None
        y = _CrossbarLinear.apply(rows, self._weight_rows(), self.core, report)  # (n L) x out
        y = y.reshape(n, oh * ow, self.out_channels).transpose(1, 2).reshape(n, self.out_channels, oh, ow)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, preset={self.preset.name}")


def convert_to_analog(model, preset, layers=None, seed=1):
    """Replaces the model's nn.Linear and nn.Conv2d modules named in `layers` (names as
    model.named_modules() gives them; None: all of them) by analog ones with the same shapes,
    their devices programmed to the float weights and their biases copied. In place; returns
    the model. Unknown names, other module types or groups != 1 raise ValueError."""
    preset = load_preset(preset)
    candidates = {name: m for name, m in model.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))}
    chosen = list(candidates) if layers is None else list(layers)
    unknown = [n for n in chosen if n not in candidates]
    if unknown:
        raise ValueError(f"convert_to_analog: no nn.Linear or nn.Conv2d named {unknown}; the model has {sorted(candidates)}")
    for index, name in enumerate(n for n in candidates if n in chosen):
        old = candidates[name]
        if isinstance(old, torch.nn.Linear):
            new = AnalogLinear(old.in_features, old.out_features, preset, bias=old.bias is not None, seed=seed, layer=index)
        else:
            if old.padding_mode != "zeros" or isinstance(old.padding, str):
                raise ValueError(f"convert_to_analog: {name}: only numeric zero padding converts, got {old.padding!r}/{old.padding_mode}")
            new = AnalogConv2d(old.in_channels, old.out_channels, old.kernel_size, preset, stride=old.stride, padding=old.padding,
                               dilation=old.dilation, groups=old.groups, bias=old.bias is not None, seed=seed, layer=index)
        new.program(old.weight.detach())
        if old.bias is not None:
            with torch.no_grad():
                new.bias.copy_(old.bias.detach())
        parent = model
        *path, leaf = name.split(".")
        for part in path:
            parent = getattr(parent, part)
        setattr(parent, leaf, new)
    return model


class AnalogSGD(torch.optim.Optimizer):
    """SGD as TxSim's C++ optimizer: m = momentum m + g + wd w (no weight decay on biases),
    step = -lr m. Digital parameters take the step; analog weights are programmed by it through
    their preset's update model (pulse-train presets update from the batch's own inputs and
    errors at lr), then mirror what the devices hold. Their transposed reads' matrices are then
    built on a background thread (txsim.set_background_builds)."""

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
        stepped = []
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
                    m = state["momentum"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                # The C++ optimizer's own rule (nn::momentum_step: in double, rounded once).
                g = _as_core_array(p.grad, "AnalogSGD gradient")
                if core is None:
                    value = p.data if p.is_contiguous() and p.dtype == torch.float32 else None
                    if value is None:
                        raise ValueError(f"AnalogSGD: parameters must be contiguous float32 CPU tensors, got {p.dtype}")
                    _core.sgd_step(value.numpy(), g, m.numpy(), lr, mu, wd)
                else:
                    background.wait(core)
                    core.sgd_step(g, m.numpy(), lr, mu, wd)
                    p.copy_(_device_weights(core, p.shape))
                    stepped.append(core)
        # The next backward reads the last layers first.
        background.start(reversed(stepped))
        return loss
