"""``modal.App``: registers functions and classes locally, with Modal's decorator options.

Options with a local meaning (autoscaler settings, ``timeout``, ``retries``, ``name``) apply;
cloud-only ones (``image``, ``gpu``, ``volumes``, ``secrets``, ``schedule``, ...) are accepted
and ignored with one warning that points at the decorator's line.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import concur_nb

from .._errors import InvalidError
from .._markers import BATCH
from . import _generators, _options, _registry
from ._functions import (
    GENERATOR_FLAG,
    PENDING,
    Cls,
    Function,
    adopt_cls,
    adopt_function,
    generator_methods,
    streaming_class,
)
from ._params import parameters_of
from ._web_cls import build_web_handle

# Modal's defaults: an option left at its default is not "set", so it draws no warning.
_DEFAULTS: dict[str, Any] = {
    "image": None,
    "schedule": None,
    "env": None,
    "secrets": None,
    "gpu": None,
    "serialized": False,
    "network_file_systems": None,
    "volumes": None,
    "cpu": None,
    "memory": None,
    "ephemeral_disk": None,
    "proxy": None,
    "startup_timeout": None,
    "cloud": None,
    "region": None,
    "routing_region": None,
    "nonpreemptible": False,
    "enable_memory_snapshot": False,
    "block_network": False,
    "restrict_modal_access": False,
    "single_use_containers": False,
    "i6pn": None,
    "include_source": None,
    "experimental_options": None,
    "_experimental_restrict_output": False,
    "max_inputs": None,
    "tags": None,
}


def _check_max_inputs(value: Any) -> None:
    """Modal's ``max_inputs`` on ``app.function`` is per container *lifetime*, and only 1."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidError(f"`max_inputs` must be an int, not {type(value).__name__}")
    if value != 1:
        raise InvalidError(
            "Only `max_inputs=1` is currently supported (inputs per container lifetime; "
            "for inputs at once use @modal.concurrent(max_inputs=...))."
        )


