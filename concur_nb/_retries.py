"""Retry policy: how many more attempts an input gets, and how long to wait before each."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidError
from ._validate import non_negative_number, positive_int

MAX_COEFFICIENT = 1000.0  # each retry waits this many times longer than the one before, at most
_FIX = "For example Retries(max_retries=3, initial_delay=1.0, max_delay=60.0)."


class Retries:
    """Retry a failed input up to ``max_retries`` times with exponential backoff.

    The delay before retry ``n`` (1-based) is
    ``min(initial_delay * backoff_coefficient ** (n - 1), max_delay)``.
    A cancelled input is never retried.

    Example::

        @concur_nb.function(retries=Retries(max_retries=3, initial_delay=0.5))
    """

    def __init__(
        self,
        *,
        max_retries: int,
        backoff_coefficient: float = 2.0,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        self.max_retries = positive_int("Retries(max_retries)", max_retries, minimum=0)
        self.backoff_coefficient = non_negative_number(
            "Retries(backoff_coefficient)", backoff_coefficient, maximum=MAX_COEFFICIENT, fix=_FIX
        )
        if self.backoff_coefficient < 1:
            raise InvalidError(
                f"Retries(backoff_coefficient) must be >= 1 (1 means a fixed delay), "
                f"got {backoff_coefficient!r}."
            )
        self.initial_delay = non_negative_number("Retries(initial_delay)", initial_delay, fix=_FIX)
        self.max_delay = non_negative_number("Retries(max_delay)", max_delay, fix=_FIX)
        if self.max_delay < self.initial_delay:
            raise InvalidError(
                f"Retries(max_delay={max_delay!r}) is below initial_delay={initial_delay!r}; "
                "raise max_delay or lower initial_delay."
            )

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry).

        Saturates at ``max_delay``: ``2.0 ** 1024`` overflows, and an input may be retried
        thousands of times.
        """
        try:
            growth = self.backoff_coefficient ** max(retry_number - 1, 0)
        except OverflowError:  # the coefficient is >= 1, so the true value is past max_delay
            return self.max_delay
        return min(self.initial_delay * growth, self.max_delay)

    def __repr__(self) -> str:
        return (
            f"Retries(max_retries={self.max_retries}, backoff_coefficient="
            f"{self.backoff_coefficient}, initial_delay={self.initial_delay}, "
            f"max_delay={self.max_delay})"
        )


def as_retries(value: Any) -> Retries | None:
    """Accept ``None``, an int (fixed 1 s delay, like Modal) or a ``Retries``."""
    if value is None:
        return None
    if isinstance(value, Retries):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidError(f"retries must be >= 0, got {value!r}.")
        return Retries(max_retries=value, backoff_coefficient=1.0, initial_delay=1.0)
    raise InvalidError(
        f"retries must be an int or concur_nb.Retries(...), got {value!r} "
        f"({type(value).__name__}). Example: retries=3 or "
        "retries=Retries(max_retries=3, initial_delay=0.5)."
    )
