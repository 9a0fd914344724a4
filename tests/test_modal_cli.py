"""``python -m concur_nb.modal run app.py[::entry] --arg value``, as ``modal run`` does, in a real
subprocess; and the ``serve`` slot, which hands over to ``concur_nb.modal._serve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from concur_nb.modal import _cli

ROOT = Path(__file__).resolve().parent.parent

APP = textwrap.dedent(
    """
    import concur_nb.modal as modal

    app = modal.App("cli-app")

    @app.function()
    @modal.concurrent(max_inputs=4)
    def shout(word: str, times: int = 1) -> str:
        print("shouting", word)
        return (word.upper() + "!") * times

    @app.local_entrypoint()
    def main(word: str, times: int = 2, ratio: float = 0.5, loud: bool = False):
        print("result", shout.remote(word, times) if loud else word * times, ratio)

    @app.local_entrypoint()
    async def second(count: int):
        print("async", [x async for x in shout.map.aio(["a"] * count)])
    """
)


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "my_app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "concur_nb.modal", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_parses_the_entrypoints_arguments_from_its_signature(tmp_path: Path) -> None:
    out = run_cli(
        tmp_path,
        "run",
        "my_app.py::main",
        "--word",
        "hi",
        "--times",
        "3",
        "--ratio",
        "1.5",
        "--loud",
    )
    assert out.returncode == 0, out.stderr
    # an input's prints are echoed to the terminal as whole lines, after its id
    assert unprefixed(out.stdout) == ["shouting hi", "result HI!HI!HI! 1.5"]
    quiet = run_cli(tmp_path, "run", "my_app.py::main", "--word", "ab", "--no-loud")
    assert quiet.stdout.strip() == "result abab 0.5"


def test_run_an_async_entrypoint_and_a_function_directly(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "run", "my_app.py::second", "--count", "2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "async ['A!', 'A!']"
    direct = run_cli(tmp_path, "run", "my_app.py::shout", "--word", "x", "--times", "2")
    assert direct.returncode == 0, direct.stderr
    assert unprefixed(direct.stdout) == ["shouting x"]


def test_bad_arguments_and_ambiguous_entries_say_what_to_do(tmp_path: Path) -> None:
    missing = run_cli(tmp_path, "run", "my_app.py::main")
    assert missing.returncode == 2 and "--word" in missing.stderr
    wrong_type = run_cli(tmp_path, "run", "my_app.py::main", "--word", "a", "--times", "x")
    assert wrong_type.returncode == 2 and "invalid int value" in wrong_type.stderr
    ambiguous = run_cli(tmp_path, "run", "my_app.py")
    assert ambiguous.returncode == 2 and "['main', 'second']" in ambiguous.stderr
    unknown = run_cli(tmp_path, "run", "my_app.py::nope")
    assert "no local entrypoint or function named 'nope'" in unknown.stderr


def test_serve_hands_over_to_the_web_front(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.ModuleType("concur_nb.modal._serve")
    fake.main = lambda path, **options: calls.append((path, options)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "concur_nb.modal._serve", fake)
    assert _cli.main(["serve", "web.py", "--timeout", "3"]) == 0
    assert calls == [("web.py", {"timeout": 3.0})]


def test_serve_without_the_web_front_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(_cli.importlib, "import_module", missing)
    assert _cli.main(["serve", "web.py"]) == 2
    assert "concur_nb.modal._serve" in capsys.readouterr().err


def test_no_command_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main([]) == 2
    assert "python -m concur_nb.modal run APP.py[::ENTRY]" in capsys.readouterr().err


def unprefixed(stdout: str) -> list[str]:
    return [re.sub(r"^\[in-[0-9a-f]+\] ", "", line) for line in stdout.strip().splitlines()]
