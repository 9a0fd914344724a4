"""Describing an exception in one line, whatever the exception does."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """``"TypeName: message"``; never raises, even when the exception's ``__str__`` does."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:  # a user's __str__ may raise anything; the engine must go on
        try:
            text = repr(exc)
        except BaseException:
            text = "<the exception's message could not be read>"
    return f"{name}: {text}" if text else name
