"""Image loading and preprocessing, checked against torchvision's eval transforms and against pixels we
put into files ourselves. Every accepted and refused input is generated in tmp_path."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.core import images
from explorer.core.images import ImageError, expand_inputs, load_image, preprocess
from support import PERMISSIONS_IGNORED, png_header_only

transforms = pytest.importorskip("torchvision.transforms")


def torchvision_eval(resize: int, crop: int):
    return transforms.Compose(
        [
            transforms.Resize(resize, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
            transforms.CenterCrop(crop),
            transforms.ToTensor(),
            transforms.Normalize(images.IMAGENET_MEAN, images.IMAGENET_STD),
        ]
    )


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


# -- preprocessing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, resize, crop",
    [((451, 300), 256, 224), ((300, 451), 232, 224), ((224, 224), 256, 224), ((256, 300), 256, 224),
     ((1, 1), 256, 224), ((3000, 7), 256, 224), ((97, 1203), 160, 128), ((640, 427), 224, 224)],
)
def test_preprocess_is_bit_identical_to_torchvision(size, resize, crop):
    image = noise(*size, seed=size[0])
    ours = preprocess(image, resize, crop)
    reference = torchvision_eval(resize, crop)(image)
    assert ours.shape == (3, crop, crop) and ours.dtype == torch.float32
    assert torch.equal(ours, reference)


def test_preprocess_of_non_rgb_image_matches_torchvision_on_its_rgb_version():
    grey = Image.fromarray(np.arange(64 * 80, dtype=np.uint32).reshape(64, 80).astype(np.uint8), "L")
    assert torch.equal(preprocess(grey, 72, 64), torchvision_eval(72, 64)(grey.convert("RGB")))


def test_huge_resize_takes_the_crop_window_path_within_one_grey_level(monkeypatch):
    monkeypatch.setattr(images, "_MAX_RESIZED_PIXELS", 1000)  # force the bounded-memory path
    image = noise(1500, 40, seed=3)
    ours = preprocess(image, 64, 56)
    reference = torchvision_eval(64, 56)(image)
    one_level = 1 / 255 / min(images.IMAGENET_STD)
    assert (ours - reference).abs().max() <= one_level + 1e-6
    assert (ours != reference).float().mean() < 0.05


@pytest.mark.parametrize("resize, crop", [(0, 0), (224, 256), (-1, 5)])
def test_preprocess_refuses_bad_sizes(resize, crop):
    with pytest.raises(ValueError):
        preprocess(noise(32, 32), resize, crop)


# -- accepted files ------------------------------------------------------------------------------


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize(
    "mode, suffix",
    [("1", "png"), ("L", "png"), ("L", "jpg"), ("LA", "png"), ("P", "png"), ("P", "gif"), ("RGB", "jpg"),
     ("RGB", "bmp"), ("RGB", "tiff"), ("RGB", "webp"), ("RGBA", "png"), ("RGBA", "webp"), ("CMYK", "jpg"),
     ("CMYK", "tiff"), ("I;16", "png"), ("I;16", "tiff")],
)
def test_every_accepted_mode_and_format_loads_as_rgb(tmp_path, mode, suffix):
    source = noise(48, 32).convert(mode) if mode != "I;16" else Image.new("I;16", (48, 32), 1000)
    path = save(source, tmp_path / f"image_{mode.replace(';', '')}.{suffix}")
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (48, 32)
    assert preprocess(loaded).shape == (3, 224, 224)


def test_alpha_is_composited_on_white(tmp_path):
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0, 0)  # fully transparent red -> white
    pixels[0, 1] = (255, 0, 0, 255)  # opaque red stays red
    pixels[1, 0] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    loaded = np.asarray(load_image(save(Image.fromarray(pixels, "RGBA"), tmp_path / "a.png")))
    assert tuple(loaded[0, 0]) == (255, 255, 255)
    assert tuple(loaded[0, 1]) == (255, 0, 0)
    assert all(abs(int(v) - 127) <= 1 for v in loaded[1, 0])


def test_palette_transparency_is_composited_on_white(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    path = save(image, tmp_path / "t.gif", transparency=0)
    loaded = np.asarray(load_image(path))
    assert tuple(loaded[0, 0]) == (255, 255, 255) and tuple(loaded[1, 1]) == (255, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    image = Image.new("I;16", (2, 1))
    image.putpixel((0, 0), 65535)
    image.putpixel((1, 0), 32896)  # 128 * 257
    loaded = np.asarray(load_image(save(image, tmp_path / "deep.png")))
    assert tuple(loaded[0, 0]) == (255, 255, 255) and tuple(loaded[0, 1]) == (128, 128, 128)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red, right half blue
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = save(Image.fromarray(pixels), tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    loaded = np.asarray(load_image(path))
    assert loaded.shape == (40, 20, 3)
    assert loaded[2, 10, 0] > 200 and loaded[2, 10, 2] < 50  # red now on top
    assert loaded[37, 10, 2] > 200 and loaded[37, 10, 0] < 50  # blue at the bottom


def test_animation_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert tuple(np.asarray(load_image(path))[4, 4]) == (255, 0, 0)


@pytest.mark.parametrize("size", [(1, 1), (5000, 2), (2, 5000)])
def test_tiny_and_very_wide_images(tmp_path, size):
    loaded = load_image(save(noise(*size), tmp_path / "odd.png"))
    assert loaded.size == size
    assert preprocess(loaded).shape == (3, 224, 224)


# -- refused files -------------------------------------------------------------------------------


def assert_refused(path: Path, *words: str) -> None:
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message.lower()


def test_refusals_each_name_the_file_and_the_reason(tmp_path):
    assert_refused(tmp_path / "missing.jpg", "no such file")
    assert_refused(tmp_path, "folder")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert_refused(tmp_path / "empty.jpg", "empty")
    (tmp_path / "notes.jpg").write_text("shopping list\nmilk\n")
    assert_refused(tmp_path / "notes.jpg", "text")
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(1).bytes(4096))
    assert_refused(tmp_path / "noise.png", "not a recognised image")
    (tmp_path / "logo.svg").write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    assert_refused(tmp_path / "logo.svg", "svg")


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_truncated_files_are_refused(tmp_path, suffix):
    whole = save(noise(64, 64), tmp_path / f"whole.{suffix}").read_bytes()
    (tmp_path / f"cut.{suffix}").write_bytes(whole[: len(whole) // 2])
    assert_refused(tmp_path / f"cut.{suffix}", "truncated")


@pytest.mark.parametrize("side", [10_000, 20_000])  # Pillow warns at 1x its limit and fails at 2x
def test_decompression_bombs_are_refused_from_the_header(tmp_path, side):
    assert_refused(png_header_only(tmp_path / "bomb.png", side, side), "decompression bomb")


def test_our_own_pixel_cap_holds_when_pillow_limit_is_off(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert_refused(png_header_only(tmp_path / "bomb.png", 30_000, 30_000), "megapixels")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_bytes_never_crash_the_loader(tmp_path, data):
    path = tmp_path / "fuzz.png"
    path.write_bytes(data)
    try:
        assert load_image(path).mode == "RGB"
    except ImageError as exc:
        assert "\n" not in str(exc)


# -- folders -------------------------------------------------------------------------------------


def test_expand_inputs_keeps_order_and_expands_folders(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("b.jpg", "a.PNG", ".hidden.jpg"):
        save(noise(8, 8), folder / name, format="PNG")
    (folder / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    single = save(noise(8, 8), tmp_path / "z.png")
    result = expand_inputs([single, folder, tmp_path / "missing.jpg", tmp_path / "empty"])
    assert result[:3] == [single, folder / "a.PNG", folder / "b.jpg"]
    assert isinstance(result[3], ImageError) and "missing.jpg: no such file" in str(result[3])
    assert isinstance(result[4], ImageError) and "no images" in str(result[4])
    assert len(result) == 5


# -- containment: names and paths that raise, permissions, warnings ---------------------------------


def test_expand_inputs_never_raises(tmp_path, monkeypatch):
    long_name = tmp_path / ("x" * 300 + ".jpg")  # Python 3.11's Path.exists raises ENAMETOOLONG here
    locked = tmp_path / "locked"
    locked.mkdir()
    save(noise(8, 8), locked / "a.png")
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = expand_inputs([long_name, locked, tmp_path / "nul\x00byte.png"])
    assert all(isinstance(r, ImageError) for r in result)
    assert "file name too long" in result[0].reason
    assert result[1].reason == "cannot read the folder (permission denied)"
    assert "NUL" in result[2].reason


def test_unreadable_image_says_permission_denied_not_corrupt(tmp_path, monkeypatch):
    path = save(noise(8, 8), tmp_path / "locked.png")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(path) else real_access(p, mode, **kw))
    assert_refused(path, "permission denied")
    assert isinstance(expand_inputs([path])[0], ImageError)


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="file modes are not enforced here (root); the simulated test above covers it")
def test_unreadable_image_and_folder_for_real(tmp_path):
    path = save(noise(8, 8), tmp_path / "locked.png")
    path.chmod(0)
    assert_refused(path, "permission denied")
    folder = tmp_path / "closed"
    folder.mkdir()
    folder.chmod(0)
    try:
        (entry,) = expand_inputs([folder])
        assert isinstance(entry, ImageError) and "permission denied" in entry.reason
    finally:
        folder.chmod(0o700)


def test_names_are_escaped_in_messages(tmp_path):
    path = tmp_path / "new\nline\x1b[31m.png"
    path.write_text("not an image")
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert str(info.value) == f"{tmp_path}/new\\nline\\x1b[31m.png: a text file, not an image"
    assert info.value.path == str(path)  # the name as given, for JSON


def test_library_warnings_do_not_escape(tmp_path):
    from support import odd_but_good_images

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for path in odd_but_good_images(tmp_path):
            assert load_image(path).mode == "RGB"


# -- bounded memory: strips, reduction, decode allowance ----------------------------------------------


def _modes(size: tuple[int, int]) -> dict[str, Image.Image]:
    base = noise(*size, seed=5)
    palette = base.convert("P")
    palette.info["transparency"] = 3
    rgba = base.convert("RGBA")
    rgba.putalpha(base.convert("L"))
    deep = Image.fromarray((np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    floats = np.asarray(base.convert("L"), dtype=np.float32) / 255
    floats[0, :3] = [np.nan, np.inf, -np.inf]
    return {"P+transparency": palette, "RGBA": rgba, "LA": base.convert("LA"), "CMYK": base.convert("CMYK"),
            "1": base.convert("1"), "I;16": deep, "F": Image.fromarray(floats, "F")}


@pytest.mark.parametrize("mode", ["P+transparency", "RGBA", "LA", "CMYK", "1", "I;16", "F"])
def test_conversion_in_strips_gives_the_same_pixels(monkeypatch, mode):
    image = _modes((37, 29))[mode]
    whole = np.asarray(images.to_rgb(image))
    monkeypatch.setattr(images, "_STRIP_ROWS", 4)
    assert np.array_equal(np.asarray(images._to_rgb_in_strips(image, 1)), whole)
    reduced = np.asarray(images._to_rgb_in_strips(image, 3))
    assert reduced.shape == (10, 13, 3)  # rounded up, as Image.reduce does
    assert np.array_equal(reduced, np.asarray(images.to_rgb(image).reduce(3)))


def test_an_image_too_large_to_convert_whole_is_reduced_first(tmp_path, monkeypatch):
    path = save(_modes((90, 60))["RGBA"], tmp_path / "big.png")
    exact = load_image(path)
    monkeypatch.setattr(images, "CONVERSION_BYTES", 90 * 60 * 4 + 90 * 60 * 4 // 4)  # room for a half-size copy
    reduced = load_image(path)
    assert exact.size == (90, 60) and reduced.size == (45, 30)
    assert np.abs(np.asarray(reduced, dtype=int) - np.asarray(exact.reduce(2), dtype=int)).max() <= 1


def test_a_rotated_jpeg_too_large_to_convert_whole_is_decoded_at_reduced_size(tmp_path, monkeypatch):
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6
    path = save(noise(160, 80), tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    assert load_image(path).size == (80, 160)
    monkeypatch.setattr(images, "CONVERSION_BYTES", 160 * 80 * 4 + 80 * 40 * 4 * 2)
    assert load_image(path).size == (40, 80)  # libjpeg's 1/2 scale, then the rotation


def test_plain_rgb_within_the_allowance_is_the_exact_decode(tmp_path, monkeypatch):
    path = save(noise(64, 48), tmp_path / "plain.png")
    monkeypatch.setattr(images, "CONVERSION_BYTES", 1)  # no conversion: nothing to reduce
    assert np.array_equal(np.asarray(load_image(path)), np.asarray(noise(64, 48)))


def test_decodes_beyond_the_allowance_are_reduced_or_refused(tmp_path, monkeypatch):
    progressive = save(noise(160, 120), tmp_path / "progressive.jpg", quality=90, progressive=True, subsampling=0)
    deflated = save(noise(64, 48).convert("L"), tmp_path / "deflated.tif", compression="tiff_adobe_deflate")
    assert load_image(progressive).size == (160, 120)
    # Coefficients 2 bytes x 3 components per pixel, then the pixels: at 1/2 scale it fits.
    monkeypatch.setattr(images, "DECODE_BYTES", 160 * 120 * 6 + 80 * 60 * 4)
    assert load_image(progressive).size == (80, 60)
    monkeypatch.setattr(images, "DECODE_BYTES", 160 * 120 * 6)  # not even at 1/8: refused
    assert_refused(progressive, "to decode", "progressive jpeg")
    monkeypatch.setattr(images, "DECODE_BYTES", 64 * 48)  # the pixels fit, libtiff's mapped file does not
    assert_refused(deflated, "to decode")
