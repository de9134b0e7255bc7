"""The diagram's layout without a scene: rows fill the view best, boxes never overlap, edges stay in
their row or wrap below it; and what an expanded block shows, from the summary."""

from __future__ import annotations

import pytest

from explorer.core.network.summary import summarize
from explorer.ui.diagram import layout
from explorer.ui.diagram.layers import block_layers, layer_text


def groups() -> list[layout.Group]:
    """Stem, four stages of 3, 4, 6, 3 blocks and the head, the sizes of ResNet-50's collapsed boxes."""
    def stage(name: str, count: int) -> layout.Group:
        return layout.Group(name, tuple(layout.Box(f"{name}.{i}", 137, 64, 40) for i in range(count)))

    return [
        layout.Group("stem", (layout.Box("stem", 112, 64),)),
        stage("layer1", 3), stage("layer2", 4), stage("layer3", 6), stage("layer4", 3),
        layout.Group("head", (layout.Box("head", 112, 64),)),
    ]


def all_rows(n: int) -> list[tuple[int, ...]]:
    """Every way to cut n groups into consecutive rows."""
    import itertools

    out = []
    for cuts in itertools.product((False, True), repeat=n - 1):
        rows, count = [], 1
        for cut in cuts:
            rows, count = (rows + [count], 1) if cut else (rows, count + 1)
        out.append((*rows, count))
    return out


@pytest.mark.parametrize("aspect", [0.8, 1.2, 1.8, 2.5, 4.0])
def test_the_chosen_rows_fit_the_view_largest_and_more_rows_must_earn_their_place(aspect):
    g = groups()
    rows = layout.choose_rows(g, aspect)
    assert sum(rows) == len(g)

    def scale(r: tuple[int, ...]) -> float:
        width, height = layout.extent(g, r)
        return min(aspect / width, 1 / height)

    for other in all_rows(len(g)):
        if len(other) <= len(rows):
            assert scale(other) <= scale(rows) * 1.0001, other  # nothing with as few rows is larger
        else:  # more rows: larger by less than the penalty per extra row
            assert scale(other) < scale(rows) * layout.ROW_PENALTY ** (len(other) - len(rows)) * 1.0001, other


def test_wide_views_take_fewer_rows_than_tall_ones():
    assert len(layout.choose_rows(groups(), 4.0)) < len(layout.choose_rows(groups(), 0.8))


def test_boxes_and_stages_never_overlap_and_keep_network_order():
    g = groups()
    for rows in [(6,), (3, 1, 2), (1, 2, 1, 2), (1,) * 6]:
        placement = layout.place(g, rows)
        boxes = [b for group in g for b in group.boxes]
        rects = [(*placement.positions[b.name], b.width, b.height) for b in boxes]
        for i, (x, y, w, h) in enumerate(rects):
            for x2, y2, w2, h2 in rects[i + 1 :]:
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
        for a, b in zip(boxes, boxes[1:]):
            (xa, ya), (xb, yb) = placement.positions[a.name], placement.positions[b.name]
            assert (ya, xa) < (yb, xb) if placement.row_of[a.name] != placement.row_of[b.name] else xa < xb
        stages = list(placement.stages.values())
        for i, (x, y, w, h) in enumerate(stages):
            for x2, y2, w2, h2 in stages[i + 1 :]:
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
        assert placement.width == pytest.approx(layout.extent(g, rows)[0])
        assert placement.height == pytest.approx(layout.extent(g, rows)[1])


def test_edges_run_straight_in_a_row_and_wrap_below_it():
    g = groups()
    placement = layout.place(g, (3, 1, 2))
    a, b, c = g[3].boxes[0], g[3].boxes[1], g[2].boxes[-1]
    straight = layout.route(placement, a, b, 32)
    assert len(straight) == 2 and straight[0][1] == straight[1][1]
    wrapped = layout.route(placement, c, a, 32)  # layer2's last block to layer3's first, next row
    assert len(wrapped) == 6
    below = wrapped[2][1]
    assert below > placement.row_bottoms[0] and below < placement.positions[a.name][1]


def test_an_expanded_block_shows_the_summary_layers_split_by_path():
    summary = summarize()
    block = summary.blocks()["layer2.0"]
    main, shortcut, after, add, projection = block_layers("layer2.0", block, residual=True)
    assert [v.name for v in main] == [f"layer2.0.{n}" for n in ("conv1", "bn1", "act1", "conv2", "bn2", "act2", "conv3", "bn3")]
    assert [v.name for v in shortcut] == ["layer2.0.downsample.0", "layer2.0.downsample.1"]
    assert [v.name for v in after] == ["layer2.0.act3"] and add.name == "layer2.0.add"
    assert projection == "1×1 conv /2"
    assert main[3].text == "3×3 conv /2, 128"  # ResNet V1.5: the stride on the 3x3
    stem = block_layers("stem", summary.blocks()["stem"], residual=False)
    assert stem[1:] == ([], [], None, "") and [layer_text(layer) for layer in summary.blocks()["stem"].layers][-1] == "3×3 max-pool /2"
