"""The transposed read's matrices built on a background thread after AnalogSGD's step
(txsim/background.py) change the speed, not a number: the oracle is the same training with the
matrices built at the first transposed read, as txsim train builds them."""
import io

import pytest
import torch

import txsim
from test_analog_conv_and_state import PULSED, reram_with_parasitics
from txsim import background


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc1 = torch.nn.Linear(4 * 5 * 5, 24)
        self.fc2 = torch.nn.Linear(24, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


def run(preset, builds, steps=4):
    """Losses of `steps` training steps, the state after them, and a probe's outputs."""
    before = background.background_builds()
    background.set_background_builds(builds)
    try:
        torch.manual_seed(3)
        net = txsim.convert_to_analog(Net(), preset, layers=["conv", "fc1", "fc2"])
        opt = txsim.AnalogSGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        g = torch.Generator().manual_seed(4)
        losses = []
        for _ in range(steps):
            x, target = torch.randn(8, 1, 12, 12, generator=g), torch.randint(0, 10, (8,), generator=g)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), target)
            loss.backward()
            opt.step()
            if builds:  # the step left a build of every analog core pending (else this tests nothing)
                assert {id(m.core) for m in (net.conv, net.fc1, net.fc2)} <= set(background._pending)
            losses.append(loss.item())
        saved = io.BytesIO()
        torch.save(net.state_dict(), saved)
        probe = torch.randn(4, 1, 12, 12, generator=torch.Generator().manual_seed(9))
        return losses, saved.getvalue(), net(probe).detach()
    finally:
        background.set_background_builds(before)


@pytest.mark.parametrize("preset", [reram_with_parasitics(), PULSED], ids=["reram+parasitics", "pulsed"])
def test_background_builds_give_the_numbers_of_builds_at_the_first_read(preset):
    lazy_losses, lazy_state, lazy_probe = run(preset, builds=False)
    early_losses, early_state, early_probe = run(preset, builds=True)
    assert early_losses == lazy_losses
    assert torch.equal(early_probe, lazy_probe)
    lazy, early = torch.load(io.BytesIO(lazy_state)), torch.load(io.BytesIO(early_state))
    assert lazy.keys() == early.keys()
    for key in lazy:
        if not key.endswith("analog_state"):  # it also says which read matrices were built
            assert torch.equal(lazy[key], early[key]), key


def test_a_build_that_fails_raises_where_the_core_is_next_used():
    class Failing:
        def prepare_backward_reads(self):
            raise ValueError("build failed")

    core = Failing()
    background.start([core])
    with pytest.raises(ValueError, match="build failed"):
        background.wait(core)
    background.wait(core)  # reported once; nothing pending after it
