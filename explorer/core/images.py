"""Image input for classification: expand folders, decode any common photo safely into RGB, and turn
it into the normalised tensor torchvision's ImageNet eval transforms produce
(``Resize(shorter side, bilinear) -> CenterCrop -> ToTensor -> Normalize``).

Core layer: Pillow + numpy, and torch only for the tensor :func:`preprocess` returns (imported
there, so that checking paths and decoding need no torch). Every refusal is an :class:`ImageError`
whose text is one line naming the file and the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from explorer.core.files import file_problem, is_folder
from explorer.core.network.memory import MAX_RESIZED_PIXELS as _MAX_RESIZED_PIXELS
from explorer.core.text import first_line, one_line, os_reason, shown

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp"})
# Pillow only tries these decoders. Limiting them keeps Pillow from, say, handing an EPS file to
# Ghostscript. (Phones' multi-picture MPO files come through the JPEG decoder.)
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP")
# Pillow's own decompression-bomb warning threshold (Image.MAX_IMAGE_PIXELS, ~ a 9460x9460 image),
# fixed here so that code changing the global cannot loosen it.
MAX_PIXELS = 89_478_485
EXIF_ORIENTATION = 0x0112
# Above MAX_RESIZED_PIXELS after the resize (explorer.core.network.memory), preprocess resamples only the
# crop window (Image.resize's box), so a 100000x10 panorama does not allocate gigabytes. That path
# can differ from torchvision by one grey level on a few pixels (float rounding of the box);
# ordinary photos never take it.

# Bytes per pixel Pillow keeps for each mode a decoder gives; a mode missing here counts as 8.
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_UNKNOWN_MODE_BYTES = 8
_RGB_BYTES = 4  # Pillow pads RGB to 4 bytes
for _mode in ("I", "F", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "LA", "La", "PA"):
    _MODE_BYTES[_mode] = 4
# What decoding may take (the pixels and what the decoder holds besides them); a JPEG that needs
# more is decoded at reduced size, anything else is refused before it starts. The largest accepted
# image in a 4-byte mode takes 358 MB.
DECODE_BYTES = 560_000_000
# Decoded pixels and their converted RGB copy must fit this; a larger image is reduced first.
CONVERSION_BYTES = 400_000_000
_STRIP_ROWS = 256
# EXIF orientation -> the transposition that displays it upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_HIGH_BIT_GREY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})


class ImageError(ValueError):
    """An input that cannot be classified; ``str(e)`` is ``"<path>: <reason>"`` on one line, the path
    shown with control characters escaped (``path`` itself is the name as given)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = one_line(reason)  # whatever the underlying library said
        super().__init__(f"{shown(self.path)}: {self.reason}")


def expand_inputs(paths: Sequence[str | Path]) -> list[Path | ImageError]:
    """Replace each folder by the images directly inside it (sorted by name, hidden files skipped);
    keep files as they are, in the given order. Never raises: a missing, unreadable or unnamable
    path, or a folder without images, becomes an :class:`ImageError` in its place, so callers can
    report it and carry on with the rest.
    """
    expanded: list[Path | ImageError] = []
    for entry in paths:
        path = Path(entry)
        if not is_folder(path):
            problem = file_problem(path)
            expanded.append(ImageError(path, problem) if problem else path)
            continue
        try:
            images = sorted((p for p in path.iterdir() if _listed_image(p)), key=lambda p: p.name)
        except OSError as exc:
            expanded.append(ImageError(path, f"cannot read the folder ({os_reason(exc)})"))
            continue
        if images:
            expanded.extend(images)
        else:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            expanded.append(ImageError(path, f"folder contains no images (looked for {suffixes})"))
    return expanded


def _listed_image(path: Path) -> bool:
    """An entry of a folder to classify: an image's name, not a folder. A pipe, socket or device
    with an image's name is listed, so that it is named as refused (load_image never opens it)."""
    if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    return not is_folder(path)


