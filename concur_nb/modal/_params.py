"""``modal.parameter()``: class fields set per instance, each set of values its own pool.

``Model(name="a")`` and ``Model(name="b")`` run on separate containers, as on Modal: each set
of values gets a subclass of the user's class with the values as class attributes, registered
as its own ``concur_nb.Cls`` (so ``@enter`` sees them). Types and names are checked as Modal
checks them: ``str``, ``int``, ``bool`` and ``bytes`` only, keyword arguments only.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from .._errors import InvalidError

SUPPORTED_TYPES: tuple[type, ...] = (int, str, bytes, bool)


class _NoDefault:
    def __repr__(self) -> str:
        return "modal.cls._NO_DEFAULT()"


_NO_DEFAULT: Any = _NoDefault()


class _Parameter:
    """The marker ``modal.parameter()`` leaves in a class body."""

    def __init__(self, default: Any, init: bool) -> None:
        self.default = default
        self.init = init

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        if self.default is _NO_DEFAULT:
            raise AttributeError("field has no default value and no specified value")
        return self.default


def parameter(*, default: Any = _NO_DEFAULT, init: bool = True) -> Any:
    """A class parameter: ``name: str = modal.parameter(default="a")``.

    Pass values when making an instance, ``Model(name="b")``; each set of values runs on its
    own containers. ``init=False`` only annotates a field (no parameter).
    """
    return _Parameter(default, init)


def parameters_of(user_cls: type) -> dict[str, tuple[type, Any]]:
    """``{name: (type, default)}`` of a class's parameters; checks them as Modal does."""
    params = {
        name: value
        for name, value in vars(user_cls).items()
        if isinstance(value, _Parameter) and value.init
    }
    if not params:
        return {}
    if user_cls.__init__ is not object.__init__:  # type: ignore[misc]
        raise InvalidError(
            f"class {user_cls.__name__} has both a custom __init__ constructor and "
            "dataclass-style modal.parameter() annotations; keep one of them."
        )
    annotations = inspect.get_annotations(user_cls, eval_str=False)
    missing = sorted(set(params) - set(annotations))
    if missing:
        raise InvalidError(
            "All modal.parameter() specifications need to be type-annotated: "
            f"add a type to {', '.join(missing)} (e.g. `{missing[0]}: str = modal.parameter()`)."
        )
    hints = typing.get_type_hints(user_cls)
    out = {}
    for name, spec in params.items():
        kind = hints.get(name)
        if kind not in SUPPORTED_TYPES:
            shown = getattr(kind, "__name__", repr(kind))
            raise InvalidError(
                f"Class parameter '{name}': {shown} is not a supported modal.parameter() type. "
                f"Use one of: {', '.join(t.__name__ for t in SUPPORTED_TYPES)}"
            )
        out[name] = (kind, spec.default)
    return out


def bind(
    cls_name: str,
    params: dict[str, tuple[type, Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """The full set of values for ``Cls(*args, **kwargs)``: defaults applied, types checked."""
    if args:
        raise InvalidError(
            "Can't use positional arguments with modal.parameter-based synthetic constructors. "
            f"Use keyword arguments: {cls_name}({', '.join(f'{n}=...' for n in params)})."
        )
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise TypeError(
            f"{cls_name}() got an unexpected keyword argument {unknown[0]!r}; "
            f"its parameters are: {', '.join(params)}."
        )
    values = {}
    for name, (kind, default) in params.items():
        if name in kwargs:
            value = kwargs[name]
        elif default is not _NO_DEFAULT:
            value = default
        else:
            raise TypeError(f"{cls_name}() missing a required argument: {name!r}")
        if not isinstance(value, kind):  # as Modal: an int parameter also takes a bool
            raise TypeError(
                f"{cls_name}(): parameter {name!r} expected {kind.__name__}, "
                f"got {type(value).__name__} ({value!r})."
            )
        values[name] = value
    return values
