"""``resnet-explorer gui [OPTIONS] [IMAGE...]``: the desktop app (also what bare ``resnet-explorer``
and ``resnet-explorer [OPTIONS] photo.jpg`` run, options before or after the paths). Given images are
classified at start."""

from __future__ import annotations

import argparse
import os
import sys

from explorer.commands.common import EXIT_FAILED, device_name, error
from explorer.core.loading.sources import WEIGHT_SOURCES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files or folders to classify at start")
    p.add_argument(
        "--weights",
        metavar="SOURCE",
        help=f"{', '.join(WEIGHT_SOURCES)}, a checkpoint file or an http(s):// URL (default: the last used, else imagenet-v2)",
    )
    p.add_argument("--device", type=device_name, metavar="DEVICE", help="cpu, cuda:N or mps (default: the last used)")
    p.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)  # for `bench --suite ui`
    p.set_defaults(func=run)


def register(sub: argparse._SubParsersAction) -> None:
    add_arguments(sub.add_parser("gui", help="open the desktop app (the default command)"))


def display_problem() -> str | None:
    """Why no window can open here (Linux without a display), or None."""
    has_display = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if sys.platform.startswith("linux") and not has_display:
        return "no display to open a window on: run `xvfb-run -a resnet-explorer`, or set QT_QPA_PLATFORM=offscreen"
    return None


def run(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem:
        error("gui", problem)
        return EXIT_FAILED
    try:
        from explorer.ui.common.binding import binding_problem

        problem = binding_problem()
        from explorer.ui.app import run_app
    except ImportError as exc:  # Qt's system libraries missing (see docs/install.md)
        error("gui", f"cannot load Qt: {exc}")
        return EXIT_FAILED
    if problem is not None:
        error("gui", problem)
        return EXIT_FAILED
    return run_app(args.images, weights=args.weights, device=args.device, probe=args.startup_probe)
