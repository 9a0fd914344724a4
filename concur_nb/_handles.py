"""User handles: what every handle has, and the registry of handles that
``concur_nb.functions()`` reads (``Function`` is in ``_function.py``, ``Cls`` and its instances
in ``_classes.py``).

A handle owns its settings and, from its first use, one pool of containers. A method of a class
is a ``Function`` whose pool is its class's: everything about containers goes to the class.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ._clock import Clock, MonotonicClock
from ._containers.base import Target
from ._containers.choice import resolve_backend
from ._control import Autoscaler, FunctionCurrentStats, current_stats
from ._errors import InvalidError
from ._pool import Pool
from ._queues import BatchSpec
from ._settings import Settings
from ._state import Event, FunctionSnapshot, InputInfo, LoadSample, LogLine
from ._timers import timers
from ._variants import CLOUD_ONLY, Variants, batching_option, warn_cloud_only

_UNSET: Any = object()
H = TypeVar("H", bound="_Handle")

# --- the registry -----------------------------------------------------------------------------

_registry_lock = threading.Lock()
_registry: list[weakref.ref[_Handle]] = []


def register(handle: _Handle) -> None:
    """Remember a handle for ``concur_nb.functions()`` (weakly: a dropped handle is forgotten)."""
    with _registry_lock:
        _registry[:] = [r for r in _registry if r() is not None]
        _registry.append(weakref.ref(handle))


def handles() -> list[_Handle]:
    """Every registered function and class still referenced, oldest first."""
    with _registry_lock:
        alive = [r() for r in _registry]
    return [h for h in alive if h is not None]


def positive_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidError(f"name must be a non-empty string, got {value!r}.")
    return value


# --- what every handle has --------------------------------------------------------------------


class _Handle:
    """What a ``Function`` and a ``Cls`` share: settings, the pool, and state for front-ends."""

    def __init__(self, name: str, *, registered: bool = True) -> None:
        self.name = name
        self._settings = Settings()
        self._backend: Any = None
        self._clock: Clock | None = None
        self._pool: Pool | None = None
        self._pool_lock = threading.Lock()
        self._variants = Variants()
        self._variant_of: _Handle | None = None
        self._variant_options: dict[str, Any] = {}
        if registered:
            register(self)

    def _home(self) -> _Handle:
        """The handle that owns the settings and the pool (a method's is its class)."""
        return self

    # -- configuration, before first use
    def _configure(self, **settings: Any) -> None:
        if self._pool is not None:
            raise InvalidError(
                f"{self.name} is already running; change its settings with "
                f"{self.name}.update(...) instead of decorating it again."
            )
        for key in ("backend", "clock", "name"):
            value = settings.pop(key, _UNSET)
            if value is _UNSET or value is None:
                continue
            if key == "name":
                self.name = positive_name(value)
            else:
                setattr(self, f"_{key}", value)
        self._settings = self._settings.replaced(**settings)

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        raise NotImplementedError

    def _pool_now(self) -> Pool:
        home = self._home()
        if home is not self:
            return home._pool_now()
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is None:
                target, batching = self._make_target()
                backend, label, default_max = resolve_backend(self._backend, target)
                clock = self._clock or MonotonicClock()
                pool = Pool(
                    self.name,
                    target,
                    self._settings,
                    backend,
                    timers,
                    clock,
                    batching,
                    label,
                    default_max,
                )
                timers.add(pool)
                pool.start()  # brings up min_containers
                self._pool = pool
            return self._pool

    # -- what front-ends read
    @property
    def settings(self) -> Settings:
        """A copy of the current settings."""
        home = self._home()
        pool = home._pool
        source = pool.settings if pool is not None else home._settings
        return source.replaced()

    @property
    def backend_name(self) -> str:
        return self._pool_now().backend_label

    def update(self, **changes: Any) -> Settings:
        """Change ``max_inputs``, ``target_inputs`` or autoscaler settings, even mid-run.

        Lowering ``max_inputs`` never cancels running inputs; it only stops new ones from
        starting until the count is below the new cap.
        """
        home = self._home()
        if home._pool is None:
            home._settings = home._settings.replaced(**changes)
            return home._settings.replaced()
        return home._pool.update(**changes).replaced()

    def snapshot(self) -> FunctionSnapshot:
        return self._pool_now().snapshot()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event (from engine threads: keep it quick)."""
        return self._pool_now().events.subscribe(callback)

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        return self._pool_now().ledger.inputs(limit)

    def logs(self, input_id: str) -> list[LogLine]:
        return self._pool_now().ledger.logs(input_id)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        return self._pool_now().ledger.search_logs(text, limit)

    def history(self, since: float | None = None) -> list[LoadSample]:
        """The function's load over time (clock time, ~10 samples a second while it works),
        from ``since`` on; views draw a call's history from its start."""
        return self._pool_now().ledger.history.since(since)

    def cancel_input(self, input_id: str) -> bool:
        """Cancel one input by id; False if it is unknown or already finished."""
        pool = self._pool_now()
        inp = pool.ledger.find_input(input_id)
        if inp is None or inp.settled:
            return False
        pool.cancel([inp])
        return True

    def cancel_all(self) -> None:
        """Cancel every queued and running input."""
        self._pool_now().cancel_all()

    @property
    def closed(self) -> bool:
        """True once the function was shut down (define it again to use it)."""
        pool = self._home()._pool
        return pool is not None and pool.closed

    def shutdown(self) -> None:
        """Cancel everything and retire every container of this function (a method's: its
        class's, as all its methods share them)."""
        pool = self._home()._pool
        if pool is not None:
            pool.shutdown()

    # -- Modal 1.6's names
    @property
    def autoscaler(self) -> Autoscaler:
        """``f.autoscaler.update(max_containers=4)`` while it runs; ``.settings()`` reads."""
        return Autoscaler(self._home())

    def update_autoscaler(
        self,
        *,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
    ) -> None:
        """Deprecated: use ``f.autoscaler.update(...)`` (the same parameters)."""
        changes = {k: v for k, v in locals().items() if k != "self"}
        message = f"{self.name}.update_autoscaler(...) is deprecated; use .autoscaler.update(...)."
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        self.autoscaler.update(**changes)

    def get_current_stats(self) -> FunctionCurrentStats:
        """Backlog, containers, running inputs and free slots, now."""
        return current_stats(self.snapshot())

    def hydrate(self: H, client: Any = None) -> H:
        """Modal's lookup step; locally there is nothing to look up."""
        return self

    def with_options(
        self: H,
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
        scaledown_window: float | None = None,
        timeout: float | None = None,
        region: Any = None,
        cloud: Any = None,
        routing_region: Any = None,
    ) -> H:
        """A variant with other run settings, in its own containers (cloud-only ones ignored)."""
        options = {k: v for k, v in locals().items() if k != "self"}
        cloud_only = {k: options.pop(k) for k in CLOUD_ONLY}
        warn_cloud_only(f"{self.name}.with_options", cloud_only)
        return self._variant({k: v for k, v in options.items() if v is not None})

    def with_concurrency(self: H, *, max_inputs: int, target_inputs: int | None = None) -> H:
        """A variant whose containers run up to ``max_inputs`` inputs at once, in its own
        containers: ``fetch.with_concurrency(max_inputs=4).map(urls)``."""
        return self._variant({"max_inputs": max_inputs, "target_inputs": target_inputs})

    def with_batching(self: H, *, max_batch_size: int, wait_ms: int) -> H:
        """A variant that gets lists of up to ``max_batch_size`` inputs (see ``@batched``)."""
        return self._variant(batching_option(max_batch_size, wait_ms))

    def _variant(self: H, options: dict[str, Any]) -> H:
        if self._home() is not self:
            raise InvalidError(
                f"{self.name} is a method: make a variant of its class instead, e.g. "
                f"{self._home().name}.with_options(...)().{self.name.rsplit('.', 1)[-1]}."
            )
        root = self._variant_of or self
        merged = {**self._variant_options, **options}
        return cast(H, root._variants.get(merged, root.settings, root._make_variant))

    def _make_variant(self: H, options: dict[str, Any], settings: Settings) -> H:
        raise NotImplementedError

    def _adopt(self, root: _Handle, options: dict[str, Any], settings: Settings) -> None:
        """Become ``root``'s variant for ``options``: its settings, backend and clock."""
        self._settings = settings
        self._backend, self._clock = root._backend, root._clock
        self._variant_of, self._variant_options = root, options
