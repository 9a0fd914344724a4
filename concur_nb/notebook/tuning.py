"""Sliders that reconfigure a running function live, beside its dashboard.

Example::

    call = f.spawn_map(range(100_000))   # work in the background keeps the kernel free
    concur_nb.tune(f)                    # move max_inputs; watch the slots follow

Each slider change calls ``fn.update(...)`` (validated by the engine); a rejected value is put
back and the reason shown under the sliders. Slider messages reach the kernel only while it is
idle, which is why the work must run in the background.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from .._errors import InvalidError
from ._protocol import Watchable
from .dashboard import Dashboard


def _int_slider(name: str, value: int, low: int, high: int) -> W.IntSlider:
    slider = W.IntSlider(
        value=value,
        min=low,
        max=max(high, value),
        description=name,
        continuous_update=False,  # one update when the user lets go, not one per pixel
        style={"description_width": "140px"},
        layout=W.Layout(width="420px"),
    )
    slider.add_class(f"cnb-tune-{name}")
    return slider


class Tuner:
    """``max_inputs``, ``target_inputs``, ``max_containers`` (0 = no limit), ``min_containers``
    and ``scaledown_window`` sliders bound to ``fn.update``, with a dashboard beside them."""

    def __init__(self, fn: Watchable, *, dashboard: Dashboard | bool = True) -> None:
        self.fn = fn
        s = fn.settings
        top = max(64, 4 * s.max_inputs)
        containers_top = max(16, 2 * (s.max_containers or 0), 2 * s.min_containers)
        self.max_inputs = _int_slider("max_inputs", s.max_inputs, 1, top)
        self.target_inputs = _int_slider("target_inputs", s.target, 1, top)
        self.max_containers = _int_slider(
            "max_containers", s.max_containers or 0, 0, containers_top
        )
        self.min_containers = _int_slider("min_containers", s.min_containers, 0, containers_top)
        self.scaledown_window = W.FloatLogSlider(
            value=s.scaledown_window,
            base=10,
            min=-1,
            max=3,
            description="scaledown_window",
            continuous_update=False,
            readout_format=".1f",
            style={"description_width": "140px"},
            layout=W.Layout(width="420px"),
        )
        self.scaledown_window.add_class("cnb-tune-scaledown_window")
        self.message = W.HTML()
        self.message.add_class("cnb-tune-message")
        self._syncing = False
        for slider in self.sliders:
            slider.observe(self._on_change, "value")
        self.dashboard: Dashboard | None
        if isinstance(dashboard, Dashboard):
            self.dashboard = dashboard
        else:
            self.dashboard = Dashboard(fn) if dashboard else None
        # Sliders in a row that wraps (two columns on a wide page), the view below them at
        # full width: side by side, the view was squeezed and the sliders left a hole.
        controls = W.VBox(
            [
                W.HTML(f"<b>tune {fn.name}</b>"),
                W.HBox(self.sliders, layout=W.Layout(flex_flow="row wrap")),
                self.message,
            ]
        )
        self.widget = W.VBox([controls] + ([self.dashboard.widget] if self.dashboard else []))
        self.widget.add_class("cnb-tuner")

    @property
    def sliders(self) -> list[W.ValueWidget]:
        return [
            self.max_inputs,
            self.target_inputs,
            self.max_containers,
            self.min_containers,
            self.scaledown_window,
        ]

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        name = change["owner"].description
        self.apply(name, change["new"])

    def apply(self, name: str, value: Any) -> None:
        """Set one setting as the slider ``name`` would (keeping target <= max)."""
        changes: dict[str, Any] = {name: value}
        current = self.fn.settings
        if name == "max_inputs" and current.target > value:
            changes["target_inputs"] = value  # lowering the cap pulls the target down with it
        elif name == "target_inputs" and value > current.max_inputs:
            changes["max_inputs"] = value
        elif name == "max_containers" and value == 0:
            changes["max_containers"] = None
        elif name == "max_containers" and value < current.min_containers:
            changes["min_containers"] = value
        elif (
            name == "min_containers"
            and current.max_containers is not None
            and value > current.max_containers
        ):
            changes["max_containers"] = value
        try:
            self.fn.update(**changes)
        except InvalidError as exc:
            self.message.value = f'<span style="color:#b00">{exc}</span>'
        else:
            shown = ", ".join(f"{k}={v}" for k, v in changes.items())
            self.message.value = f'<span style="color:#070">applied {shown}</span>'
        self.sync()
        if self.dashboard is not None:
            self.dashboard.poke()

    def sync(self) -> None:
        """Move the sliders to the function's current settings."""
        s = self.fn.settings
        self._syncing = True
        try:
            for slider, value in [
                (self.max_inputs, s.max_inputs),
                (self.target_inputs, s.target),
                (self.max_containers, s.max_containers or 0),
                (self.min_containers, s.min_containers),
                (self.scaledown_window, s.scaledown_window),
            ]:
                if isinstance(slider, W.IntSlider) and value > slider.max:
                    slider.max = value
                slider.value = value
        finally:
            self._syncing = False

    def __repr__(self) -> str:
        s = self.fn.settings
        return (
            f"tune({self.fn.name}): max_inputs={s.max_inputs} target_inputs={s.target} "
            f"max_containers={s.max_containers} min_containers={s.min_containers} "
            f"scaledown_window={s.scaledown_window}"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        if self.dashboard is not None:
            dash = self.dashboard._repr_mimebundle_()  # starts it live in a kernel
            bundle["text/html"] = dash["text/html"]
        return bundle


def tune(fn: Watchable, *, dashboard: Dashboard | bool = True) -> Tuner:
    """Sliders that reconfigure ``fn`` live (``fn.update``), with its dashboard beside them."""
    return Tuner(fn, dashboard=dashboard)
