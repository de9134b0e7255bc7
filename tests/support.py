"""Test helpers shared by several test files (importable because pyproject puts tests/ on the path):
factory functions, so that no test copies another's fixtures. One section per kind of helper."""

from __future__ import annotations

import json
import os
import stat
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.core.network.model import ResNet, ResNet50, SwitchableBatchNorm2d

# -- Models --------------------------------------------------------------------------------------------


def enliven(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BN statistics and affine parameters (the last BN of each residual branch damped, so
    deep members stay finite) and a sharpened classifier, on any ResNet, ours or torchvision's."""
    gen = torch.Generator().manual_seed(seed)
    last_bn = {f"{name}.{'bn3' if hasattr(m, 'conv3') else 'bn2'}" for name, m in model.named_modules() if hasattr(m, "downsample")}
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + (0.0 if name in last_bn else 0.5))
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        model.fc.weight.mul_(20)
    return model.eval()


def assert_summary_equals_torchinfo(summary, reference: torch.nn.Module, size: int):  # noqa: ANN001, ANN201
    """Every non-ReLU leaf layer of ``summary`` (a ModelSummary) equals torchinfo's on ``reference`` at
    ``size`` px, by module name (params, mult-adds, shapes), and so do the totals. ReLUs are left out:
    ours are one module per use (act1..3), torchvision's one shared ``relu``. Returns torchinfo's stats."""
    import torchinfo

    stats = torchinfo.summary(reference, input_size=(1, 3, size, size), depth=64, verbose=0)
    names = {id(m): n for n, m in reference.named_modules()}
    leaves: dict = {}
    for info in stats.summary_list:
        if info.is_leaf_layer and not isinstance(info.module, torch.nn.ReLU):
            leaves.setdefault(names[info.layer_id], info)
    layers = {n: layer for n, layer in summary.layers().items() if layer.type != "ReLU"}
    assert set(layers) == set(leaves)
    for name, layer in layers.items():
        info = leaves[name]
        assert (layer.params, layer.mult_adds, layer.input_shape, layer.output_shape) == (
            info.num_params, info.macs, list(info.input_size[1:]), list(info.output_size[1:])
        ), name
    assert (summary.total_params, summary.mult_adds) == (stats.total_params, stats.total_mult_adds)
    return stats


def lively_model(seed: int = 0, arch: str = "resnet50") -> ResNet:
    """A seeded model with random BN statistics and a sharpened classifier, so activations, heat
    maps and lesions give probabilities that are neither flat nor saturated (unlike a fresh
    initialisation, whose outputs are nearly constant)."""
    return enliven(ResNet50(seed=seed) if arch == "resnet50" else ResNet(arch, seed=seed), seed)