class App:
    """A Modal ``App`` whose functions run locally.

    ``App("name")`` is registered in this process, so ``modal.Function.from_name("name", "f")``
    finds its functions; ``deploy()`` returns the app (there is nothing to upload locally).
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        image: Any = None,
        secrets: Any = None,
        volumes: Any = None,
        include_source: bool = True,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidError(f"Invalid value for `name`: Must be string, got {name!r}.")
        ignored = [
            k for k, v in {"image": image, "secrets": secrets, "volumes": volumes}.items() if v
        ]
        if ignored:
            _options.warn_ignored("modal.App", ignored)
        self.name = name
        self.tags = dict(tags or {})
        self.registered_functions: dict[str, Function] = {}
        self.registered_classes: dict[str, Cls] = {}
        self.registered_entrypoints: dict[str, Callable[..., Any]] = {}
        if name is not None:
            _registry.register(name, self)

    def __repr__(self) -> str:
        return f"<concur_nb.modal.App {self.name!r}: {len(self.registered_functions)} function(s)>"

    # -- registering
    def function(
        self,
        _warn_parentheses_missing: Any = None,
        *,
        image: Any = None,
        schedule: Any = None,
        env: Any = None,
        secrets: Any = None,
        gpu: Any = None,
        serialized: bool = False,
        network_file_systems: Any = None,
        volumes: Any = None,
        cpu: Any = None,
        memory: Any = None,
        ephemeral_disk: Any = None,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
        proxy: Any = None,
        retries: Any = None,
        timeout: int = 300,
        startup_timeout: int | None = None,
        name: str | None = None,
        is_generator: bool | None = None,
        cloud: str | None = None,
        region: Any = None,
        routing_region: Any = None,
        nonpreemptible: bool = False,
        enable_memory_snapshot: bool = False,
        block_network: bool = False,
        restrict_modal_access: bool = False,
        single_use_containers: bool = False,
        i6pn: bool | None = None,
        include_source: bool | None = None,
        experimental_options: Any = None,
        _experimental_restrict_output: bool = False,
        max_inputs: int | None = None,
        allow_concurrent_inputs: int | None = None,  # pre-1.0 Modal: max_inputs of concurrent
    ) -> Callable[[Any], Function]:
        """Register a function (``@app.function(...)`` above ``@modal.concurrent(...)``)."""
        if _warn_parentheses_missing is not None:
            raise InvalidError("Did you forget parentheses? Suggestion: `@app.function()`.")
        _check_max_inputs(max_inputs)
        options = dict(locals())
        for key in ("self", "_warn_parentheses_missing", "name", "is_generator"):
            options.pop(key)
        options.pop("allow_concurrent_inputs")
        kept = _options.split(options, "app.function", _DEFAULTS)
        if name is not None:
            kept["name"] = name

        def decorate(obj: Any) -> Any:
            web = build_web_handle(obj, kept, allow_concurrent_inputs)
            if web is not None:  # an endpoint: each request is an input (``_web``)
                self.registered_functions[web.name] = web  # type: ignore[assignment]
                return web
            handle = self._register_function(obj, kept, is_generator)
            if allow_concurrent_inputs is not None:
                concur_nb.concurrent(max_inputs=allow_concurrent_inputs)(handle)
            self.registered_functions[handle.name] = handle
            return handle

        return decorate

    @staticmethod
    def _register_function(obj: Any, kept: dict[str, Any], is_generator: bool | None) -> Function:
        if isinstance(obj, concur_nb.Cls):
            raise InvalidError("@app.function decorates a function; for a class use @app.cls().")
        if isinstance(obj, concur_nb.Function):  # registered natively already
            handle = concur_nb.function(**kept)(obj) if kept else obj
            return adopt_function(handle)
        if inspect.isclass(obj) or not callable(obj):
            raise InvalidError(f"@app.function decorates a function, got {obj!r}.")
        flag = getattr(obj, GENERATOR_FLAG, None) if is_generator is None else is_generator
        generator = _generators.is_generator(obj) if flag is None else bool(flag)
        if generator and getattr(obj, BATCH, None) is not None:
            raise InvalidError(f"Modal batched function {obj.__name__} cannot return generators")
        target = _generators.streaming(obj) if generator else obj
        handle = concur_nb.function(**kept)(target)
        for native in getattr(obj, PENDING, ()):
            handle = native(handle)
        return adopt_function(handle, generator=generator, raw=obj if generator else None)

    def cls(
        self,
        _warn_parentheses_missing: Any = None,
        *,
        image: Any = None,
        env: Any = None,
        secrets: Any = None,
        gpu: Any = None,
        serialized: bool = False,
        network_file_systems: Any = None,
        volumes: Any = None,
        cpu: Any = None,
        memory: Any = None,
        ephemeral_disk: Any = None,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
        proxy: Any = None,
        retries: Any = None,
        timeout: int = 300,
        startup_timeout: int | None = None,
        cloud: str | None = None,
        region: Any = None,
        routing_region: Any = None,
        nonpreemptible: bool = False,
        enable_memory_snapshot: bool = False,
        block_network: bool = False,
        restrict_modal_access: bool = False,
        single_use_containers: bool = False,
        i6pn: bool | None = None,
        include_source: bool | None = None,
        experimental_options: Any = None,
        _experimental_restrict_output: bool = False,
        max_inputs: int | None = None,
        allow_concurrent_inputs: int | None = None,
    ) -> Callable[[Any], Cls]:
        """Register a class; its ``@modal.method()``s share containers.

        ``modal.parameter()`` fields make ``Model(name="a")`` a pool of its own.
        """
        if _warn_parentheses_missing is not None:
            raise InvalidError("Did you forget parentheses? Suggestion: `@app.cls()`.")
        _check_max_inputs(max_inputs)
        options = dict(locals())
        for key in ("self", "_warn_parentheses_missing", "allow_concurrent_inputs"):
            options.pop(key)
        kept = _options.split(options, "app.cls", _DEFAULTS)

        def decorate(obj: Any) -> Any:
            web = build_web_handle(obj, kept, allow_concurrent_inputs)
            if web is not None:  # a class with web methods
                self.registered_classes[web.name] = web  # type: ignore[assignment]
                return web
            handle = self._register_cls(obj, kept, allow_concurrent_inputs)
            self.registered_classes[handle.name] = handle
            return handle

        return decorate

    @staticmethod
    def _register_cls(obj: Any, kept: dict[str, Any], legacy: int | None) -> Cls:
        extra = [concur_nb.concurrent(max_inputs=legacy)] if legacy is not None else []
        if isinstance(obj, concur_nb.Cls):  # registered natively already
            handle = concur_nb.function(**kept)(obj) if kept else obj
            for native in extra:
                handle = native(handle)
            return adopt_cls(handle, base=None, build=None)
        if not inspect.isclass(obj):
            raise InvalidError(f"@app.cls decorates a class, got {obj!r}.")
        params = parameters_of(obj)
        generators = generator_methods(obj)
        base = streaming_class(obj, generators)
        decorators = [*getattr(obj, PENDING, ()), *extra]

        def build(user_cls: type, name: str | None) -> concur_nb.Cls:
            options = dict(kept) if name is None else {**kept, "name": name}
            handle = concur_nb.function(**options)(user_cls)
            for native in decorators:
                handle = native(handle)
            return handle

        return adopt_cls(
            build(base, None), base=base, build=build, generators=generators, params=params
        )

    def local_entrypoint(
        self, _warn_parentheses_missing: Any = None, *, name: str | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Mark the script's entry point, which ``python -m concur_nb.modal run`` calls."""
        if _warn_parentheses_missing is not None:
            raise InvalidError("Did you forget parentheses? Suggestion: `@app.local_entrypoint()`.")

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            tag = name or fn.__name__
            if tag in self.registered_entrypoints:
                raise InvalidError(
                    f"Duplicate local entrypoint name: {tag}. "
                    "Local entrypoint names must be unique."
                )
            self.registered_entrypoints[tag] = fn
            return fn

        return decorate

    # -- running
    @contextlib.contextmanager
    def run(
        self,
        *,
        name: str | None = None,
        client: Any = None,
        detach: bool = False,
        interactive: bool = False,
        environment_name: str | None = None,
    ) -> Iterator[App]:
        """Modal's ephemeral app context; locally there is nothing to start or stop."""
        yield self

    def deploy(
        self,
        *,
        name: str | None = None,
        environment_name: str | None = None,
        tag: str = "",
        client: Any = None,
        strategy: str = "rolling",
    ) -> App:
        """Locally: register the app under ``name`` (or its own) for ``from_name``; returns it."""
        chosen = name or self.name
        if chosen is None:
            raise InvalidError("deploy() needs a name: App('my-app') or app.deploy(name='my-app').")
        _registry.register(chosen, self)
        return self

    def include(self, other_app: App, inherit_tags: bool = True) -> App:
        """Add another app's functions, classes and entry points to this one (as on Modal)."""
        if not isinstance(other_app, App):
            raise InvalidError(f"include() takes a modal.App, got {other_app!r}.")
        pairs: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (self.registered_functions, other_app.registered_functions),
            (self.registered_classes, other_app.registered_classes),
        ]
        for table, theirs in pairs:
            clash = sorted(
                set(table) & set(theirs) - {k for k in theirs if table.get(k) is theirs[k]}
            )
            if clash:
                raise InvalidError(
                    f"include(): both apps define {clash}; rename one (app.function(name=...))."
                )
            table.update(theirs)
        for tag, fn in other_app.registered_entrypoints.items():
            self.registered_entrypoints.setdefault(tag, fn)
        if inherit_tags:
            self.tags = {**other_app.tags, **self.tags}
        return self
