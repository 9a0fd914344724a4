"""``modal.parameter()``: each set of values is its own pool, ``@enter`` sees the values, and
wrong names or types fail as on Modal."""

from __future__ import annotations

import threading

import pytest

import concur_nb
import concur_nb.modal as modal

app = modal.App("params")
entered: list[tuple[str, int]] = []
lock = threading.Lock()


@app.cls()
@modal.concurrent(max_inputs=4)
class Model:
    name: str = modal.parameter()
    size: int = modal.parameter(default=1)
    note: str = modal.parameter(default="", init=False)  # only an annotation, no parameter

    @modal.enter()
    def load(self) -> None:
        with lock:
            entered.append((self.name, self.size))
        self.weights = f"{self.name}-{self.size}"

    @modal.method()
    def describe(self, x: int) -> str:
        return f"{self.weights}:{x}"


def test_each_set_of_values_gets_its_own_pool_and_enter_sees_them() -> None:
    a, b = Model(name="a"), Model(name="b", size=3)
    assert a.describe.remote(1) == "a-1:1"
    assert b.describe.remote(2) == "b-3:2"
    assert list(a.describe.map([3, 4])) == ["a-1:3", "a-1:4"]
    assert {("a", 1), ("b", 3)} <= set(entered)
    # separate pools: separate handles, each with its own inputs and the class's concurrency
    pool_a, pool_b = a.describe, b.describe
    assert pool_a is not pool_b
    assert [i.function for i in pool_b.inputs()] == ["Model(name='b', size=3).describe"]
    assert len(pool_a.inputs()) == 3
    assert a.describe.settings.max_inputs == 4
    assert isinstance(pool_a, concur_nb.Function)


def test_the_same_values_share_a_pool_defaults_included() -> None:
    assert Model(name="c").describe is Model(name="c", size=1).describe


def test_an_unknown_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Model(name="a", colour="red")


def test_a_missing_required_parameter_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="missing a required argument: 'name'"):
        Model()


def test_a_value_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected int, got str"):
        Model(name="a", size="big")


def test_positional_values_are_refused_as_on_modal() -> None:
    with pytest.raises(modal.exception.InvalidError, match="positional arguments"):
        Model("a")


def test_an_unsupported_parameter_type_is_refused_at_decoration() -> None:
    with pytest.raises(modal.exception.InvalidError, match="float is not a supported"):

        @app.cls()
        class Bad:
            ratio: float = modal.parameter(default=0.5)

            @modal.method()
            def f(self) -> float:
                return self.ratio


def test_a_parameter_without_annotation_is_refused() -> None:
    with pytest.raises(modal.exception.InvalidError, match="type-annotated"):

        @app.cls()
        class Bad:
            ratio = modal.parameter(default=1)

            @modal.method()
            def f(self) -> int:
                return 1


def test_bool_and_bytes_parameters_work() -> None:
    @app.cls()
    class Flags:
        on: bool = modal.parameter(default=False)
        blob: bytes = modal.parameter(default=b"")

        @modal.method()
        def show(self) -> tuple[bool, bytes]:
            return self.on, self.blob

    assert Flags(on=True, blob=b"x").show.remote() == (True, b"x")
    assert Flags().show.remote() == (False, b"")


def test_a_class_without_parameters_keeps_one_pool() -> None:
    @app.cls()
    class Single:
        @modal.method()
        def f(self, x: int) -> int:
            return x * 2

    assert Single().f is Single().f
    assert Single().f.remote(2) == 4
    assert modal.Cls.from_name("params", "Single") is Single


def test_a_custom_constructor_takes_its_arguments_per_pool() -> None:
    @app.cls()
    class Legacy:
        def __init__(self, scale: int = 1) -> None:
            self.scale = scale

        @modal.method()
        def times(self, x: int) -> int:
            return self.scale * x

    assert Legacy(3).times.remote(2) == 6
    assert Legacy(scale=5).times.remote(2) == 10
    assert Legacy().times.remote(2) == 2
    assert Legacy(3).times is Legacy(3).times
