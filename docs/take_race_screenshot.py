"""The documentation's screenshot of a finished Fig. 6 race (docs/race.md): run under Xvfb,
``xvfb-run -a -s "-screen 0 1600x1000x24" python docs/take_race_screenshot.py``.

Drives the real window through its own widgets, as a person would: Network > ResNet-56 (CIFAR) >
Random weights, the Race tab dragged to half the window's height, Network ResNet-56, *Fig. 6 with*
ResNet-20, Run; once the race has finished it saves the whole screen (``import -window root``) to
docs/images/race-fig6.png and prints the verdict. Random weights, the CPU, nothing downloaded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer

from explorer.ui.app import create_application
from explorer.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
SETTLE_MS = 3000  # after weights load: the classifier's engine traces the model (torch.fx) meanwhile


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "race-fig6.png")
    parser.add_argument("--network", default="resnet56")
    parser.add_argument("--depth-with", default="resnet20")
    parser.add_argument("--dock-share", type=float, default=0.5, help="the Race dock's share of the window's height (0: as laid out)")
    args = parser.parse_args()
    app = create_application()
    window = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "shot.ini"), QSettings.Format.IniFormat))
    window.show()

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", str(args.out)], check=True)
        print(f"{args.out}\n{window.race.verdict_label.text()}\n{window.race.conditions_label.text()}", flush=True)
        app.quit()

    def race() -> None:
        window.race_dock.raise_()
        if args.dock_share:  # 0: the layout as it is
            window.resizeDocks([window.race_dock], [int(window.height() * args.dock_share)], Qt.Orientation.Vertical)
        form = window.race.form
        form.network_box.setCurrentIndex(form.network_box.findData(args.network))
        form.depth_box.setCurrentIndex(form.depth_box.findData(args.depth_with))
        window.race.race_finished.connect(lambda _: QTimer.singleShot(2000, shoot))
        window.race.race_failed.connect(lambda message: (print(f"race failed: {message}", file=sys.stderr), app.exit(1)))
        window.race.run_button.click()

    def network() -> None:
        window.classify.weights_loaded.disconnect(first_weights)
        window.classify.weights_loaded.connect(lambda _: QTimer.singleShot(SETTLE_MS, race))
        window.model_menus.network_actions[(args.network, "random")].trigger()

    def first_weights(_: object) -> None:
        QTimer.singleShot(SETTLE_MS, network)

    window.parts_ready.connect(lambda: window.classify.weights_loaded.connect(first_weights))
    QTimer.singleShot(0, lambda: window.start([], "random", "cpu"))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
