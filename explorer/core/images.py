"""Image input for classification: expand folders, decode any common photo safely into RGB, and turn
it into the normalised tensor torchvision's ImageNet eval transforms produce
(``Resize(shorter side, bilinear) -> CenterCrop -> ToTensor -> Normalize``).

Core layer: Pillow + numpy + torch only. Every refusal is an :class:`ImageError` whose text is one
line naming the file and the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp"})
# Pillow only tries these decoders. Limiting them keeps Pillow from, say, handing an EPS file to
# Ghostscript. (Phones' multi-picture MPO files come through the JPEG decoder.)
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP")
# Pillow's own decompression-bomb warning threshold (Image.MAX_IMAGE_PIXELS, ~ a 9460x9460 image),
# fixed here so that code changing the global cannot loosen it.
MAX_PIXELS = 89_478_485
EXIF_ORIENTATION = 0x0112
# Above this many pixels after the resize, only the crop window is resampled (Image.resize's box),
# so a 100000x10 panorama does not allocate gigabytes. That path can differ from torchvision by one
# grey level on a few pixels (float rounding of the box); ordinary photos never take it.
_MAX_RESIZED_PIXELS = 16_000_000

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_HIGH_BIT_GREY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})


class ImageError(ValueError):
    """An input that cannot be classified; ``str(e)`` is ``"<path>: <reason>"`` on one line."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())  # one line, whatever the underlying library said
        super().__init__(f"{self.path}: {self.reason}")


def expand_inputs(paths: Sequence[str | Path]) -> list[Path | ImageError]:
    """Replace each folder by the images directly inside it (sorted by name, hidden files skipped);
    keep files as they are, in the given order. A missing path or a folder without images becomes an
    :class:`ImageError` in its place, so callers can report it and carry on with the rest.
    """
    expanded: list[Path | ImageError] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            images = sorted(
                (p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                key=lambda p: p.name,
            )
            if images:
                expanded.extend(images)
            else:
                suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
                expanded.append(ImageError(path, f"folder contains no images (looked for {suffixes})"))
        elif path.exists():
            expanded.append(path)
        else:
            expanded.append(ImageError(path, "no such file or folder"))
    return expanded


def load_image(path: str | Path, reduce_for: int | None = None) -> Image.Image:
    """Decode an image file into an RGB ``PIL.Image``: EXIF orientation applied, first frame of an
    animation, transparency composited on white, 16-bit grey scaled (not clipped) to 8 bits.

    The pixel count is checked from the header before any pixel is decoded (cap: :data:`MAX_PIXELS`).

    Args:
        reduce_for: the ``resize`` the image is headed for. A JPEG is then decoded at 1/2, 1/4 or 1/8
            scale by libjpeg's DCT scaling (Pillow's ``draft``) while it stays at least that size
            after resizing: about 4x faster for a 1-megapixel photo, at the price of pixels that
            differ slightly from a full decode (None: full decode, as torchvision's pipeline).

    Raises:
        ImageError: missing path, folder, empty file, text, SVG, unknown format, truncated or corrupt
            data, or too many pixels.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(path, "no such file")
    if path.is_dir():
        raise ImageError(path, "is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(path, "empty file")
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than fails) between 1x and 2x its limit; make that a refusal too.
            # (catch_warnings is process-wide; a concurrent load can at worst see this same filter.)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        path,
                        f"{width}x{height} is {width * height / 1e6:.0f} megapixels, above the "
                        f"{MAX_PIXELS / 1e6:.1f} Mpx limit (possible decompression bomb); not decoded",
                    )
                if reduce_for is not None and image.format == "JPEG":
                    image.draft(None, resized_size(width, height, reduce_for))
                image.load()  # for an animation: the first frame
                if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                    # Only then: exif_transpose copies even an upright image (1.5 ms for 1 Mpx).
                    image = ImageOps.exif_transpose(image)
                return to_rgb(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, _describe_unreadable(path)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, f"refused as a possible decompression bomb ({_first_line(exc)})") from None
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, ... on bad data
        raise ImageError(path, f"truncated or corrupt image ({_first_line(exc)})") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB; alpha (or a transparency key) is composited on a white background."""
    if image.mode == "RGB":
        return image
    if image.mode in _HIGH_BIT_GREY_MODES:
        return _high_bit_grey_to_rgb(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV


def _high_bit_grey_to_rgb(image: Image.Image) -> Image.Image:
    # Pillow's convert() clips 16-bit values at 255, which turns most 16-bit scans white; scale instead.
    values = np.asarray(image, dtype=np.float64)
    peak = float(values.max()) if values.size else 0.0
    if image.mode == "F":
        scale = 255.0 if peak <= 1.0 else 1.0  # float images are usually 0..1
    elif image.mode == "I" and peak <= 255:
        scale = 1.0  # 32-bit container holding 8-bit data
    else:
        scale = 255.0 / 65535.0
    grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


def _describe_unreadable(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(1024)
    lowered = head.lower()
    if b"<svg" in lowered or path.suffix.lower() in (".svg", ".svgz"):
        return "SVG (vector) images are not supported; export it as PNG or JPEG"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "a text file, not an image"
        except UnicodeDecodeError:
            pass
    return "not a recognised image (accepted: JPEG, PNG, GIF, BMP, TIFF, WebP)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resized_size(width: int, height: int, resize: int) -> tuple[int, int]:
    """torchvision's ``Resize(int)`` rule: the shorter side becomes ``resize``, the longer side
    ``int(resize * long / short)`` (truncated, as torchvision does)."""
    if width <= height:
        return resize, int(resize * height / width)
    return int(resize * width / height), resize


def preprocess(image: Image.Image, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """The ImageNet eval transform: (3, crop, crop) float32, equal to torchvision's
    ``Resize(resize) -> CenterCrop(crop) -> ToTensor() -> Normalize(IMAGENET_MEAN, IMAGENET_STD)``.

    Args:
        image: any Pillow image; converted with :func:`to_rgb` if it is not RGB.
        resize: length of the shorter side after resizing (bilinear with antialias, Pillow's).
        crop: side of the centred square crop; at most ``resize``.
    """
    if resize < 1 or crop < 1:
        raise ValueError(f"resize and crop must be positive, got resize={resize}, crop={crop}")
    if crop > resize:
        raise ValueError(f"crop ({crop}) must not exceed resize ({resize})")
    image = to_rgb(image)
    width, height = image.size
    new_w, new_h = resized_size(width, height, resize)
    # CenterCrop's offsets, including its round-half-to-even.
    left, top = int(round((new_w - crop) / 2.0)), int(round((new_h - crop) / 2.0))
    if new_w * new_h <= _MAX_RESIZED_PIXELS:
        resized = image if (new_w, new_h) == (width, height) else image.resize((new_w, new_h), Image.BILINEAR)
        cropped = resized.crop((left, top, left + crop, top + crop))
    else:
        sx, sy = width / new_w, height / new_h
        box = (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy)
        cropped = image.resize((crop, crop), Image.BILINEAR, box=box)
    # ToTensor and Normalize as float32 divide, subtract, divide in numpy: IEEE-identical to torch's
    # ops, and free of the thread-pool start-up that costs torch more than the arithmetic here.
    x = np.array(cropped, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32) / np.float32(255)  # (3, crop, crop)
    x -= np.asarray(IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    x /= np.asarray(IMAGENET_STD, dtype=np.float32).reshape(3, 1, 1)
    return torch.from_numpy(np.ascontiguousarray(x))
