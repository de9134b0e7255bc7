"""Where the diagram's boxes go: the stage groups left to right, wrapped into the rows that let the
whole diagram appear largest in a view of a given aspect ratio, each block's position, each stage's
background and the route of every edge (straight within a row, around the row's bottom to the next).

UI layer, pure Python (plain tuples in scene units, no Qt), so the layout is tested without a scene.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

EDGE_GAP = 44.0  # horizontal room between blocks for the edge and its shape label
STAGE_PAD = 12.0
STAGE_TITLE_H = 26.0
STAGE_BOTTOM = 30.0  # below the bodies: room for the edges' shape labels inside the stage
ROW_GAP = 48.0
WRAP_OUT = 14.0  # a wrapping edge leaves its row this far right of the last block
WRAP_IN = 20.0  # and enters the next row this far left of the first block
MAX_ROWS = 6
# Each extra row must make the diagram this much larger to be chosen: a stem alone in a row reads
# worse than a diagram 1% smaller.
ROW_PENALTY = 1.04
# A stage of more blocks than this is drawn in parts of at most this many, one part a row (ResNet-152's
# 36-block stage4 unfolded was one row, unreadable at fit).
ROW_BLOCKS = 12

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Box:
    """A block's body as the layout sees it: its size and the room it needs above (its arc)."""

    name: str
    width: float
    height: float
    top: float = 0.0


@dataclass(frozen=True)
class Group:
    """A stage: its boxes in network order."""

    name: str
    boxes: tuple[Box, ...]
    title_width: float = 0.0  # a stage of few blocks grows to show its whole title (ResNet-18's)
    continues: bool = False  # the next part of a long stage: it always starts a row of its own

    def width(self) -> float:
        return max(self.title_width, sum(b.width for b in self.boxes) + EDGE_GAP * (len(self.boxes) - 1) + 2 * STAGE_PAD)

    def inner_height(self, top: float) -> float:
        """Height of the stage's background when its row leaves ``top`` above the bodies."""
        return STAGE_TITLE_H + top + max(b.height for b in self.boxes) + STAGE_BOTTOM


@dataclass(frozen=True)
class Placement:
    """Everything the scene needs: block positions (top-left of the body), the port height of each
    block (where edges enter and leave, relative to the body's top), stage rectangles, each row's
    bottom, and the bounding size."""

    rows: tuple[int, ...]
    positions: dict[str, Point]
    stages: dict[str, Rect]
    row_of: dict[str, int]
    row_bottoms: tuple[float, ...]
    width: float
    height: float


def _rows_of(cuts: tuple[bool, ...]) -> tuple[int, ...]:
    rows, count = [], 1
    for cut in cuts:
        if cut:
            rows.append(count)
            count = 1
        else:
            count += 1
    rows.append(count)
    return tuple(rows)


def _row_height(groups: list[Group]) -> float:
    top = max(b.top for g in groups for b in g.boxes)
    return max(g.inner_height(top) for g in groups)


def split_long(name: str, boxes: tuple[Box, ...], title_width: float) -> list[Group]:
    """A stage as one group, or as parts of at most :data:`ROW_BLOCKS` boxes for a long one (the
    parts after the first are named ``name+1``, ``name+2``, ... and continue it)."""
    parts = [boxes[i : i + ROW_BLOCKS] for i in range(0, len(boxes), ROW_BLOCKS)] or [boxes]
    return [Group(name if i == 0 else f"{name}+{i}", part, title_width, continues=i > 0) for i, part in enumerate(parts)]


def extent(groups: list[Group], rows: tuple[int, ...]) -> tuple[float, float]:
    """Width and height of the diagram with ``rows`` stage groups per row."""
    width, height, start = 0.0, 0.0, 0
    for count in rows:
        row = groups[start : start + count]
        width = max(width, sum(g.width() for g in row) + EDGE_GAP * (count - 1))
        height += _row_height(row)
        start += count
    return width, height + ROW_GAP * (len(rows) - 1)


def choose_rows(groups: list[Group], aspect: float, below: float = 0.0) -> tuple[int, ...]:
    """Split the groups into rows (keeping order) so that the diagram, with ``below`` units of
    extra height under it, fits a view of width/height ``aspect`` at the largest scale; each extra
    row must gain :data:`ROW_PENALTY`, so near-ties go to fewer rows."""
    forced = [g.continues for g in groups[1:]]
    best, best_score = _rows_of(tuple(forced)), 0.0
    free = forced.count(False)
    for choice in itertools.product((False, True), repeat=free):
        chosen = iter(choice)
        rows = _rows_of(tuple(True if force else next(chosen) for force in forced))
        if len(rows) > MAX_ROWS:
            continue
        width, height = extent(groups, rows)
        scale = min(aspect / width, 1.0 / (height + below))  # fit into a view of height 1
        score = scale / ROW_PENALTY ** (len(rows) - 1)
        if score > best_score * 1.0001:
            best, best_score = rows, score
    return best


def place(groups: list[Group], rows: tuple[int, ...]) -> Placement:
    """Positions of every block and stage for ``rows`` groups per row, rows stacked top to bottom."""
    positions: dict[str, Point] = {}
    stages: dict[str, Rect] = {}
    row_of: dict[str, int] = {}
    bottoms: list[float] = []
    y, start, width = 0.0, 0, 0.0
    for index, count in enumerate(rows):
        row = groups[start : start + count]
        top = max(b.top for g in row for b in g.boxes)
        x = 0.0
        for group in row:
            stages[group.name] = (x, y, group.width(), group.inner_height(top))
            bx = x + STAGE_PAD
            for box in group.boxes:
                positions[box.name] = (bx, y + STAGE_TITLE_H + top)
                row_of[box.name] = index
                bx += box.width + EDGE_GAP
            x += group.width() + EDGE_GAP
        width = max(width, x - EDGE_GAP)
        y += _row_height(row)
        bottoms.append(y)
        y += ROW_GAP
        start += count
    return Placement(tuple(rows), positions, stages, row_of, tuple(bottoms), width, y - ROW_GAP)


def route(placement: Placement, a: Box, b: Box, port_y: float) -> list[Point]:
    """The edge from ``a``'s output port to ``b``'s input port: straight within a row; otherwise
    right, down below ``a``'s row, back left, down and in."""
    ax, ay = placement.positions[a.name]
    bx, by = placement.positions[b.name]
    start, end = (ax + a.width, ay + port_y), (bx, by + port_y)
    if placement.row_of[a.name] == placement.row_of[b.name]:
        return [start, end]
    turn_y = placement.row_bottoms[placement.row_of[a.name]] + ROW_GAP / 2
    return [
        start,
        (start[0] + WRAP_OUT, start[1]),
        (start[0] + WRAP_OUT, turn_y),
        (end[0] - WRAP_IN, turn_y),
        (end[0] - WRAP_IN, end[1]),
        end,
    ]
