"""Screenshots of the Theory dock for the documentation (docs/theory.md): run under Xvfb,
``xvfb-run -a -s "-screen 0 1600x1000x24" python docs/theory_screenshots.py``.

Runs each tab of the real panel the way a user would (Run pressed, the worker's results drawn) on
ResNet-50 with random weights at the command line's defaults (224 px, seed 0; the ERF tab on the
bundled photos with frozen statistics, zero-residual against He, or ``--weights`` against He) and saves
docs/images/theory_signal.png, theory_signal_inits.png, theory_paths.png and theory_erf.png. ``--weights``
names a checkpoint or an ImageNet source for the ERF tab's first row (nothing is downloaded unless
you ask for it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from explorer.core.samples import sample_images
from explorer.core.theory.config import VIEWS
from explorer.ui.app import create_application
from explorer.ui.jobs import JobRunner
from explorer.ui.theory.panel import TheoryPanel

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1500, 440)  # a bottom dock made taller, as a person would drag it


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    app = create_application()
    runner = JobRunner()
    panel = TheoryPanel(runner)
    panel.resize(*SIZE)
    panel.show()
    panel.settings.set(device="cpu")

    def shoot(view: str, name: str) -> None:
        panel.tabs.setCurrentIndex(VIEWS.index(view))
        panel.run()
        while panel.is_running():
            app.processEvents()
            time.sleep(0.02)
        for _ in range(10):
            app.processEvents()
        panel.grab().save(str(args.out / name))
        print(name, panel.message_label.text())

    shoot("signal", "theory_signal.png")
    panel.settings.set(compare="init", second_init="fixup")
    shoot("signal", "theory_signal_inits.png")
    shoot("paths", "theory_paths.png")
    changes = {"norm": "frozen", "inputs": "images", "images": tuple(str(p) for p in sample_images()[:2]), "init": "zero-residual"}
    if args.weights:
        changes.update(init="weights", weights=args.weights)
    panel.settings.set(**changes)
    shoot("erf", "theory_erf.png")
    runner.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
