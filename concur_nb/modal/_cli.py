"""``python -m concur_nb.modal run app.py[::entry] --arg value``, as ``modal run`` does.

The file is imported as a module; ``entry`` names a ``local_entrypoint`` (or a function, which
is then called with ``.remote``). Options come from the entry's signature: ``--name value``
(``--name-with-dashes`` for ``name_with_dashes``), converted by the annotation (``int``,
``float``, ``str``; ``bool`` as ``--flag/--no-flag``). ``serve`` hands over to
``concur_nb.modal._serve`` (web endpoints), loaded only when asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._errors import InvalidError
from ._app import App
from ._functions import Function

_CONVERTERS: dict[Any, Callable[[str], Any]] = {int: int, float: float, str: str}


def load_module(path: str) -> Any:
    """Import the file at ``path`` as a module (its directory first on ``sys.path``)."""
    file = Path(path).resolve()
    if not file.is_file():
        raise InvalidError(f"no such file: {path!r}; give the path of the app's .py file.")
    sys.path.insert(0, str(file.parent))
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise InvalidError(f"cannot import {path!r} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    spec.loader.exec_module(module)
    return module


def _apps_of(module: Any) -> list[App]:
    return [v for v in vars(module).values() if isinstance(v, App)]


def find_entry(module: Any, entry: str | None) -> tuple[Any, bool]:
    """The function to run and whether it is a local entrypoint (else a Modal function)."""
    apps = _apps_of(module)
    if not apps:
        raise InvalidError(f"{module.__name__} defines no modal.App; nothing to run.")
    entrypoints = {k: v for app in apps for k, v in app.registered_entrypoints.items()}
    functions = {k: v for app in apps for k, v in app.registered_functions.items()}
    if entry is None:
        if len(entrypoints) == 1:
            return next(iter(entrypoints.values())), True
        if not entrypoints and len(functions) == 1:
            return next(iter(functions.values())), False
        choices = sorted(entrypoints) or sorted(functions)
        raise InvalidError(
            f"which one to run? Name it: run {module.__file__}::NAME, one of {choices}."
        )
    name = entry.rsplit(".", 1)[-1]
    if name in entrypoints:
        return entrypoints[name], True
    if name in functions:
        return functions[name], False
    raise InvalidError(
        f"{module.__name__} has no local entrypoint or function named {entry!r}; "
        f"entrypoints: {sorted(entrypoints)}, functions: {sorted(functions)}."
    )


def parser_for(fn: Callable[..., Any], prog: str) -> argparse.ArgumentParser:
    """Options from ``fn``'s signature, as ``modal run`` builds them."""
    target = fn.__wrapped__ if isinstance(fn, Function) else fn
    parser = argparse.ArgumentParser(prog=prog, description=inspect.getdoc(target))
    try:
        hints = typing.get_type_hints(target)
    except Exception:
        hints = {}
    for param in inspect.signature(target).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        kind = hints.get(param.name, str)
        flags = [f"--{param.name.replace('_', '-')}"]
        if "_" in param.name:
            flags.append(f"--{param.name}")
        required = param.default is param.empty
        if kind is bool:
            parser.add_argument(
                *flags,
                dest=param.name,
                action=argparse.BooleanOptionalAction,
                required=required,
                default=None if required else param.default,
            )
            continue
        convert = _CONVERTERS.get(kind)
        if convert is None:
            raise InvalidError(
                f"parameter {param.name!r} of {target.__name__} is annotated "
                f"{getattr(kind, '__name__', kind)}; `run` passes int, float, str and bool."
            )
        parser.add_argument(
            *flags,
            dest=param.name,
            type=convert,
            required=required,
            default=None if required else param.default,
            metavar=kind.__name__.upper(),
        )
    return parser


def run(path_and_entry: str, argv: Sequence[str]) -> int:
    path, _, entry = path_and_entry.partition("::")
    module = load_module(path)
    fn, is_entrypoint = find_entry(module, entry or None)
    name = getattr(fn, "__name__", getattr(fn, "name", "entry"))
    args = vars(parser_for(fn, f"python -m concur_nb.modal run {path}::{name}").parse_args(argv))
    apps = _apps_of(module)
    with apps[0].run():
        if not is_entrypoint:
            assert isinstance(fn, Function)
            fn.remote(**args)  # as `modal run`: its output is what it prints
            return 0
        result = fn(**args)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    return 0


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def serve(path: str, argv: Sequence[str]) -> int:
    """Hand over to the web front (``concur_nb.modal._serve.main``), loaded only now."""
    try:
        server = importlib.import_module("concur_nb.modal._serve")
    except ModuleNotFoundError as exc:
        if exc.name != "concur_nb.modal._serve":
            raise
        print(
            "error: `serve` needs concur_nb's web endpoints (concur_nb.modal._serve), which this "
            "installation does not have.",
            file=sys.stderr,
        )
        return 2
    parser = argparse.ArgumentParser(prog="python -m concur_nb.modal serve")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--host", default=None, help="where to listen (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="the first endpoint's port")
    options = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    return int(server.main(path, **options))


USAGE = """usage: python -m concur_nb.modal run APP.py[::ENTRY] [--arg VALUE ...]
       python -m concur_nb.modal serve APP.py[::APP] [--host HOST] [--port PORT]

run    call a @app.local_entrypoint() (or a function) of APP.py, its arguments from the command
serve  serve the web endpoints of APP.py on 127.0.0.1
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in ("run", "serve"):
        print(USAGE, file=sys.stderr)
        return 2
    command, target, rest = args[0], args[1], args[2:]
    try:
        if command == "serve":
            return serve(target, rest)
        return run(target, rest)
    except InvalidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
