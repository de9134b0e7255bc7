"""The race's actions, declared once (explorer.ui.common.actions): run, cancel while a race is in
flight, and export the finished race. The Lab menu and the panel's buttons show these.

UI layer, a table of plain data.
"""

from __future__ import annotations

from explorer.ui.common.actions import ActionSpec
from explorer.ui.common.run_controls import export_specs

RACE_ACTIONS = (
    ActionSpec("race.run", "Run &race", lambda race: race.run(), tip="Train both networks with these settings"),
    ActionSpec("race.cancel", "Cancel r&ace", lambda race: race.cancel(), lambda race: race.is_running(),
               tip="Stop the race; the plots keep the steps done"),
    *export_specs("race"),
)
