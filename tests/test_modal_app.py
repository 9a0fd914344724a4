"""``modal.App`` and the names around it: one warning at the user's line for cloud-only options,
Modal's bounds, lookups by name, ``include``/``deploy``, ``is_local`` and the stand-ins."""

from __future__ import annotations

import warnings

import pytest

import concur_nb.modal as modal

app = modal.App("app-tests")


def test_the_ignored_option_warning_points_at_the_users_line() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")

        @app.function(gpu="H100", volumes={"/data": modal.Volume.from_name("v")}, cpu=4)
        def gpu_fn(x: int) -> int:
            return x

    assert len(seen) == 1
    assert seen[0].filename == __file__
    assert "cpu, gpu, volumes are ignored" in str(seen[0].message)
    assert gpu_fn.remote(2) == 2


def test_options_left_at_modals_defaults_draw_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @app.function(serialized=False, gpu=None, timeout=10, name="renamed")
        def quiet(x: int) -> int:
            return x

    assert quiet.name == "renamed" and quiet.settings.timeout == 10


def test_a_cloud_only_app_option_warns_at_the_users_line() -> None:
    with pytest.warns(UserWarning, match="image are ignored") as seen:
        modal.App(image=modal.Image.debian_slim())
    assert seen[0].filename == __file__


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_retries": 11}, "max_retries=11"),
        ({"max_retries": 1, "backoff_coefficient": 11.0}, "backoff_coefficient"),
        ({"max_retries": 1, "initial_delay": 61.0}, "initial_delay"),
        ({"max_retries": 1, "max_delay": 0.5}, "max_delay"),
    ],
)
def test_retries_outside_modals_bounds_are_refused(options: dict, fragment: str) -> None:
    with pytest.raises(modal.exception.InvalidError, match=fragment):
        modal.Retries(**options)


def test_retries_within_bounds_and_int_retries_apply() -> None:
    policy = modal.Retries(max_retries=10, backoff_coefficient=10.0, initial_delay=0.0)
    assert policy.max_retries == 10

    @app.function(retries=3)
    def retried(x: int) -> int:
        return x

    assert retried.settings.retries is not None
    assert retried.settings.retries.max_retries == 3
    with pytest.raises(modal.exception.InvalidError, match="between 0 and 10"):
        app.function(retries=11)


def test_batched_and_scaledown_window_bounds_are_modals() -> None:
    with pytest.raises(modal.exception.InvalidError, match="between 1 and 1000"):
        modal.batched(max_batch_size=1001, wait_ms=10)
    with pytest.raises(modal.exception.InvalidError, match="600000"):
        modal.batched(max_batch_size=4, wait_ms=600_001)
    with pytest.raises(modal.exception.InvalidError, match="between 2 and 3600"):
        app.function(scaledown_window=1)
    with pytest.raises(modal.exception.InvalidError, match="between 2 and 3600"):
        app.cls(scaledown_window=3601)


def test_batched_runs_under_app_function() -> None:
    @app.function()
    @modal.batched(max_batch_size=4, wait_ms=10)
    def double(xs: list[int]) -> list[int]:
        return [x * 2 for x in xs]

    assert list(double.map(range(6))) == [0, 2, 4, 6, 8, 10]


def test_concurrent_on_a_method_is_refused() -> None:
    with pytest.raises(modal.exception.InvalidError, match="decorate the class"):

        class C:
            @modal.concurrent(max_inputs=2)
            def f(self) -> None: ...


def test_missing_parentheses_are_caught() -> None:
    with pytest.raises(modal.exception.InvalidError, match="parentheses"):
        app.function(lambda: 1)
    with pytest.raises(modal.exception.InvalidError, match="parentheses"):
        modal.concurrent(lambda: 1)


def test_from_name_finds_functions_and_classes_of_named_apps() -> None:
    lookup_app = modal.App("lookup")

    @lookup_app.function()
    def square(x: int) -> int:
        return x * x

    @lookup_app.cls()
    class Greeter:
        @modal.method()
        def hi(self, name: str) -> str:
            return f"hi {name}"

    assert modal.Function.from_name("lookup", "square").remote(3) == 9
    assert modal.Cls.from_name("lookup", "Greeter")().hi.remote("a") == "hi a"
    with pytest.raises(modal.exception.NotFoundError, match="no App named 'nope'"):
        modal.Function.from_name("nope", "square")
    with pytest.raises(modal.exception.NotFoundError, match=r"its functions: \['square'\]"):
        modal.Function.from_name("lookup", "cube")


def test_include_and_deploy() -> None:
    library = modal.App()

    @library.function()
    def helper() -> str:
        return "helped"

    main = modal.App("main-app")
    assert main.include(library) is main
    assert main.registered_functions["helper"] is helper
    assert main.deploy(name="deployed-here") is main
    assert modal.Function.from_name("deployed-here", "helper").remote() == "helped"


def test_is_local_is_true_outside_an_input_and_false_inside() -> None:
    @app.function()
    def where() -> bool:
        return modal.is_local()

    assert modal.is_local() is True
    assert where.remote() is False
    assert where.local() is True


def test_stand_ins_say_what_they_do_locally() -> None:
    assert "not run on a schedule locally" in repr(modal.Period(hours=1))
    assert "not run on a schedule locally" in repr(modal.Cron("0 9 * * *"))
    with pytest.raises(modal.exception.InvalidError, match="five fields"):
        modal.Cron("every day")
    with pytest.raises(modal.exception.InvalidError, match="subprocess"):
        modal.Sandbox.create("echo", "hi", app=app)
    assert "ignored locally" in repr(modal.NetworkFileSystem.from_name("nfs"))
    assert modal.interact() is None
    with pytest.warns(UserWarning, match="schedule"):

        @app.function(schedule=modal.Period(days=1))
        def nightly() -> int:
            return 1

    assert nightly.remote() == 1


def test_local_entrypoint_and_run() -> None:
    runner = modal.App("runner")

    @runner.local_entrypoint()
    def main(n: int = 2) -> int:
        return n

    with runner.run() as running:
        assert running is runner and main() == 2
    assert runner.registered_entrypoints == {"main": main}


def test_enter_snap_is_ignored_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="snap") as seen:

        @app.cls()
        class Snapped:
            @modal.enter(snap=True)
            def load(self) -> None:
                self.ready = True

            @modal.method()
            def ready_now(self) -> bool:
                return self.ready

    assert seen[0].filename == __file__
    assert Snapped().ready_now.remote() is True
