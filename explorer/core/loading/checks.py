"""Stage 5 of loading (``explorer.core.loading.pipeline``), the checks before any model exists: the
memory the architecture the file holds needs (``explorer.core.network.memory``, the estimator the
command-line flags are checked with, counting every tensor at its logical size), and the values:
every tensor's layout and dtype, finite numbers, non-negative BatchNorm variances.

Core layer, pure PyTorch. Runs only on a state dict whose keys and shapes the architecture stage has
checked, so no tensor here is larger than the network it belongs to.
"""

from __future__ import annotations

import math

import torch

from explorer.core.loading.architecture import Architecture
from explorer.core.loading.errors import WeightsError
from explorer.core.network.counts import BATCHNORM_COUNTER, state_shapes
from explorer.core.network.memory import MemoryLimitError, check_fits, loading_bytes
from explorer.core.text import shown

# The BatchNorm counter is PyTorch's int64; every other tensor of a ResNet is float32
# (explorer.core.network.model builds them in the default dtype).


def check_memory(found: Architecture, name: str) -> None:
    """Refuse, in one line naming the file, a network this machine cannot hold while loading it
    (see :func:`~explorer.core.network.memory.loading_bytes`). Raises WeightsError."""
    what = f"{name}: {found.spec.title} with {found.num_classes:,} classes"
    try:
        check_fits(what, loading_bytes(found.num_classes, found.spec))
    except MemoryLimitError as exc:
        raise WeightsError(str(exc)) from None


def checked_state(state: dict[str, torch.Tensor], found: Architecture, name: str) -> dict[str, torch.Tensor]:
    """A complete state dict for ``found``, each tensor in the model's dtype (a missing counter
    becomes 0), after its layout, dtype and values are checked.

    Raises:
        WeightsError: a quantised, sparse, complex, boolean or integer tensor where weights belong,
            NaN or infinite values, or a negative BatchNorm variance; one line naming the key.
    """
    checked: dict[str, torch.Tensor] = {}
    for key in state_shapes(found.spec, found.num_classes):
        counter = key.endswith(BATCHNORM_COUNTER)
        value = state.get(key)
        if value is None:  # only a counter may be absent (the architecture stage checked the rest)
            checked[key] = torch.zeros((), dtype=torch.long)
            continue
        problem = _dtype_problem(value, counter)
        if problem:
            raise WeightsError(f"{name}: {shown(key)} {problem}")
        checked[key] = value.to(dtype=torch.long if counter else torch.float32)
    _check_values(checked, name)
    return checked


def _dtype_problem(value: torch.Tensor, counter: bool) -> str | None:
    """Why a tensor cannot stand in for a weight (or, with ``counter``, a counter), or None."""
    if value.is_quantized:
        return f"is quantised ({value.dtype}); quantised checkpoints are not supported"
    if value.layout != torch.strided:
        return f"is a sparse tensor ({value.layout}); save dense weights (tensor.to_dense())"
    if counter:
        return None  # the BatchNorm counter: any real number converts
    if value.is_complex():
        return f"has complex values ({value.dtype}) where real floating-point weights belong"
    if value.dtype == torch.bool:
        return "has boolean values where floating-point weights belong"
    if not value.is_floating_point():
        return f"has integer values ({value.dtype}) where floating-point weights belong"
    return None


def peaks(checked: dict[str, torch.Tensor]) -> dict[str, float]:
    """The largest magnitude of every floating-point tensor (NaN or inf where one holds such)."""
    # The max-abs norm is NaN or inf exactly when some element is; one fused call over all tensors is
    # much cheaper than an isfinite() mask per tensor.
    floats = [k for k, v in checked.items() if v.is_floating_point()]
    return {k: float(p) for k, p in zip(floats, torch._foreach_norm([checked[k] for k in floats], float("inf")))}


def _check_values(checked: dict[str, torch.Tensor], name: str) -> None:
    bad = next((k for k, peak in peaks(checked).items() if not math.isfinite(peak)), None)
    if bad is not None:
        raise WeightsError(f"{name}: {shown(bad)} contains NaN or infinite values")
    negative = next((k for k, v in checked.items() if k.endswith("running_var") and bool((v < 0).any())), None)
    if negative is not None:
        raise WeightsError(f"{name}: {shown(negative)} has negative values (a variance cannot be negative)")
