"""The architecture of a checkpoint read from its state dict alone, refusals with their guesses,
block kinds and titles of every member, labels files, and the gradient lab's network."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torchvision

from explorer.core.gradients import PRESETS, GradConfig, validate
from explorer.core.gradients.depth import DepthCurve, depth_verdict, run_depth_comparison
from explorer.core.loading.architecture import ArchitectureError, guess_architecture, infer_architecture
from explorer.core.loading.labels import LabelsError, class_labels, read_labels
from explorer.core.network.blocks import block_kinds, stage_title, stages_of
from explorer.core.network.stages import RESNETS


def meta_state(build, **kwargs):
    with torch.device("meta"):  # shapes only
        return build(**kwargs).state_dict()


def test_a_shape_outside_the_table_is_built_by_its_shape():
    # timm's resnet26: bottlenecks 2-2-2-2 with torchvision's keys
    state = meta_state(torchvision.models.resnet.ResNet, block=torchvision.models.resnet.Bottleneck, layers=[2, 2, 2, 2])
    found = infer_architecture(state)
    assert not found.known and found.spec.layers == (2, 2, 2, 2) and found.spec.block == "bottleneck"
    assert found.spec.depth == 26


def test_foreign_state_dicts_are_refused_with_a_guess():
    deep_stem = {"conv1.0.weight": torch.zeros(32, 3, 3, 3), "layer1.0.conv1.weight": torch.zeros(64, 64, 1, 1)}
    with pytest.raises(ArchitectureError, match="deep 3-conv stem"):
        infer_architecture(deep_stem)
    with pytest.raises(ArchitectureError, match="Hugging Face"):
        infer_architecture({"resnet.embedder.embedder.convolution.weight": torch.zeros(64, 3, 7, 7)})
    with pytest.raises(ArchitectureError, match="no layer1..layer4"):
        infer_architecture({"features.0.weight": torch.zeros(3)})
    state = dict(meta_state(torchvision.models.resnet50))
    state["layer1.0.se.fc1.weight"] = torch.zeros(4, 256, 1, 1)
    assert "squeeze-and-excitation" in guess_architecture(state)


def test_kinds_and_titles_per_member():
    kinds = block_kinds(stages_of("resnet18"))
    assert kinds["layer1.0"] == "identity" and kinds["layer2.0"] == "conv" and list(kinds.values()).count("conv") == 3
    assert list(block_kinds(stages_of("resnet50")).values()).count("conv") == 4
    assert stage_title(stages_of("resnet18")[1]) == "stage3 (layer2) · filters 128, 128 · stride 2 on the first 3×3 conv"
    assert "32 groups" in stage_title(stages_of("resnext50_32x4d")[0])
    assert "two 3x3" in RESNETS["resnet34"].kind_text and "grouped" in RESNETS["resnext101_32x8d"].kind_text


def test_labels(tmp_path):
    assert class_labels(1000)[0] == "tench" and class_labels(3) == ("class 0", "class 1", "class 2")
    (tmp_path / "classes.txt").write_text("a\n\n b \n")
    assert class_labels(2, checkpoint=tmp_path / "w.pth") == ("a", "b")
    with pytest.raises(LabelsError, match="2 class names for a head of 3"):
        class_labels(3, checkpoint=tmp_path / "w.pth")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(LabelsError, match="not UTF-8"):
        read_labels(tmp_path / "bad.txt")
    with pytest.raises(LabelsError, match="missing.txt"):
        read_labels(tmp_path / "missing.txt")


def test_grad_config_names_its_network():
    validate(GradConfig(arch="resnet18", plain_blocks=("layer1.1",), shortcuts=False))
    with pytest.raises(ValueError, match="arch must be one of"):
        validate(GradConfig(arch="vgg16"))
    with pytest.raises(ValueError, match="layer3.5"):
        validate(GradConfig(arch="resnet18", lesion=("layer3.5",)))
    with pytest.raises(ValueError, match="ResNet-50's, not ResNet-18's"):
        validate(replace(PRESETS["trained"].config, arch="resnet18"))


def _curve(arch, shortcuts, fc, stem):
    depth = RESNETS[arch].depth
    return DepthCurve(arch, f"{'residual' if shortcuts else 'plain'}-{depth}", shortcuts, depth, (), (), (stem, fc), 1.0,
                      None if not fc or not stem else __import__("math").log10(stem / fc))


def test_depth_verdict_is_computed_from_the_numbers():
    curves = (_curve("resnet18", True, 1.0, 10.0), _curve("resnet18", False, 1.0, 100.0),
              _curve("resnet34", True, 1.0, 20.0), _curve("resnet34", False, 1.0, 1e5))
    verdict = depth_verdict(curves)
    assert "plain-18 10^+2.0, plain-34 10^+5.0 (depth adds 10^+3.0)" in verdict
    assert "residual-18 10^+1.0, residual-34 10^+1.3 (depth adds 10^+0.3)" in verdict
    assert "with shortcuts depth changes the gradient less than without" in verdict
    assert "plain stem gradient / residual: 10^+1.0 at 18 layers, 10^+3.7 at 34 layers" in verdict


def test_depth_comparison_shows_plain_34_vanishing():
    result = run_depth_comparison(replace(PRESETS["no-norm"].config, size=32), ("resnet34", "resnet18"))
    assert result.archs == ("resnet18", "resnet34")
    assert [c.label for c in result.curves] == ["residual-18", "plain-18", "residual-34", "plain-34"]
    assert [len(c.grad_norms) for c in result.curves] == [18, 18, 34, 34]
    assert all(c.positions[0] == 0.0 and c.positions[-1] == 1.0 for c in result.curves)
    stems = {c.label: c.grad_norms[0] for c in result.curves}
    # No normalisation: each plain layer shrinks the signal, so 16 more layers lose many orders more.
    assert stems["plain-34"] / stems["residual-34"] < 1e-6 * stems["plain-18"] / stems["residual-18"]
    assert result.verdict == depth_verdict(result.curves)
    with pytest.raises(ValueError, match="whole networks"):
        run_depth_comparison(GradConfig(lesion=("layer1.0",)))


# -- the architecture stage checks keys and shapes before anything is sized or built (issue 19) ----


def test_state_shapes_are_every_members_state_dict():
    from explorer.core.network.counts import state_shapes
    from explorer.core.network.model import ResNet

    for arch, spec in RESNETS.items():
        with torch.device("meta"):
            ours, theirs = ResNet(arch, num_classes=7).state_dict(), getattr(torchvision.models, arch)(num_classes=7).state_dict()
        expected = state_shapes(spec, 7)
        assert list(expected.items()) == [(k, tuple(v.shape)) for k, v in ours.items()], arch
        assert expected == {k: tuple(v.shape) for k, v in theirs.items()}, arch


@pytest.mark.parametrize("index", [999, 9999, 1_000_000_000])
def test_a_stray_block_key_is_a_gap_not_a_deeper_network(tmp_path, index, monkeypatch):
    from explorer.core.loading.architecture import architecture_of
    from explorer.core.network import counts
    from support import stray_block_checkpoint

    state = torch.load(stray_block_checkpoint(tmp_path / "r18.pth", index), weights_only=True)
    monkeypatch.setattr(counts, "layer_table", lambda *a, **k: pytest.fail("a table was made for a network the keys do not hold"))
    with pytest.raises(ArchitectureError) as info:
        architecture_of(state)
    message = str(info.value)
    assert f"layer3.{index}.conv1.weight" in message and "block 2 is missing" in message and "\n" not in message


def test_an_index_of_thousands_of_digits_is_an_unexpected_key():
    from explorer.core.loading.architecture import architecture_of

    with torch.device("meta"):
        state = torchvision.models.resnet18().state_dict()
    state["layer3." + "9" * 5000 + ".conv1.weight"] = torch.zeros(1)
    with pytest.raises(ArchitectureError, match="1 unexpected"):
        architecture_of(state)


def test_keys_and_shapes_are_checked_against_the_inferred_member():
    from explorer.core.loading.architecture import architecture_of, check_keys

    with torch.device("meta"):
        state = dict(torchvision.models.resnet50().state_dict())
        legacy = {k: v for k, v in torchvision.models.resnet18().state_dict().items() if "num_batches" not in k}
    assert architecture_of(state).spec == RESNETS["resnet50"]
    misshaped = dict(state, **{"layer2.1.bn2.weight": torch.zeros(7)})
    with pytest.raises(ArchitectureError, match=r"1 mis-shaped \(layer2.1.bn2.weight \[7\] vs \[128\]\)"):
        architecture_of(misshaped)
    del state["layer4.2.conv3.weight"]  # the last block then ends in its conv2: another shape entirely
    with pytest.raises(ArchitectureError):
        architecture_of(state)
    check_keys(legacy, RESNETS["resnet18"], 1000)  # checkpoints from before PyTorch 0.4.1 have no counters


def test_a_grouping_or_expansion_that_fits_no_resnet_is_named_for_what_it_is():
    with torch.device("meta"):
        state = dict(torchvision.models.resnet50().state_dict())
    narrow_end = dict(state, **{"layer4.2.conv3.weight": torch.zeros(256, 512, 1, 1)})
    with pytest.raises(ArchitectureError) as info:
        infer_architecture(narrow_end)
    assert "puts out 256 channels, not a multiple of 512" in str(info.value) and "four stages" not in str(info.value)
    odd_groups = dict(state, **{"layer1.0.conv2.weight": torch.zeros(64, 128, 3, 3)})
    with pytest.raises(ArchitectureError) as info:
        infer_architecture(odd_groups)
    assert "128 channels per group, which do not divide its 64" in str(info.value) and "four stages" not in str(info.value)


def test_labels_count_lines_as_a_person_does(tmp_path):
    from support import labels_text

    for inside in ("\x0c", "\u2028", "\x0b", "\x1c", "\x85", "\u2029"):
        path = tmp_path / "labels.txt"
        path.write_text(labels_text(1000, inside), encoding="utf-8")
        names = read_labels(path, 1000)
        assert len(names) == 1000 and names[7] == f"class{inside}7"
    (tmp_path / "windows.txt").write_bytes(b"a\r\nb\rc\n")
    assert read_labels(tmp_path / "windows.txt") == ("a", "b", "c")
