"""The block diagram against the model and the summary: one item per block of ResNet50, shapes from
summarize(), clicks, expansion, keyboard, shortcut and residual-branch switches (through the shared
BlockSwitches model), zoom; bad names rejected."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QContextMenuEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from explorer.core.network.blocks import residual_blocks
from explorer.core.network.model import ResNet50
from explorer.core.network.stages import RESNETS
from explorer.core.network.summary import summarize
from explorer.ui.common.switches import BlockSwitches
from explorer.ui.diagram.block_item import AddItem, LayerItem
from explorer.ui.diagram.scene_items import EdgeItem
from explorer.ui.diagram.view import BlockDiagram


@pytest.fixture(scope="module")
def summary():
    return summarize()


@pytest.fixture
def diagram(qtbot, summary):
    view = BlockDiagram(BlockSwitches(residual_blocks()))
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.set_summary(summary)
    view.show()
    qtbot.waitExposed(view)
    return view


def _centre(view: BlockDiagram, name: str) -> QPoint:
    item = view.item(name)
    # The body (not the arc above it) is what takes clicks.
    return view.mapFromScene(item.mapToScene(QPointF(20, 16)))


def double_click(qtbot, view: BlockDiagram, pos: QPoint) -> None:
    """What a mouse sends: press, release, double-click, release (QTest's mouseDClick alone sends
    only the double-click and leaves the item grabbing the mouse)."""
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_one_item_per_block_of_the_model_in_network_order(diagram):
    model = ResNet50()
    assert diagram.block_names() == ["stem", *model.blocks(), "head"]
    for name, block in model.blocks().items():
        assert diagram.item(name).kind == block.kind


def test_tooltips_and_edges_carry_the_summary_shapes(diagram, summary):
    for name, block in summary.blocks().items():
        assert "×".join(map(str, block.output_shape)) in diagram.item(name).toolTip()
    labels = {e.label for e in diagram.scene().items() if isinstance(e, EdgeItem)}
    assert "512\n28×28" in labels and "2048\n7×7" in labels and "1000\nclasses" in labels
    assert "convolutional block" in diagram.item("layer3.0").toolTip()


def test_click_selects_a_block_and_emits_its_name(qtbot, diagram):
    with qtbot.waitSignal(diagram.block_selected) as signal:
        qtbot.mouseClick(diagram.viewport(), Qt.MouseButton.LeftButton, pos=_centre(diagram, "layer3.2"))
    assert signal.args == ["layer3.2"]
    assert diagram.selected() == "layer3.2" and diagram.item("layer3.2").selected


def test_double_click_expands_to_the_summary_layers_each_selectable(qtbot, diagram, summary):
    double_click(qtbot, diagram, _centre(diagram, "layer2.0"))
    assert diagram.is_expanded("layer2.0")
    block = diagram.item("layer2.0")
    expected = [layer.name for layer in summary.blocks()["layer2.0"].layers]
    assert set(block.layer_names()) == {*expected, "layer2.0.add"}
    assert all(diagram.item(n).isVisible() for n in expected)
    with qtbot.waitSignal(diagram.block_selected) as signal:
        qtbot.mouseClick(diagram.viewport(), Qt.MouseButton.LeftButton, pos=_centre(diagram, "layer2.0.downsample.0"))
    assert signal.args == ["layer2.0.downsample.0"]
    assert diagram.item("layer2.0.conv2").view.text == "3×3 conv /2, 128"  # V1.5: stride on the 3x3


def test_layer_boxes_are_made_when_first_needed_and_pass_on_their_clicks(qtbot, diagram):
    # Making every layer box with the summary held the window (ResNet-152 has 500): none exists until
    # a block is expanded or one of its layers is asked for; Find knows them all the same.
    def made() -> set[str]:
        return {i.name for i in diagram.scene().items() if isinstance(i, (LayerItem, AddItem))}

    assert made() == set() and "layer3.1.conv2" in diagram.names()
    assert diagram.names().index("layer3.1.add") == diagram.names().index("layer3.1.bn3") + 1  # network order
    diagram.select("layer3.1.conv2")
    assert made() == set(diagram.item("layer3.1").layer_names()) and diagram.is_expanded("layer3.1")
    diagram.set_expanded("layer3.1", False)
    diagram.set_expanded("layer3.1", True)  # made once
    assert len([i for i in diagram.scene().items() if isinstance(i, LayerItem)]) == len(made()) - 1
    with qtbot.waitSignal(diagram.block_selected) as signal:
        double_click(qtbot, diagram, _centre(diagram, "layer3.1.conv3"))
    assert signal.args == ["layer3.1.conv3"] and diagram.selected() == "layer3.1.conv3"


def test_keyboard_moves_the_selection_and_enter_expands(qtbot, diagram):
    diagram.setFocus()
    diagram.select("stem")
    qtbot.keyClick(diagram, Qt.Key.Key_Right)
    assert diagram.selected() == "layer1.0"
    qtbot.keyClick(diagram, Qt.Key.Key_Tab)
    assert diagram.selected() == "layer1.1"
    qtbot.keyClick(diagram, Qt.Key.Key_Backtab)
    assert diagram.selected() == "layer1.0"
    qtbot.keyClick(diagram, Qt.Key.Key_Return)
    assert diagram.is_expanded("layer1.0")
    qtbot.keyClick(diagram, Qt.Key.Key_Right)
    assert diagram.selected() == "layer1.0.conv1"
    qtbot.keyClick(diagram, Qt.Key.Key_Down)
    assert diagram.selected() == "layer1.0.bn1"
    qtbot.keyClick(diagram, Qt.Key.Key_Return)  # Enter on a layer collapses its block
    assert not diagram.is_expanded("layer1.0") and diagram.selected() == "layer1.0"


def switched(diagram: BlockDiagram) -> tuple[set[str], set[str]]:
    return set(diagram.switches.plain_blocks()), set(diagram.switches.residual_off_blocks())


# The offscreen platform cannot raise a popup or grab the keyboard for it; the menu still works.
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_context_menu_switches_a_shortcut_off_and_draws_it_dashed(qtbot, diagram):
    changes: list[tuple] = []
    diagram.switches.changed.connect(lambda *args: changes.append(args))
    pos = _centre(diagram, "layer2.1")
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, diagram.viewport().mapToGlobal(pos))
    QApplication.sendEvent(diagram.viewport(), event)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QApplication.activePopupWidget()
    next(a for a in menu.actions() if a.text() == "Shortcut connection (gradient lab)").trigger()
    menu.close()
    assert changes == [("layer2.1", "shortcut", False)]
    assert switched(diagram) == ({"layer2.1"}, set())
    assert diagram.item("layer2.1").shortcut_pen().style() == Qt.PenStyle.DashLine
    assert diagram.item("layer2.2").shortcut_pen().style() == Qt.PenStyle.SolidLine


def test_all_off_all_on_and_residual_branches(qtbot, diagram):
    changes: list[tuple] = []
    diagram.switches.changed.connect(lambda *args: changes.append(args))
    diagram.switches.set_residual("layer3.2", False)
    assert changes == [("layer3.2", "residual", False)]
    assert not diagram.item("layer3.2").residual_on
    diagram.switches.set_all_shortcuts(False)
    plain, off = switched(diagram)
    bottlenecks = set(ResNet50().blocks())
    assert plain == bottlenecks - {"layer3.2"}  # a block without its residual branch keeps its shortcut
    assert off == {"layer3.2"}
    diagram.set_expanded("layer3.2", True)
    assert all(diagram.item(f"layer3.2.{m}").greyed for m in ("conv1", "bn3"))
    diagram.switches.set_all_shortcuts(True)
    diagram.switches.restore_residuals()
    assert switched(diagram) == (set(), set())
    assert all(diagram.item(b).shortcut_on and diagram.item(b).residual_on for b in bottlenecks)


def test_bad_names_and_impossible_switches_are_rejected(diagram):
    with pytest.raises(KeyError):
        diagram.select("layer9.9")
    with pytest.raises(KeyError):
        diagram.switches.set_shortcut("stem", False)
    diagram.switches.set_shortcut("layer1.1", False)
    with pytest.raises(ValueError):
        diagram.switches.set_residual("layer1.1", False)  # the block would pass nothing at all
    assert switched(diagram) == ({"layer1.1"}, set())


def test_wheel_and_keys_zoom_and_fit_restores(qtbot, diagram):
    fitted = diagram.transform().m11()
    centre = diagram.viewport().rect().center()
    wheel = QWheelEvent(
        QPointF(centre), QPointF(diagram.viewport().mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(diagram.viewport(), wheel)
    assert diagram.transform().m11() == pytest.approx(fitted * 1.2**2)
    diagram.setFocus()
    qtbot.keyClick(diagram, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert diagram.transform().m11() == pytest.approx(fitted * 1.2)
    qtbot.keyClick(diagram, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert diagram.transform().m11() == pytest.approx(fitted)


def test_without_a_summary_the_blocks_are_there_but_not_expandable(qtbot):
    view = BlockDiagram(BlockSwitches(residual_blocks()))
    qtbot.addWidget(view)
    assert len(view.block_names()) == 18
    view.set_expanded("layer1.0", True)
    assert not view.is_expanded("layer1.0")
    view.select("layer1.0")
    assert view.selected() == "layer1.0"


@pytest.fixture
def deep(qtbot):
    """ResNet-152's diagram: 3, 8, 36 and 3 blocks."""
    stages = RESNETS["resnet152"].stages
    view = BlockDiagram(BlockSwitches(residual_blocks(stages)))
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.set_network(stages)
    view.set_summary(summarize(arch="resnet152"))
    view.show()
    qtbot.waitExposed(view)
    return view


