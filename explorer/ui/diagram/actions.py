"""The diagram's actions, declared once (explorer.ui.common.actions): zoom, fit, fold the long
stages again and find a block by name. The View menu shows them; the zoom keys act while the
diagram has the focus, Ctrl+F anywhere in the window.

UI layer, a table of plain data.
"""

from __future__ import annotations

from explorer.ui.common.actions import ActionSpec

DIAGRAM_ACTIONS = (
    ActionSpec("diagram.zoom_in", "Zoom in", lambda view: view.zoom_in(), shortcuts=("ZoomIn", "Ctrl+="), widget_only=True),
    ActionSpec("diagram.zoom_out", "Zoom out", lambda view: view.zoom_out(), shortcuts=("ZoomOut",), widget_only=True),
    ActionSpec("diagram.fit", "Fit diagram", lambda view: view.fit(), shortcuts=("Ctrl+0",), widget_only=True),
    ActionSpec("diagram.fold", "Fold long stages", lambda view: view.fold_all(), lambda view: view.can_fold(),
               ("Ctrl+Shift+F",), tip="Fold every long stage's identity blocks into one box again", widget_only=True),
    ActionSpec("diagram.find", "&Find block…", lambda view: view.find_bar.start(), shortcuts=("Find",),
               tip="Type a block or layer name (layer3.2, layer3.2.conv2) and press Enter"),
)
