"""Variants: ``f.with_concurrency(...)``, ``f.with_batching(...)``, ``f.with_options(...)``.

A variant runs the same user function (or class) with other settings, in its own pool of
containers, autoscaled on its own and shown as its own function (``fetch[max_inputs=4]``).
Variants are made once per option set and kept by the function they came from, so asking twice
for the same options gives the same variant (and its warm containers).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from ._markers import batch_spec
from ._settings import Settings

H = TypeVar("H")

# Parameters of Modal's ``with_options`` that only mean something in Modal's cloud.
CLOUD_ONLY = (
    "cpu",
    "memory",
    "gpu",
    "env",
    "secrets",
    "volumes",
    "region",
    "cloud",
    "routing_region",
)


def warn_cloud_only(where: str, options: dict[str, Any]) -> None:
    given = sorted(k for k, v in options.items() if v is not None and v != {})
    if given:
        warnings.warn(
            f"{where}: cloud-only parameter(s) {', '.join(given)} are ignored when running "
            "locally with concur_nb.",
            UserWarning,
            stacklevel=3,
        )


def batching_option(max_batch_size: Any, wait_ms: Any) -> dict[str, Any]:
    """The ``batching`` option of a variant, validated as ``@batched`` validates it."""
    return {"batching": batch_spec(max_batch_size, wait_ms)}


def variant_name(root: str, options: dict[str, Any]) -> str:
    shown = []
    for key, value in options.items():
        if value is None:  # a default restored (target_inputs=None): nothing to show
            continue
        if key == "batching":
            shown += [f"max_batch_size={value[0]}", f"wait_ms={value[1]:g}"]
        else:
            shown.append(f"{key}={value!r}")
    return f"{root}[{', '.join(shown)}]"


def settings_part(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "batching"}


class Variants:
    """The variants made from one function or class, by option set."""

    def __init__(self) -> None:
        self._made: dict[tuple[tuple[str, str], ...], Any] = {}
        self._lock = threading.Lock()

    def get(
        self,
        options: dict[str, Any],
        base: Settings,
        make: Callable[[dict[str, Any], Settings], H],
    ) -> H:
        """The variant for ``options`` (made with ``make(options, settings)`` the first time).

        The settings are checked here, so a bad value fails at ``with_options``, not later.
        """
        settings = base.replaced(**settings_part(options))
        key = tuple(sorted((k, repr(v)) for k, v in options.items()))
        with self._lock:
            made = self._made.get(key)
            if made is None or made.closed:
                made = self._made[key] = make(options, settings)
            return made
