"""The soak session: the real app, in its own process on a real X display (Xvfb), worked like a person
for minutes. Run by ``tests/soak/run.py``, which watches this process's exit status and stderr.

It starts the window exactly as ``resnet-explorer gui`` does (``MainWindow.start`` after the first
paint), then walks a scenario on the live event loop: hundreds of real wheel notches over the diagram
from xdotool, a click on every block, expand and collapse, the diagram's switches, each gradient-lab
preset run, every Insight tab and a sweep, every export through the real file dialog, every menu
entry (its dialogs answered as a person would; the Network menu's other members and the named
weights that would download are left to the network switches: the soak never downloads), network
switches to ResNet-18 and ResNet-152 and back, folding and unfolding a long stage, a race to its
end, a fine-tuned 10-class head made here, a weights switch, resizes to 1280x720 and back,
screenshots of the window along the way. Every Python exception (in a slot or anywhere) and every
Qt warning is written to stderr and counted; the session exits 1 if there was any, or if the window
ever left the screen.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QAction, QDesktopServices, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from explorer.core.gradients import PRESETS
from explorer.core.loading.sources import RANDOM
from explorer.core.network.model import ResNet50
from explorer.core.samples import sample_images
from explorer.ui import window_layout
from explorer.ui.app import create_application
from explorer.ui.main_window import MainWindow
from walk import UrlHandler, answer_any_dialog, entry_key, menu_entries, small_head_checkpoint  # beside this script

problems: list[str] = []


def report(text: str) -> None:
    problems.append(text)
    print(text, file=sys.stderr, flush=True)


def on_qt_message(mode: QtMsgType, context, text: str) -> None:  # noqa: ANN001
    if mode != QtMsgType.QtDebugMsg and mode != QtMsgType.QtInfoMsg:
        report(f"Qt {mode.name}: {text}")


def on_exception(kind, value, tb) -> None:  # noqa: ANN001
    report("Python exception:\n" + "".join(traceback.format_exception(kind, value, tb)))


class Session:
    """A list of steps, each run from the event loop once the previous one says it is done."""

    def __init__(self, app: QApplication, window: MainWindow, out: Path, minutes: float, checkpoint: Path) -> None:
        self.app, self.w, self.out, self.checkpoint = app, window, out, checkpoint
        self.deadline = time.monotonic() + 60 * minutes
        self.started = time.monotonic()
        self.steps: list[tuple[str, Callable[[], None], Callable[[], bool]]] = []
        self.counts = {"wheel": 0, "clicks": 0, "exports": 0, "shots": 0, "menu actions": 0, "network switches": 0,
                       "folds": 0, "races": 0, "resizes": 0}
        self.small_head = out / "soak-small-head.pth"
        self.entry_started_run = False  # the menu entry just triggered started a run (its Cancel follows)
        self.walk: list[tuple[str, str]] = []  # the menu entries to walk, by menu and text
        self.opened: list[str] = []  # what Help > Documentation opened (in this process, not a browser)
        self.outside: tuple[int, int, int, int] | None = None
        self.runs = self.runs_before = 0
        self.url_handler = UrlHandler(self.opened)
        window.parts_ready.connect(self.on_parts)

    def on_parts(self) -> None:
        def counted(*_: object) -> None:
            self.runs += 1

        self.w.gradient.run_finished.connect(counted)
        self.w.gradient.run_failed.connect(counted)
        self.w.race.race_finished.connect(lambda result: self.counts.__setitem__("races", self.counts["races"] + 1))
        QDesktopServices.setUrlHandler("file", self.url_handler, "open")
        QDesktopServices.setUrlHandler("https", self.url_handler, "open")

    # -- plumbing -------------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], None], done: Callable[[], bool] = lambda: True) -> None:
        self.steps.append((name, action, done))

    def run_next(self) -> None:
        if not self.steps:
            self.finish()
            return
        name, action, done = self.steps.pop(0)
        print(f"{time.monotonic() - self.started:7.1f} s  {name}", flush=True)
        try:
            action()
        except Exception:  # noqa: BLE001 - reported, and the session goes on
            on_exception(*sys.exc_info())
        self.wait(done, name, time.monotonic() + 240)

    def wait(self, done: Callable[[], bool], name: str, until: float) -> None:
        self.check_screen()
        if done():
            QTimer.singleShot(30, self.run_next)
        elif time.monotonic() > until:
            report(f"step {name!r} did not finish within 240 s")
            QTimer.singleShot(30, self.run_next)
        else:
            QTimer.singleShot(50, lambda: self.wait(done, name, until))

    def idle(self) -> bool:
        return not self.w.runner.running()

    def check_screen(self) -> None:
        screen = window_layout.available(self.w)
        frame = self.w.frameGeometry().getRect()
        if not screen.contains(self.w.frameGeometry()) and frame != self.outside:
            self.outside = frame  # said once per geometry
            report(f"the window {frame} is larger than the screen {screen.getRect()}")

    def shot(self, name: str) -> None:
        self.app.processEvents()
        x, y, width, height = self.w.frameGeometry().getRect()  # the window alone: the screen may be larger
        crop = f"{width}x{height}+{max(x, 0)}+{max(y, 0)}"
        subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", str(self.out / f"{name}.png")],
                       check=False, timeout=30)
        self.counts["shots"] += 1

    def xdotool(self, *args: str) -> None:
        """Real X input; not waited for, so the event loop goes on while it arrives."""
        subprocess.Popen(["xdotool", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def keys(self, combo: str) -> None:
        """A key combination typed on the real keyboard, into this window (focused first: there is
        no window manager on Xvfb to do it)."""
        self.xdotool("windowfocus", "--sync", str(int(self.w.winId())), "key", "--clearmodifiers", combo)

    # -- what a person does -----------------------------------------------------------------------

    def diagram_point(self, name: str) -> QPoint:
        item = self.w.diagram.item(name)
        return self.w.diagram.mapFromScene(item.mapToScene(QPointF(20, 16)))

    def wheel_burst(self, notches: int) -> None:
        view = self.w.diagram.viewport()
        centre = view.mapToGlobal(view.rect().center())
        self.xdotool("mousemove", str(centre.x()), str(centre.y()))
        button = "4" if self.counts["wheel"] % 2 == 0 else "5"  # in, then out
        self.xdotool("click", "--repeat", str(notches), "--delay", "15", button)
        self.counts["wheel"] += notches

    def click_every_block(self) -> None:
        self.w.diagram.fit()
        for name in self.w.diagram.block_names():
            QTest.mouseClick(self.w.diagram.viewport(), Qt.MouseButton.LeftButton, pos=self.diagram_point(name))
            self.counts["clicks"] += 1
            if self.w.diagram.selected() != name:
                report(f"a click on {name} selected {self.w.diagram.selected()}")
            if self.w.inspector.shown().get("Name") != name:
                report(f"the inspector shows {self.w.inspector.shown().get('Name')} after a click on {name}")

    def expand_and_collapse(self, name: str) -> None:
        point, view = self.diagram_point(name), self.w.diagram.viewport()
        # What a mouse sends: press, release, double-click, release.
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=point)
        QTest.mouseDClick(view, Qt.MouseButton.LeftButton, pos=point)
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=point)
        expanded = self.w.diagram.is_expanded(name)
        self.w.diagram.setFocus()
        QTest.keyClick(self.w.diagram, Qt.Key.Key_Return)  # Enter collapses it again
        if not expanded or self.w.diagram.is_expanded(name):
            report(f"{name}: double-click expanded={expanded}, Enter left it expanded={self.w.diagram.is_expanded(name)}")

    def switches(self) -> None:
        menu = self.w.diagram.context_menu(self.w.diagram.item("layer3.1"))
        menu.popup(self.w.mapToGlobal(QPoint(200, 200)))
        for action in menu.actions():
            if action.text().startswith(("Shortcut", "Residual", "All")) and action.isEnabled():
                action.trigger()
        menu.close()
        self.w.switches.set_all_shortcuts(True)
        self.w.switches.restore_residuals()
        self.w.switches.set_shortcut("layer2.1", False)
        self.w.switches.set_residual("layer4.1", False)

    def run_preset(self, name: str) -> None:
        form = self.w.gradient.form
        form.preset_box.setCurrentIndex(form.preset_box.findData(name))
        if self.w.gradient.settings.values.init == "weights":
            self.w.gradient.settings.set(weights=str(self.checkpoint))  # offline: a local file, not a download
        self.w.gradient_dock.raise_()
        self.runs_before = self.runs
        self.keys("ctrl+r")

    def answer_dialog(self, path: Path) -> None:
        """Answer the real (Qt) file dialog that the next action opens with ``path``, as a person
        would (walk.answer_any_dialog)."""
        answer_any_dialog(path, path, path)

    def export(self, suffix: str) -> None:
        path = self.out / f"gradients{suffix}"
        path.unlink(missing_ok=True)  # an earlier soak's file: the dialog would ask to replace it
        self.answer_dialog(path)
        action = next(a for a in self.w.gradient.export_menu.actions() if suffix[1:].upper() in a.text())
        action.trigger()
        self.counts["exports"] += 1
        if not path.is_file() or path.stat().st_size == 0:
            report(f"export to {path.name} wrote nothing: {self.w.gradient.message_label.text()}")

    def switch_weights(self) -> None:
        self.answer_dialog(self.checkpoint)
        self.w.classify.weights_menu.file_action.trigger()

    def resize(self, width: int, height: int) -> None:
        self.w.showNormal()
        self.w.resize(width, height)
        self.w.move(0, 0)
        self.counts["resizes"] += 1

    def before_menus(self) -> None:
        """An image on the clipboard (File > Paste image), a lab run shown (File > Export), small runs
        for the Lab menu, and the entries to walk, named by menu and text (menus change meanwhile)."""
        QApplication.clipboard().setImage(QImage(str(sample_images()[2])))
        self.w.gradient.settings.set(size=64, batch=2)
        self.w.race.settings.set(network="resnet18", steps=3, batch=8, size=32, device="cpu")
        self.w.gradient.run()
        self.walk = [entry_key(action) for action in self.menu_entries()]

    def menu_entries(self) -> list[QAction]:
        return menu_entries(self.w, (self.w.actions["file.quit"],), self.w.model_menus.network_menu)

    def menu_entry(self, index: int) -> None:
        """The menu bar's entry ``index`` (looked up again: the menus change as the parts arrive and
        files are opened), then the next one as the following step. A Run entry is not waited for,
        so the Cancel after it can act."""
        self.entry_started_run = False
        if index >= len(self.walk):
            return
        self.steps.insert(0, (f"menu entry {index + 2} of {len(self.walk)}", lambda: self.menu_entry(index + 1), self.entry_done))
        action = next((a for a in self.menu_entries() if entry_key(a) == self.walk[index]), None)
        if action is None:  # gone with its menu (Open recent > Clear the list)
            return
        self.entry_started_run = action.objectName() in ("lab.run", "race.run")
        print(f"           {action.text().replace('&', '')}", flush=True)
        if not action.isEnabled():  # it must be one that cannot act now (Fold long stages on ResNet-18)
            tables = [t for t in self.w.menus.tables if action.objectName() in t.specs]
            if not tables or tables[0].can(action.objectName()):
                report(f"menu entry {action.text()!r} is disabled although it can act")
            return
        toggles_dock = action in [d.toggleViewAction() for d in (*self.w.side_docks, *self.w.bottom_docks)]
        export = self.out / f"menu-export-{index}.png"
        export.unlink(missing_ok=True)  # an earlier soak's file: the dialog would ask to replace it
        answer_any_dialog(export, self.small_head)
        action.trigger()  # may delete itself (Open recent > Clear the list rebuilds that menu)
        if toggles_dock:
            action.trigger()  # a dock hidden by its View entry comes back
        self.counts["menu actions"] += 1

    def entry_done(self) -> bool:
        """A menu entry's work is done: its dialog answered and nothing running; a Run entry's at once."""
        if self.entry_started_run:
            return True
        return QApplication.activeModalWidget() is None and self.idle() and not self.w.classify.loading()

    def switch_network(self, arch: str) -> None:
        self.w.model_menus.network_actions[(arch, RANDOM)].trigger()
        self.counts["network switches"] += 1

    def shows(self, arch: str, classes: int = 1000) -> bool:
        return self.w.network() == (arch, classes) and self.w.diagram.has_summary() and self.idle()

    def unfold_by_click(self, stage_fold: str) -> None:
        QTest.mouseClick(self.w.diagram.viewport(), Qt.MouseButton.LeftButton, pos=self.diagram_point(stage_fold))
        self.counts["folds"] += 1

    def fold_again(self) -> None:
        self.w.diagram.setFocus()
        self.keys("ctrl+shift+f")  # View > Fold long stages
        self.counts["folds"] += 1

    def race(self) -> None:
        self.w.race_dock.raise_()
        self.w.race.settings.set(network="resnet18", steps=4, batch=8, size=32, device="cpu")
        QTest.mouseClick(self.w.race.run_button, Qt.MouseButton.LeftButton)

    def open_small_head(self) -> None:
        answer_any_dialog(self.out / "unused.png", self.small_head)
        self.w.model_menus.open_action.trigger()  # File > Open model…

    def finish(self) -> None:
        self.check_screen()
        elapsed = time.monotonic() - self.started
        print(f"soak: {elapsed:.0f} s, {self.counts}, {len(problems)} problem(s)", flush=True)
        self.keys("ctrl+q")  # File > Quit
        QTimer.singleShot(8000, self.app.quit)  # if Ctrl+Q did not close it, that is a problem too

    # -- the scenario -------------------------------------------------------------------------------

    def scenario(self) -> None:
        w = self.w
        self.step("parts, summary, weights and the samples classified", lambda: None,
                  lambda: w.diagram is not None and w.diagram.has_summary() and w.classify.pending() == 0 and self.idle())
        self.step("screenshot at 1600x1000", lambda: self.shot("soak-1600x1000-start"))
        for round_ in range(3):
            self.step(f"wheel burst {round_}", lambda: self.wheel_burst(60))
            self.step("let the wheel events arrive", lambda: None, lambda: _after(2.5))
            self.step("fit (Ctrl+0)", lambda: (w.diagram.setFocus(), self.keys("ctrl+0")), lambda: _after(0.5))
        self.step("click every block", self.click_every_block)
        for name in ("stem", "layer1.0", "layer2.3", "layer3.0", "layer4.2", "head"):
            self.step(f"expand and collapse {name}", lambda n=name: self.expand_and_collapse(n))
        self.step("Tab through the diagram", lambda: [QTest.keyClick(w.diagram, Qt.Key.Key_Tab) for _ in range(30)])
        self.step("the diagram's switches", self.switches)
        for preset in PRESETS:
            self.step(f"gradient lab: preset {preset} (Ctrl+R)", lambda p=preset: self.run_preset(p),
                      lambda: self.runs > self.runs_before and self.idle())
        self.step("screenshot after the runs", lambda: self.shot("soak-1600x1000-gradients"))
        for suffix in (".png", ".svg", ".csv"):
            self.step(f"export {suffix}", lambda s=suffix: self.export(s))
        self.step("Insight (Ctrl+I)", lambda: self.keys("ctrl+i"), lambda: w.insight.isVisible() and self.idle())
        for tab in range(3):
            self.step(f"Insight tab {tab}", lambda t=tab: w.insight.tabs.setCurrentIndex(t), self.idle)
        self.step("a lesion sweep", lambda: w.insight.lesions.sweep_button.click(), lambda: self.idle() and w.insight.sweep_result() is not None)
        for metric in ("activation", "gradient", "cam-share", "none"):
            self.step(f"colour the diagram by {metric}", lambda m=metric: w.insight.overlay_box.setCurrentIndex(w.insight.overlay_box.findData(m)), self.idle)
        self.step("screenshot with Insight", lambda: self.shot("soak-1600x1000-insight"))
        self.step("switch weights to a checkpoint file", self.switch_weights, lambda: self.idle() and not w.classify.loading())
        self.step("Network > ResNet-18", lambda: self.switch_network("resnet18"), lambda: self.shows("resnet18"))
        self.step("screenshot of ResNet-18", lambda: self.shot("soak-1600x1000-resnet18"))
        self.step("Network > ResNet-152", lambda: self.switch_network("resnet152"), lambda: self.shows("resnet152"))
        self.step("screenshot of ResNet-152, folded", lambda: self.shot("soak-1600x1000-resnet152"))
        self.step("unfold stage4 by a click on its fold", lambda: self.unfold_by_click("layer3.fold"), lambda: _after(1.0))
        self.step("screenshot of ResNet-152 unfolded", lambda: self.shot("soak-1600x1000-resnet152-unfolded"))
        self.step("fold it again (Ctrl+Shift+F)", self.fold_again, lambda: _after(1.0) and w.diagram.folded() == {"stage3", "stage4"})
        self.step("a race to its end", self.race, lambda: w.race.result() is not None and self.idle())
        self.step("screenshot of the race", lambda: self.shot("soak-1600x1000-race"))
        self.step("File > Open model: a fine-tuned 10-class head", self.open_small_head, lambda: self.shows("resnet18", 10))
        self.step("its predictions", lambda: w.classify_dock.raise_(), lambda: w.classify.pending() == 0 and self.idle())
        self.step("screenshot of the small head", lambda: self.shot("soak-1600x1000-small-head"))
        # Every menu entry, on the small head: each weights load of the walk is a ResNet-18's.
        self.step("an image on the clipboard, a lab run shown, small runs for the Lab menu", self.before_menus, self.idle)
        self.step("menu entry 1", lambda: self.menu_entry(0), self.entry_done)
        self.step("Network > ResNet-50, back", lambda: self.switch_network("resnet50"), lambda: self.shows("resnet50"))
        self.step("resize to 1280x720", lambda: self.resize(1280, 720), lambda: _after(1.0))
        self.step("screenshot at 1280x720", lambda: self.shot("soak-1280x720"))
        self.step("click every block at 1280x720", self.click_every_block)
        self.step("View > Reset layout", w.actions["view.reset_layout"].trigger)
        self.step("resize back", lambda: self.resize(1480, 920), lambda: _after(1.0))
        self.step("keep working until the time is up", self.keep_busy, lambda: time.monotonic() > self.deadline and self.idle())

    def keep_busy(self) -> None:
        """Wheel, clicks and lab runs, over and over, until the session's minutes are used."""
        if time.monotonic() > self.deadline:
            return
        self.wheel_burst(30)
        QTimer.singleShot(1500, lambda: time.monotonic() < self.deadline and self.click_every_block())
        if self.idle():
            self.w.gradient.settings.set(size=64)
            self.w.gradient.run()
        QTimer.singleShot(4000, self.keep_busy)


_marks: dict[str, float] = {}


def _after(seconds: float) -> bool:
    """True once ``seconds`` have passed since the first call for the current step."""
    key = str(seconds)
    now = time.monotonic()
    start = _marks.setdefault(key, now)
    if now - start >= seconds:
        del _marks[key]
        return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.excepthook = on_exception
    qInstallMessageHandler(on_qt_message)
    checkpoint = args.out / "soak-weights.pth"
    torch.save(ResNet50(seed=7).state_dict(), checkpoint)
    small_head_checkpoint(args.out / "soak-small-head.pth")
    app = create_application()
    settings_file = args.out / "soak.ini"  # a fresh start each time, as a new user's
    settings_file.unlink(missing_ok=True)
    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.show()
    session = Session(app, window, args.out, args.minutes, checkpoint)
    session.scenario()
    QTimer.singleShot(200, lambda: window.start([str(p) for p in sample_images()], weights="random", device="cpu"))
    QTimer.singleShot(400, session.run_next)
    status = app.exec()
    if window.isVisible():
        report("Ctrl+Q did not close the window")
    return 1 if problems or status else 0


if __name__ == "__main__":
    sys.exit(main())
