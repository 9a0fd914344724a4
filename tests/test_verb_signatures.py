"""The verbs show their real parameters to help(), inspect and type checkers, with their .aio
twins; calling a handle directly says what to write instead."""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys
from pathlib import Path

import pytest

import concur_nb


def _params(fn: object) -> list[str]:
    return [str(p) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_map_and_its_twin_show_their_own_parameters_and_docs() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    shown = [p.split(":")[0].split(" =")[0] for p in _params(f.map)]
    assert shown[:4] == ["*iterables", "order_outputs", "return_exceptions", "kwargs"]
    assert inspect.signature(f.map).parameters["order_outputs"].default is True
    assert _params(f.map.aio) == _params(f.map)
    assert "AsyncIterator" in str(inspect.signature(f.map.aio).return_annotation)
    page = pydoc.render_doc(f.map, renderer=pydoc.plaintext)
    assert "map(*iterables" in page and "Run one input per item" in page
    assert "_Dual" not in page and "_Dual" not in pydoc.render_doc(f.map.aio)
    assert "async" in (f.map.aio.__doc__ or "")
    assert f.map.aio.__qualname__ == "Function.map.aio"


def test_every_verb_and_twin_has_a_signature_without_self() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    for name in ("remote", "spawn", "map", "starmap", "for_each", "spawn_map"):
        verb = getattr(f, name)
        assert "self" not in inspect.signature(verb).parameters, name
        assert "self" not in inspect.signature(verb.aio).parameters, name
        assert verb.__doc__ and verb.aio.__doc__, name
    assert _params(f.for_each)[-2:] == ["ignore_exceptions: bool = False", "progress: bool = True"]
    assert inspect.iscoroutinefunction(f.spawn.aio)
    assert inspect.iscoroutinefunction(f.for_each.aio)
    # On the class, help(concur_nb.Function) lists each verb as a method, self first.
    assert next(iter(inspect.signature(concur_nb.Function.map).parameters)) == "self"
    assert "map(self, *iterables" in pydoc.render_doc(concur_nb.Function, renderer=pydoc.plaintext)


def test_function_call_get_and_gather_show_their_parameters() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    call = f.spawn(1)
    assert _params(call.get) == ["timeout: float | None = None", "index: int | None = None"]
    assert _params(call.get.aio) == _params(call.get)
    assert _params(concur_nb.gather) == [
        "*calls: 'FunctionCall'",
        "return_exceptions: 'bool' = False",
    ]
    assert concur_nb.gather.aio.__qualname__ == "gather.aio"
    assert call.get() == 1


def test_a_type_checker_sees_the_verbs_real_parameters(tmp_path: Path) -> None:
    snippet = tmp_path / "user_code.py"
    snippet.write_text(
        "import concur_nb\n"
        "@concur_nb.concurrent(max_inputs=2)\n"
        "def f(x: int) -> int:\n"
        "    return x\n"
        "f.map([1], order_outputs=False)\n"
        "f.map([1], order_output=False)\n"  # a typo: flagged
        "f.spawn(1).get(timeout=1.0, index=0)\n"
        "async def g() -> None:\n"
        "    [y async for y in f.map.aio([1], return_exceptions=True)]\n"
        "    await f.remote.aio(1)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), str(snippet)],
        capture_output=True,
        text=True,
        cwd=Path(concur_nb.__file__).parent.parent,
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, out.stdout
    assert "user_code.py:6" in errors[0] and "order_outputs" in errors[0]


def test_calling_a_function_directly_says_to_use_remote_or_local() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def g(x: int) -> int:
        return x

    with pytest.raises(concur_nb.InvalidError, match=r"g\.remote\(\.\.\.\).*g\.local\(\.\.\.\)"):
        g(1)
    assert g.local(1) == 1


def test_modal_names_on_a_function() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x + 1

    assert f.is_generator is False
    assert f.hydrate() is f
    assert f.experimental_spawn_map(range(3)).get() == [1, 2, 3]
    assert f.spawn_map(range(2)).get() == [1, 2]  # the alias leaves the original alone
    assert inspect.signature(f.experimental_spawn_map) == inspect.signature(f.spawn_map)
