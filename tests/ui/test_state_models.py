"""The UI's Qt-free state models: the diagram's block switches and the gradient lab's settings, each
with its change event, their rules and their persistence."""

from __future__ import annotations

import pytest

from explorer.core.gradients import PRESETS, GradConfig
from explorer.core.network.blocks import residual_blocks
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.gradient_lab.settings import CUSTOM, LabSettings


def test_switches_emit_only_effective_changes_and_refuse_a_block_with_nothing_left():
    switches = BlockSwitches(residual_blocks())
    seen: list[tuple] = []
    switches.changed.connect(lambda *args: seen.append(args))
    switches.set_shortcut("layer2.1", False)
    switches.set_shortcut("layer2.1", False)  # no change: no event
    switches.set_residual("layer4.0", False)
    assert seen == [("layer2.1", "shortcut", False), ("layer4.0", "residual", False)]
    with pytest.raises(ValueError, match="must stay on"):
        switches.set_residual("layer2.1", False)
    with pytest.raises(KeyError, match="not a residual block"):
        switches.set_shortcut("head", False)
    switches.set_all_shortcuts(False)
    assert set(switches.plain_blocks()) == set(residual_blocks()) - {"layer4.0"}
    assert switches.plain_blocks() == tuple(b for b in residual_blocks() if b != "layer4.0")  # network order
    switches.reset()
    assert switches.plain_blocks() == () and switches.residual_off_blocks() == ()


def test_lab_settings_follow_presets_and_build_the_runs_config():
    lab = LabSettings()
    changes: list[set[str]] = []
    lab.changed.connect(changes.append)
    assert lab.preset() == "init-step"
    lab.apply_preset("no-norm")
    assert lab.preset() == "no-norm" and changes and {"norm", "init"} <= changes[-1]
    lab.set(size=64, seed=3)  # batch, size and seed do not make a preset custom
    assert lab.preset() == "no-norm"
    lab.set(targets="top1")
    assert lab.preset() == CUSTOM
    config = lab.config(("layer3.0", "layer1.1"), ("layer4.2",))
    assert config == GradConfig(plain_blocks=("layer1.1", "layer3.0"), lesion=("layer4.2",), norm="none", init="pytorch",
                                targets="top1", batch=2, size=64, seed=3)
    with pytest.raises(ValueError, match="size must be a whole number from 32"):
        lab.set(size=8)
    with pytest.raises(ValueError, match="norm must be one of"):
        lab.set(norm="layer")


def test_lab_settings_say_why_a_config_cannot_run():
    lab = LabSettings()
    assert lab.problem(lab.config()) is None
    lab.set(inputs="images")
    assert "choose at least one image" in lab.problem(lab.config())
    lab.set(inputs="noise", init="weights", weights="")
    assert "weights source" in lab.problem(lab.config())


def test_lab_settings_round_trip_and_ignore_what_they_cannot_use():
    a = LabSettings()
    a.apply_preset("trained")
    a.set(images=("x.jpg", "y.png"), inputs="images", seed=9, quantity="activation_std")
    b = LabSettings()
    b.load(a.as_dict())
    assert b.values == a.values
    b.load({"norm": "sideways", "size": "huge", "seed": -1, "unknown": 1})  # all ignored
    assert b.values == a.values
    assert b.preset() == "trained" == a.preset()
    assert PRESETS["trained"].config.weights == b.values.weights
