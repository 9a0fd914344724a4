"""Variants and autoscaler control through ``concur_nb.modal``: Modal's bounds and the one
warning apply on top of the native methods, and what they return is a Modal handle.

The native methods come from the variants work; the tests of the modal layer's rules stand
in a recording native method, and the end-to-end ones run once the native ones exist.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import concur_nb
import concur_nb.modal as modal

app = modal.App("variants")


@app.function()
@modal.concurrent(max_inputs=4)
def echo(x: int) -> int:
    return x


def _require_native(name: str) -> None:
    if not hasattr(concur_nb.Function, name) and name not in vars(echo):
        pytest.xfail(f"native Function.{name} comes with the variants branch")


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake(name: str) -> Any:
        def method(self: Any, **options: Any) -> Any:
            calls.append((name, options))
            return concur_nb.function(name=f"{self.name}-variant")(lambda x: x)

        return method

    class FakeAutoscaler:
        def update(self, **changes: Any) -> None:
            calls.append(("autoscaler.update", changes))

    for name in ("with_options", "with_concurrency", "with_batching", "update_autoscaler"):
        monkeypatch.setattr(concur_nb.Function, name, fake(name), raising=False)
    monkeypatch.setattr(
        concur_nb.Function, "autoscaler", property(lambda self: FakeAutoscaler()), raising=False
    )
    return calls


def test_with_options_warns_once_at_the_users_line_and_keeps_local_options(recorded) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        variant = echo.with_options(gpu="A100", max_containers=3, timeout=5)
    assert len(seen) == 1 and seen[0].filename == __file__
    assert "gpu" in str(seen[0].message)
    assert recorded == [("with_options", {"max_containers": 3, "timeout": 5})]
    assert isinstance(variant, modal.Function)


def test_modal_bounds_apply_to_variants_and_the_autoscaler(recorded) -> None:
    with pytest.raises(modal.exception.InvalidError, match="between 2 and 3600"):
        echo.with_options(scaledown_window=1)
    with pytest.raises(modal.exception.InvalidError, match="between 0 and 10"):
        echo.with_options(retries=11)
    with pytest.raises(modal.exception.InvalidError, match="between 1 and 1000"):
        echo.with_batching(max_batch_size=1001, wait_ms=1)
    with pytest.raises(modal.exception.InvalidError, match="between 2 and 3600"):
        echo.autoscaler.update(scaledown_window=4000)
    with pytest.raises(modal.exception.InvalidError, match="between 2 and 3600"):
        echo.update_autoscaler(scaledown_window=0)
    echo.autoscaler.update(min_containers=1, scaledown_window=60)
    echo.with_concurrency(max_inputs=8, target_inputs=6)
    assert recorded == [
        ("autoscaler.update", {"min_containers": 1, "scaledown_window": 60}),
        ("with_concurrency", {"max_inputs": 8, "target_inputs": 6}),
    ]


def test_a_variant_is_its_own_pool_end_to_end() -> None:
    _require_native("with_concurrency")
    wide = echo.with_concurrency(max_inputs=16)
    assert isinstance(wide, modal.Function)
    assert wide.remote(3) == 3 and wide.settings.max_inputs == 16
    assert echo.settings.max_inputs == 4
