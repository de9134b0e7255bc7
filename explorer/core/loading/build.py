"""Stage 6 of loading (``explorer.core.loading.pipeline``), the model: the network the checks have
passed, built (or copied from a template of the same shape) on the CPU, and the checked weights put
into it only once they give a finite forward pass on a seeded test input, so a model is never left
half-loaded.

Core layer, pure PyTorch.
"""

from __future__ import annotations

import copy

import torch

from explorer.core.loading.architecture import Architecture
from explorer.core.loading.checks import peaks
from explorer.core.loading.errors import WeightsError
from explorer.core.network.model import ResNet
from explorer.core.network.stages import MIN_INPUT_SIZE
from explorer.core.text import shown

# The seeded test input that candidate weights must map to finite outputs: two images (batch
# statistics need two values per channel) of the smallest side, a few ms of compute.
_TEST_INPUT_SIZE = MIN_INPUT_SIZE


def new_model(found: Architecture, template: ResNet | None = None, seed: int | None = None) -> ResNet:
    """A model of ``found``'s shape on the CPU, in train mode as built: a deep copy of ``template``
    when it has that shape (about 30 ms for ResNet-50; a fresh build initialises every weight).
    With ``seed``, He-initialised from that seed: a fresh build draws its weights once, as it is
    built (drawing them again took 0.12 s of ResNet-50's random load)."""
    if template is not None and template.spec == found.spec and template.num_classes == found.num_classes:
        model = copy.deepcopy(template)
        if seed is not None:
            model.initialize("he", seed=seed)
        return model
    return ResNet(found.spec, found.num_classes, seed=seed)


def put_weights(model: ResNet, checked: dict[str, torch.Tensor], name: str) -> None:
    """Load ``checked`` (complete, in the model's dtypes: see
    :func:`~explorer.core.loading.checks.checked_state`) into ``model`` once the candidate weights
    give finite outputs on a seeded test input, run through ``torch.func.functional_call`` so the
    model's own tensors are not touched before then (forward hooks registered on it, if any, see
    the test input).

    Raises:
        WeightsError: NaN or infinite outputs, naming the largest weight; ``model`` is unchanged.
    """
    x = torch.randn(2, 3, _TEST_INPUT_SIZE, _TEST_INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = torch.func.functional_call(model, checked, (x,))
    finally:
        model.train(was_training)
    if not bool(torch.isfinite(out).all()):
        largest = max((peak, key) for key, peak in peaks(checked).items())
        raise WeightsError(
            f"{name}: the weights give NaN or infinite outputs on a test input "
            f"(largest magnitude {largest[0]:.3g}, in {shown(largest[1])})"
        )
    with torch.no_grad():
        model.load_state_dict(checked, strict=True)
