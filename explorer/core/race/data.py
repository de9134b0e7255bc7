"""The race's images: the bundled handwritten digits or the user's own folder in ImageFolder layout,
split once into training and validation sets, and the seeded stream of training batches that both
networks see. Core layer: torch, numpy and explorer.core.images.

The digits are the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak 1998),
8x8 pixels with values 0..16, shipped in ``explorer/resources/digits`` (provenance and licence in the
LICENSES.md beside it). They are upsampled bilinearly to the race's image size and repeated over three
channels, since the networks have an RGB stem.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.images import ImageError, expand_inputs, load_image, preprocess
from explorer.core.race.config import DIGITS

DIGITS_FILE = "digits/digits.csv.gz"
PARSE_LINES = 50
DIGIT_LEVELS = 16  # pixel values are counts of "on" pixels in a 4x4 block: 0..16
VALIDATION_FRACTION = 0.1
# The split does not depend on the race's seed: every seed is then measured on the same held-out
# images, so a change of seed changes the initialisation and the batch order, not the exam.
SPLIT_SEED = 0


class DataError(ValueError):
    """The data cannot be raced (too few classes or images); one line, naming the folder."""


class DataCancelled(Exception):
    """Reading a folder was cancelled between two images."""


@dataclass(frozen=True)
class RaceData:
    """Images as float tensors ``(N, 3, size, size)`` and labels ``(N,)``, split into training and
    validation; ``skipped`` holds one line per file that was refused (``"<path>: <reason>"``)."""

    name: str
    classes: tuple[str, ...]
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    skipped: tuple[str, ...] = ()

    def to(self, device: torch.device) -> RaceData:
        return RaceData(self.name, self.classes, self.train_x.to(device), self.train_y.to(device),
                        self.val_x.to(device), self.val_y.to(device), self.skipped)


# -- sources -------------------------------------------------------------------------------------


def digits_table() -> np.ndarray:
    """The bundled CSV as a (1797, 65) float32 table: 64 pixels and the label per row, a copy of the
    one parsed once per process (18 ms; every race read and parsed the file again)."""
    return _parsed_digits().copy()


@functools.lru_cache(maxsize=1)
def _parsed_digits() -> np.ndarray:
    """Parsed 50 lines a call (0.5 ms; the whole takes as long as at once): numpy's parser keeps the
    interpreter lock for a whole call, and all 1,797 lines at once (21 ms) held the window's thread
    that long as a race started."""
    lines = gzip.decompress(files("explorer.resources").joinpath(DIGITS_FILE).read_bytes()).decode("ascii").splitlines()
    return np.concatenate([np.loadtxt(lines[i:i + PARSE_LINES], delimiter=",", dtype=np.float32, ndmin=2)
                           for i in range(0, len(lines), PARSE_LINES)])


def load_digits(size: int) -> RaceData:
    """The 1,797 bundled digits at ``size`` x ``size``, standardised with the training split's mean
    and standard deviation (one value for the single grey channel)."""
    table = digits_table()
    pixels = torch.from_numpy(table[:, :64]).reshape(-1, 1, 8, 8) / DIGIT_LEVELS  # (N, 1, 8, 8) in [0, 1]
    labels = torch.from_numpy(table[:, 64].astype(np.int64))
    images = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)  # (N, 1, S, S)
    train, val = split_indices(labels)
    mean, std = images[train].mean(), images[train].std()
    images = ((images - mean) / std).expand(-1, 3, -1, -1).contiguous()  # (N, 3, S, S)
    return _subsets("digits", tuple(str(d) for d in range(10)), images, labels, (), train, val)


def load_folder(
    folder: str | Path, size: int, cancel: Callable[[], bool] | None = None
) -> RaceData:
    """Images from ``folder``/<class>/<image>, classes in name order, each image decoded with
    :func:`explorer.core.images.load_image` and prepared as for classification (shorter side resized
    to ``size``, centre crop, ImageNet normalisation). A file that cannot be decoded is skipped and
    named in ``skipped``; files directly inside ``folder`` and hidden entries are ignored, as by
    torchvision's ImageFolder.

    Raises:
        DataError: an unreadable folder, or fewer than two classes with at least one readable image.
        DataCancelled: ``cancel`` (polled between images) returned True.
    """
    root = Path(folder)
    skipped: list[str] = []
    images: list[torch.Tensor] = []
    labels: list[int] = []
    classes: list[str] = []
    try:
        subfolders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as exc:
        raise DataError(f"{root}: cannot read the folder ({exc.strerror or exc})") from None
    for sub in subfolders:
        found = 0
        try:
            entries = expand_inputs([sub])
        except OSError as exc:  # an unreadable class folder is refused like an unreadable image
            skipped.append(str(ImageError(sub, f"cannot read the folder ({exc.strerror or exc})")))
            continue
        for entry in entries:
            if cancel is not None and cancel():
                raise DataCancelled(f"cancelled while reading {root}")
            try:
                if isinstance(entry, ImageError):
                    raise entry
                image = preprocess(load_image(entry, reduce_for=size), resize=size, crop=size)
            except ImageError as exc:
                skipped.append(str(exc))
                continue
            images.append(image)
            labels.append(len(classes))
            found += 1
        if found:
            classes.append(sub.name)
    if len(classes) < 2:
        raise DataError(
            f"{root}: needs at least two class subfolders with readable images, found {len(classes)}"
            + (f" ({', '.join(classes)})" if classes else "")
        )
    x, y = torch.stack(images), torch.tensor(labels)
    return _subsets(str(root), tuple(classes), x, y, tuple(skipped), *split_indices(y))


def load_data(source: str, size: int, cancel: Callable[[], bool] | None = None) -> RaceData:
    """``"digits"`` or a folder, see :func:`load_digits` and :func:`load_folder`."""
    return load_digits(size) if source == DIGITS else load_folder(source, size, cancel)


# -- split and batches ---------------------------------------------------------------------------


def split_indices(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and validation indices, disjoint and together all of ``labels``: per class, a seeded
    permutation's first ``round(VALIDATION_FRACTION * n)`` go to validation (at least one where the
    class has two or more images, none where it has one), so every class is in both sets when it can be."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    train, val = [], []
    for label in torch.unique(labels).tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        held = 0 if len(members) < 2 else max(1, round(VALIDATION_FRACTION * len(members)))
        val.append(members[:held])
        train.append(members[held:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


def _subsets(
    name: str, classes: tuple[str, ...], images: torch.Tensor, labels: torch.Tensor, skipped: tuple[str, ...],
    train: torch.Tensor, val: torch.Tensor,
) -> RaceData:
    return RaceData(name, classes, images[train], labels[train], images[val], labels[val], skipped)


def batches(data: RaceData, batch: int, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless training batches: each epoch a fresh permutation from a generator seeded with ``seed``,
    cut into full batches (the incomplete rest is dropped, so every step has ``batch`` images and BN
    the same number of values).

    Raises:
        DataError: at once (not at the first batch) when ``batch`` exceeds the training images.
    """
    count = len(data.train_y)
    if batch > count:
        raise DataError(f"{data.name}: batch {batch} is larger than its {count} training images")
    generator = torch.Generator().manual_seed(seed)

    def stream() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            # Drawn on the CPU from the CPU generator, so the order is the same on every device.
            order = torch.randperm(count, generator=generator).to(data.train_y.device)
            for start in range(0, count - batch + 1, batch):
                index = order[start:start + batch]
                yield data.train_x[index], data.train_y[index]

    return stream()
