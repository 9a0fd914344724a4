"""The call graph of a call: its inputs, and the calls each of them made, as a tree.

An input that calls a function (``g.remote(...)`` inside ``f``) becomes the parent of that
call; ``FunctionCall.get_call_graph()`` walks down from a call's inputs. In-process only: the
calls made inside worker processes are not seen here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._context import running_work
from ._inputs import Attempt


@dataclasses.dataclass(frozen=True)
class InputNode:
    """One input in a call graph (Modal's ``InputInfo``)."""

    input_id: str
    function_call_id: str
    function_name: str
    status: str  # "queued" | "running" | "succeeded" | "failed" | "cancelled" | ...
    children: tuple[InputNode, ...] = ()

    def __repr__(self) -> str:
        inner = f", {len(self.children)} child input(s)" if self.children else ""
        return f"<input {self.input_id} of {self.function_name}: {self.status}{inner}>"


def adopt(call: Any) -> None:
    """Make ``call`` a child of the input running here, if any (called as it is submitted)."""
    work = running_work()
    if isinstance(work, Attempt):
        for inp in work.inputs:
            if inp.children is None:
                inp.children = []
            inp.children.append(call)


def call_graph(call: Any) -> list[InputNode]:
    """The inputs of ``call`` (an ``_outcomes.Call``), each with the calls it made."""
    return [_node(inp, call.id, call.function) for inp in list(call.inputs)]


def _node(inp: Any, call_id: str, function: str) -> InputNode:
    children = tuple(
        _node(child_input, child.id, child.function)
        for child in inp.children or ()
        for child_input in list(child.inputs)
    )
    name = function if inp.method is None else f"{function}.{inp.method}"
    return InputNode(inp.id, call_id, name, str(inp.status), children)
