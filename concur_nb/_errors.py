"""concur_nb's errors: one root, and Modal's names and base classes for what Modal also raises.

The classes the engine raises are the very classes ``concur_nb.modal.exception`` exports, so
``except modal.exception.Error`` catches here what it catches on Modal. Where a class also
derives from a builtin (``InvalidError`` from ``ValueError``, the timeouts from the builtin
``TimeoutError``), that is an addition to Modal's bases, never a replacement.
"""

from __future__ import annotations

import builtins


class Error(Exception):
    """The root of concur_nb's errors (``modal.exception.Error`` in the Modal names)."""


class InvalidError(Error, ValueError):
    """A decorator, setting or call was used wrongly; the message says what and how to fix it."""


class NotFoundError(Error):
    """A name looked up (an app, a function, a ``Dict`` or ``Queue``) does not exist here."""


class ExecutionError(Error):
    """Something went wrong running the user's code in a way that is not the code's own error."""


class InputCancellation(BaseException):
    """Raised inside a running *sync* input when it is cancelled.

    It derives from ``BaseException`` (like ``asyncio.CancelledError``) so that a broad
    ``except Exception`` in user code does not swallow it. Async inputs get
    ``asyncio.CancelledError`` instead.
    """


class CallCancelledError(Error):
    """Raised to the caller of an input that was cancelled before it produced a result."""


class TimeoutError(Error, builtins.TimeoutError):
    """Something took longer than allowed (``modal.exception.TimeoutError``).

    It is also a builtin ``TimeoutError``, so ``except TimeoutError`` keeps catching it.
    """


class FunctionTimeoutError(TimeoutError):
    """An attempt of an input ran longer than the function's ``timeout``."""


class RemoteError(Error):
    """An input failed in another process and its exception could not be rebuilt here.

    ``remote_traceback`` holds the traceback text from the worker.
    """

    def __init__(self, message: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        base = super().__str__()
        return (
            f"{base}\n\nRemote traceback:\n{self.remote_traceback}"
            if self.remote_traceback
            else base
        )


class ContainerError(Error, RuntimeError):
    """A container failed to start or died (process exited, SSH link dropped)."""


class CallTimeoutError(TimeoutError):
    """``FunctionCall.get(timeout=...)`` found the call not done yet; it keeps running."""
