"""A clean shutdown leaves no thread or event loop behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import concur_nb
from tests.conftest import wait_until


def _engine_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("concur_nb-engine", "sd_", "sa_", "Svc"))
    ]


def test_shutdown_stops_every_container_thread_loop_and_the_engine() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def sd_sync(x: int) -> int:
        return x

    @concur_nb.concurrent(max_inputs=4)
    async def sa_async(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    @concur_nb.concurrent(max_inputs=2)
    class Svc:
        @concur_nb.method()
        async def ping(self) -> str:
            return "pong"

    assert list(sd_sync.map(range(10))) == list(range(10))
    assert list(sa_async.map(range(10))) == list(range(10))
    assert Svc().ping.remote() == "pong"
    assert _engine_threads()
    concur_nb.shutdown()
    wait_until(
        lambda: not _engine_threads(), timeout=10, what=f"threads to end: {_engine_threads()}"
    )

    # The engine starts afresh on the next use.
    @concur_nb.concurrent(max_inputs=2)
    def again(x: int) -> int:
        return x + 1

    assert again.remote(1) == 2


def test_live_autoscaler_settings_take_effect_at_once() -> None:
    @concur_nb.function(scaledown_window=600)
    @concur_nb.concurrent(max_inputs=2)
    def echo(x: int) -> int:
        return x

    echo.update(min_containers=3, max_containers=3)
    wait_until(lambda: len(echo.snapshot().containers) == 3, what="three warm containers")
    assert echo.snapshot().decisions[-1].reason == "min_containers=3"


def test_interpreter_exit_with_work_in_flight_returns_cleanly() -> None:
    code = (
        "import asyncio, concur_nb\n"
        "@concur_nb.concurrent(max_inputs=4)\n"
        "async def forever(x):\n"
        "    await asyncio.sleep(3600)\n"
        "forever.spawn_map(range(8))\n"
        "print('leaving')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() == "leaving"