def drawn_rect(view: BlockDiagram) -> QRectF:
    """What is drawn: the visible items (the scene's itemsBoundingRect counts hidden ones too)."""
    rect = QRectF()
    for item in view.scene().items():
        if item.isVisible():
            rect = rect.united(item.sceneBoundingRect())
    return rect


def visible_boxes(view: BlockDiagram) -> list[str]:
    """The blocks drawn now (a fold's blocks are not), in network order."""
    return [name for name in view.block_names() if view.item(name).isVisible()]


def test_resnet152_folds_its_long_stages_and_a_click_unfolds_one(qtbot, deep):
    assert deep.folded() == {"stage3", "stage4"}
    folded_scale = deep.scale_factor()
    assert len(deep.block_names()) == 52
    assert visible_boxes(deep) == ["stem", "layer1.0", "layer1.1", "layer1.2", "layer2.0", "layer3.0", "layer4.0", "layer4.1", "layer4.2", "head"]
    fold = deep.item("layer3.fold")
    assert fold.lines == ("×35", "layer3.1–35", "identity blocks") and "35 identity blocks" in fold.toolTip()
    edges = [e for e in deep.scene().items() if isinstance(e, EdgeItem) and e.isVisible()]
    assert len(edges) == 13  # image, 11 between the 12 drawn boxes, classes
    assert "1024\n14×14" in {e.label for e in edges}  # the fold's edge carries its last block's shape
    deep.zoom_in()
    with qtbot.waitSignal(deep.block_selected) as selected:
        qtbot.mouseClick(deep.viewport(), Qt.MouseButton.LeftButton, pos=_centre(deep, "layer3.fold"))
    assert selected.args == ["layer3.1"] and deep.folded() == {"stage3"}
    assert not fold.isVisible() and all(deep.item(f"layer3.{i}").isVisible() for i in range(36))
    # Unfolded, the 36 blocks wrap into rows of at most 12 and the whole diagram fits the view again.
    rows = {}
    for i in range(36):
        rows.setdefault(round(deep.item(f"layer3.{i}").scenePos().y()), []).append(i)
    assert sorted(len(r) for r in rows.values()) == [12, 12, 12] and all(r == sorted(r) for r in rows.values())
    shown = deep.mapToScene(deep.viewport().rect()).boundingRect()
    assert shown.adjusted(-1, -1, 1, 1).contains(drawn_rect(deep))
    assert deep.scale_factor() > 0.3  # the rows are readable at fit: a 36-block row was ~0.15
    menu = deep.context_menu(deep.item("layer3.20"))
    [fold_again] = [a for a in menu.actions() if a.text().startswith("Fold the identity blocks")]
    fold_again.trigger()
    menu.close()
    assert deep.folded() == {"stage3", "stage4"} and deep.selected() == "layer3.0"  # the selection did not vanish
    deep.select("layer2.5.conv2")  # a layer of a folded block: its stage unfolds and the block expands
    assert deep.folded() == {"stage4"} and deep.is_expanded("layer2.5")
    assert deep.actions["diagram.fold"].isEnabled()
    deep.zoom_in()
    deep.actions["diagram.fold"].trigger()
    assert deep.folded() == {"stage3", "stage4"} and not deep.is_expanded("layer2.5")
    assert not deep.actions["diagram.fold"].isEnabled()  # nothing left to fold: the entry cannot act
    assert deep.mapToScene(deep.viewport().rect()).boundingRect().adjusted(-1, -1, 1, 1).contains(drawn_rect(deep))
    # Folded again it fills the view as at first, not at the unfolded rows' scale (the soak saw it small).
    assert deep.scale_factor() == pytest.approx(folded_scale, rel=0.02)
    with pytest.raises(KeyError):
        deep.set_folded("stage2", True)  # three blocks: nothing to fold


