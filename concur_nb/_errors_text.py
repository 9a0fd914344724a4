"""Text for an exception that never raises, whatever the exception's own ``__str__`` does.

The engine formats the exceptions of user code in its own bookkeeping (an input's error line,
a container's failure). An exception whose ``__str__`` or ``__repr__`` raises must not break
that bookkeeping, so every such place goes through ``describe``.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_CHARS = 10_000  # an error line is shown in widgets and logs; a megabyte message is not


def describe(exc: BaseException) -> str:
    """``"TypeName: message"`` for ``exc``, or what can still be said when formatting fails.

    >>> describe(ValueError("bad"))
    'ValueError: bad'
    """
    name = _type_name(exc)
    text = _safe(str, exc)
    if text is None:
        shown = _safe(repr, exc)
        text = f"<str() of the exception failed; repr: {shown}>" if shown is not None else ""
        text = text or "<str() and repr() of the exception failed>"
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"... ({len(text) - MAX_CHARS} more characters)"
    return f"{name}: {text}" if text else name


def safe_str(exc: BaseException) -> str:
    """``str(exc)``, or ``describe(exc)`` when that raises."""
    text = _safe(str, exc)
    return text if text is not None else describe(exc)


def safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder naming its type when that raises."""
    shown = _safe(repr, value)
    return shown if shown is not None else f"<{_type_name(value)} object (repr() failed)>"


def _type_name(value: object) -> str:
    try:
        return str(type(value).__name__)
    except BaseException:  # a metaclass may do anything; nothing here may raise
        return "<unknown type>"


def _safe(format_: Callable[[object], object], value: object) -> str | None:
    try:
        text = format_(value)
        return text if isinstance(text, str) else None
    except Exception:
        return None
