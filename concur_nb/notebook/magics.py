"""IPython magics: ``%%concurrent`` and friends. They parse arguments and call the public API.

``%load_ext concur_nb`` registers them. Every misuse raises ``UsageError``, which IPython shows
as one line (no traceback of the magic's internals).
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .._errors import InvalidError
from . import auto, cellmap, summary
from ._env import in_kernel

_NAMED_BACKENDS = ("thread", "asyncio", "process")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _api() -> Any:
    import concur_nb  # the public API; imported late so the magics load before the engine

    return concur_nb


@magics_class
class ConcurrentMagics(Magics):
    """``%%concurrent``, ``%concurrent_dashboard``, ``%concurrent_tune``,
    ``%concurrent_status`` and ``%concurrent_cancel``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.last_function: Any = None

    @property
    def ip(self) -> Any:
        """The shell, typed loosely: IPython declares it optional, but magics always have one."""
        return self.shell

    # --- %%concurrent -------------------------------------------------------------------------

    @magic_arguments()
    @argument("--max-inputs", type=int, help="inputs one container runs at once (required)")
    @argument("--target-inputs", type=int, help="inputs per container the autoscaler aims for")
    @argument("--max-containers", type=int, help="upper bound on containers")
    @argument("--min-containers", type=int, help="containers kept running even when idle")
    @argument(
        "--backend",
        help="thread, asyncio, process, or a Python expression such as concur_nb.ssh('host')",
    )
    @argument("--timeout", type=float, help="seconds per attempt of an input")
    @argument("--retries", type=int, help="retries of a failed input")
    @argument(
        "--map",
        dest="map_expr",
        metavar="EXPR",
        help="run the cell body once per item of EXPR, concurrently (quote EXPR if it has spaces)",
    )
    @argument("--as", dest="as_name", metavar="NAME", help="the name each item is bound to")
    @argument("-o", "--output", metavar="VAR", help="store the results (or the handle) in VAR")
    @argument(
        "--background",
        action="store_true",
        help="return at once with a handle (in VAR); the dashboard keeps moving",
    )
    @argument(
        "--name",
        help="for --map: name the function and bind it to NAME in the notebook (to tune it)",
    )
    @cell_magic
    def concurrent(self, line: str, cell: str) -> Any:
        """Make the functions or class a cell defines concurrent, or map the cell over items.

        Decorate what the cell defines (each name is replaced by the concurrent function)::

            %%concurrent --max-inputs 20 --target-inputs 16
            def fetch(url): ...

        Run the body once per item; the last expression is each input's result::

            %%concurrent --map urls --as url --max-inputs 20 -o pages
            requests.get(url).text
        """
        args = parse_argstring(self.concurrent, line)
        for key in ("map_expr", "as_name", "backend"):  # IPython keeps the quotes around values
            if getattr(args, key) is not None:
                setattr(args, key, _unquote(getattr(args, key)))
        if args.max_inputs is None:
            raise UsageError(
                "%%concurrent needs --max-inputs N (how many inputs one container runs at once)"
            )
        if args.map_expr is None:
            for flag, value in [("--as", args.as_name), ("-o", args.output), ("--name", args.name)]:
                if value is not None:
                    raise UsageError(f"{flag} only applies with --map EXPR")
            if args.background:
                raise UsageError("--background only applies with --map EXPR")
            return self._decorate(args, cell)
        return self._map(args, cell)

    def _decorate(self, args: Any, cell: str) -> None:
        source = self.ip.transform_cell(cell)
        names = cellmap.defined_names(self._parse(source))
        if not names:
            raise UsageError(
                "the cell defines no function or class to make concurrent; define one with def "
                "or class, or use --map EXPR to run the body once per item"
            )
        if not self._run(source):
            return None
        ns = self.ip.user_ns
        for name in names:
            ns[name] = self._wrap(ns[name], args, name=None)
            self.last_function = ns[name]
        return None

    def _map(self, args: Any, cell: str) -> Any:
        items = self._eval(args.map_expr, "--map")
        try:
            iter(items)
        except TypeError:
            raise UsageError(
                f"--map {args.map_expr} is a {type(items).__name__}, which is not iterable; "
                "give a list, range, generator or other iterable"
            ) from None
        source = self.ip.transform_cell(cell)
        tree = self._parse(source)
        ns = self.ip.user_ns
        if args.as_name is None:
            missing = cellmap.missing_names(tree, ns)
            if missing:
                raise UsageError(
                    f"the body uses {missing[0]!r}, which is not defined; bind each item to it "
                    f"with --as {missing[0]}"
                )
        name = args.name or f"cell_{self.ip.execution_count}"
        filename = self.ip.compile.cache(source, self.ip.execution_count)
        try:
            body = cellmap.body_function(tree, args.as_name or "_item", ns, filename, name)
        except cellmap.CellError as exc:
            raise UsageError(str(exc)) from None
        fn = self._wrap(body, args, name=name)
        self.last_function = fn
        if args.name:
            ns[args.name] = fn
        if args.background:
            call = fn.spawn_map(items)
            if args.output:
                ns[args.output] = call
            if in_kernel():
                from IPython.display import display

                from .dashboard import Dashboard

                dash = Dashboard(fn, call=call)
                auto.mark_shown(fn, dash)
                display(dash)
            return None if args.output else call
        try:
            results = list(fn.map(items, return_exceptions=True))
        except KeyboardInterrupt:
            fn.cancel_all()  # an interrupted cell leaves nothing running behind it
            raise
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            first = failures[0]
            print(
                f"{len(failures)} of {len(results)} inputs failed (first: "
                f"{type(first).__name__}: {first}); their exceptions are in the results",
                file=sys.stderr,
            )
        if args.output:
            ns[args.output] = results
            return None
        return results

    def _wrap(self, obj: Any, args: Any, name: str | None) -> Any:
        api = _api()
        options: dict[str, Any] = {}
        for key in ("max_containers", "min_containers", "timeout", "retries"):
            value = getattr(args, key)
            if value is not None:
                options[key] = value
        if args.backend is not None:
            backend = args.backend
            options["backend"] = (
                backend if backend in _NAMED_BACKENDS else self._eval(backend, "--backend")
            )
        if name is not None:
            options["name"] = name
        try:
            concurrent = api.concurrent(
                max_inputs=args.max_inputs, target_inputs=args.target_inputs
            )
            return api.function(**options)(concurrent(obj))
        except InvalidError as exc:
            raise UsageError(str(exc)) from None

    # --- line magics ----------------------------------------------------------------------

    @magic_arguments()
    @argument("target", nargs="?", help="a concurrent function (default: the latest one)")
    @argument("--panel", action="store_true", help="open it in a JupyterLab side panel")
    @line_magic
    def concurrent_dashboard(self, line: str) -> Any:
        """Show the live view of a concurrent function's totals (all its calls)."""
        from .dashboard import Dashboard

        args = parse_argstring(self.concurrent_dashboard, line)
        fn = self._function(args.target, "%concurrent_dashboard")
        return Dashboard(fn, where="panel" if args.panel else "cell")

    @magic_arguments()
    @argument("target", nargs="?", help="a concurrent function (default: the latest one)")
    @line_magic
    def concurrent_tune(self, line: str) -> Any:
        """Show sliders that reconfigure a concurrent function live, beside its dashboard."""
        from .tuning import Tuner

        args = parse_argstring(self.concurrent_tune, line)
        return Tuner(self._function(args.target, "%concurrent_tune"))

    @line_magic
    def concurrent_status(self, line: str) -> None:
        """Print a table of every registered concurrent function."""
        if line.strip():
            raise UsageError("%concurrent_status takes no arguments")
        functions = _api().functions()
        if not functions:
            print("no concurrent functions yet")
            return
        print(summary.status_table([f.snapshot() for f in functions]))

    @magic_arguments()
    @argument("target", nargs="?", help="a concurrent function or a call (default: everything)")
    @line_magic
    def concurrent_cancel(self, line: str) -> None:
        """Cancel the queued and running inputs of a function or a call (default: all)."""
        args = parse_argstring(self.concurrent_cancel, line)
        if args.target is None:
            functions = _api().functions()
            for f in functions:
                f.cancel_all()
            print(f"cancelled the inputs of {len(functions)} function(s)")
            return
        obj = self._eval(args.target, "%concurrent_cancel")
        if hasattr(obj, "cancel_all"):
            obj.cancel_all()
            print(f"cancelled the inputs of {obj.name}")
        elif hasattr(obj, "cancel"):
            obj.cancel()
            print(f"cancelled {args.target}")
        else:
            raise UsageError(
                f"%concurrent_cancel: {args.target} is a {type(obj).__name__}, not a concurrent "
                "function or a call"
            )

    # --- helpers ----------------------------------------------------------------------------

    def _function(self, expr: str | None, magic: str) -> Any:
        if expr is None:
            if self.last_function is not None:
                return self.last_function
            functions = _api().functions()
            if not functions:
                raise UsageError(f"{magic}: there is no concurrent function yet; name one")
            return functions[-1]
        obj = self._eval(expr, magic)
        if not hasattr(obj, "snapshot"):
            raise UsageError(
                f"{magic}: {expr} is a {type(obj).__name__}, not a concurrent function"
            )
        return obj

    def _eval(self, expr: str, where: str) -> Any:
        try:
            return self.ip.ev(expr)
        except Exception as exc:
            raise UsageError(f"{where} {expr}: {type(exc).__name__}: {exc}") from None

    def _parse(self, source: str) -> Any:
        try:
            return cellmap.parse(source)
        except cellmap.CellError as exc:
            raise UsageError(str(exc)) from None

    def _run(self, source: str) -> bool:
        """Run cell code in the user namespace like a normal cell; False if it raised."""
        filename = self.ip.compile.cache(source, self.ip.execution_count)
        try:
            code = self.ip.compile(source, filename, "exec")
            exec(code, self.ip.user_global_ns, self.ip.user_ns)
        except Exception:
            self.ip.showtraceback()
            return False
        return True
