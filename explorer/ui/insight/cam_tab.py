"""The Insight panel's Grad-CAM tab: the heat map of any of the image's top-5 classes at the output of
stage 1 to 5, blended over the crop the network saw; the opacity slider and colour map re-blend the
stored heat map without recomputing it (Selvaraju et al. 2017).

UI layer (Qt widgets). It renders a ``CamView`` computed by ``insight.host``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from explorer.core.insight.gradcam import COLORMAPS, DEFAULT_STAGE, STAGES, overlay
from explorer.core.network.blocks import stage_outputs
from explorer.ui.common.pixmaps import rgb_pixmap
from explorer.ui.common.widgets import buddy, wrapping_label
from explorer.ui.insight.host import CamView

CAM_PX = 360


def stage_title(stage: int) -> str:
    """``"3 (layer2)"``: the stage's number and the module whose output it is."""
    return f"{stage} ({stage_outputs()[stage]})"


class CamTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view: CamView | None = None
        self._blended: Image.Image | None = None
        self.stage_box = QComboBox()
        for stage in STAGES:
            self.stage_box.addItem(stage_title(stage), stage)
        self.stage_box.setCurrentIndex(self.stage_box.findData(DEFAULT_STAGE))
        self.class_box = QComboBox()
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_box.setMinimumContentsLength(16)
        self.class_box.setToolTip("Any of the image's top-5 classes")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Opacity of the heat map over the image")
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(COLORMAPS)
        self.cam_label = wrapping_label()
        form = QFormLayout()
        form.addRow(buddy("&Stage", self.stage_box), self.stage_box)
        form.addRow(buddy("Cla&ss", self.class_box), self.class_box)
        form.addRow(buddy("&Opacity", self.opacity_slider), self.opacity_slider)
        form.addRow(buddy("Colour &map", self.colormap_box), self.colormap_box)
        form.addRow(self.cam_label)
        self.cam_picture = QLabel()
        self.cam_picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_picture.setMinimumSize(160, 160)
        self.cam_picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        side = QWidget()
        side.setLayout(form)
        row = QHBoxLayout(self)
        row.addWidget(side)
        row.addWidget(self.cam_picture, 1)
        self.opacity_slider.valueChanged.connect(self._blend)
        self.colormap_box.currentIndexChanged.connect(self._blend)

    def want(self) -> tuple:
        """The stage and class asked for (None: the top-1)."""
        return (self.stage_box.currentData(), self.class_box.currentData())

    def show_cam(self, view: CamView, class_names: tuple[str, ...]) -> None:
        """Fill the class box with the image's top-5 (and the asked class), then blend."""
        self._view = view
        cam = view.cam
        with QSignalBlocker(self.class_box):
            self.class_box.clear()
            for index, prob in cam.top:
                self.class_box.addItem(f"{class_names[index]} ({prob:.1%})", index)
            if self.class_box.findData(cam.class_index) < 0:  # a class outside the top-5 was asked for
                self.class_box.addItem(f"{class_names[cam.class_index]} ({cam.class_prob:.1%})", cam.class_index)
            self.class_box.setCurrentIndex(self.class_box.findData(cam.class_index))
        self.cam_label.setText(
            f"Grad-CAM of “{class_names[cam.class_index]}” ({cam.class_prob:.1%}) at the output of stage "
            f"{stage_title(cam.stage)}: where evidence for the class lies, scaled to its maximum (Selvaraju et al. 2017)."
        )
        self._blend()

    def result(self) -> CamView | None:
        return self._view

    def blended(self) -> Image.Image | None:
        """The picture shown: the heat map over the crop at the slider's opacity."""
        return self._blended

    def clear(self) -> None:
        self._view, self._blended = None, None
        with QSignalBlocker(self.class_box):
            self.class_box.clear()  # the new image's (or weights') own top-1 first
        self.cam_picture.clear()
        self.cam_label.setText("")

    def _blend(self, *_: object) -> None:
        """Blend the heat map over the picture at the slider's opacity: no model involved."""
        if self._view is None:
            return
        picture = Image.fromarray(self._view.picture)
        self._blended = overlay(picture, self._view.cam.heatmap, self.opacity_slider.value() / 100, self.colormap_box.currentText())
        self.cam_picture.setPixmap(rgb_pixmap(np.asarray(self._blended), CAM_PX))
