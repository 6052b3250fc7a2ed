"""AnalogLinear against torch.nn.functional.linear (the oracle) in the ideal configuration, and
its errors. Run by CTest (Python.AnalogLayers) with the build's python folder on PYTHONPATH."""
import os
import warnings

import pytest
import torch

import txsim

SOURCE = os.environ.get("TXSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
IDEAL = os.path.join(SOURCE, "workloads", "devices", "ideal.json")
RERAM = os.path.join(SOURCE, "workloads", "devices", "txsim_reram.json")


def ideal_layer(n_in=300, n_out=70, bias=True):
    return txsim.AnalogLinear(n_in, n_out, IDEAL, bias=bias, seed=3)


def test_ideal_forward_and_gradients_equal_torch_linear():
    torch.manual_seed(0)
    layer = ideal_layer()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(17, 300, requires_grad=True)
    y = layer(x)
    w = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref = torch.nn.functional.linear(x_ref, w, b)
    # 22-bit weights and inputs: the read differs from float by the quantization, ~1e-6 relative.
    scale = y_ref.abs().max().item()
    assert (y - y_ref).abs().max().item() <= 1e-5 * scale
    dy = torch.randn_like(y)
    y.backward(dy)
    y_ref.backward(dy)
    assert (x.grad - x_ref.grad).abs().max().item() <= 1e-5 * x_ref.grad.abs().max().item()
    assert torch.allclose(layer.weight.grad, w.grad, rtol=1e-5, atol=1e-6 * w.grad.abs().max().item())
    assert torch.allclose(layer.bias.grad, b.grad, rtol=1e-6, atol=0)


def test_programmed_weights_are_held_by_the_devices():
    layer = ideal_layer(64, 32, bias=False)
    target = torch.randn(32, 64) * 0.1
    layer.program(target)
    assert (layer.weight.detach() - target).abs().max().item() <= 1e-5 * target.abs().max().item()


def test_analog_sgd_step_moves_ideal_weights_as_sgd():
    torch.manual_seed(1)
    layer = ideal_layer(40, 10, bias=False)
    w0 = layer.weight.detach().clone()
    x = torch.randn(8, 40)
    layer(x).pow(2).sum().backward()
    g = layer.weight.grad.detach().clone()
    txsim.AnalogSGD(layer.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4).step()
    expected = w0 - 0.01 * (g + 5e-4 * w0)
    moved = (layer.weight.detach() - w0).abs().max().item()
    assert moved > 0
    assert (layer.weight.detach() - expected).abs().max().item() <= 1e-3 * moved


def test_nonideal_read_differs_from_float_and_is_reproducible():
    torch.manual_seed(2)
    x = torch.rand(16, 128)
    a = txsim.AnalogLinear(128, 64, RERAM, bias=False, seed=5)
    b = txsim.AnalogLinear(128, 64, RERAM, bias=False, seed=5)
    ya, yb = a(x), b(x)
    assert torch.equal(ya, yb)  # the same seed, the same bits
    y_float = torch.nn.functional.linear(x, a.weight.detach())
    err = (ya - y_float).abs().max().item()
    assert 0 < err < 0.5 * y_float.abs().max().item()


def test_bad_presets_raise_value_error_naming_the_field():
    with pytest.raises(ValueError, match="weight_range"):
        txsim.load_preset({"name": "bad", "weight_range": -1, "crossbar": {}, "device": {}, "update": {}})
    with pytest.raises(ValueError, match="no_such_key"):
        txsim.load_preset({"name": "bad", "no_such_key": 1})
    with pytest.raises(ValueError):
        txsim.load_preset(os.path.join(SOURCE, "no", "such", "preset.json"))
    with pytest.raises(ValueError, match="expected a path"):
        txsim.load_preset(42)


def test_bad_shapes_raise_and_other_dtypes_are_converted_with_a_warning():
    layer = ideal_layer(30, 5)
    with pytest.raises(ValueError, match=r"\(batch, 30\)"):
        layer(torch.randn(4, 31))
    with pytest.raises(ValueError, match=r"\(batch, 30\)"):
        layer(torch.randn(30))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y64 = layer(torch.randn(4, 30, dtype=torch.float64))
    assert any("float64" in str(w.message) for w in caught)
    assert y64.dtype == torch.float32


def test_torch_keeps_its_threads_and_the_reads_do_not_depend_on_them():
    before = torch.get_num_threads()
    try:
        x = torch.rand(32, 128)
        results = []
        for n in (1, 2):
            torch.set_num_threads(n)
            layer = txsim.AnalogLinear(128, 64, RERAM, bias=False, seed=11)
            y = layer(x)
            y.sum().backward()
            txsim.AnalogSGD(layer.parameters(), lr=0.01).step()
            assert torch.get_num_threads() == n  # the core's calls gave torch its count back
            results.append((y.detach(), layer(x).detach()))
        assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    finally:
        torch.set_num_threads(before)


def test_warns_once_when_torch_and_txsim_threads_oversubscribe_the_cores():
    import os
    import txsim.analog
    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    layer = txsim.AnalogLinear(16, 4, IDEAL, seed=1)
    try:
        for n, expect in ((1, False), (2, 2 + txsim.threads() > cores)):
            torch.set_num_threads(n)
            txsim.analog._threads_checked = False
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                layer(torch.randn(2, 16))
                layer(torch.randn(2, 16))
            said = [w for w in caught if "beside TxSim's pool" in str(w.message)]
            assert len(said) == (1 if expect else 0), (n, cores, [str(w.message) for w in caught])
    finally:
        torch.set_num_threads(before)
