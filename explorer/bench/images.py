"""Bench suite ``images``: peak memory of decoding and preprocessing large accepted images (what
``classify`` does with each file), against a small photo in the same run. Target: at most 0.6 GB
above the small photo's peak for any accepted image.

Each image is loaded in a fresh process, so every peak (``VmHWM``, Linux) is that image's alone; the
images are generated here at ``--images-side`` (default 9400, just under the 89.5 Mpx cap): 16-bit
grey, RGBA and palette PNGs, an RGB JPEG with and without an EXIF rotation, a progressive JPEG
(libjpeg keeps all its coefficients), a CMYK JPEG and a compressed 32-bit float TIFF (libtiff maps
the whole file while it decodes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from explorer.core.argtypes import bounded

TARGET_BYTES = 600_000_000  # 0.6 GB above the small photo
EXIF_ORIENTATION = 0x0112


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("images suite")
    group.add_argument(
        "--images-side", type=bounded(int, 64, 9459), default=9400, metavar="PX", help="side of the generated images (default 9400)"
    )
    group.add_argument("--images-fast-decode", action="store_true", help="also measure each image with --fast-decode")


def check(args: argparse.Namespace) -> None:
    """Nothing to refuse: the generated images stay under the decoder's pixel cap."""


def _gradient(side: int, channels: int, peak: int):  # noqa: ANN202 - a numpy array
    """A smooth, seeded image: compresses well, so the files stay small however large the side."""
    import numpy as np

    ramp = np.linspace(0, peak, side, dtype=np.float32)
    planes = [np.add.outer(ramp, ramp[::-1] if c % 2 else ramp) / 2 for c in range(channels)]
    return np.stack(planes, axis=-1) if channels > 1 else planes[0]


def _corpus(folder: Path, side: int) -> dict[str, Path]:
    """The images to measure, written into ``folder``; the first is the small reference photo."""
    import numpy as np
    from PIL import Image

    from explorer.core.samples import sample_images

    files: dict[str, Path] = {"small photo (bundled cat.jpg)": sample_images()[0]}
    makers: dict[str, Callable[[], Path]] = {
        "16-bit grey PNG": lambda: _save(Image.fromarray(_gradient(side, 1, 65535).astype(np.uint16)), folder / "grey16.png"),
        "RGBA PNG": lambda: _save(Image.fromarray(_gradient(side, 4, 255).astype(np.uint8), "RGBA"), folder / "rgba.png"),
        "palette PNG with transparency": lambda: _palette(side, folder / "palette.png"),
        "RGB JPEG": lambda: _save(Image.fromarray(_gradient(side, 3, 255).astype(np.uint8)), folder / "rgb.jpg", quality=85),
        "RGB JPEG, EXIF rotated": lambda: _rotated(side, folder / "rotated.jpg"),
        "progressive JPEG, 4:4:4": lambda: _save(Image.fromarray(_gradient(side, 3, 255).astype(np.uint8)), folder / "progressive.jpg",
                                                 quality=90, progressive=True, subsampling=0),
        "CMYK JPEG": lambda: _save(Image.fromarray(_gradient(side, 4, 255).astype(np.uint8), "CMYK"), folder / "cmyk.jpg", quality=85),
        "32-bit float TIFF": lambda: _save(Image.fromarray(_gradient(side, 1, 1.0).astype(np.float32), "F"), folder / "float.tif",
                                           compression="tiff_adobe_deflate"),
    }
    for name, make in makers.items():
        files[name] = make()
    return files


def _save(image, path: Path, **options) -> Path:  # noqa: ANN001 - a PIL image
    image.save(path, **options)
    return path


def _palette(side: int, path: Path) -> Path:
    import numpy as np
    from PIL import Image

    image = Image.fromarray((_gradient(side, 1, 255) // 16).astype(np.uint8), "L").convert("P")
    image.info["transparency"] = 0
    return _save(image, path, transparency=0)


def _rotated(side: int, path: Path) -> Path:
    import numpy as np
    from PIL import Image

    image = Image.fromarray(_gradient(side, 3, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return _save(image, path, quality=85, exif=exif.tobytes())


def _peak_in_child(path: Path, fast_decode: bool) -> dict[str, Any]:
    """Run :func:`_child` in a fresh interpreter on one file."""
    proc = subprocess.run(
        [sys.executable, "-m", "explorer.bench.images", str(path), "fast" if fast_decode else "exact"],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"status": f"child failed with status {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    side = args.images_side
    print(f"images: generating {side}x{side} images...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        files = _corpus(Path(folder), side)
        rows = []
        for fast in (False, True) if args.images_fast_decode else (False,):
            baseline = None
            for name, path in files.items():
                row = {"image": name, "fast_decode": fast, "file_bytes": path.stat().st_size, **_peak_in_child(path, fast)}
                if baseline is None:
                    baseline = row.get("peak_rss_bytes")
                if baseline is not None and row.get("peak_rss_bytes") is not None:
                    row["above_small_bytes"] = row["peak_rss_bytes"] - baseline
                rows.append(row)
    return {"side": side, "target_above_small_bytes": TARGET_BYTES, "images": rows,
            "memory_source": "peak RSS of a fresh process per image (/proc/self/status VmHWM)"}


def describe(result: dict[str, Any]) -> str:
    lines = [f"images: peak memory of load_image + preprocess, one fresh process per image ({result['side']} px images)"]
    for r in result["images"]:
        decode = " (fast decode)" if r["fast_decode"] else ""
        if "peak_rss_bytes" not in r or r["peak_rss_bytes"] is None:
            lines.append(f"  {r['image'] + decode:<40} {r['status']}")
            continue
        above = r.get("above_small_bytes", 0)
        verdict = "" if r["status"] != "ok" else ("  within target" if above <= result["target_above_small_bytes"] else "  OVER target")
        lines.append(
            f"  {r['image'] + decode:<40} file {r['file_bytes'] / 1e6:7.2f} MB   peak {r['peak_rss_bytes'] / 1e9:5.2f} GB   "
            f"{above / 1e9:+5.2f} GB over the small photo   {r['seconds']:5.2f} s  {r['status'][:60]}{verdict}"
        )
    lines.append(f"  target: at most {result['target_above_small_bytes'] / 1e9:.1f} GB over the small photo; {result['memory_source']}")
    return "\n".join(lines)


def _child(path: str, mode: str) -> None:
    """In a fresh process: decode and preprocess one file as ``classify`` does, print the peak.
    Torch is imported first, as in ``classify``: the image's memory comes on top of it."""
    import torch  # noqa: F401

    from explorer.bench._timing import peak_rss_bytes
    from explorer.core.images import ImageError, load_image, preprocess

    start = time.perf_counter()
    try:
        preprocess(load_image(path, 256 if mode == "fast" else None), 256, 224)
        status = "ok"
    except ImageError as exc:
        status = f"refused: {exc.reason}"
    print(json.dumps({"peak_rss_bytes": peak_rss_bytes(), "seconds": round(time.perf_counter() - start, 3), "status": status}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
