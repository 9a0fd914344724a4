"""Deliver an exception into one running thread, and take it back if it came too late.

CPython raises an asynchronous exception in the target thread at its next bytecode check, so
a thread blocked in C code (``time.sleep``, a socket read) sees it only once that call returns.
"""

from __future__ import annotations

import ctypes

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    """Ask ``thread_id`` to raise ``exc_type``; False if no such thread."""
    return _set_async_exc(thread_id, exc_type) == 1


def clear_pending(thread_id: int) -> None:
    """Drop an asynchronous exception that was set for ``thread_id`` and has not fired yet."""
    _set_async_exc(thread_id, ctypes.py_object())  # NULL clears
