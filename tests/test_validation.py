"""Every misuse gets one clear error naming what was wrong, the value seen, and the fix."""

from __future__ import annotations

import asyncio

import pytest

import concur_nb
from concur_nb import InvalidError


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "10"])
def test_bad_max_inputs_is_rejected_with_its_value(bad: object) -> None:
    with pytest.raises(InvalidError, match=rf"max_inputs.*{bad!r}"):
        concur_nb.concurrent(max_inputs=bad)


def test_missing_max_inputs_says_it_is_required() -> None:
    with pytest.raises(InvalidError, match="needs max_inputs"):
        concur_nb.concurrent()


def test_target_inputs_above_max_is_rejected() -> None:
    with pytest.raises(InvalidError, match=r"target_inputs=11 is above max_inputs=10"):
        concur_nb.concurrent(max_inputs=10, target_inputs=11)


@pytest.mark.parametrize("bad", [0, -1, 1.5, False])
def test_target_inputs_below_one_or_not_an_int_is_rejected(bad: object) -> None:
    with pytest.raises(InvalidError, match="target_inputs"):
        concur_nb.concurrent(max_inputs=10, target_inputs=bad)


def test_concurrent_on_a_method_says_decorate_the_class() -> None:
    with pytest.raises(InvalidError, match="decorate the class instead"):

        class Model:
            @concur_nb.concurrent(max_inputs=2)
            def predict(self, x: int) -> int:
                return x


@pytest.mark.parametrize(
    ("decorator", "fix"),
    [
        (concur_nb.concurrent, r"concurrent\(max_inputs=10\)"),
        (concur_nb.function, r"function\(\)"),
        (concur_nb.batched, r"batched\(max_batch_size=8, wait_ms=100\)"),
        (concur_nb.method, r"method\(\)"),
        (concur_nb.enter, r"enter\(\)"),
    ],
)
def test_decorators_without_parentheses_say_how_to_call_them(decorator: object, fix: str) -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(InvalidError, match=fix):
        decorator(f)  # type: ignore[operator]


def test_min_containers_above_max_containers_is_rejected() -> None:
    with pytest.raises(InvalidError, match="min_containers=3 is above max_containers=2"):
        concur_nb.function(min_containers=3, max_containers=2)


@pytest.mark.parametrize("bad", [0, -5])
def test_scaledown_window_must_be_positive(bad: float) -> None:
    with pytest.raises(InvalidError, match=rf"scaledown_window must be > 0, got {bad}"):
        concur_nb.function(scaledown_window=bad)


@pytest.mark.parametrize("bad", ["3", -1, 1.5, [3]])
def test_bad_retries_are_rejected(bad: object) -> None:
    with pytest.raises(InvalidError, match="retries"):
        concur_nb.function(retries=bad)


def test_retries_backoff_below_one_is_rejected() -> None:
    with pytest.raises(InvalidError, match="backoff_coefficient"):
        concur_nb.Retries(max_retries=2, backoff_coefficient=0.5)


def test_unknown_backend_is_rejected_at_decoration() -> None:
    with pytest.raises(InvalidError, match="backend must be"):
        concur_nb.function(backend="gpu-cluster")


@pytest.mark.parametrize("size", [0, 1001, -1])
def test_batch_size_outside_1_to_1000_is_rejected(size: int) -> None:
    with pytest.raises(InvalidError, match="max_batch_size"):
        concur_nb.batched(max_batch_size=size, wait_ms=10)


def test_negative_wait_ms_is_rejected() -> None:
    with pytest.raises(InvalidError, match="wait_ms must be >= 0"):
        concur_nb.batched(max_batch_size=4, wait_ms=-1)


def test_batched_function_with_defaults_is_rejected() -> None:
    with pytest.raises(InvalidError, match="default for 'scale'"):

        @concur_nb.batched(max_batch_size=4, wait_ms=10)
        def embed(texts: list[str], scale: int = 2) -> list[int]:
            return [len(t) * scale for t in texts]


def test_batched_function_returning_wrong_length_fails_its_inputs_clearly() -> None:
    @concur_nb.batched(max_batch_size=4, wait_ms=0)
    def broken(xs: list[int]) -> list[int]:
        return xs[:-1]

    results = list(broken.map([1, 2, 3, 4], return_exceptions=True))
    assert all(isinstance(r, InvalidError) for r in results), results
    assert "must return a list with one output per input" in str(results[0])


def test_generator_functions_are_rejected() -> None:
    with pytest.raises(InvalidError, match="is a generator"):

        @concur_nb.concurrent(max_inputs=2)
        def numbers(n: int):  # type: ignore[no-untyped-def]
            yield from range(n)


def test_aio_call_from_sync_code_says_to_use_the_blocking_form() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(InvalidError, match=r"from sync code call `double.remote\(...\)`"):
        double.remote.aio(1)


def test_blocking_call_inside_an_async_input_is_refused() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def double(x: int) -> int:
        return 2 * x

    @concur_nb.concurrent(max_inputs=2)
    async def caller(x: int) -> int:
        return double.remote(x)

    with pytest.raises(InvalidError, match=r"await double.remote.aio"):
        caller.remote(1)