def load_image(path: str | Path, reduce_for: int | None = None) -> Image.Image:
    """Decode an image file into an RGB ``PIL.Image``: EXIF orientation applied, first frame of an
    animation, transparency composited on white, 16-bit grey scaled (not clipped) to 8 bits.

    Memory is bounded before any pixel is decoded, from the header: at most :data:`MAX_PIXELS`
    pixels, and what decoding takes (the pixels and what the decoder holds besides them: a
    progressive JPEG's coefficients, a compressed TIFF's whole file) at most :data:`DECODE_BYTES`,
    else a JPEG is decoded at reduced size and anything else refused. An image that must be
    converted (any mode but RGB, or an EXIF rotation) is converted in strips; one so large that its
    converted copy would not fit :data:`CONVERSION_BYTES` beside the decoded pixels is reduced by an
    integer factor first (a box filter in the same strips; a JPEG is decoded at that reduced size).
    So no accepted image costs more than about 0.6 GB (``bench --suite images``). A plain RGB image
    small enough to decode whole is returned exactly as decoded, as torchvision's pipeline sees it.

    Args:
        reduce_for: the ``resize`` the image is headed for. A JPEG is then decoded at 1/2, 1/4 or 1/8
            scale by libjpeg's DCT scaling (Pillow's ``draft``) while it stays at least that size
            after resizing: faster, at the price of pixels that differ slightly from a full decode
            (None: full decode, as torchvision's pipeline).

    Raises:
        ImageError: missing, unreadable, folder, empty file, text, SVG, unknown format, truncated or
            corrupt data, or too many pixels.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise ImageError(path, problem)
    try:
        file = path.open("rb")
        with file:
            if not file.read(1):
                raise ImageError(path, "empty file")
            file.seek(0)
            return _open_and_decode(file, path, reduce_for)
    except OSError as exc:  # the disk failed (EIO): this file's error, the others go on
        raise ImageError(path, os_reason(exc)) from None


def _open_and_decode(file: BinaryIO, path: Path, reduce_for: int | None) -> Image.Image:
    """:func:`load_image` once the file is open: Pillow's refusals in words. A read that fails with
    an errno is the disk's fault, not the image's, and is raised as the OSError it is."""
    try:
        with warnings.catch_warnings():
            # Pillow's UserWarnings (corrupt EXIF, truncated chunks it recovered from) say nothing
            # a user can act on. Its bomb warning (between 1x and 2x its limit) is a refusal.
            # (catch_warnings is process-wide; a concurrent load can at worst see these filters.)
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file, formats=ACCEPTED_FORMATS) as image:
                return _decode(image, path, reduce_for)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, _describe_unreadable(file, path)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, f"refused as a possible decompression bomb ({first_line(exc)})") from None
    except OSError as exc:
        if exc.errno is not None:  # a failed read; Pillow's own complaints about the data carry no errno
            raise
        raise ImageError(path, f"truncated or corrupt image ({first_line(exc)})") from None
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, ... on bad data
        raise ImageError(path, f"truncated or corrupt image ({first_line(exc)})") from None


def _decode(image: Image.Image, path: Path, reduce_for: int | None) -> Image.Image:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            path,
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels, above the "
            f"{MAX_PIXELS / 1e6:.1f} Mpx limit (possible decompression bomb); not decoded",
        )
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    rotate = orientation in _TRANSPOSE
    converts = rotate or image.mode != "RGB"
    transient = _transient_bytes(image, path)
    scale = _jpeg_scale(image, reduce_for, converts, rotate, transient) if image.format == "JPEG" else 1
    decoded = _decoded_bytes(width, height, image.mode, scale)
    if decoded + transient > DECODE_BYTES:
        how = " (a progressive JPEG keeps all its coefficients while it decodes)" if image.format == "JPEG" else ""
        raise ImageError(
            path,
            f"{width}x{height} in mode {image.mode} needs about {(decoded + transient) / 1e6:.0f} MB to decode{how}, "
            f"above the {DECODE_BYTES / 1e6:.0f} MB allowed; not decoded",
        )
    if scale > 1:
        image.draft(None, (width // scale, height // scale))
    image.load()  # for an animation: the first frame
    if not converts:
        return image
    factor = _reduction(*image.size, image.mode, rotate)
    if reduce_for is not None:
        factor = min(factor, max(1, min(image.size) // reduce_for))  # never below the resize it is headed for
    rgb = _to_rgb_in_strips(image, factor)
    if rgb is not image:
        image.close()  # the decoded pixels go before the rotation copies the converted ones
    return rgb.transpose(_TRANSPOSE[orientation]) if rotate else rgb


def _decoded_bytes(width: int, height: int, mode: str, scale: int = 1) -> int:
    return -(-width // scale) * -(-height // scale) * _MODE_BYTES.get(mode, _UNKNOWN_MODE_BYTES)


def _transient_bytes(image: Image.Image, path: Path) -> int:
    """Memory a decoder holds besides the decoded pixels: a progressive JPEG's coefficients (2 bytes
    each, per component at its sampling), the whole file for libtiff (it maps compressed TIFFs)."""
    width, height = image.size
    if image.format == "JPEG" and image.info.get("progressive"):
        layers = getattr(image, "layer", None) or [(0, 1, 1, 0)] * len(image.getbands())
        h_max, v_max = max(layer[1] for layer in layers), max(layer[2] for layer in layers)
        return sum(2 * width * height * layer[1] * layer[2] // (h_max * v_max) for layer in layers)
    if image.format == "TIFF" and image.info.get("compression", "raw") != "raw":
        return path.stat().st_size
    return 0


def _jpeg_scale(image: Image.Image, reduce_for: int | None, converts: bool, rotate: bool, transient: int) -> int:
    """libjpeg's DCT scale (1, 2, 4 or 8) to decode at: the one ``draft`` picks for ``reduce_for``
    (--fast-decode); for an image about to be reduced anyway, at most that reduction; then as much
    more as the memory allowance needs (an exact decode larger than that is not attempted)."""
    width, height = image.size
    if reduce_for is not None:
        wanted = resized_size(width, height, reduce_for)
    elif converts:
        factor = _reduction(width, height, image.mode, rotate)
        wanted = (width // factor, height // factor)
    else:
        wanted = (width, height)
    fits = min(width // max(1, wanted[0]), height // max(1, wanted[1]))
    scale = next(s for s in (8, 4, 2, 1) if fits >= s)  # as JpegImageFile.draft chooses
    while scale < 8 and _decoded_bytes(width, height, image.mode, scale) + transient > DECODE_BYTES:
        scale *= 2
    return scale


def _reduction(width: int, height: int, mode: str, rotate: bool) -> int:
    """The least integer factor by which an image is reduced so that its decoded pixels and its RGB
    copy (two copies while it is rotated) fit :data:`CONVERSION_BYTES`."""
    decoded = width * height * _MODE_BYTES.get(mode, _UNKNOWN_MODE_BYTES)
    factor = 1
    while True:
        converted = -(-width // factor) * -(-height // factor) * _RGB_BYTES
        if decoded + converted <= CONVERSION_BYTES and (not rotate or 2 * converted <= CONVERSION_BYTES):
            return factor
        factor += 1


def _to_rgb_in_strips(image: Image.Image, factor: int) -> Image.Image:
    """:func:`to_rgb` (then ``reduce(factor)``) applied strip by strip: the same pixels as on the
    whole image (the conversion is per pixel, the box filter's blocks align with the strips), while
    only one strip's temporary copies exist at a time."""
    width, height = image.size
    if height <= _STRIP_ROWS and factor == 1:
        return to_rgb(image)
    scale = _grey_scale(image) if image.mode in _HIGH_BIT_GREY_MODES else None
    rows = factor * max(1, _STRIP_ROWS // factor)
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        converted = _high_bit_grey_to_rgb(strip, scale) if scale is not None else to_rgb(strip)
        out.paste(converted.reduce(factor) if factor > 1 else converted, (0, top // factor))
    return out


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB; alpha (or a transparency key) is composited on a white background."""
    if image.mode == "RGB":
        return image
    if image.mode in _HIGH_BIT_GREY_MODES:
        return _high_bit_grey_to_rgb(image, _grey_scale(image))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV


def _grey_scale(image: Image.Image) -> float:
    """The factor that maps a high-bit grey image onto 0..255, from its largest finite value (read
    in strips: a float64 copy of a whole 89 Mpx image would be 0.7 GB)."""
    peak = 0.0
    for top in range(0, image.height, _STRIP_ROWS):
        values = np.asarray(image.crop((0, top, image.width, min(image.height, top + _STRIP_ROWS))), dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size:
            peak = max(peak, float(finite.max()))
    if image.mode == "F":
        return 255.0 if peak <= 1.0 else 1.0  # float images are usually 0..1
    if image.mode == "I" and peak <= 255:
        return 1.0  # 32-bit container holding 8-bit data
    return 255.0 / 65535.0


def _high_bit_grey_to_rgb(image: Image.Image, scale: float) -> Image.Image:
    # Pillow's convert() clips 16-bit values at 255, which turns most 16-bit scans white; scale instead.
    # NaN becomes black and infinities the extremes, with no numpy cast warning.
    values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=255.0 / scale, neginf=0.0)
    grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


def _describe_unreadable(file: BinaryIO, path: Path) -> str:
    file.seek(0)
    head = file.read(1024)
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


def resized_size(width: int, height: int, resize: int) -> tuple[int, int]:
    """torchvision's ``Resize(int)`` rule: the shorter side becomes ``resize``, the longer side
    ``int(resize * long / short)`` (truncated, as torchvision does)."""
    if width <= height:
        return resize, int(resize * height / width)
    return int(resize * width / height), resize


def preprocess(image: Image.Image, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """:func:`preprocess_array` as a tensor."""
    import torch

    return torch.from_numpy(preprocess_array(image, resize, crop))


def preprocess_array(image: Image.Image, resize: int = 256, crop: int = 224) -> np.ndarray:
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
    return np.ascontiguousarray(x)
