"""The race's optimiser against torch.optim.SGD, the reference: the same parameters after every step,
bit for bit, with weight decay, momentum and a learning rate changed between steps (the warm-up),
a parameter without a gradient left alone; and a race that never imports torch._dynamo, which
torch.optim's first optimiser does (1.3 s, 150 MB)."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.race.sgd import MomentumSGD


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
        self.unused = nn.Linear(2, 2)  # never in the forward: no gradient, no step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.9, 1e-4), (0.9, 0.0), (0.0, 5e-4), (0.0, 0.0)])
def test_every_step_equals_torch_optim_sgd_bit_for_bit(momentum, weight_decay):
    ours, reference = SmallNet(), SmallNet()
    reference.load_state_dict(ours.state_dict())
    sgd = MomentumSGD(ours.parameters(), lr=0.1, momentum=momentum, weight_decay=weight_decay)
    ref = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=momentum, weight_decay=weight_decay)
    unused = copy.deepcopy(ours.unused.weight.detach())
    generator = torch.Generator().manual_seed(1)
    for step, lr in enumerate((0.02, 0.05, 0.1, 0.1, 0.1)):
        x, y = torch.randn(4, 3, 8, 8, generator=generator), torch.randint(0, 5, (4,), generator=generator)
        sgd.lr = lr
        for group in ref.param_groups:
            group["lr"] = lr
        for net, opt in ((ours, sgd), (reference, ref)):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        for (name, mine), theirs in zip(ours.named_parameters(), reference.parameters()):
            assert torch.equal(mine, theirs), (step, name)
    assert torch.equal(ours.unused.weight, unused)
    assert all(p.grad is not None for p in ours.body.parameters())
    sgd.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_a_race_does_not_import_torch_dynamo():
    code = (
        "import sys\n"
        "from dataclasses import replace\n"
        "from explorer.core.race.config import RaceConfig\n"
        "from explorer.core.race.train import run_race\n"
        "result = run_race(replace(RaceConfig(), network='resnet20', steps=2, batch=4, size=16))\n"
        "print(len(result.runs), 'torch._dynamo' in sys.modules, 'sympy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False", "False"]
