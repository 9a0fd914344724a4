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


MAX_SECONDS = 10**9  # about 31 years: a larger duration is a mistake (and 10**400 breaks float)


def shown(value: Any) -> str:
    """``repr(value)`` kept short: a huge int is shown by its size, not its 400 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return f"an int of about 10**{int(abs(value).bit_length() * 0.30103)}"
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def non_negative_number(
    name: str,
    value: Any,
    *,
    allow_zero: bool = True,
    maximum: float = MAX_SECONDS,
    fix: str = "",
) -> float:
    """Return ``value`` as a float if it is a finite real number in range.

    The range is ``0 <= value <= maximum`` (``0 < value`` if not ``allow_zero``); NaN and
    infinities are refused, since they would silently turn a timer off or overflow it.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidError(
            f"{name} must be a number of seconds, got {shown(value)} ({type(value).__name__})."
            + (f" {fix}" if fix else "")
        )
    bound = ">= 0" if allow_zero else "> 0"
    if value != value:
        raise InvalidError(f"{name} must be a number {bound}, got nan. {fix}".rstrip())
    if value > maximum:  # compared before float(): float(10**400) raises OverflowError
        raise InvalidError(
            f"{name} must be at most {maximum:,.0f}, got {shown(value)}. "
            f"{fix or f'Pass a finite number, e.g. {name}=60.'}"
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidError(f"{name} must be {bound}, got {shown(value)}. {fix}".rstrip())
    return float(value)
