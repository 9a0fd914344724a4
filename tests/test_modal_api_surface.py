"""Every name and parameter of Modal's SDK (1.6.4) that local code touches exists here.

The reference, ``tests/data/modal-1.6.4-api.json``, was dumped from the SDK's wheel: each
public name, its parameters, and each exception's base classes. A name or parameter
``concur_nb.modal`` lacks fails the walk, as does an exception whose bases differ from Modal's.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import concur_nb.modal as modal

REFERENCE = json.loads((Path(__file__).parent / "data" / "modal-1.6.4-api.json").read_text())
GRPC_INTERNALS = {"_GRPCErrorWrapper", "GRPCError"}
# Modal's handles are made by decorators and lookups, never by calling the class (it raises).
NOT_CONSTRUCTED = {"Function", "FunctionCall", "Cls"}
CLASS_LEVEL = {"from_name", "from_id", "gather", "ephemeral"}  # called on the class on Modal

app = modal.App("surface")


@app.function()
def plain(x: int) -> int:
    return x


@app.cls()
class Plain:
    @modal.method()
    def f(self, x: int) -> int:
        return x


def _accepts(ours: inspect.Signature, theirs: dict[str, Any]) -> bool:
    """Whether a call with Modal's parameter ``theirs`` binds to ``ours`` the same way."""
    params = ours.parameters
    kinds = {p.kind for p in params.values()}
    var_pos = inspect.Parameter.VAR_POSITIONAL in kinds
    var_kw = inspect.Parameter.VAR_KEYWORD in kinds
    kind = theirs["kind"]
    if kind == "VAR_POSITIONAL":
        return var_pos
    if kind == "VAR_KEYWORD":
        return var_kw
    mine = params.get(theirs["name"])
    by_keyword = mine is not None and mine.kind in (mine.POSITIONAL_OR_KEYWORD, mine.KEYWORD_ONLY)
    if kind == "KEYWORD_ONLY":
        return by_keyword or var_kw
    positional = mine is not None and mine.kind in (
        mine.POSITIONAL_ONLY,
        mine.POSITIONAL_OR_KEYWORD,
    )
    if kind == "POSITIONAL_ONLY":
        return positional or var_pos
    return (mine is not None and mine.kind == mine.POSITIONAL_OR_KEYWORD) or (var_pos and var_kw)


def _missing_of(label: str, obj: Any, entry: dict[str, Any]) -> list[str]:
    if obj is None:
        return [label]
    if entry["sig"] is None:
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return [f"{label}(signature)"]
    return [
        f"{label}({p['name']})"
        for p in entry["sig"]
        if p["name"] not in ("cls", "self") and not _accepts(sig, p)
    ]


def _section_missing(section: str, instance: Any, klass: Any) -> list[str]:
    missing = []
    for name, entry in REFERENCE[section].items():
        if not entry["exists"]:
            continue
        holder = klass if name in CLASS_LEVEL else instance
        missing += _missing_of(f"{section}.{name}", getattr(holder, name, None), entry)
    return missing


def walk() -> list[str]:
    """Everything of the reference ``concur_nb.modal`` lacks, as ``"Section.name(param)"``."""
    missing = []
    for name, entry in REFERENCE["top"].items():
        if entry["exists"]:
            found = getattr(modal, name, None)
            missing += _missing_of(name, found, {"sig": None} if name in NOT_CONSTRUCTED else entry)
    call = plain.spawn(1)
    call.get()
    with modal.Dict.ephemeral() as d, modal.Queue.ephemeral() as q:
        for section, instance, klass in (
            ("App", app, modal.App),
            ("Function", plain, modal.Function),
            ("FunctionCall", call, modal.FunctionCall),
            ("Cls", Plain, modal.Cls),
            ("Dict", d, modal.Dict),
            ("Queue", q, modal.Queue),
        ):
            missing += _section_missing(section, instance, klass)
    return missing


def bases_differing() -> list[str]:
    """Exceptions whose base classes are not Modal's (builtin extras allowed, grpc ignored)."""
    wrong = []
    for name, theirs in REFERENCE["exception"].items():
        ours = getattr(modal.exception, name, None)
        if ours is None:
            wrong.append(f"exception.{name} (missing)")
            continue
        wanted = [n for n in theirs if n not in GRPC_INTERNALS]
        mro = list(ours.__mro__[1:])
        at = 0
        for cls in mro:
            if at < len(wanted) and cls.__name__ == wanted[at]:
                at += 1
            elif cls.__module__ != "builtins":
                wrong.append(f"exception.{name}: extra base {cls.__qualname__}")
        if at != len(wanted):
            wrong.append(f"exception.{name}: bases {[c.__name__ for c in mro]}, Modal's {wanted}")
    return wrong


def test_every_modal_name_and_parameter_exists() -> None:
    missing = set(walk())
    assert not missing, f"concur_nb.modal lacks: {sorted(missing)}"


def test_every_exception_has_modals_base_classes() -> None:
    assert not bases_differing()
    assert len(REFERENCE["exception"]) == 49


def test_the_walk_notices_a_missing_parameter() -> None:
    entry = {"sig": [{"name": "nope", "kind": "KEYWORD_ONLY", "default": None, "required": False}]}
    assert _missing_of("x", lambda a: a, entry) == ["x(nope)"]
    assert _missing_of("x", None, entry) == ["x"]


def test_concur_nb_raises_the_classes_modal_code_catches() -> None:
    import concur_nb
    from concur_nb import _errors

    assert modal.exception.InvalidError is concur_nb.InvalidError
    assert modal.exception.FunctionTimeoutError is concur_nb.FunctionTimeoutError
    assert modal.exception.RemoteError is concur_nb.RemoteError
    assert modal.exception.InputCancellation is concur_nb.InputCancellation
    assert modal.exception.Error is _errors.Error is modal.Error
    # the builtin bases existing code catches stay
    assert issubclass(concur_nb.InvalidError, ValueError)
    assert issubclass(concur_nb.FunctionTimeoutError, TimeoutError)
    assert issubclass(modal.exception.OutputExpiredError, TimeoutError)
    assert issubclass(_errors.CallTimeoutError, modal.exception.TimeoutError)
    assert not issubclass(modal.exception.InputCancellation, Exception)
    with pytest.raises(modal.exception.Error):
        concur_nb.concurrent(max_inputs=0)


def test_a_timed_out_input_is_a_modal_function_timeout_error() -> None:
    import time

    @app.function(timeout=0.05)
    def slow() -> None:
        time.sleep(0.5)

    with pytest.raises(modal.exception.FunctionTimeoutError) as caught:
        slow.remote()
    assert isinstance(caught.value, modal.exception.Error)
