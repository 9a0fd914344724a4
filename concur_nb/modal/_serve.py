"""``python -m concur_nb.modal serve app.py``: serve an app file's web endpoints on 127.0.0.1.

Like ``modal serve``: it prints each endpoint's URL, reloads when the file (or a ``.py`` file
next to it) changes, and stops cleanly on Ctrl-C. The app runs in a child process, restarted
on each change, so a reload starts from a clean interpreter (servers a ``web_server``
started included); the URLs stay the same across reloads. A file that fails to import is
reported and served again once it is fixed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

POLL_INTERVAL = 0.25  # seconds between looks at the files' modification times
CHILD_STOP_TIMEOUT = 10.0  # seconds a stopping child gets before it is killed


def main(path: str, *, host: str = "127.0.0.1", port: int = 0, **_options: Any) -> int:
    """Serve ``path``'s endpoints until SIGINT/SIGTERM; the exit status (0: stopped cleanly,
    2: no such file). ``path`` may name one app in the file: ``app.py::app``."""
    file_part = path.partition("::")[0]
    app_file = Path(file_part)
    if not app_file.is_file():
        print(f"serve: no such file: {file_part}", file=sys.stderr)
        return 2
    stop = _stop_on_signals()
    with tempfile.TemporaryDirectory(prefix="concur_nb-serve-") as scratch:
        ports_file = Path(scratch) / "ports.json"
        print(f"Serving {app_file} on {host} (Ctrl-C to stop)", flush=True)
        while not stop.is_set():
            seen = _mtimes(app_file)
            child = _start_child(path, host, port, ports_file)
            changed = _watch(app_file, seen, child, stop)
            _stop_child(child)
            if changed:
                print(f"Reloading {app_file}: it changed.", flush=True)
    print("Stopped.", flush=True)
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


def _mtimes(app_file: Path) -> dict[Path, float]:
    """The modification times of the app file and the Python files next to it."""
    times = {}
    for file in {app_file, *app_file.resolve().parent.glob("*.py")}:
        try:
            times[file] = file.stat().st_mtime
        except OSError:
            continue  # removed while we looked
    return times


def _start_child(path: str, host: str, port: int, ports_file: Path) -> subprocess.Popen[Any]:
    command = [sys.executable, "-m", "concur_nb.modal._serve", "--child", path]
    command += ["--host", host, "--port", str(port), "--ports-file", str(ports_file)]
    return subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _watch(
    app_file: Path, seen: dict[Path, float], child: subprocess.Popen[Any], stop: threading.Event
) -> bool:
    """Wait for a change (True) or a stop (False); a child that exits is reported."""
    reported = False
    while not stop.wait(POLL_INTERVAL):
        if _mtimes(app_file) != seen:
            return True
        if child.poll() is not None and not reported:
            reported = True
            print(
                f"{app_file} is not being served (exit status {child.returncode}); "
                "waiting for it to change.",
                flush=True,
            )
    return False


def _stop_child(child: subprocess.Popen[Any]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(CHILD_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- the child: import the app file and serve its endpoints --------------------------------


def _import_app(app_file: Path) -> ModuleType:
    sys.path.insert(0, str(app_file.resolve().parent))
    spec = importlib.util.spec_from_file_location(app_file.stem, app_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[app_file.stem] = module
    spec.loader.exec_module(module)
    return module


def endpoints_of(module: ModuleType, app_name: str = "") -> list[Any]:
    """The web endpoints defined in ``module`` (functions and class methods), its own and
    those of its ``App``s."""
    from . import App
    from ._web import WebFunction
    from ._web_cls import WebCls

    found: dict[int, Any] = {}
    names = vars(module)
    if app_name and not isinstance(names.get(app_name), App):
        raise SystemExit(f"{module.__file__} has no App named {app_name!r}.")
    for value in [names[app_name]] if app_name else names.values():
        candidates = (
            [*value.registered_functions.values(), *value.registered_classes.values()]
            if isinstance(value, App)
            else [value]
        )
        for candidate in candidates:
            inside = candidate.endpoints.values() if isinstance(candidate, WebCls) else [candidate]
            for endpoint in inside:
                if isinstance(endpoint, WebFunction):
                    found.setdefault(id(endpoint), endpoint)
    return list(found.values())


def serve_child(path: str, host: str, port: int, ports_file: Path) -> int:
    stop = _stop_on_signals()
    import concur_nb

    file_part, _, app_name = path.partition("::")
    app_file = Path(file_part)
    module = _import_app(app_file)
    endpoints = endpoints_of(module, app_name)
    if not endpoints:
        print(f"{app_file} defines no web endpoint (@modal.asgi_app() ...).", flush=True)
        return 1
    ports = json.loads(ports_file.read_text()) if ports_file.exists() else {}
    for index, endpoint in enumerate(endpoints):
        wanted = ports.get(endpoint.endpoint_name, port + index if port else 0)
        url = endpoint.serve(port=wanted, host=host)
        ports[endpoint.endpoint_name] = int(url.rsplit(":", 1)[1])
        print(f"  {endpoint.endpoint_name} => {url}", flush=True)
    ports_file.write_text(json.dumps(ports))
    while not stop.wait(0.5):
        pass
    for endpoint in endpoints:
        endpoint.stop_serving()
    concur_nb.shutdown()
    return 0


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m concur_nb.modal._serve")
    parser.add_argument("path")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ports-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return serve_child(args.path, args.host, args.port, Path(args.ports_file))
    return main(args.path, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