def test_awaiting_from_an_async_input_works() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def double(x: int) -> int:
        return 2 * x

    @concur_nb.concurrent(max_inputs=2)
    async def caller(x: int) -> int:
        return await double.remote.aio(x) + 1

    async def main() -> int:
        return await caller.remote.aio(5)

    assert caller.remote(4) == 9
    assert asyncio.run(main()) == 11


def test_class_with_constructor_arguments_is_refused_with_the_fix() -> None:
    @concur_nb.concurrent(max_inputs=2)
    class Model:
        @concur_nb.method()
        def predict(self, x: int) -> int:
            return x

    with pytest.raises(InvalidError, match="takes no arguments"):
        Model("big")


def test_unknown_method_lists_the_methods() -> None:
    @concur_nb.concurrent(max_inputs=2)
    class Model:
        @concur_nb.method()
        def predict(self, x: int) -> int:
            return x

    with pytest.raises(AttributeError, match=r"methods: \['predict'\]"):
        Model().train  # noqa: B018


# --- values that would overflow or switch a timer off -------------------------------------


@pytest.mark.parametrize(
    ("setting", "bad", "said"),
    [
        ("timeout", 10**400, r"timeout must be at most .*10\*\*400.*timeout=None"),
        ("timeout", float("inf"), r"timeout must be at most .*got inf"),
        ("timeout", float("nan"), r"timeout must be a number > 0, got nan"),
        ("scaledown_window", 10**400, r"scaledown_window must be at most .*min_containers"),
        ("scaledown_window", float("nan"), r"scaledown_window must be a number > 0, got nan"),
    ],
)
def test_timer_settings_out_of_range_are_rejected_at_the_decorator_and_update(
    setting: str, bad: object, said: str
) -> None:
    with pytest.raises(InvalidError, match=said):
        concur_nb.function(**{setting: bad})

    @concur_nb.function()
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(InvalidError, match=said):
        double.update(**{setting: bad})
    assert double.remote(2) == 4  # the rejected update changed nothing


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("initial_delay", float("inf")),
        ("initial_delay", float("nan")),
        ("initial_delay", -1.0),
        ("max_delay", float("inf")),
        ("backoff_coefficient", float("inf")),
        ("backoff_coefficient", float("nan")),
    ],
)
def test_retries_with_endless_or_undefined_delays_are_rejected(field: str, bad: float) -> None:
    with pytest.raises(InvalidError, match=rf"Retries\({field}\).*Retries\(max_retries=3"):
        concur_nb.Retries(max_retries=3, **{field: bad})


def test_a_retry_delay_saturates_at_max_delay_instead_of_overflowing() -> None:
    instant = concur_nb.Retries(max_retries=10_000, initial_delay=0, max_delay=0)
    assert instant.delay(1025) == 0.0 and instant.delay(5000) == 0.0
    slow = concur_nb.Retries(max_retries=10_000, initial_delay=1.0, max_delay=30.0)
    assert [slow.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert slow.delay(5000) == 30.0 and slow.delay(10**12) == 30.0


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"python": None}, r"ssh\(python=None\).*python='python3'"),
        ({"python": ""}, r"ssh\(python=''\)"),
        ({"connect_timeout": float("nan")}, r"connect_timeout must be a number > 0, got nan"),
        ({"connect_timeout": float("inf")}, r"connect_timeout must be at most 3,600, got inf"),
        ({"connect_timeout": 0}, r"connect_timeout must be > 0, got 0"),
        ({"start_timeout": float("nan")}, r"start_timeout must be a number > 0, got nan"),
        ({"heartbeat_timeout": float("nan")}, r"heartbeat_timeout must be a number > 0"),
        ({"heartbeat_timeout": 10**400}, r"heartbeat_timeout must be at most"),
        ({"ssh_options": None}, r"ssh_options=None is a NoneType; pass a list"),
        ({"ssh_options": [1, 2]}, r"ssh_options=\[1, 2\] holds 1 \(int\); every item"),
        ({"ssh_options": "-p 22"}, r"ssh_options='-p 22' is a str; pass a list"),
    ],
)
def test_bad_ssh_arguments_are_rejected_when_the_backend_is_made(
    arguments: dict[str, object], said: str
) -> None:
    with pytest.raises(InvalidError, match=said):
        concur_nb.ssh("gpu-box", **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"python": None}, r"ProcessBackend\(python=None\)"),
        ({"heartbeat_timeout": float("nan")}, r"heartbeat_timeout must be a number > 0, got nan"),
        ({"start_timeout": float("inf")}, r"start_timeout must be at most"),
        ({"max_processes": 0}, r"max_processes must be >= 1, got 0"),
    ],
)
def test_bad_process_backend_arguments_are_rejected(
    arguments: dict[str, object], said: str
) -> None:
    from concur_nb._containers.process import ProcessBackend

    with pytest.raises(InvalidError, match=said):
        ProcessBackend(**arguments)  # type: ignore[arg-type]
