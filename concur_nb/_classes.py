"""A registered class's handle: its methods share containers; each container makes one
instance, runs ``@enter`` hooks before its first input and ``@exit`` hooks when it retires."""

from __future__ import annotations

import threading
from typing import Any

from ._containers.base import Target
from ._errors import InvalidError
from ._function import Function
from ._handles import _Handle
from ._markers import BATCH, ROLE
from ._queues import BatchSpec
from ._settings import Settings
from ._variants import variant_name


class _Instance:
    """What calling a ``Cls`` returns: its methods as ``Function`` handles."""

    def __init__(self, cls: Cls) -> None:
        self._cls = cls

    def __getattr__(self, name: str) -> Function:
        handle = self._cls._methods.get(name)
        if handle is None:
            raise AttributeError(
                f"{self._cls.name} has no method {name!r} to call remotely; methods: "
                f"{sorted(self._cls._methods)} (mark them with @concur_nb.method())."
            )
        return handle


class Cls(_Handle):
    """A registered class: all its methods share the same containers and run concurrently.

    Each container creates one instance, runs its ``@enter`` hooks before the first input and
    its ``@exit`` hooks when it retires. Call methods as ``MyCls().method.remote(x)``.
    """

    def __init__(
        self,
        user_cls: type,
        *,
        name: str | None = None,
        batching: tuple[int, float] | None = None,
    ) -> None:
        super().__init__(name or user_cls.__name__)
        self._user_cls = user_cls
        self.__doc__ = user_cls.__doc__
        members = {n: v for n, v in vars(user_cls).items() if callable(v)}
        marked = {n for n, v in members.items() if getattr(v, ROLE, None) == "method"}
        hooks = {n for n, v in members.items() if getattr(v, ROLE, None) in ("enter", "exit")}
        names = marked or {n for n in members if not n.startswith("_") and n not in hooks}
        if not names:
            raise InvalidError(
                f"class {self.name} has no method to call; mark one with @concur_nb.method()."
            )
        self._enter = tuple(n for n, v in members.items() if getattr(v, ROLE, None) == "enter")
        self._exit = tuple(n for n, v in members.items() if getattr(v, ROLE, None) == "exit")
        self._methods: dict[str, Function] = {}
        for n in sorted(names):
            spec = getattr(members[n], BATCH, None)
            if spec is not None and batching is not None:
                spec = batching  # a with_batching variant: every batched method, the new spec
            self._methods[n] = Function(members[n], owner=self, method=n, batching=spec)
        self._instance = _Instance(self)
        self._local: Any = None
        self._local_lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<concur_nb.Cls {self.name} methods={sorted(self._methods)} max_inputs={s.max_inputs}>"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            raise InvalidError(
                f"{self.name}(...) takes no arguments here: one instance per container is made "
                "with no arguments; pass values to the methods, or read them in an @enter hook."
            )
        return self._instance

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        async_methods = frozenset(n for n, f in self._methods.items() if f._is_async)
        target = Target(self.name, self._user_cls, True, self._enter, self._exit, async_methods)
        batching: dict[str | None, BatchSpec] = {
            n: BatchSpec(*f._batching) for n, f in self._methods.items() if f._batching
        }
        return target, batching

    def _make_variant(self, options: dict[str, Any], settings: Settings) -> Cls:
        batching = options.get("batching")
        if batching is not None and not any(f._batching for f in self._methods.values()):
            raise InvalidError(
                f"{self.name}.with_batching(...) changes the batching of @batched methods, and "
                f"{self.name} has none; mark a method with @concur_nb.batched(...)."
            )
        made = Cls(self._user_cls, name=variant_name(self.name, options), batching=batching)
        made._adopt(self, options, settings)
        return made

    def _local_instance(self) -> Any:
        with self._local_lock:
            if self._local is None:
                instance = self._user_cls()
                for name in self._enter:
                    getattr(instance, name)()
                self._local = instance
            return self._local
