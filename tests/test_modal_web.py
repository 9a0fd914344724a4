"""Modal's web endpoints served on 127.0.0.1, with real HTTP: each request is one input.

Requests are held inside the app by a gate, so a test sees what is in flight and what waits
in the queue, then opens the gate and checks every answer and every input's log.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import os
from collections.abc import Iterator
from typing import Any

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
from starlette.responses import JSONResponse, PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

served: list[Any] = []


@pytest.fixture(autouse=True)
def _stop_fronts() -> Iterator[None]:
    yield
    while served:
        served.pop().shutdown()


def url_of(endpoint: Any) -> str:
    served.append(endpoint)
    return str(endpoint.get_web_url())


def held_in_queue(
    endpoint: Any, gauge: Gauge, in_flight: int, queued: int, containers: int
) -> None:
    """Wait until the app holds ``in_flight`` requests and the rest wait in the queue."""

    def there() -> bool:
        snap = endpoint.snapshot()
        running = [c for c in snap.containers if c.status == "running"]
        seen = (snap.in_flight, snap.queued, len(running), gauge.total())
        return seen == (in_flight, queued, containers, in_flight)

    wait_until(there, what=f"{in_flight} in flight, {queued} queued on {containers} containers")


def assert_own_logs(endpoint: Any, answers: list[dict[str, Any]]) -> None:
    """Each request printed one line; it is in its own input's log and in no other."""
    for answer in answers:
        lines = [line.text for line in endpoint.logs(answer["input_id"])]
        assert lines == [f"request {answer['i']}"]


def test_asgi_app_runs_each_request_as_an_input_under_max_inputs() -> None:
    app = modal.App()
    gauge = Gauge()
    builds = itertools.count()

    @app.function(max_containers=2)
    @modal.concurrent(max_inputs=4, target_inputs=2)
    @modal.asgi_app()
    def web() -> Starlette:
        container = next(builds)  # Modal calls this once per container

        async def hello(request: Request) -> JSONResponse:
            with gauge.running(container):
                print(f"request {request.query_params['i']}")
                await gauge.wait_gate()
            return JSONResponse(
                {"i": int(request.query_params["i"]), "input_id": modal.current_input_id()}
            )

        return Starlette(routes=[Route("/", hello)])

    url = url_of(web)
    with load_in_background(gauge, url, 20) as load:
        held_in_queue(web, gauge, in_flight=8, queued=12, containers=2)
        assert gauge.peak == {0: 4, 1: 4}  # no container ever ran more than max_inputs
    responses = load.result()
    assert [r.status_code for r in responses] == [200] * 20
    answers = [r.json() for r in responses]
    assert [a["i"] for a in answers] == list(range(20))
    assert len({a["input_id"] for a in answers}) == 20
    assert next(builds) == 2  # one app per container, two containers
    assert max(gauge.peak.values()) == 4
    assert_own_logs(web, answers)
    snap = web.snapshot()
    assert (snap.submitted, snap.succeeded) == (20, 20)
    assert any(d.action == "scale_up" and d.containers_after == 2 for d in snap.decisions)


def test_asgi_lifespan_runs_once_per_container_and_its_state_reaches_requests() -> None:
    from contextlib import asynccontextmanager

    app = modal.App()
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        events.append("startup")
        yield {"model": "loaded"}
        events.append("shutdown")

    async def read_state(request: Request) -> JSONResponse:
        return JSONResponse({"model": request.state.model})

    @app.function()
    @modal.asgi_app()
    def web() -> Starlette:
        return Starlette(routes=[Route("/", read_state)], lifespan=lifespan)

    responses = send_all(url_of(web), 3)
    assert [r.json() for r in responses] == [{"model": "loaded"}] * 3
    assert events == ["startup"]
    web.shutdown()
    wait_until(lambda: events == ["startup", "shutdown"], what="lifespan shutdown")


def test_fastapi_endpoint_wraps_the_function_and_its_prints_land_in_its_input() -> None:
    app = modal.App()
    gauge = Gauge()

    @app.function(max_containers=2)
    @modal.concurrent(max_inputs=2, target_inputs=1)
    @modal.fastapi_endpoint(method="POST")
    def predict(i: int, item: dict) -> dict:  # sync: FastAPI runs it on a thread
        with gauge.running(0):
            print(f"request {i}")
            gauge.wait_gate_sync()
        return {"i": i, "input_id": modal.current_input_id(), "echo": item["x"]}

    url = url_of(predict)
    with load_in_background(gauge, url, 6, "POST", json={"x": "hello"}) as load:
        held_in_queue(predict, gauge, in_flight=4, queued=2, containers=2)
        assert gauge.peak == {0: 4}  # 2 per container on 2 containers
        assert all(c.in_use == 2 for c in predict.snapshot().containers)
    answers = [r.json() for r in load.result()]
    assert [a["echo"] for a in answers] == ["hello"] * 6
    assert len({a["input_id"] for a in answers}) == 6
    assert_own_logs(predict, answers)


def test_fastapi_endpoint_answers_only_its_method() -> None:
    app = modal.App()

    @app.function()
    @modal.fastapi_endpoint()  # GET, as Modal's default
    async def square(x: int) -> dict:
        return {"square": x * x}

    import httpx

    url = url_of(square)
    assert httpx.get(url, params={"x": 7}).json() == {"square": 49}
    assert httpx.post(url, params={"x": 7}).status_code == 405
    assert httpx.get(url, params={"x": "seven"}).status_code == 422  # FastAPI's validation


