"""Turning a cell into functions: what ``%%concurrent`` needs, as pure AST work.

``defined_names`` lists what a cell defines (for the decorating form); ``body_function`` turns
a cell body into ``def body(item): ...`` whose result is the value of its last expression (for
``--map``), an ``async def`` when the body awaits.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable
from typing import Any

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class CellError(ValueError):
    """The cell cannot be used the way the magic asks; the message says why, in one line."""


def parse(cell: str) -> ast.Module:
    try:
        return ast.parse(cell, mode="exec", type_comments=False)
    except SyntaxError as exc:
        raise CellError(f"the cell has a syntax error on line {exc.lineno}: {exc.msg}") from None


def defined_names(tree: ast.Module) -> list[str]:
    """Top-level functions and classes a cell defines, in order (later definitions win)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in names:
                names.remove(node.name)
            names.append(node.name)
    return names


def uses_await(tree: ast.Module) -> bool:
    """Whether the body itself awaits (``await``, ``async for``, ``async with``)."""
    return any(isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for node in _own(tree))


def free_names(tree: ast.Module) -> set[str]:
    """Names the body reads but never assigns itself (they must come from the notebook)."""
    loaded: set[str] = set()
    stored: set[str] = set()
    for node in _own(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    return loaded - stored


def missing_names(tree: ast.Module, namespace: dict[str, Any]) -> list[str]:
    """Free names of the body that neither the notebook nor builtins define."""
    return sorted(n for n in free_names(tree) if n not in namespace and not hasattr(builtins, n))


def body_function(
    tree: ast.Module, param: str, namespace: dict[str, Any], filename: str, name: str
) -> Callable[..., Any]:
    """``def name(param): <body>; return <last expression>`` with ``namespace`` as its globals.

    Names the body assigns stay local to each input; everything else is read from the
    notebook. ``filename`` should be registered in linecache so tracebacks show the cell.
    """
    if not param.isidentifier():
        raise CellError(f"--as {param!r} is not a valid Python name")
    body = list(tree.body) or [ast.Pass()]
    last = body[-1]
    if isinstance(last, ast.Expr):
        body[-1] = ast.copy_location(ast.Return(value=last.value), last)
    kind = ast.AsyncFunctionDef if uses_await(tree) else ast.FunctionDef
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=param)],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    fields: dict[str, Any] = dict(name=name, args=args, body=body, decorator_list=[])
    if "type_params" in kind._fields:  # Python 3.12+
        fields["type_params"] = []
    func = kind(**fields, returns=None, lineno=1, col_offset=0)
    module = ast.fix_missing_locations(ast.Module(body=[func], type_ignores=[]))
    local: dict[str, Any] = {}
    exec(compile(module, filename, "exec"), namespace, local)
    built: Callable[..., Any] = local[name]
    return built


def _own(tree: ast.Module) -> Iterable[ast.AST]:
    """Nodes of the body, not descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))
