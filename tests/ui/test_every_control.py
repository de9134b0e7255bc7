"""Every control a person can reach works: each action of every menu, each button and menu entry of
every dock, every choice of every combo box and the diagram's context menu are triggered in a
valid state (file dialogs answered here), and none raises in its slot. pytest-qt's exception
capture stays on, so an exception in any slot fails the test; the log level WARNING fails it too.

The Export button's three entries called a slot that did not exist; nothing in the suite pressed them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QAbstractButton, QComboBox, QMenu, QMessageBox, QToolButton

from explorer import DOCS_URL
from explorer.core.loading import download
from explorer.ui import window_layout
from explorer.ui.common import dialogs
from explorer.ui.main_window import MainWindow
from support import checkpoint, open_window, pattern_image

TIMEOUT_MS = 120_000
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = [pattern_image(folder / f"p{i}.png", (72, 60), i) for i in range(2)]
    return {"photos": photos, "folder": folder, "checkpoint": checkpoint(tmp_path / "resnet50-seed3.pth", seed=3), "out": tmp_path}


@pytest.fixture
def window(qtbot, tmp_path, files, monkeypatch):
    answered: list[str] = []
    monkeypatch.setattr(dialogs, "open_images", lambda parent, title: answered.append(title) or [str(p) for p in files["photos"]])
    monkeypatch.setattr(dialogs, "open_folder", lambda parent, title: answered.append(title) or str(files["folder"]))
    monkeypatch.setattr(dialogs, "open_checkpoint", lambda parent, title: answered.append(title) or str(files["checkpoint"]))
    monkeypatch.setattr(
        dialogs, "save_export", lambda parent, title, suggested, suffix: answered.append(title) or str(files["out"] / f"export{suffix}")
    )
    monkeypatch.setattr(dialogs, "ask_url", lambda parent, title, label: answered.append(title) or "")  # cancelled
    monkeypatch.setattr(QMessageBox, "about", lambda *args: answered.append("about"))
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: answered.append(title))
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: answered.append(url.toString()) or True)

    def offline(url, *args, **kwargs):  # the named checkpoints of every member: never downloaded here
        answered.append(url)
        raise download.DownloadError(f"cannot download {url} in a test")

    monkeypatch.setattr(download, "fetch", offline)
    w = open_window(qtbot, tmp_path / "settings.ini", TIMEOUT_MS)
    w.gradient.settings.set(size=32, batch=2)  # every run below stays fast
    w.race.settings.set(network="resnet18", steps=2, batch=2, size=32, device="cpu")
    w.theory.settings.set(size=32, batch=2, samples=1)
    # The Network menu's walk loads every member: on torch, so no member is exported to an engine
    # (the engine box's own walk below still loads each engine once; tests/core/test_engines.py
    # covers the engines).
    engines = w.classify.engine_choice.engine_box
    with QSignalBlocker(engines):
        engines.setCurrentIndex(engines.findData("torch"))
    with qtbot.waitSignal(w.classify.weights_loaded, timeout=TIMEOUT_MS):
        w.classify.load_weights("random")
    w.add_paths([str(files["photos"][0])])
    w.answered = answered
    w.checkpoint = files["checkpoint"]
    w.triggered = set()
    settle(qtbot, w)
    return w


def settle(qtbot, window: MainWindow) -> None:
    """Wait until no job runs any more (the classifier, the lab, Insight)."""
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=TIMEOUT_MS)


def menu_actions(menu: QMenu) -> list[QAction]:
    out = []
    for action in menu.actions():
        if action.menu() is not None:
            out += menu_actions(action.menu())
        elif not action.isSeparator():
            out.append(action)
    return out


def dock_buttons(window: MainWindow) -> list[QAbstractButton]:
    docks = [*window.side_docks, *window.bottom_docks]
    return [b for dock in docks for b in dock.widget().findChildren(QAbstractButton) if b.isEnabled() and b.isVisibleTo(dock)]


def button_key(button: QAbstractButton) -> tuple:
    """What tells a button from its neighbours: its dock, kind, text and tooltip."""
    holder = button.parent()
    while holder is not None and not holder.objectName().endswith("_dock"):
        holder = holder.parent()
    return (holder.objectName() if holder else "", type(button).__name__, button.text(), button.toolTip())


def trigger(qtbot, window: MainWindow, action: QAction, done: list[str]) -> None:
    if not action.isEnabled():
        return
    action.trigger()
    window.triggered.add(action.objectName())  # the action table's id, for those declared in one
    if action.isCheckable() and action in (d.toggleViewAction() for d in (*window.side_docks, *window.bottom_docks)):
        action.trigger()  # a dock hidden by its View entry comes back for the rest of the walk
    done.append(action.text())
    settle(qtbot, window)


def unfold_a_long_stage(qtbot, window: MainWindow) -> None:
    """ResNet-101 with its long stage4 unfolded: what View > Fold long stages acts on."""
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights("random", "resnet101")
    settle(qtbot, window)
    window.diagram.select("layer3.fold")


def test_every_menu_action_button_and_choice_works(qtbot, window):
    done: list[str] = []
    bar = window.menuBar()
    quit_action = window.actions["file.quit"]
    for top in bar.actions():
        for action in menu_actions(top.menu()):
            if action is not quit_action:
                trigger(qtbot, window, action, done)
    # The Network menu's walk ended on its last member: back to the ResNet-50 file the walk began with,
    # so the buttons below (a lesion sweep over every block) cost what they did before the family.
    with qtbot.waitSignal(window.classify.weights_loaded, timeout=TIMEOUT_MS):
        window.classify.load_weights(str(window.checkpoint))
    settle(qtbot, window)
    assert window.network() == ("resnet50", 1000)
    # The run and the sweep need a result shown before Export can write anything: run the lab first.
    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS):
        window.gradient.run_button.click()
    window.insight_dock.raise_()
    clicked: set[tuple] = set()
    for _ in range(300):  # buttons can be recreated by what a click shows (the activation tiles): look again each time
        fresh = [b for b in dock_buttons(window) if button_key(b) not in clicked]
        if not fresh:
            break
        button = fresh[0]
        clicked.add(button_key(button))
        if isinstance(button, QToolButton) and button.menu() is not None:
            for action in menu_actions(button.menu()):
                trigger(qtbot, window, action, done)
        else:
            done.append(button.text() or button.toolTip())
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            settle(qtbot, window)
    else:
        raise AssertionError("the walk over the buttons did not end")
    for tab in range(window.insight.tabs.count()):  # the Insight tabs' own buttons and boxes
        window.insight.tabs.setCurrentIndex(tab)
        settle(qtbot, window)
    for dock in (*window.side_docks, *window.bottom_docks):
        dock.raise_()
        for box in dock.widget().findChildren(QComboBox):
            if not box.isEnabled():
                continue
            start = box.currentIndex()
            for index in range(box.count()):
                box.setCurrentIndex(index)
                box.activated.emit(index)
                settle(qtbot, window)
            box.setCurrentIndex(start)
            settle(qtbot, window)
    window.diagram.select("layer2.1")
    menu = window.diagram.context_menu(window.diagram.item("layer2.1"))
    for action in menu_actions(menu):
        trigger(qtbot, window, action, done)
    menu.close()

    for expected in ("PNG image…", "SVG drawing…", "CSV table…", "Run", "Open images…", "Load a &file…", "&Reset layout",
                     "&About ResNet Explorer", "&Run gradient lab", "Shortcut connection (gradient lab)", "Run &race",
                     "Run &theory lab", "Open &model…", "Random weights (untrained)",
                     "ResNet-152 ImageNet IMAGENET1K_V2 (torchvision, 82.284% top-1)"):
        assert any(expected in text for text in done), f"{expected!r} was never triggered"
    assert "about" in window.answered and "Export the gradient lab" in window.answered and "Export the race" in window.answered
    assert window.race.result() is not None and window.race.message_label.text().startswith("Exported")
    assert window.gradient.message_label.text().startswith("Exported")
    assert window.frameGeometry().height() <= window_layout.available(window).height()
    # Every action of every room's table, each in a state where it can act (a cancel while its run is in flight).
    for table in window.menus.tables:
        for action_id in table.specs:
            if action_id not in window.triggered and action_id != "file.quit":
                {"lab.cancel": window.gradient.run, "race.cancel": window.race.run, "theory.cancel": window.theory.run,
                 "diagram.fold": lambda: unfold_a_long_stage(qtbot, window)}.get(action_id, lambda: None)()
                assert table.can(action_id), f"{action_id} cannot act in the state the walk left"
                trigger(qtbot, window, table[action_id], done)
    assert window.triggered >= {i for t in window.menus.tables for i in t.specs} - {"file.quit"}
    assert "Keyboard shortcuts" in window.answered and any(text in done for text in ("Cancel r&ace", "Fold long stages"))
    assert DOCS_URL in window.answered  # Help > Documentation asked for the site (openUrl is answered above, no browser)

    window.actions["file.quit"].trigger()
    assert not window.isVisible()


def test_exports_from_the_menus_write_the_files(qtbot, window, files):
    with qtbot.waitSignal(window.gradient.run_finished, timeout=TIMEOUT_MS):
        window.gradient.run_action.trigger()
    for action in window.gradient.export_menu.actions():
        action.trigger()
    for suffix in (".png", ".svg", ".csv"):
        path = files["out"] / f"export{suffix}"
        assert path.is_file() and path.stat().st_size > 0, suffix
    window.actions["file.export_gradients"].trigger()  # File > Export: the same writer
    assert window.gradient.message_label.text() == "Exported export.png"
