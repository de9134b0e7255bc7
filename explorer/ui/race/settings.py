"""The race view's knobs as a small Qt-free model: network, a second network for a depth race (He et
al. Fig. 6), steps, batch, learning rate (as typed), image size (0: the networks' own), seed, device,
data and whether to drop normalisation, and the ``RaceConfig`` of the next race. The form shows and
edits it; the panel runs what it says.

UI layer, pure Python over explorer.core.race.config (torch-free). ``changed`` is emitted with the
names of the fields that changed, so the form updates only those. Values are not refused here: a
race that cannot run says why in one line (:meth:`RaceSettings.config`), as the command does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from explorer.core.race.config import DIGITS, RaceConfig, check_data, validate
from explorer.ui.common.events import Event

DEFAULTS = RaceConfig()
AUTO_DEVICE = "auto"
AUTO_SIZE = 0  # the size knob's "auto": the networks' own side (RaceConfig.size None)
# The form's spin boxes: the core's lower bounds; the upper ones keep a typo from asking for hours.
# The size box's lowest value is AUTO_SIZE, shown as "auto"; 1 .. MIN_SIZE - 1 are refused by the core.
LIMITS = {"steps": (1, 10_000), "batch": (2, 1024), "size": (AUTO_SIZE, 512), "seed": (0, 2**31 - 1)}


@dataclass(frozen=True)
class RaceValues:
    """Every knob as the person set it (``lr`` as typed, so a bad number can be named)."""

    network: str = DEFAULTS.network
    depth_with: str = ""  # a second network: race both, each plain and residual (Fig. 6); "" for none
    steps: int = DEFAULTS.steps
    batch: int = DEFAULTS.batch
    lr: str = f"{DEFAULTS.lr:g}"
    size: int = AUTO_SIZE
    seed: int = DEFAULTS.seed
    device: str = AUTO_DEVICE
    data: str = DIGITS
    no_norm: bool = DEFAULTS.norm == "none"


class RaceSettings:
    """The knobs; ``changed(names: set[str])`` after every effective change."""

    def __init__(self) -> None:
        self.values = RaceValues()
        self.changed = Event()

    def set(self, **changes: Any) -> None:
        """Change knobs (an unknown name is a ValueError; values are checked by :meth:`config`)."""
        known = {f.name for f in fields(RaceValues)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"the race has no setting {', '.join(sorted(unknown))}")
        new = replace(self.values, **changes)
        changed = {name for name in known if getattr(new, name) != getattr(self.values, name)}
        if changed:
            self.values = new
            self.changed.emit(changed)

    def config(self) -> RaceConfig:
        """The next race's settings. Raises ValueError with one line naming what is wrong (a learning
        rate that is not a number, a value out of range, a data folder that does not exist)."""
        v = self.values
        try:
            lr = float(v.lr.strip())
        except ValueError:
            raise ValueError(f"learning rate {v.lr.strip()!r} is not a number") from None
        config = RaceConfig(
            network=v.network, depths=(v.network, v.depth_with) if v.depth_with else (), steps=v.steps, batch=v.batch,
            lr=lr, size=None if v.size == AUTO_SIZE else v.size, seed=v.seed,
            device=v.device.strip() or AUTO_DEVICE, data=v.data.strip() or DIGITS, norm="none" if v.no_norm else "batch",
        )
        validate(config)
        check_data(config)
        return config
