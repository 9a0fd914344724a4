"""Which containers a function runs on: the ``backend=`` setting, checked and resolved."""

from __future__ import annotations

import os
from typing import Any

from .._errors import InvalidError
from .base import Backend, Target
from .local import LocalBackend


def check_backend(choice: Any) -> None:
    """Fail at decoration, not at the first call, for a ``backend=`` that names nothing."""
    known = choice is None or choice in ("local", "thread", "asyncio", "process")
    if not known and not (hasattr(choice, "create") and hasattr(choice, "max_containers")):
        raise InvalidError(
            f"backend must be None, 'thread', 'asyncio', 'process', concur_nb.ssh(...) or "
            f"concur_nb.ray(...), "
            f"got {choice!r}."
        )


def resolve_backend(choice: Any, target: Target) -> tuple[Backend, str, int | None]:
    """The backend, its display name, and its default ``max_containers``.

    In-process containers share one interpreter, so by default there is one of them (set
    ``max_containers`` to watch the autoscaler add more); worker processes default to one per
    CPU; remote hosts to what the hosts offer.
    """
    if choice is None or choice in ("local", "thread", "asyncio"):
        label = "asyncio" if target.async_methods else "thread"
        return LocalBackend(), label, 1
    if choice == "process":
        from .process import ProcessBackend

        return ProcessBackend(), "process", os.cpu_count() or 1
    if hasattr(choice, "create") and hasattr(choice, "max_containers"):
        label = str(getattr(choice, "name", type(choice).__name__))
        return choice, label, choice.max_containers()
    check_backend(choice)
    raise AssertionError("unreachable")
