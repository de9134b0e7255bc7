"""The gradient lab's actions, declared once (explorer.ui.common.actions): run (Ctrl+R anywhere in
the window), cancel while a run is in flight, and export the shown run. The Lab and File menus and
the panel's buttons all show these.

UI layer, a table of plain data.
"""

from __future__ import annotations

from explorer.ui.common.actions import ActionSpec
from explorer.ui.common.run_controls import export_specs

LAB_ACTIONS = (
    ActionSpec("lab.run", "&Run gradient lab", lambda lab: lab.run(), shortcuts=("Ctrl+R",),
               tip="Run both variants with these settings"),
    ActionSpec("lab.cancel", "&Cancel run", lambda lab: lab.cancel(), lambda lab: lab.is_running(),
               tip="Stop the run in flight; the plot keeps the previous run"),
    *export_specs("lab"),
)
