"""The exceptions concur_nb raises: one type per kind of mistake or outcome."""

from __future__ import annotations


class Error(Exception):
    """The root of concur_nb's errors (``modal.exception.Error`` in the Modal names)."""


class InvalidError(Error, ValueError):
    """A decorator, setting or call was used wrongly; the message says what and how to fix it."""


class InputCancellation(BaseException):
    """Raised inside a running *sync* input when it is cancelled.

    It derives from ``BaseException`` (like ``asyncio.CancelledError``) so that a broad
    ``except Exception`` in user code does not swallow it. Async inputs get
    ``asyncio.CancelledError`` instead.
    """


class CallCancelledError(Error):
    """Raised to the caller of an input that was cancelled before it produced a result."""


class FunctionTimeoutError(TimeoutError, Error):
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


class CallTimeoutError(TimeoutError, Error):
    """``FunctionCall.get(timeout=...)`` found the call not done yet; it keeps running."""
