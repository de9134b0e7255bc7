"""Lesions against naive full forward passes of a lesioned copy (the model's own switches), and the
guarantee that the source model is never changed."""

import copy
import itertools

import numpy as np
import pytest
import torch

from explorer.core.insight.lesion import Cancelled, Lesioner, lesion, lesion_sweep
from explorer.core.network.model import ResNet50, SwitchableBatchNorm2d
from support import lively_model

SIZE = 32




@pytest.fixture(scope="module")
def model():
    return lively_model()


@pytest.fixture(scope="module")
def x():
    return torch.randn(3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def lesioner(model):
    return Lesioner(model)


def naive_probs(model: ResNet50, x: torch.Tensor, kind: str, blocks: list[str]) -> dict[str | None, torch.Tensor]:
    """Reference: full forwards of one deep copy, unlesioned (key None) and with the model's own
    switch of each block in ``blocks`` flipped off in turn."""
    lesioned = copy.deepcopy(model).eval()
    lesioned.set_normalization("standard")
    flip = lesioned.set_residual if kind == "residual" else lesioned.set_shortcuts
    with torch.no_grad():
        out = {None: lesioned(x.unsqueeze(0))[0].softmax(0)}
        for name in blocks:
            before = lesioned.switches()[name][kind]
            flip(False, [name])
            out[name] = lesioned(x.unsqueeze(0))[0].softmax(0)
            flip(before, [name])
    return out


def assert_top_matches(top: list[tuple[int, float]], probs: torch.Tensor) -> None:
    ref = probs.topk(5)
    assert [i for i, _ in top] == ref.indices.tolist()
    np.testing.assert_allclose([p for _, p in top], ref.values.numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["residual", "shortcut"])
def test_sweep_equals_naive_forwards_of_lesioned_copies(model, x, kind):
    sweep = lesion_sweep(model, x, kind)
    ref = naive_probs(model, x, kind, list(model.blocks()))
    clean = ref[None]
    c = int(clean.argmax())
    assert sweep.kind == kind and sweep.class_index == c
    assert sweep.prob == pytest.approx(float(clean[c]), abs=1e-5)
    assert_top_matches(sweep.before, clean)
    assert [b.block for b in sweep.blocks] == list(model.blocks())
    for row in sweep.blocks:
        probs = ref[row.block]
        assert row.skipped is None
        assert row.block_kind == model.blocks()[row.block].kind
        assert row.prob == pytest.approx(float(probs[c]), abs=1e-5), row.block
        assert row.drop == pytest.approx(float(clean[c] - probs[c]), abs=1e-5), row.block
        assert_top_matches(row.after, probs)
    # The lesions really change something: otherwise the comparison above proves nothing.
    assert max(abs(row.drop) for row in sweep.blocks) > 0.01


@pytest.mark.parametrize(("kind", "blocks"), [("shortcut", ["layer1.0", "layer3.5"]), ("residual", ["layer2.2", "layer3.0", "layer4.2"])])
def test_single_lesion_equals_naive_forward(model, lesioner, x, kind, blocks):
    ref = naive_probs(model, x, kind, blocks)
    for block in blocks:
        result = lesioner.lesion(x, block, kind)
        assert result.block == block and result.kind == kind
        assert_top_matches(result.before, ref[None])
        assert_top_matches(result.after, ref[block])


def test_module_level_lesion_is_the_same_as_the_lesioners(model, lesioner, x):
    assert lesion(model, x, "layer2.0", "shortcut") == lesioner.lesion(x, "layer2.0", "shortcut")


def test_every_lesion_leaves_the_source_model_bit_identical(model, x):
    model = copy.deepcopy(model)  # this test changes it
    with torch.no_grad():
        logits = model(x.unsqueeze(0))
    model.train()  # flags and modes of the source must survive too
    model.set_normalization("frozen", ["layer3.1"])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    switches = model.switches()
    modes = [m.mode for m in model.modules() if isinstance(m, SwitchableBatchNorm2d)]
    lesioner = Lesioner(model)
    for kind in ("residual", "shortcut"):
        lesioner.sweep(x, kind)
    for i, block in enumerate(model.blocks()):
        lesioner.lesion(x, block, ("residual", "shortcut")[i % 2])
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert model.switches() == switches and model.training
    assert [m.mode for m in model.modules() if isinstance(m, SwitchableBatchNorm2d)] == modes
    model.eval()
    model.set_normalization("standard")
    with torch.no_grad():
        assert torch.equal(model(x.unsqueeze(0)), logits)
    source_storage = {p.data_ptr() for p in model.parameters()}
    assert not source_storage & {p.data_ptr() for p in lesioner.model.parameters()}


def test_source_switches_are_kept_and_impossible_lesions_skipped(model, x):
    model = copy.deepcopy(model)  # this test changes it
    model.set_shortcuts(False, ["layer2.1"])
    model.set_residual(False, ["layer3.4"])
    residual = lesion_sweep(model, x, "residual")
    shortcut = lesion_sweep(model, x, "shortcut")
    rows = {b.block: b for b in residual.blocks}
    assert rows["layer2.1"].skipped and "shortcut is already off" in rows["layer2.1"].skipped
    assert rows["layer2.1"].prob is None and rows["layer2.1"].drop is None and rows["layer2.1"].after == []
    assert "residual branch is already off" in {b.block: b for b in shortcut.blocks}["layer3.4"].skipped
    ref = naive_probs(model, x, "residual", ["layer1.0", "layer2.2", "layer3.4", "layer4.2"])
    for row in residual.blocks:
        if row.block in ref:
            assert row.prob == pytest.approx(float(ref[row.block][residual.class_index]), abs=1e-5), row.block
    assert rows["layer3.4"].drop == pytest.approx(0.0, abs=1e-6)  # already lesioned: no change
    with pytest.raises(ValueError, match=r"cannot remove the residual of layer2\.1"):
        lesion(model, x, "layer2.1", "residual")
    with pytest.raises(ValueError, match=r"cannot remove the shortcut of layer3\.4"):
        lesion(model, x, "layer3.4", "shortcut")


def test_a_model_with_a_dead_block_is_refused(model, x):
    model = copy.deepcopy(model)  # this test changes it
    model.set_shortcuts(False, ["layer1.1"])
    model.set_residual(False, ["layer1.1"])
    with pytest.raises(ValueError, match=r"layer1\.1 has both"):
        lesion_sweep(model, x)


def test_refuses_unknown_blocks_kinds_and_images(lesioner, x):
    with pytest.raises(KeyError, match=r"layer5\.0"):
        lesioner.lesion(x, "layer5.0")
    with pytest.raises(KeyError, match="stem"):
        lesioner.lesion(x, "stem")
    with pytest.raises(ValueError, match="unknown lesion kind 'branch'"):
        lesioner.lesion(x, "layer1.0", "branch")
    with pytest.raises(ValueError, match="unknown lesion kind 'branch'"):
        lesioner.sweep(x, "branch")
    with pytest.raises(ValueError, match="one image"):
        lesioner.sweep(torch.zeros(2, 3, SIZE, SIZE))


def test_clean_pass_runs_once_per_image(model, x):
    lesioner = Lesioner(model, device="cpu")
    stems = []
    lesioner.model.conv1.register_forward_hook(lambda *_: stems.append(1))
    lesioner.sweep(x)
    lesioner.lesion(x, "layer3.2")
    lesioner.sweep(x.clone(), "shortcut")
    assert len(stems) == 1
    lesioner.lesion(x + 1, "layer3.2")
    assert len(stems) == 2


def test_progress_reports_every_block_and_cancel_stops(lesioner, x):
    seen = []
    lesioner.sweep(x, progress=lambda text, fraction: seen.append((text, fraction)))
    assert len(seen) == 16 and seen[0][0].endswith("layer1.0") and seen[-1] == ("lesion sweep: layer4.2", 1.0)
    assert all(a[1] < b[1] for a, b in itertools.pairwise(seen))
    polls = []
    with pytest.raises(Cancelled, match=r"layer2\.0"):
        lesioner.sweep(x, cancel=lambda: polls.append(1) or len(polls) > 3)
    assert lesioner.sweep(x).blocks[-1].prob is not None  # usable again after a cancel
