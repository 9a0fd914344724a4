"""Modal 1.6's variants (with_concurrency, with_batching, with_options), autoscaler control and
current stats, on the native API, with real threads."""

from __future__ import annotations

import threading

import pytest

import concur_nb
from concur_nb._control import AutoscalerSettings
from tests.conftest import wait_until


def test_a_concurrency_variant_is_its_own_function_with_its_own_containers() -> None:
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=1)
    def fetch(x: int) -> int:
        release.wait(10)
        return x

    wide = fetch.with_concurrency(max_inputs=4)
    assert wide.name == "fetch[max_inputs=4]"
    assert wide is fetch.with_concurrency(max_inputs=4)  # one variant per option set
    assert (wide.settings.max_inputs, fetch.settings.max_inputs) == (4, 1)
    assert wide in concur_nb.functions()

    call = wide.spawn_map(range(4))
    wait_until(lambda: wide.snapshot().in_flight == 4, what="four inputs on the variant")
    assert wide.snapshot().name == "fetch[max_inputs=4]"
    assert fetch.snapshot().submitted == 0  # the original's pool saw nothing
    release.set()
    assert call.get() == [0, 1, 2, 3]


def test_variants_chain_and_keep_every_option() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    both = f.with_concurrency(max_inputs=3).with_options(timeout=5)
    assert both.name == "f[max_inputs=3, timeout=5]"
    assert (both.settings.max_inputs, both.settings.timeout) == (3, 5)
    assert both.remote(1) == 1


def test_with_options_sets_run_settings_and_warns_once_about_cloud_only_ones() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    with pytest.warns(UserWarning, match="gpu, memory"):
        variant = f.with_options(retries=2, max_containers=3, gpu="A100", memory=1024)
    assert variant.settings.max_containers == 3
    assert variant.settings.retries is not None and variant.settings.retries.max_retries == 2
    assert variant.remote(5) == 5


def test_a_bad_variant_option_fails_where_it_is_given() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    with pytest.raises(concur_nb.InvalidError, match="max_inputs"):
        f.with_concurrency(max_inputs=0)
    with pytest.raises(concur_nb.InvalidError, match="max_batch_size"):
        f.with_batching(max_batch_size=0, wait_ms=10)


def test_a_batching_variant_gets_lists() -> None:
    sizes: list[int] = []

    @concur_nb.concurrent(max_inputs=1)
    def double(xs: list[int]) -> list[int]:
        sizes.append(len(xs))
        return [2 * x for x in xs]

    batched = double.with_batching(max_batch_size=4, wait_ms=60_000)
    assert batched.name == "double[max_batch_size=4, wait_ms=60000]"
    assert list(batched.map(range(4))) == [0, 2, 4, 6]  # a full batch runs at once
    assert sizes == [4]


def test_class_variants_share_nothing_with_the_class() -> None:
    @concur_nb.concurrent(max_inputs=1)
    class Model:
        @concur_nb.method()
        def predict(self, x: int) -> int:
            return x + 1

        @concur_nb.batched(max_batch_size=2, wait_ms=60_000)
        def embed(self, xs: list[int]) -> list[int]:
            return [len(xs)] * len(xs)

    wide = Model.with_concurrency(max_inputs=3)
    assert wide.name == "Model[max_inputs=3]"
    assert wide().predict.name == "Model[max_inputs=3].predict"
    assert wide().predict.remote(1) == 2
    assert wide.settings.max_inputs == 3 and Model.settings.max_inputs == 1
    fours = Model.with_batching(max_batch_size=4, wait_ms=60_000)
    assert list(fours().embed.map(range(4))) == [4, 4, 4, 4]
    with pytest.raises(concur_nb.InvalidError, match=r"Model\.with_options"):
        Model().predict.with_options(timeout=5)


def test_with_batching_on_a_class_without_batched_methods_says_so() -> None:
    @concur_nb.concurrent(max_inputs=1)
    class Plain:
        def run(self, x: int) -> int:
            return x

    with pytest.raises(concur_nb.InvalidError, match="has none"):
        Plain.with_batching(max_batch_size=2, wait_ms=10)


def test_the_autoscaler_changes_what_is_given_and_leaves_the_rest() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        return x

    assert f.remote(1) == 1  # running: the change applies live
    f.autoscaler.update(min_containers=2, max_containers=3)
    f.autoscaler.update(buffer_containers=1)
    assert f.autoscaler.settings() == AutoscalerSettings(
        min_containers=2, max_containers=3, buffer_containers=1, scaledown_window=60.0
    )
    wait_until(lambda: len(f.snapshot().containers) == 2, what="min_containers started")
    with pytest.warns(DeprecationWarning, match=r"autoscaler\.update"):
        f.update_autoscaler(max_containers=2)
    assert f.settings.max_containers == 2 and f.settings.min_containers == 2


def test_current_stats_count_the_backlog_runners_running_inputs_and_headroom() -> None:
    release = threading.Event()

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=2)
    def hold(x: int) -> int:
        release.wait(10)
        return x

    assert hold.get_current_stats() == concur_nb.FunctionCurrentStats(0, 0, 0, 0)
    call = hold.spawn_map(range(5))
    wait_until(lambda: hold.snapshot().in_flight == 2, what="two running")
    stats = hold.get_current_stats()
    assert (stats.backlog, stats.num_total_runners, stats.num_running_inputs) == (3, 1, 2)
    assert stats.input_headroom == 0
    release.set()
    call.get()
    assert hold.get_current_stats().input_headroom == 2
