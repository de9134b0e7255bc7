"""Words and number formats the views share, so each is written once: block kinds in the seed's
language, tensor shapes as ``256×56×56``, probabilities as ``0.5%``, and messages joined as
sentences. UI layer, pure Python."""

from __future__ import annotations

BLOCK_KIND_TEXT = {
    "conv": "convolutional block (projection shortcut)",
    "identity": "identity block",
    "stem": "stem",
    "head": "head: global average pool + fully connected",
}


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def sentence(text: str) -> str:
    """``text`` ending as a sentence does, so the next one never runs into it: a core message has
    no full stop ("...or use 'random' (untrained)"), a window message adds one."""
    text = text.rstrip()
    return text if not text or text.endswith((".", "!", "?", "…", ":")) else text + "."


def sentences(*parts: str) -> str:
    """The non-empty ``parts`` as sentences, one space apart."""
    return " ".join(sentence(part) for part in parts if part and part.strip())


def percent(probability: float) -> str:
    """A probability as every view shows it: one decimal, so 0.5% is never "0%"."""
    return f"{probability:.1%}"
