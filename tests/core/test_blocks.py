"""Block and stage names come from the stage table the model is built from, and agree with the model's
own modules, torchvision's state-dict prefixes and the summary."""

from __future__ import annotations

import pytest

from explorer.core.gradients import shortcut_variants
from explorer.core.network.blocks import (
    HEAD,
    STEM,
    block_of,
    diagram_blocks,
    feature_blocks,
    residual_blocks,
    stage_of,
    stage_outputs,
    stage_title,
)
from explorer.core.network.model import RESNET50_STAGES, ResNet50


def test_names_follow_the_model():
    model = ResNet50()
    assert list(residual_blocks()) == list(model.blocks())
    assert len(residual_blocks()) == 16
    assert feature_blocks() == (STEM, *residual_blocks())
    assert diagram_blocks() == (*feature_blocks(), HEAD)


@pytest.mark.parametrize(
    ("name", "stage", "block"),
    [
        ("conv1", "stage1", "stem"),
        ("stem", "stage1", "stem"),
        ("layer1.0", "stage2", "layer1.0"),
        ("layer2.0.downsample.0", "stage3", "layer2.0"),
        ("layer3.5.conv2", "stage4", "layer3.5"),
        ("layer4.2.add", "stage5", "layer4.2"),
        ("fc", "head", "head"),
        ("head", "head", "head"),
    ],
)
def test_stage_and_block_of_a_name(name, stage, block):
    assert stage_of(name) == stage
    assert block_of(name) == block


def test_unknown_names_have_no_block():
    assert block_of("layer9.0") is None
    assert block_of("layer1.30.conv1") is None


def test_stage_titles_and_grad_cam_stages():
    assert stage_title(RESNET50_STAGES[1]) == "stage3 (layer2) · filters 128, 128, 512 · stride 2 on the 3×3 conv"
    assert "stride" not in stage_title(RESNET50_STAGES[0])
    assert stage_outputs() == {1: "stem", 2: "layer1", 3: "layer2", 4: "layer3", 5: "layer4"}


def test_shortcut_choices_expand_once():
    assert shortcut_variants("both") == [True, False]
    assert shortcut_variants("on") == [True]
    assert shortcut_variants("off") == [False]
    with pytest.raises(ValueError, match="shortcuts must be one of"):
        shortcut_variants("sometimes")