def test_web_endpoint_is_the_deprecated_name_of_fastapi_endpoint() -> None:
    app = modal.App()
    with pytest.warns(DeprecationWarning, match="fastapi_endpoint"):
        mark = modal.web_endpoint(method="GET")

    @app.function()
    @mark
    def ping() -> str:
        return "pong"

    assert send_all(url_of(ping), 1)[0].json() == "pong"


def wsgi_counter(gauge: Gauge, container: int) -> Any:
    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        i = environ["QUERY_STRING"].removeprefix("i=")
        with gauge.running(container):
            print(f"request {i}")
            gauge.wait_gate_sync()
        body = f'{{"i": {i}, "input_id": "{modal.current_input_id()}"}}'.encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return application


def test_wsgi_app_runs_each_request_on_a_container_thread() -> None:
    app = modal.App()
    gauge = Gauge()
    builds = itertools.count()

    @app.function(max_containers=2)
    @modal.concurrent(max_inputs=3, target_inputs=1)
    @modal.wsgi_app()
    def web() -> Any:
        return wsgi_counter(gauge, next(builds))

    url = url_of(web)
    with load_in_background(gauge, url, 10) as load:
        held_in_queue(web, gauge, in_flight=6, queued=4, containers=2)
        assert gauge.peak == {0: 3, 1: 3}
    responses = load.result()
    assert [r.status_code for r in responses] == [200] * 10
    assert web.snapshot().backend == "thread"
    assert_own_logs(web, [r.json() for r in responses])


def test_get_web_url_serves_once_on_a_local_port() -> None:
    app = modal.App()

    @app.function()
    @modal.concurrent(max_inputs=10)  # above the web decorator works too
    @modal.asgi_app()
    def web() -> Starlette:
        return Starlette(routes=[Route("/", lambda r: JSONResponse(os.getpid()))])

    url = url_of(web)
    assert url.startswith("http://127.0.0.1:")
    assert web.get_web_url() == url
    assert web.settings.max_inputs == 10
    assert send_all(url, 1)[0].json() == os.getpid()
    with pytest.raises(modal.exception.InvalidError, match="get_web_url"):
        web.remote()


def test_a_request_past_the_function_timeout_gets_504() -> None:
    app = modal.App()

    async def slow(request: Request) -> JSONResponse:
        await asyncio.sleep(30)
        return JSONResponse("late")

    @app.function(timeout=0.3)
    @modal.asgi_app()
    def web() -> Starlette:
        return Starlette(routes=[Route("/", slow)])

    response = send_all(url_of(web), 1)[0]
    assert response.status_code == 504
    assert "timed out" in response.text
    assert web.snapshot().failed == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: modal.fastapi_endpoint(method="FETCH"), "method"),
        (lambda: modal.web_server(0), "port"),
        (lambda: modal.web_server(8000, startup_timeout=0), "startup_timeout"),
        (lambda: modal.asgi_app()(object()), "decorates a function"),
    ],
)
def test_bad_web_decorator_arguments_are_rejected(make: Any, message: str) -> None:
    with pytest.raises(modal.exception.InvalidError, match=message):
        make()


def test_a_bare_web_decorator_says_to_call_it() -> None:
    with pytest.raises(modal.exception.InvalidError, match=r"@modal.asgi_app\(\)"):

        @modal.asgi_app  # type: ignore[arg-type]
        def web() -> None: ...


def test_a_handler_that_raises_gives_500_and_a_failed_input() -> None:
    app = modal.App()

    async def broken(request: Request) -> JSONResponse:
        raise ValueError("no such item")

    @app.function()
    @modal.asgi_app()
    def web() -> Starlette:
        return Starlette(routes=[Route("/", broken)])

    response = send_all(url_of(web), 1)[0]
    assert response.status_code == 500
    [info] = web.inputs()
    assert info.status == "failed"
    assert "no such item" in (info.error or "")


def test_defining_an_endpoint_again_takes_over_its_url() -> None:
    """As when a notebook cell is run again: the new definition answers at the same URL."""
    urls, answers = [], []
    for version in ("v1", "v2"):
        app = modal.App()

        async def hello(request: Request, version: str = version) -> PlainTextResponse:
            return PlainTextResponse(version)

        @app.function()
        @modal.asgi_app()
        def web() -> Starlette:
            return Starlette(routes=[Route("/", hello)])

        urls.append(url_of(web))
        answers.append(send_all(urls[-1], 1)[0].text)
    assert answers == ["v1", "v2"]
    assert urls[0] == urls[1]


def test_a_failing_lifespan_startup_fails_the_requests_with_its_error() -> None:
    from contextlib import asynccontextmanager

    app = modal.App()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        raise RuntimeError("no model file")
        yield

    @app.function()
    @modal.asgi_app()
    def web() -> Starlette:
        return Starlette(lifespan=lifespan)

    response = send_all(url_of(web), 1)[0]
    assert response.status_code == 500
    assert "lifespan startup failed: RuntimeError: no model file" in response.text