def test_set_network_draws_resnet18_with_identity_first_blocks(qtbot, diagram):
    stages = RESNETS["resnet18"].stages
    diagram.switches.reset(residual_blocks(stages))
    diagram.set_network(stages)
    assert not diagram.has_summary() and diagram.folded() == set()
    assert diagram.block_names() == ["stem", *residual_blocks(stages), "head"]
    assert [diagram.item(f"layer{s}.0").kind for s in range(1, 5)] == ["identity", "conv", "conv", "conv"]
    assert diagram.item("layer1.1").lines[-1] == "3×3, 3×3"
    diagram.set_summary(summarize(arch="resnet18"))
    assert "identity block of two 3×3 convolutions" in diagram.item("layer1.0").toolTip()
    double_click(qtbot, diagram, _centre(diagram, "layer2.0"))
    assert diagram.is_expanded("layer2.0") and "layer2.0.conv2" in diagram.item("layer2.0").layer_names()


def test_set_network_draws_a_cifar_resnet_in_three_stages(qtbot, diagram):
    """He et al.'s ResNet-56 for CIFAR-10: the 3x3 stem, three stages of nine blocks (folded), identity
    blocks everywhere, the strided ones with option A's zero-padded shortcut, and a note that says so."""
    from explorer.core.network.model import ResNet
    from explorer.core.network.stages import CIFAR_RESNETS

    spec = CIFAR_RESNETS["resnet56"]
    diagram.switches.reset(residual_blocks(spec.stages))
    diagram.set_network(spec.stages, spec.stem)
    assert diagram.block_names() == ["stem", *ResNet("resnet56").blocks(), "head"]
    assert diagram.folded() == {"stage2", "stage3", "stage4"}
    assert diagram.item("stem").lines == ("stem", "3×3 conv")
    assert {diagram.item(name).kind for name in residual_blocks(spec.stages)} == {"identity"}
    assert diagram.item("layer2.0").lines == ("layer2.0", "identity block", "3×3 conv /2")
    assert "option A" in diagram.item("layer3.0").toolTip() and "option A" not in diagram.item("layer3.1").toolTip()
    assert "CIFAR-10" in diagram._note.toPlainText() and "V1.5" not in diagram._note.toPlainText()
    diagram.set_summary(summarize((32, 32), 10, "resnet56"))
    assert "64×8×8" in diagram.item("layer3.0").toolTip()
    diagram.set_network(RESNETS["resnet18"].stages)  # back to an ImageNet member
    assert diagram.item("stem").lines == ("stem", "conv, pool") and "V1.5" in diagram._note.toPlainText()
