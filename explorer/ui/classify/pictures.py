"""What a classification job hands the panel: the prediction with a thumbnail and a preview of the
image as plain RGB bytes, safe to pass between threads.

UI layer, no Qt and no torch: the first prediction at start-up (:mod:`first_look`) makes these
before torch is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from explorer.core.inference.prediction import Prediction

THUMBNAIL_PX = 96
PREVIEW_PX = 384


@dataclass(frozen=True)
class Picture:
    """An RGB image as bytes (row-major, 3 bytes per pixel): safe to pass between threads."""

    width: int
    height: int
    data: bytes

    @classmethod
    def of(cls, image: Image.Image, side: int) -> Picture:
        small = image.copy()
        small.thumbnail((side, side))
        small = small.convert("RGB")
        return cls(small.width, small.height, small.tobytes())


@dataclass(frozen=True)
class Classified:
    prediction: Prediction
    thumbnail: Picture
    preview: Picture
    image_size: tuple[int, int]  # of the decoded image the classifier saw

    @classmethod
    def of(cls, prediction: Prediction, image: Image.Image, scale: float = 1.0) -> Classified:
        """``scale``: the screen's device pixel ratio, so thumbnails stay sharp at 200%."""
        return cls(prediction, Picture.of(image, round(THUMBNAIL_PX * scale)), Picture.of(image, round(PREVIEW_PX * scale)),
                   image.size)
