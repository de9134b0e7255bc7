"""Words and number formats the views share, so each is written once: block kinds in the seed's
language and tensor shapes as ``256×56×56``. UI layer, pure Python."""

from __future__ import annotations

BLOCK_KIND_TEXT = {
    "conv": "convolutional block (projection shortcut)",
    "identity": "identity block",
    "stem": "stem",
    "head": "head: global average pool + fully connected",
}


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)
