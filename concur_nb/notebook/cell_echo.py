"""Streaming inputs' output into the cell that made the call ("cell" echo, in a kernel).

ipykernel 7 sends what a thread writes to the cell named by a context variable (the parent
message), so output from an engine thread lands in whichever cell that thread last saw. The
cell that made a call is remembered when the call is made (``note_call``), and each echoed
block of whole lines is written with that parent set, then the thread's own put back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, TextIO

from ._env import ipython

_KEEP = 1024  # calls remembered; the oldest are forgotten first


class CellRouter:
    """Remembers the parent message of each call and writes echoed lines under it."""

    def __init__(self, kernel: Any) -> None:
        self._kernel = kernel
        self._parents: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def install(cls) -> CellRouter | None:
        shell = ipython()
        kernel = getattr(shell, "kernel", None)
        return None if kernel is None else cls(kernel)

    def current_parent(self) -> Any:
        get_parent = getattr(self._kernel, "get_parent", None)
        try:
            return get_parent("shell") if get_parent is not None else None
        except Exception:  # an older kernel: no per-channel parents
            return None

    def note_call(self, call_id: str) -> None:
        parent = self.current_parent()
        with self._lock:
            self._parents[call_id] = parent
            while len(self._parents) > _KEEP:
                self._parents.popitem(last=False)

    def parent_of(self, call_id: str) -> Any:
        with self._lock:
            if call_id not in self._parents:
                # Not noted when made: the cell running now is the best guess (right for the
                # blocking calls that make most output).
                self._parents[call_id] = self.current_parent()
            return self._parents[call_id]

    def write(self, original: TextIO, call_id: str, text: str) -> None:
        parent = self.parent_of(call_id)
        set_parent = getattr(original, "set_thread_parent", None)
        if not parent or set_parent is None:  # ipykernel < 7: no per-thread parents
            original.write(text)
            return
        token = set_parent(parent)
        try:
            original.write(text)
        finally:
            original.reset_thread_parent(token)  # type: ignore[attr-defined]
