"""Checks for user-supplied settings, each raising one ``InvalidError`` that names the fix."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidError


def positive_int(name: str, value: Any, *, minimum: int = 1, fix: str = "") -> int:
    """Return ``value`` if it is an int >= ``minimum`` (bools are rejected), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__
        raise InvalidError(
            f"{name} must be an int >= {minimum}, got {value!r} ({kind}). "
            f"{fix or f'Pass a whole number, e.g. {name}={max(minimum, 1)}.'}"
        )
    if value < minimum:
        raise InvalidError(
            f"{name} must be >= {minimum}, got {value!r}. "
            f"{fix or f'Pass a whole number, e.g. {name}={max(minimum, 1)}.'}"
        )
    return value


def optional_int(name: str, value: Any, *, minimum: int) -> int | None:
    return None if value is None else positive_int(name, value, minimum=minimum)


def non_negative_number(name: str, value: Any, *, allow_zero: bool = True) -> float:
    """Return ``value`` as a float if it is a real number (>= 0, or > 0 if not ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidError(
            f"{name} must be a number of seconds, got {value!r} ({type(value).__name__})."
        )
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidError(f"{name} must be {bound}, got {value!r}.")
    return float(value)
