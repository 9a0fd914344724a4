"""Web endpoints on the methods of an ``@app.cls`` class: built after the class's ``@enter``
hooks, once per container, sharing the class's containers and ``max_inputs`` (real HTTP)."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import require, wait_until
from web_load import Gauge, load_in_background, send_all

import concur_nb.modal as modal

require(
    all(importlib.util.find_spec(m) for m in ("uvicorn", "starlette", "fastapi", "httpx")),
    "the web extra (uvicorn, starlette, fastapi, httpx)",
)
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

served: list[Any] = []


@pytest.fixture(autouse=True)
def _stop_classes() -> Iterator[None]:
    yield
    while served:
        served.pop().shutdown()


def test_class_web_methods_are_built_after_enter_and_share_the_class_limits() -> None:
    app = modal.App()
    gauge = Gauge()
    containers = itertools.count()

    @app.cls(max_containers=2)
    @modal.concurrent(max_inputs=3, target_inputs=1)
    class Model:
        @modal.enter()
        def load(self) -> None:
            self.number = next(containers)
            self.weights = {"bias": 10}

        @modal.fastapi_endpoint(method="POST")
        def predict(self, i: int, item: dict) -> dict:
            with gauge.running(self.number):
                print(f"request {i}")
                gauge.wait_gate_sync()
            score = item["x"] + self.weights["bias"]
            return {"i": i, "score": score, "input_id": modal.current_input_id()}

        @modal.asgi_app()
        def web(self) -> Starlette:
            async def bias(request: Request) -> PlainTextResponse:
                return PlainTextResponse(str(self.weights["bias"]))

            return Starlette(routes=[Route("/bias", bias)])

        @modal.method()
        def describe(self) -> str:
            return f"container {self.number}"

    served.append(Model)
    url = Model().predict.get_web_url()
    with load_in_background(gauge, url, 10, "POST", json={"x": 5}) as load:

        def held() -> bool:
            snap = Model.snapshot()
            return (snap.in_flight, snap.queued, len(snap.containers), gauge.total()) == (
                6,
                4,
                2,
                6,
            )

        wait_until(held, what="6 requests in flight on 2 containers, 4 queued")
        assert gauge.peak == {0: 3, 1: 3}
    answers = [r.json() for r in load.result()]
    assert [a["score"] for a in answers] == [15] * 10
    for answer in answers:
        assert [line.text for line in Model.logs(answer["input_id"])] == [f"request {answer['i']}"]
    assert next(containers) == 2  # @enter ran once per container
    assert httpx.get(f"{Model().web.get_web_url()}/bias").text == "10"
    assert Model().web.get_web_url() != url
    assert Model().describe.remote().startswith("container ")
    assert {i.function for i in Model.inputs()} >= {"Model.predict", "Model.web", "Model.describe"}


def test_a_class_endpoint_without_concurrent_takes_one_request_at_a_time() -> None:
    app = modal.App()

    @app.cls()
    class Greeter:
        @modal.enter()
        def load(self) -> None:
            self.greeting = "hello"

        @modal.fastapi_endpoint()
        async def greet(self, name: str) -> str:
            return f"{self.greeting} {name}"

    served.append(Greeter)
    assert send_all(Greeter().greet.get_web_url(), 1)[0].status_code == 422  # name missing
    response = httpx.get(Greeter().greet.get_web_url(), params={"name": "ada"})
    assert response.json() == "hello ada"
    assert Greeter.settings.max_inputs == 1  # Modal's default without @modal.concurrent
