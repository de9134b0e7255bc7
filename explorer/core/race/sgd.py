"""The race's optimiser: SGD with momentum and weight decay, computed as ``torch.optim.SGD`` computes
it on a CPU (its per-tensor path, without dampening or Nesterov), without ``torch.optim``. The first
``torch.optim`` optimiser of a process imports ``torch._dynamo`` and sympy with it: 1.3 s and about
150 MB before a race's first step (a quiet 2-core EPYC), and in the window 135,000 new objects that
each later full garbage collection scanned with every thread held. Core layer, pure PyTorch.

The test suite checks it against ``torch.optim.SGD`` step by step, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class MomentumSGD:
    """``p -= lr * v`` with ``v = momentum * v + (grad + weight_decay * p)`` (``v`` starts as the
    first step's gradient), over the parameters that have a gradient."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float, weight_decay: float) -> None:
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self._velocity: dict[int, torch.Tensor] = {}

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for index, param in enumerate(self.params):
            if param.grad is None:
                continue
            grad = param.grad.add(param, alpha=self.weight_decay) if self.weight_decay else param.grad
            if self.momentum:
                velocity = self._velocity.get(index)
                if velocity is None:
                    velocity = self._velocity[index] = grad.detach().clone()
                else:
                    velocity.mul_(self.momentum).add_(grad)
                grad = velocity
            param.add_(grad, alpha=-self.lr)
