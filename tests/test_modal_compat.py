"""The seed document's Modal examples run unchanged through ``concur_nb.modal``."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import concur_nb.modal as modal

app = modal.App()


@app.function()
@modal.concurrent(max_inputs=100)
def my_function(input: str) -> str:
    return input.upper()


@app.function()
@modal.concurrent(max_inputs=120, target_inputs=100)  # Allow a 20% burst
def my_burst_function(input: str) -> str:
    return input[::-1]


@app.cls()
@modal.concurrent(max_inputs=100)
class MyCls:
    @modal.method()
    def my_method(self, input: str) -> str:
        return f"method:{input}"


@app.function()
@modal.concurrent(max_inputs=10)
def sleep_sync() -> None:
    time.sleep(0.1)


@app.function()
@modal.concurrent(max_inputs=10)
async def sleep_async() -> None:
    await asyncio.sleep(0.1)


logger = logging.getLogger("better_concurrent_logging")


@app.function()
@modal.concurrent(max_inputs=10)
async def better_concurrent_logging(x: int) -> str | None:
    logger.warning(f"{modal.current_input_id()}: Starting work with {x}")
    return modal.current_input_id()


def test_seed_functions_run_with_their_settings() -> None:
    assert list(my_function.map(["a", "b"])) == ["A", "B"]
    assert my_burst_function.remote("abc") == "cba"
    assert my_burst_function.settings.max_inputs == 120
    assert my_burst_function.settings.target_inputs == 100
    assert MyCls().my_method.remote("x") == "method:x"


def test_ten_sleeps_run_concurrently_on_threads_and_on_tasks() -> None:
    for fn in (sleep_sync, sleep_async):
        list(fn.starmap([()] * 10))
        ran = fn.inputs(limit=10)
        assert len(ran) == 10
        # all ten were running at once: each started before any of them ended
        assert max(i.started_at or 0 for i in ran) < min(i.finished_at or 0 for i in ran)


def test_current_input_id_in_the_log_message() -> None:
    input_id = better_concurrent_logging.remote(3)
    assert input_id is not None
    texts = [line.text for line in better_concurrent_logging.logs(input_id)]
    assert texts == [f"WARNING better_concurrent_logging: {input_id}: Starting work with 3"]


def test_cloud_only_parameters_are_ignored_with_one_warning() -> None:
    image = modal.Image.debian_slim().pip_install("numpy")
    with pytest.warns(UserWarning, match=r"gpu, image, secrets are ignored") as seen:

        @app.function(image=image, gpu="A100", secrets=[modal.Secret.from_name("x")], timeout=30)
        @modal.concurrent(max_inputs=4)
        def gpu_fn(x: int) -> int:
            return x + 1

    assert len(seen) == 1
    assert gpu_fn.remote(1) == 2
    assert gpu_fn.settings.timeout == 30


def test_modal_exception_names_map_to_concur_nb() -> None:
    from concur_nb.modal.exception import InputCancellation

    assert modal.exception.InputCancellation is InputCancellation
    assert issubclass(InputCancellation, BaseException)
    assert not issubclass(InputCancellation, Exception)


def test_legacy_allow_concurrent_inputs_still_means_max_inputs() -> None:
    @app.function(allow_concurrent_inputs=7)
    def legacy(x: int) -> int:
        return x

    assert legacy.settings.max_inputs == 7