def photo_calibrated_model(seed: int = 0, arch: str = "resnet50") -> ResNet:
    """A seeded model whose BN statistics were measured on the bundled sample photos (and their
    mirror images) and whose BN affine parameters are random: like a trained net, its top classes
    differ from photo to photo, and folding BatchNorm has real work to do."""
    from explorer.core.images import load_image, preprocess
    from explorer.core.samples import sample_images

    model = ResNet50(seed=seed) if arch == "resnet50" else ResNet(arch, seed=seed)
    batch = torch.stack([preprocess(load_image(p)) for p in sample_images()])
    for m in model.modules():
        if isinstance(m, SwitchableBatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batch
            m.reset_running_stats()
    with torch.no_grad():
        model.train()(torch.cat([batch, batch.flip(3)]))
        gen = torch.Generator().manual_seed(seed + 1)
        for m in model.modules():
            if isinstance(m, SwitchableBatchNorm2d):
                m.momentum = 0.1
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model.eval()


def head_model(bias: torch.Tensor, arch: str = "resnet18", seed: int = 0, spread: float = 0.0) -> ResNet:
    """A lively ``arch`` with a head of ``len(bias)`` classes whose logits are ``bias`` plus an
    image-dependent part of weights with standard deviation ``spread`` (0: the bias alone decides).
    Integer biases near zero are exact in bf16, so its top classes survive bf16; biases closer than
    bf16's resolution (8 bits of mantissa) tie in bf16, so the order is lost."""
    model = lively_model(seed, arch)
    model.fc = torch.nn.Linear(model.fc.in_features, len(bias))
    with torch.no_grad():
        model.fc.weight.copy_(torch.randn(model.fc.weight.shape, generator=torch.Generator().manual_seed(seed)) * spread)
        model.fc.bias.copy_(bias)
    return model.eval()


# -- Files, checkpoints and the hostile corpus (core and CLI edges) ----------------------------------
# Deterministic factories: every test makes its inputs in its own tmp_path through these.

def _permissions_enforced() -> bool:
    """Whether a file with mode 000 is unreadable here (not for root with CAP_DAC_OVERRIDE)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            probe.read_text()
            return False
        except PermissionError:
            return True
        finally:
            probe.chmod(0o600)


# Real chmod tests run only where modes are enforced; simulated ones (monkeypatched) run everywhere.
PERMISSIONS_IGNORED = not _permissions_enforced()


def device_copy_of_dev_null(path: Path) -> Path:
    """A character device like /dev/null at ``path`` (mknod: root only; the test is skipped elsewhere):
    what an output path must never replace."""
    import pytest

    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    return path


def failing_disk_file() -> Path:
    """A file that opens and then fails every read with EIO, standing in for a failing disk:
    /proc/self/mem (Linux; its offset 0 is never mapped). Skips where there is none."""
    import pytest

    path = Path("/proc/self/mem")
    if not path.exists():
        pytest.skip("no /proc/self/mem here")
    return path


def hostile_labels(path: Path, count: int = 1000) -> Path:
    """A labels file of ``count`` names whose every name carries terminal controls: clear screen
    (ESC[2J), an OSC title change ended by BEL, and a NUL byte."""
    path.write_text("".join(f"class{i}\x1b[2J\x1b]0;owned\x07\x00x\n" for i in range(count)), encoding="utf-8")
    return path


TERMINAL_CONTROLS = ("\x1b", "\x07", "\x00")  # none of these may reach the terminal raw


def photo(path: Path, seed: int = 0, size: tuple[int, int] = (80, 64)) -> Path:
    """Seeded RGB noise of ``size`` (width, height), in the format of ``path``'s suffix."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def pattern_photo(path: Path, size: tuple[int, int] = (150, 100)) -> Path:
    """A smooth, structured RGB picture (gradients and a product pattern) that gives a model with
    random weights something to localise."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = np.stack([xx * 255 // width, yy * 255 // height, (xx * yy) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def checkpoint(path: Path, model: torch.nn.Module | None = None, seed: int = 3) -> Path:
    """``model``'s state_dict (default: ``ResNet50(seed=seed)``) saved with torch.save."""
    torch.save((model if model is not None else ResNet50(seed=seed)).state_dict(), path)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height but carries almost no data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    """``resnet-explorer ARGV...`` in this process: (exit status, stdout, stderr)."""
    from explorer.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *names: str) -> str:
    """Assert that stderr is one line, without a traceback, naming every one of ``names``."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and all(name in lines[0] for name in names), err
    return lines[0]


def strict_json(text: str):  # noqa: ANN201 - any JSON value
    """Parse JSON as RFC 8259 has it: NaN and Infinity are refused."""

    def refuse(constant: str):  # noqa: ANN202
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def escaped(path: Path) -> str:
    """How a one-line message shows ``path`` (control characters escaped)."""
    from explorer.core.text import shown

    return shown(path)


@dataclass(frozen=True)
class Hostile:
    """One hostile input: where it is and a word its one-line refusal must contain."""

    name: str
    path: Path
    word: str


def hostile_images(folder: Path) -> list[Hostile]:
    """Image inputs that must each be refused in one line naming them, without a traceback: a
    300-byte name, names with a newline and an ANSI escape, empty, text, random bytes, truncated,
    SVG, a bomb's header, a folder without images."""
    folder.mkdir(parents=True, exist_ok=True)
    whole = photo(folder / "whole.png", seed=9).read_bytes()
    (folder / "whole.png").unlink()
    corpus = [
        Hostile("long name", folder / ("x" * 300 + ".jpg"), "file name too long"),
        Hostile("newline in the name", folder / "two\nlines.jpg", "text file"),
        Hostile("ANSI escape in the name", folder / "\x1b[31mred.png", "truncated"),
        Hostile("empty file", folder / "empty.jpg", "empty"),
        Hostile("text", folder / "notes.jpg", "text file"),
        Hostile("random bytes", folder / "noise.png", "not a recognised image"),
        Hostile("truncated PNG", folder / "cut.png", "truncated"),
        Hostile("SVG", folder / "logo.svg", "svg"),
        Hostile("bomb header", folder / "bomb.png", "decompression bomb"),
        Hostile("folder without images", folder / "no-images", "folder"),
    ]
    (folder / "two\nlines.jpg").write_text("a text file\nwith a line break in its name\n")
    (folder / "\x1b[31mred.png").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("shopping list\nmilk\n")
    (folder / "noise.png").write_bytes(np.random.default_rng(1).bytes(4096))
    (folder / "cut.png").write_bytes(whole[: len(whole) // 3])
    (folder / "logo.svg").write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    png_header_only(folder / "bomb.png", 20_000, 20_000)
    (folder / "no-images").mkdir()
    (folder / "no-images" / "readme.txt").write_text("nothing to see")
    return corpus


def odd_but_good_images(folder: Path) -> list[Path]:
    """Images that must load without a word on stderr although libraries would warn: a JPEG with
    corrupt EXIF, a float TIFF holding NaN and infinities."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    exif = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x05\x01\x12\x00\x03" + b"\xff" * 40
    corrupt_exif = folder / "corrupt-exif.jpg"
    Image.fromarray(pixels).save(corrupt_exif, exif=exif)
    values = rng.random((40, 50)).astype(np.float32)
    values[0, :5] = [np.nan, np.inf, -np.inf, np.nan, 2.0]
    float_tiff = folder / "nan.tif"
    Image.fromarray(values, "F").save(float_tiff)
    return [corrupt_exif, float_tiff]


def hostile_checkpoints(folder: Path, state: dict[str, torch.Tensor]) -> list[Hostile]:
    """Checkpoint files that must each be refused in one line naming them and the problem, the
    model untouched: sparse, quantised, integer, boolean and complex tensors, a negative BN variance,
    fc weights of 3e38, NaN, a TorchScript archive, a pickle that would run code, a truncated file,
    an empty one, text, a 300-byte name, a name with a newline."""
    folder.mkdir(parents=True, exist_ok=True)

    def variant(name: str, **changes: torch.Tensor) -> Path:
        path = folder / name
        torch.save(dict(state, **changes), path)
        return path

    fc_w, fc_b = state["fc.weight"], state["fc.bias"]
    negative = state["layer2.1.bn2.running_var"].clone()
    negative[3] = -1.0
    with warnings.catch_warnings():  # torch deprecates creating quantised tensors; loading them is the point
        warnings.simplefilter("ignore")
        quantised = torch.quantize_per_tensor(fc_b.float(), 0.1, 0, torch.qint8)
        traced = torch.jit.trace(torch.nn.Conv2d(3, 3, 1), torch.zeros(1, 3, 4, 4))
        torch.jit.save(traced, folder / "scripted.pt")
    torch.save(dict(state), folder / "whole.pth")
    whole = (folder / "whole.pth").read_bytes()
    (folder / "whole.pth").unlink()
    (folder / "cut.pth").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.pth").write_bytes(b"")
    (folder / "notes.pth").write_text("these are not weights")
    (folder / "evil.pth").write_bytes(
        b"\x80\x02cbuiltins\nexec\nq\x00X\x13\x00\x00\x00raise SystemExit(99)q\x01\x85q\x02Rq\x03."
    )
    return [
        Hostile("sparse tensor", variant("sparse.pth", **{"fc.weight": fc_w.to_sparse()}), "sparse"),
        Hostile("quantised tensor", variant("qint8.pth", **{"fc.bias": quantised}), "quantised"),
        Hostile("integer tensor", variant("int8.pth", **{"fc.bias": fc_b.to(torch.int8)}), "integer"),
        Hostile("boolean tensor", variant("bool.pth", **{"fc.bias": fc_b > 0}), "boolean"),
        Hostile("complex tensor", variant("complex.pth", **{"fc.bias": fc_b.to(torch.complex64)}), "complex"),
        Hostile("negative BN variance", variant("negvar.pth", **{"layer2.1.bn2.running_var": negative}), "negative"),
        Hostile("huge fc weights", variant("huge.pth", **{"fc.weight": torch.full_like(fc_w, 3e38)}), "infinite outputs"),
        Hostile("NaN", variant("nan.pth", **{"fc.bias": torch.full_like(fc_b, float("nan"))}), "NaN"),
        Hostile("TorchScript archive", folder / "scripted.pt", "TorchScript"),
        Hostile("pickle that runs code", folder / "evil.pth", "could run code"),
        Hostile("truncated", folder / "cut.pth", "truncated"),
        Hostile("empty", folder / "empty.pth", "empty"),
        Hostile("text", folder / "notes.pth", "not a PyTorch"),
        Hostile("long name", folder / ("w" * 300 + ".pth"), "file name too long"),
        Hostile("newline in the name", variant("two\nlines.pth", **{"fc.bias": fc_b.to(torch.int8)}), "integer"),
    ]


def stray_block_checkpoint(path: Path, index: int) -> Path:
    """A ResNet-18 checkpoint (45 MB) with one extra 4-byte key ``layer3.<index>.conv1.weight``: a
    block far past the others that, if believed, makes layer3 ``index + 1`` blocks deep."""
    state = ResNet("resnet18", seed=0).state_dict()
    state[f"layer3.{index}.conv1.weight"] = torch.zeros(1)
    torch.save(state, path)
    return path


def _stride0(shape: tuple[int, ...]) -> torch.Tensor:
    """A tensor of ``shape`` whose every element is one stored zero (stride 0): a few bytes on disk."""
    return torch.zeros(1).expand(*shape) if shape else torch.zeros((), dtype=torch.long)


def stride0_fc_checkpoint(path: Path, classes: int) -> Path:
    """A ResNet-18 checkpoint whose fc claims ``classes`` outputs with stride-0 tensors (its file
    stays 45 MB; the head it describes holds ``classes * 513`` floats)."""
    state = ResNet("resnet18", seed=0).state_dict()
    state["fc.weight"], state["fc.bias"] = _stride0((classes, 512)), _stride0((classes,))
    torch.save(state, path)
    return path


def stride0_wide_checkpoint(path: Path, channels: int, whole: bool = True) -> Path:
    """A bottleneck ResNet (one block per stage) whose first block is ``channels`` wide, every
    tensor stride-0: a file of a few kB. ``whole``: every key and shape consistent with that network
    (then only its size can refuse it); else one 2M-channel conv in an ordinary ResNet-50."""
    from explorer.core.network.counts import state_shapes
    from explorer.core.network.stages import ResNetSpec

    if whole:
        spec = ResNetSpec("wide", "wide", "bottleneck", (1, 1, 1, 1), width_per_group=channels)
        state = {key: _stride0(shape) for key, shape in state_shapes(spec).items()}
    else:
        state = {key: _stride0(tuple(v.shape)) for key, v in ResNet50(seed=0).state_dict().items()}
        state["layer1.0.conv1.weight"] = _stride0((channels, 64, 1, 1))
    torch.save(state, path)
    return path


def labels_text(count: int, inside: str) -> str:
    """``count`` class names, one per line, each holding ``inside`` (a form feed, U+2028, ...)."""
    return "".join(f"class{inside}{i}\n" for i in range(count))


# -- Models and pictures for the window's tests -------------------------------------------------------


def random_stats_model(seed: int) -> ResNet50:
    """He-initialised ResNet-50 with non-trivial BatchNorm running statistics (a fresh model's are
    0 and 1, which would hide a BN folded or read wrongly)."""
    model = ResNet50(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(0.1 * torch.randn(buffer.shape, generator=generator))
            elif name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand(buffer.shape, generator=generator))
    return model.eval()


def pattern_image(path, size: tuple[int, int] = (80, 60), seed: int = 0, mode: str = "RGB"):
    """A small deterministic picture (stripes and gradients that differ by ``seed``) in any Pillow
    ``mode``, saved at ``path`` in the format its suffix names."""
    width, height = size
    image = Image.new(mode, size)
    channels = len(mode)
    image.putdata(
        [
            ((x * (3 + seed) + 70 * seed) % 256, (y * (4 + seed)) % 256, (x * y + 40 * seed) % 256, 255)[:channels]
            if channels > 1
            else (x * 3 + y * 5 + seed) % 256
            for y in range(height)
            for x in range(width)
        ]
    )
    image.save(path)
    return path


def not_an_image(path):
    """A text file posing as an image (its suffix says JPEG)."""
    path.write_text("this is not a JPEG")
    return path


def open_window(qtbot, settings_path: Path, timeout_ms: int = 120_000):  # noqa: ANN001, ANN201 - a MainWindow
    """The main window with its parts built, on screen, its architecture summary in (Qt is imported
    here, not at the top: the core's tests import this module too)."""
    from PySide6.QtCore import QSettings

    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.build_parts()
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.diagram.has_summary, timeout=timeout_ms)
    return window


# -- A hostile HTTP server on 127.0.0.1 (downloads are never tested against the internet) -----------


class Server:
    """Serves ``payload`` at any path (or ``payloads[name]`` at ``url(name)``). ``mode``: ``ok``,
    ``short`` (announces more bytes than it sends, then hangs up), ``long`` (announces fewer bytes
    than it sends), ``missing`` (404), ``silent`` (accepts, never answers), ``trickle`` (one byte
    every 50 ms) or ``length`` (sends ``content_length`` as its Content-Length header)."""

    def __init__(self) -> None:
        self.payload = b""
        self.payloads: dict[str, bytes] = {}
        self.mode = "ok"
        self.content_length = ""
        self.requests = 0
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests += 1
                if server.mode == "silent":
                    server.release.wait(10)
                    return
                if server.mode == "missing":
                    self.send_error(404, "Not Found")
                    return
                body = server.payloads.get(self.path.removeprefix("/models/"), server.payload)
                self.send_response(200)
                if server.mode == "length":
                    for value in server.content_length.split("|"):
                        self.send_header("Content-Length", value)
                else:
                    lie = {"short": 1000, "long": -1000}.get(server.mode, 0)
                    self.send_header("Content-Length", str(len(body) + lie))
                self.end_headers()
                if server.mode == "trickle":
                    for i in range(len(body)):
                        if server.release.wait(0.05):
                            return
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                else:
                    self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/models/{name}"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- training race: image folders in ImageFolder layout ------------------------------------------

RACE_COLOURS = ((220, 40, 40), (30, 90, 230), (240, 220, 30), (40, 180, 70))


def image_folder(root, counts: dict[str, int], bad: dict[str, str] | None = None, side: int = 20):
    """``root/<class>/<n>.png`` with ``counts[class]`` images each: class k is a seeded noisy version of
    colour k of :data:`RACE_COLOURS` (so the classes are easy to tell apart), plus ``bad`` files
    (``"class/name": contents``, written as raw text). Returns ``root``."""
    gen = np.random.default_rng(0)
    for k, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            noise = gen.integers(-40, 41, size=(side, side, 3))
            pixels = np.clip(np.array(RACE_COLOURS[k % len(RACE_COLOURS)]) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(folder / f"{i}.png")
    for relative, contents in (bad or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(contents)
    return root


# -- Results the views render --------------------------------------------------------------------------


def prediction(labels: list[str], probs: list[float], trained: bool = True):  # noqa: ANN201 - a Prediction
    """A classifier result with these classes and probabilities, for views that only render one
    (the longest ImageNet names, a 0.5% top-1)."""
    from explorer.core.inference.prediction import Prediction, TopClass

    top = tuple(TopClass(index, label, prob) for index, (label, prob) in enumerate(zip(labels, probs)))
    return Prediction("made.png", top, "cpu", 1.0, trained)


# -- The theory lab: torchvision's networks with their inputs, prepared independently ----------------


@dataclass(frozen=True)
class TheoryCase:
    """torchvision's network (lively BN statistics, eval mode), its weights saved as a checkpoint for
    ours to load, two pictures, and the batch torchvision's own transforms make of them."""

    model: torch.nn.Module
    weights: Path
    images: tuple[Path, ...]
    x: torch.Tensor  # (2, 3, size, size)


def theory_case(folder: Path, arch: str, size: int = 64, seed: int = 0) -> TheoryCase:
    """The images are prepared as the theory lab documents it for a checkpoint file (torchvision's
    256/224 ratio): ``Resize(round(size * 256 / 224)) -> CenterCrop(size) -> ToTensor -> Normalize``."""
    import torchvision
    import torchvision.transforms as T

    from explorer.core.images import IMAGENET_MEAN, IMAGENET_STD

    folder.mkdir(parents=True, exist_ok=True)
    # torchvision draws the convolutions from the global generator: seeded here, so that the case is
    # the same whatever ran before (a ResNet-50 drawn after another test's seeding once put an ERF
    # map 3e-4 off autograd's) and the global generator is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = enliven(getattr(torchvision.models, arch)(), seed)
    weights = checkpoint(folder / f"{arch}-{seed}.pth", model)
    images = tuple(pattern_image(folder / f"picture{i}.png", (90, 70), seed=i) for i in range(2))
    transform = T.Compose([T.Resize(round(size * 256 / 224)), T.CenterCrop(size), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    x = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
    return TheoryCase(model, weights, images, x)


def torchvision_branch(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The residual branch of a torchvision BasicBlock or Bottleneck, up to its last BN (before the add)."""
    out = block.relu(block.bn1(block.conv1(x)))
    if hasattr(block, "conv3"):
        out = block.relu(block.bn2(block.conv2(out)))
        return block.bn3(block.conv3(out))
    return block.bn2(block.conv2(out))


def torchvision_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [block for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for block in layer]


def built_in_steps(steps):  # noqa: ANN001, ANN201 - a panel's in_steps generator; returns (steps taken, the panel)
    """Run a panel's ``in_steps`` as the window does, a ``next`` per turn: how many steps it took and
    the panel it returned."""
    taken = 0
    while True:
        try:
            next(steps)
        except StopIteration as end:
            return taken, end.value
        taken += 1
