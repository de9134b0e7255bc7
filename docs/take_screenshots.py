"""Screenshots of the Insight dock for the documentation (docs/insight.md): run under Xvfb,
``xvfb-run -a -s "-screen 0 1920x1200x24" python docs/take_screenshots.py``.

Drives the app the way a user would (samples dropped in, a block selected, the Insight dock's three
views and a metric overlay) and saves docs/images/insight_activations.png, insight_cam.png,
insight_lesions.png and insight_overlay.png. The whole window's screenshots come from the soak
(``tests/soak/run.py --out shots/``), which works the real window on Xvfb; docs/development.md
says which soak screenshot is which image.
Uses random weights unless ``--weights`` names a checkpoint or an ImageNet source (no download
happens here unless you ask for one). ``--dark`` applies a dark palette to check contrast.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QColor, QPalette

from explorer.ui.app import create_application
from explorer.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]


def dark_palette() -> QPalette:
    p = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#353535"), (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#3d7bd9"), (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.PlaceholderText, "#9a9a9a"), (QPalette.ColorRole.AlternateBase, "#262626"),
    ):
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#777777"))
    return p


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--dark", action="store_true")
    args = parser.parse_args()
    app = create_application()
    if args.dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "shots.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    samples = sorted(str(p) for p in (ROOT / "explorer" / "resources" / "samples").glob("*.jpg"))
    window.start(samples, weights=args.weights)
    args.out.mkdir(parents=True, exist_ok=True)
    def step() -> None:
        if window.diagram is None or not window.diagram.has_summary() or window.classify.pending():
            QTimer.singleShot(200, step)
            return
        insight_shots()

    def when(ready, then) -> None:  # noqa: ANN001 - poll until ready(), then call then()
        QTimer.singleShot(200, lambda: then() if ready() else when(ready, then))

    def save_insight(name: str) -> None:
        app.processEvents()
        window.insight_dock.grab().save(str(args.out / name))

    def insight_shots() -> None:
        insight = window.insight
        window.classify.image_list.setCurrentRow(0)
        window.insight_dock.show()
        window.insight_dock.setFloating(True)  # at a size where nothing needs to scroll
        window.insight_dock.resize(1200, 720)
        window.insight_dock.raise_()
        window.diagram.select("layer3.2")
        insight.tabs.setCurrentIndex(0)
        when(lambda: insight.activations_result() is not None, cam_shot)

    def cam_shot() -> None:
        insight = window.insight
        insight.activations.grid.enlarge(2)
        save_insight("insight_activations.png")
        insight.tabs.setCurrentIndex(1)
        when(lambda: insight.cam_result() is not None, lesion_shot)

    def lesion_shot() -> None:
        insight = window.insight
        insight.cam.opacity_slider.setValue(55)
        save_insight("insight_cam.png")
        insight.tabs.setCurrentIndex(2)
        insight.sweep()
        when(lambda: insight.sweep_result() is not None and insight.lesion_result() is not None, overlay_shot)

    def overlay_shot() -> None:
        save_insight("insight_lesions.png")
        window.insight.overlay_box.setCurrentIndex(window.insight.overlay_box.findData("activation"))
        when(lambda: window.diagram.overlay() is not None, finish)

    def finish() -> None:
        docks = (window.inspector_dock, window.classify_dock, window.gradient_dock, window.insight_dock)
        for dock in docks:
            dock.hide()
        app.processEvents()
        window.diagram.fit()
        app.processEvents()
        window.diagram.grab().save(str(args.out / "insight_overlay.png"))
        window.close()

    QTimer.singleShot(500, step)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
