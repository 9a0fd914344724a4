"""Modal's rules on the native variant and autoscaler methods (``with_options``,
``with_concurrency``, ``with_batching``, ``autoscaler``, ``update_autoscaler``).

The native ``concur_nb.Function``/``Cls`` implement them; through ``concur_nb.modal`` they also
warn once about cloud-only options, apply Modal's bounds (``scaledown_window`` 2-3600 s,
``Retries``, batch sizes), and return Modal handles. Where the native method does not exist,
neither does the Modal one (``AttributeError``), so a missing feature never looks present.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _options

# What ``with_options`` leaves at Modal's defaults draws no warning.
_WITH_OPTIONS_DEFAULTS: dict[str, Any] = {
    "cpu": None,
    "memory": None,
    "gpu": None,
    "env": None,
    "secrets": None,
    "volumes": None,
    "region": None,
    "cloud": None,
    "routing_region": None,
}


def native(handle: Any, owner: type, name: str) -> Any:
    """The native implementation of ``name`` on ``handle`` (an attribute or a method)."""
    found = vars(handle).get(name)
    if found is not None:
        return found
    try:
        return getattr(super(owner, handle), name)
    except AttributeError:
        raise AttributeError(
            f"{owner.__name__} {handle.name!r} has no {name!r}: this build of concur_nb lacks "
            f"the native concur_nb.{owner.__name__}.{name}."
        ) from None


class _Autoscaler:
    """``f.autoscaler``: the native one, with Modal's ``scaledown_window`` bounds on update."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def update(self, **changes: Any) -> Any:
        if changes.get("scaledown_window") is not None:
            _options.check_scaledown_window(changes["scaledown_window"])
        return self._inner.update(**changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def autoscaler(handle: Any, owner: type) -> _Autoscaler:
    return _Autoscaler(native(handle, owner, "autoscaler"))


def update_autoscaler(handle: Any, owner: type) -> Callable[..., Any]:
    inner = native(handle, owner, "update_autoscaler")

    def update_autoscaler(
        *,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
    ) -> Any:
        if scaledown_window is not None:
            _options.check_scaledown_window(scaledown_window)
        return inner(
            min_containers=min_containers,
            max_containers=max_containers,
            buffer_containers=buffer_containers,
            scaledown_window=scaledown_window,
        )

    return update_autoscaler


def with_options(handle: Any, owner: type, adopt: Callable[[Any], Any]) -> Callable[..., Any]:
    inner = native(handle, owner, "with_options")

    def with_options(
        *,
        cpu: Any = None,
        memory: Any = None,
        gpu: Any = None,
        env: Any = None,
        secrets: Any = None,
        volumes: Any = None,
        retries: Any = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
        timeout: int | None = None,
        region: Any = None,
        cloud: Any = None,
        routing_region: Any = None,
    ) -> Any:
        """A variant with these options: its own pool, autoscaled on its own."""
        options = dict(locals())
        options.pop("inner", None)
        options.pop("adopt", None)
        kept = _options.split(options, "with_options", _WITH_OPTIONS_DEFAULTS)
        return adopt(inner(**kept))

    return with_options


def with_concurrency(handle: Any, owner: type, adopt: Callable[[Any], Any]) -> Callable[..., Any]:
    inner = native(handle, owner, "with_concurrency")

    def with_concurrency(*, max_inputs: int, target_inputs: int | None = None) -> Any:
        """A variant running up to ``max_inputs`` inputs per container."""
        return adopt(inner(max_inputs=max_inputs, target_inputs=target_inputs))

    return with_concurrency


def with_batching(handle: Any, owner: type, adopt: Callable[[Any], Any]) -> Callable[..., Any]:
    inner = native(handle, owner, "with_batching")

    def with_batching(*, max_batch_size: int, wait_ms: int) -> Any:
        """A variant that batches (Modal's bounds: 1-1000 inputs, 0-600000 ms)."""
        _options.check_batching(max_batch_size, wait_ms)
        return adopt(inner(max_batch_size=max_batch_size, wait_ms=wait_ms))

    return with_batching
