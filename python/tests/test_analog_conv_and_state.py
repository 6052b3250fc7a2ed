"""AnalogConv2d against torch.nn.functional.conv2d (the oracle) in the ideal configuration,
convert_to_analog, and state_dict round trips that continue bit for bit."""
import io
import os

import pytest
import torch

import txsim

SOURCE = os.environ.get("TXSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
IDEAL = os.path.join(SOURCE, "workloads", "devices", "ideal.json")
RERAM = os.path.join(SOURCE, "workloads", "devices", "txsim_reram.json")
PULSED = os.path.join(SOURCE, "workloads", "devices", "constant_step.json")


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (0, 1), (1, 2))])
def test_ideal_conv_forward_and_gradients_equal_torch_conv2d(stride, padding, dilation):
    torch.manual_seed(0)
    conv = txsim.AnalogConv2d(3, 8, 3, IDEAL, stride=stride, padding=padding, dilation=dilation, seed=2)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 3, 11, 9, requires_grad=True)
    y = conv(x)
    w = conv.weight.detach().clone().requires_grad_(True)
    b = conv.bias.detach().clone().requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref = torch.nn.functional.conv2d(x_ref, w, b, stride=stride, padding=padding, dilation=dilation)
    assert y.shape == y_ref.shape
    assert (y - y_ref).abs().max().item() <= 1e-5 * y_ref.abs().max().item()
    dy = torch.randn_like(y)
    y.backward(dy)
    y_ref.backward(dy)
    assert (x.grad - x_ref.grad).abs().max().item() <= 1e-5 * x_ref.grad.abs().max().item()
    assert (conv.weight.grad - w.grad).abs().max().item() <= 1e-5 * w.grad.abs().max().item()
    assert torch.allclose(conv.bias.grad, b.grad, rtol=1e-5, atol=1e-5)


def test_conv_refuses_groups_and_wrong_inputs():
    with pytest.raises(ValueError, match="groups"):
        txsim.AnalogConv2d(4, 4, 3, IDEAL, groups=2)
    conv = txsim.AnalogConv2d(3, 4, 3, IDEAL)
    with pytest.raises(ValueError, match="batch, 3, height, width"):
        conv(torch.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match="smaller than"):
        conv(torch.randn(1, 3, 2, 2))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.fc1 = torch.nn.Linear(4 * 6 * 6, 32)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = torch.nn.functional.max_pool2d(x, 2).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


def test_convert_to_analog_keeps_outputs_within_the_quantization_error():
    torch.manual_seed(4)
    net = Net()
    x = torch.randn(5, 1, 12, 12)
    y_float = net(x).detach()
    txsim.convert_to_analog(net, IDEAL)
    assert isinstance(net.conv, txsim.AnalogConv2d) and isinstance(net.fc1, txsim.AnalogLinear)
    assert (net(x).detach() - y_float).abs().max().item() <= 1e-4 * y_float.abs().max().item()
    torch.manual_seed(4)
    net = Net()
    txsim.convert_to_analog(net, RERAM, layers=["fc1"])
    assert isinstance(net.fc1, txsim.AnalogLinear) and isinstance(net.fc2, torch.nn.Linear)
    # 8-bit weights, inputs and ADC on one layer: within a few percent of the float output.
    err = (net(x).detach() - y_float).abs().max().item()
    assert 0 < err <= 0.1 * y_float.abs().max().item()
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv2d named"):
        txsim.convert_to_analog(Net(), IDEAL, layers=["fc9"])


def train_steps(net, opt, steps, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(8, 1, 12, 12, generator=g)
        target = torch.randint(0, 10, (8,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), target).backward()
        opt.step()


@pytest.mark.parametrize("preset", [RERAM, PULSED])
def test_state_dict_round_trip_continues_bit_for_bit(preset):
    def fresh():
        torch.manual_seed(7)
        net = txsim.convert_to_analog(Net(), preset, layers=["conv", "fc1"])
        return net, txsim.AnalogSGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    net, opt = fresh()
    train_steps(net, opt, 3, seed=1)
    saved = io.BytesIO()
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, saved)
    assert "fc1.analog_state" in net.state_dict()
    train_steps(net, opt, 3, seed=2)
    probe = torch.randn(4, 1, 12, 12, generator=torch.Generator().manual_seed(9))
    expected = net(probe).detach()

    other, other_opt = fresh()  # different devices' state until loaded
    saved.seek(0)
    state = torch.load(saved)
    other.load_state_dict(state["model"])
    other_opt.load_state_dict(state["optimizer"])
    train_steps(other, other_opt, 3, seed=2)
    assert torch.equal(other(probe).detach(), expected)


