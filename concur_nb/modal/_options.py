"""Modal's decorator options: which mean something here, which are cloud-only, and Modal's bounds.

Cloud-only options are accepted and ignored with one warning that points at the user's line,
and values Modal would reject are rejected here too, so code that runs locally also deploys.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from .._errors import InvalidError
from .._retries import Retries as _NativeRetries

# Options of app.function/app.cls/with_options that mean the same thing locally.
KEPT = frozenset(
    {"max_containers", "min_containers", "buffer_containers", "scaledown_window", "timeout"}
)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MAX_BATCH_SIZE = 1000
MAX_BATCH_WAIT_MS = 10 * 60 * 1000
SCALEDOWN_WINDOW_BOUNDS = (2, 3600)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by our caller point at the user's code.

    Frames inside the concur_nb package (decorators, wrappers) are skipped, however deep.
    """
    frame = sys._getframe(2)  # the frame that calls warnings.warn (our caller's caller is 2)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_ignored(where: str, names: list[str], why: str = "") -> None:
    """One warning naming every ignored cloud-only option, at the user's line."""
    reason = why or "they only mean something on Modal's cloud"
    warnings.warn(
        f"{where}: cloud-only parameter(s) {', '.join(sorted(names))} are ignored when running "
        f"locally with concur_nb ({reason}).",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def split(options: dict[str, Any], where: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The options concur_nb applies; warns once about the cloud-only ones that were set.

    An option left at Modal's default (``gpu=None``, ``volumes={}``) is not "set".
    """
    kept: dict[str, Any] = {}
    ignored = []
    for name, value in options.items():
        if name in KEPT:
            if value is not None:
                kept[name] = value
        elif name == "retries":
            if value is not None:
                kept["retries"] = check_retries(value)
        elif name in defaults and _same(value, defaults[name]):
            continue
        else:
            ignored.append(name)
    window = kept.get("scaledown_window")
    if window is not None:
        check_scaledown_window(window)
    if ignored:
        warn_ignored(where, ignored)
    return kept


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:
        return False


def check_scaledown_window(value: Any) -> Any:
    low, high = SCALEDOWN_WINDOW_BOUNDS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidError(
            f"scaledown_window must be between {low} and {high} seconds on Modal, got {value!r}."
        )
    return value


def check_batching(max_batch_size: Any, wait_ms: Any) -> None:
    """Modal's bounds for ``@modal.batched`` (the native checks apply too)."""
    if isinstance(max_batch_size, int) and not 1 <= max_batch_size <= MAX_BATCH_SIZE:
        raise InvalidError(
            f"max_batch_size must be between 1 and {MAX_BATCH_SIZE} on Modal, "
            f"got {max_batch_size!r}."
        )
    if isinstance(wait_ms, (int, float)) and not 0 <= wait_ms <= MAX_BATCH_WAIT_MS:
        raise InvalidError(
            f"wait_ms must be between 0 and {MAX_BATCH_WAIT_MS} (10 minutes) on Modal, "
            f"got {wait_ms!r}."
        )


class Retries(_NativeRetries):
    """``modal.Retries``: the native policy, within Modal's bounds.

    ``max_retries`` 0-10, ``backoff_coefficient`` 1-10, ``initial_delay`` 0-60 s,
    ``max_delay`` 1-60 s; values outside are an ``InvalidError`` as on Modal.
    """

    def __init__(
        self,
        *,
        max_retries: int,
        backoff_coefficient: float = 2.0,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        super().__init__(
            max_retries=max_retries,
            backoff_coefficient=backoff_coefficient,
            initial_delay=initial_delay,
            max_delay=max_delay,
        )
        _within("max_retries", max_retries, 0, 10)
        _within("backoff_coefficient", backoff_coefficient, 1.0, 10.0)
        _within("initial_delay", initial_delay, 0.0, 60.0)
        _within("max_delay", max_delay, 1.0, 60.0)


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidError(
            f"Retries({name}={value!r}) is out of Modal's bounds: it must be between "
            f"{low:g} and {high:g}."
        )


def check_retries(value: Any) -> Any:
    """``retries=`` as Modal takes it: an int 0-10 (1 s fixed delay) or a ``Retries``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Retries(max_retries=value, backoff_coefficient=1.0, initial_delay=1.0)
    if isinstance(value, _NativeRetries):
        if not isinstance(value, Retries):
            Retries(
                max_retries=value.max_retries,
                backoff_coefficient=value.backoff_coefficient,
                initial_delay=value.initial_delay,
                max_delay=value.max_delay,
            )
        return value
    raise InvalidError(
        "retries must be an int or modal.Retries(...), got "
        f"{value!r} ({type(value).__name__}). Example: retries=3."
    )
