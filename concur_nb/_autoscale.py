"""The autoscaling policy: a pure function from load and settings to a decision.

Scale-up is immediate: when demand (inputs in flight plus queued) exceeds ``target_inputs``
times the containers that are up or starting, more are started, and meanwhile the running ones
may burst up to ``max_inputs``. Scale-down is the hysteresis: a container retires only after it
has been idle for ``scaledown_window`` *and* fewer containers would still carry the demand, so
load that wobbles around a boundary never makes containers flap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ._settings import Settings


@dataclasses.dataclass(frozen=True)
class ContainerLoad:
    id: str
    status: str  # "starting" | "running" | "draining"
    in_use: int
    idle_since: float | None  # when it last became idle; None while busy or starting


@dataclasses.dataclass(frozen=True)
class Decision:
    start: int = 0
    retire: tuple[str, ...] = ()
    reason: str = ""
    next_check: float | None = None  # when the policy should be asked again, with no new event

    @property
    def changes_anything(self) -> bool:
        return self.start > 0 or bool(self.retire)


def wanted_containers(demand: int, settings: Settings) -> int:
    """How many containers should be up for ``demand`` inputs (in flight + queued)."""
    wanted = math.ceil(demand / settings.target)
    if demand > 0:
        wanted += settings.buffer_containers
    wanted = max(wanted, settings.min_containers)
    if settings.max_containers is not None:
        wanted = min(wanted, settings.max_containers)
    return wanted


def decide(
    containers: Sequence[ContainerLoad], demand: int, settings: Settings, now: float
) -> Decision:
    """Decide what to start or retire now, given the containers and the demand."""
    active = [c for c in containers if c.status != "draining"]
    wanted = wanted_containers(demand, settings)
    have = len(active)
    if wanted > have:
        return Decision(
            start=wanted - have,
            reason=_why_up(demand, settings, have, wanted),
        )
    if wanted == have:
        return Decision()
    # Scale down: only containers idle for the whole window, oldest idle first.
    idle = sorted(
        (c for c in active if c.status == "running" and c.in_use == 0 and c.idle_since is not None),
        key=lambda c: c.idle_since or 0.0,
    )
    window = settings.scaledown_window
    due = [c for c in idle if now - (c.idle_since or 0.0) >= window]
    retire = tuple(c.id for c in due[: have - wanted])
    pending = [(c.idle_since or 0.0) + window for c in idle if c not in due]
    next_check = min(pending) if pending and len(retire) < have - wanted else None
    if not retire:
        return Decision(next_check=next_check)
    reason = (
        f"{len(retire)} container(s) idle for >= {window:g}s; demand {demand} needs "
        f"{wanted} (target_inputs={settings.target}, min_containers={settings.min_containers})"
    )
    return Decision(retire=retire, reason=reason, next_check=next_check)


def _why_up(demand: int, settings: Settings, have: int, wanted: int) -> str:
    if demand == 0 or (wanted == settings.min_containers and demand <= settings.target * have):
        return f"min_containers={settings.min_containers}"
    reason = f"demand {demand} > target_inputs={settings.target} x {have} container(s)"
    if settings.buffer_containers:
        reason += f" (+{settings.buffer_containers} buffer)"
    return reason
