"""The inspector dock: the numbers of the selected block or layer (shapes, parameters and their share
of the total, mult-adds, activation memory, receptive field, cumulative stride; for a layer its
kernel, stride, padding and, with weights loaded, the weight mean and std).

UI layer. Every number is read from ``explorer.core.network.summary.ModelSummary``, the same object behind
``resnet-explorer summary``, and formatted the way that table formats it; nothing is computed here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.network.counts import Layer
from explorer.core.network.summary import BlockSummary, HeadSummary, ModelSummary
from explorer.ui.common.text import BLOCK_KIND_TEXT, shape_text

# Rows in display order: (key, label).
FIELDS: tuple[tuple[str, str], ...] = (
    ("kind", "Kind"),
    ("stage", "Stage"),
    ("input", "Input shape"),
    ("output", "Output shape"),
    ("params", "Parameters"),
    ("mult_adds", "Mult-adds"),
    ("activation", "Activation memory"),
    ("receptive_field", "Receptive field"),
    ("stride", "Cumulative stride"),
    ("kernel", "Kernel"),
    ("conv_stride", "Stride"),
    ("padding", "Padding"),
    ("weights", "Weights"),
)


class Inspector(QWidget):
    """Shows one selected item; call ``set_summary`` once the summary is computed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._summary: ModelSummary | None = None
        self._stats: dict[str, tuple[float, float]] = {}
        self._current: str | None = None
        self._title = QLabel("Select a block in the diagram")
        self._title.setObjectName("inspector_title")
        font = self._title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self._title.setFont(font)
        self._title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._note = QLabel("")
        self._note.setWordWrap(True)
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._values: dict[str, QLabel] = {}
        for key, label in FIELDS:
            value = QLabel()
            value.setObjectName(f"inspector_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._form.addRow(label, value)
            self._values[key] = value
        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addLayout(self._form)
        layout.addWidget(self._note)
        layout.addStretch(1)
        self._render({})

    # -- public API -----------------------------------------------------------------------------

    def set_summary(self, summary: ModelSummary) -> None:
        self._summary = summary
        if self._current is not None:
            self.show_item(self._current)

    def set_weight_stats(self, stats: dict[str, tuple[float, float]]) -> None:
        """Per-layer weight (mean, std) of the loaded weights, keyed by module path."""
        self._stats = dict(stats)
        if self._current is not None:
            self.show_item(self._current)

    def current(self) -> str | None:
        return self._current

    def shown(self) -> dict[str, str]:
        """What the user sees: visible row label -> value text (the title under "Name")."""
        out = {"Name": self._title.text()}
        for key, label in FIELDS:
            if self._form.isRowVisible(self._values[key]):
                out[label] = self._values[key].text()
        return out

    def show_item(self, name: str) -> None:
        """Show a block ("stem", "layer2.0"), a layer path, an addition node or "head".

        Raises:
            KeyError: for a name that is neither (once the summary is there to check it against).
        """
        self._current = name
        self._title.setText(name)
        s = self._summary
        if s is None:
            self._render({})
            self._note.setText("Computing the architecture summary…")
            return
        blocks, layers = s.blocks(), s.layers()
        if name in blocks:
            rows = self._block_rows(blocks[name], s)
        elif name == "head":
            rows = self._head_rows(s.head, s)
        elif name in layers:
            rows = self._layer_rows(layers[name], s)
        elif name.endswith(".add") and name[: -len(".add")] in blocks:
            rows = self._add_rows(blocks[name[: -len(".add")]])
        else:
            raise KeyError(f"no block or layer named {name!r} in the summary")
        self._render(rows)
        self._note.setText(
            "Activation memory: float32 outputs of every layer, per image. "
            f"Summary at input {s.input_size[0]}×{s.input_size[1]}, {s.num_classes} classes."
        )

    # -- rows -----------------------------------------------------------------------------------

    def _render(self, rows: dict[str, str]) -> None:
        for key, _ in FIELDS:
            self._values[key].setText(rows.get(key, ""))
            self._form.setRowVisible(self._values[key], key in rows)

    @staticmethod
    def _common(item: BlockSummary | HeadSummary | Layer, s: ModelSummary) -> dict[str, str]:
        share = item.params / s.total_params
        mib = item.activation_bytes / 2**20
        return {
            "input": shape_text(item.input_shape),
            "output": shape_text(item.output_shape),
            "params": f"{item.params:,} ({share:.2%} of {s.total_params:,})",
            "mult_adds": f"{item.mult_adds:,}",
            "activation": f"{item.activation_bytes:,} bytes ({mib:,.2f} MiB)",
        }

    def _block_rows(self, block: BlockSummary, s: ModelSummary) -> dict[str, str]:
        return {
            "kind": BLOCK_KIND_TEXT[block.kind] if block.kind != "stem" else f"stem ({', '.join(layer.type for layer in block.layers)})",
            "stage": block.stage,
            **self._common(block, s),
            "receptive_field": f"{block.receptive_field} px",
            "stride": str(block.stride),
        }

    def _head_rows(self, head: HeadSummary, s: ModelSummary) -> dict[str, str]:
        return {"kind": BLOCK_KIND_TEXT["head"], **self._common(head, s)}

    def _layer_rows(self, layer: Layer, s: ModelSummary) -> dict[str, str]:
        rows = {
            "kind": layer.type + (" (projection shortcut)" if layer.shortcut else ""),
            **self._common(layer, s),
            "receptive_field": f"{layer.receptive_field} px",
            "stride": str(layer.stride),
        }
        if layer.kernel is not None:
            rows["kernel"] = f"{layer.kernel}×{layer.kernel}"
            rows["conv_stride"] = str(layer.conv_stride)
            rows["padding"] = str(layer.padding)
        if layer.params:
            stats = self._stats.get(layer.name) or self._stats.get(f"{layer.name}.weight")
            rows["weights"] = f"mean {stats[0]:+.4g}, std {stats[1]:.4g}" if stats else "load weights to see mean and std"
        return rows

    @staticmethod
    def _add_rows(block: BlockSummary) -> dict[str, str]:
        # The sum is not a module, so torchinfo records no row for it; its output is what the
        # block's final ReLU receives.
        shape = shape_text(block.layers[-1].input_shape)
        return {"kind": "addition F(x) + shortcut(x), no parameters", "input": f"2 × {shape}", "output": shape}
