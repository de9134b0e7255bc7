"""The theory lab's actions, declared once (explorer.ui.common.actions): run the shown tab's view, and
cancel while a run is in flight. The Lab menu and the panel's buttons show these.

UI layer, a table of plain data.
"""

from __future__ import annotations

from explorer.ui.common.actions import ActionSpec

THEORY_ACTIONS = (
    ActionSpec("theory.run", "Run &theory lab", lambda theory: theory.run(), tip="Measure the shown view with these settings"),
    ActionSpec("theory.cancel", "Cancel theory r&un", lambda theory: theory.cancel(), lambda theory: theory.is_running(),
               tip="Stop the run; the views keep their previous results"),
)