def test_loading_another_layers_state_fails_clearly():
    a = txsim.AnalogLinear(16, 8, RERAM)
    b = txsim.AnalogLinear(32, 8, RERAM)
    with pytest.raises(RuntimeError, match="analog_state"):
        b.load_state_dict(a.state_dict())
    missing = {k: v for k, v in a.state_dict().items() if k != "analog_state"}
    with pytest.raises(RuntimeError, match="analog_state"):
        a.load_state_dict(missing)


def reram_with_parasitics():
    import json
    with open(RERAM) as f:
        preset = json.load(f)
    preset["circuit"] = {"model": "first_order", "source_ohm": 100, "sink_ohm": 50, "wire_ohm": 1}
    return preset


@pytest.mark.parametrize("preset", [RERAM, reram_with_parasitics()], ids=["reram", "reram+parasitics"])
def test_cpp_layer_and_torch_patches_read_the_same_bits(preset):
    """The C++ convolution layer of txsim train (patches="cpp") against the same core read on
    torch's unfold rows (patches="torch"): the same seed gives the same forward and input
    gradient bit for bit, read noise and parasitics included, before and after an update."""
    torch.manual_seed(0)
    w = torch.randn(16, 6, 5, 5) * 0.1
    cpp = txsim.AnalogConv2d(6, 16, 5, preset, padding=2, seed=3, layer=1, patches="cpp")
    unfold = txsim.AnalogConv2d(6, 16, 5, preset, padding=2, seed=3, layer=1, patches="torch")
    cpp.program(w)
    unfold.program(w)
    opts = [txsim.AnalogSGD(m.parameters(), lr=0.05, momentum=0.9) for m in (cpp, unfold)]
    for _ in range(3):
        x = torch.randn(4, 6, 14, 14)
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = cpp(xa), unfold(xb)
        assert torch.equal(ya, yb)
        dy = torch.randn_like(ya)
        ya.backward(dy)
        yb.backward(dy)
        assert torch.equal(xa.grad, xb.grad)
        # dW is digital float in both, summed in another order.
        assert torch.allclose(cpp.weight.grad, unfold.weight.grad, rtol=1e-4, atol=1e-4 * unfold.weight.grad.abs().max().item())
        cpp.weight.grad.copy_(unfold.weight.grad)  # the same step into both
        cpp.bias.grad.copy_(unfold.bias.grad)
        for o in opts:
            o.step()
            o.zero_grad()
        assert torch.equal(cpp.weight, unfold.weight)


def test_cpp_patches_refuse_other_geometries():
    with pytest.raises(ValueError, match="patches='cpp' needs a square kernel"):
        txsim.AnalogConv2d(3, 4, (3, 1), IDEAL, patches="cpp")
    with pytest.raises(ValueError, match="patches must be"):
        txsim.AnalogConv2d(3, 4, 3, IDEAL, patches="numpy")


@pytest.mark.parametrize("preset", [RERAM, reram_with_parasitics()], ids=["reram", "reram+parasitics"])
def test_linear_reads_equal_the_cpp_linear_layer(preset):
    """AnalogLinear against the C++ linear layer of txsim train (nn::Linear on an AnalogCore with
    the same preset, seed and layer index, programmed to the same weights): the same reads bit
    for bit, read after read (the noise streams stay together)."""
    torch.manual_seed(4)
    w, b, x = torch.randn(24, 70) * 0.2, torch.randn(24), torch.randn(9, 70)
    py = txsim.AnalogLinear(70, 24, preset, seed=5, layer=2)
    py.program(w)
    with torch.no_grad():
        py.bias.copy_(b)
    p = txsim.load_preset(preset)
    want = txsim._core.linear_layer_reads(p, w.numpy(), b.numpy(), x.numpy(), 5, 2, 3)
    with torch.no_grad():
        for y in want:
            assert torch.equal(py(x), torch.from_numpy(y))
