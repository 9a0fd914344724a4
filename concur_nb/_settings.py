"""A function's settings: concurrency, autoscaling and run limits, validated as a whole."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._errors import InvalidError
from ._retries import Retries, as_retries
from ._validate import non_negative_number, optional_int, positive_int

# Settings that can change while inputs are in flight (the tuning widgets use these).
LIVE_SETTINGS = (
    "max_inputs",
    "target_inputs",
    "min_containers",
    "max_containers",
    "buffer_containers",
    "scaledown_window",
)


@dataclasses.dataclass
class Settings:
    max_inputs: int = 1
    target_inputs: int | None = None
    min_containers: int = 0
    max_containers: int | None = None
    buffer_containers: int = 0
    scaledown_window: float = 60.0
    timeout: float | None = 300.0
    retries: Retries | None = None

    @property
    def target(self) -> int:
        """The number of inputs the autoscaler aims for per container."""
        return self.target_inputs if self.target_inputs is not None else self.max_inputs

    def replaced(self, **changes: Any) -> Settings:
        """A validated copy with ``changes`` applied."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InvalidError(f"unknown setting(s) {sorted(unknown)}; known: {LIVE_SETTINGS}.")
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        positive_int("max_inputs", self.max_inputs)
        if self.target_inputs is not None:
            positive_int("target_inputs", self.target_inputs)
            if self.target_inputs > self.max_inputs:
                raise InvalidError(
                    f"target_inputs={self.target_inputs} is above max_inputs={self.max_inputs}; "
                    "target_inputs is what the autoscaler aims for and max_inputs the hard cap, "
                    "so set target_inputs <= max_inputs."
                )
        positive_int("min_containers", self.min_containers, minimum=0)
        optional_int("max_containers", self.max_containers, minimum=1)
        if self.max_containers is not None and self.min_containers > self.max_containers:
            raise InvalidError(
                f"min_containers={self.min_containers} is above "
                f"max_containers={self.max_containers}; lower min_containers or raise "
                "max_containers."
            )
        positive_int("buffer_containers", self.buffer_containers, minimum=0)
        self.scaledown_window = non_negative_number(
            "scaledown_window",
            self.scaledown_window,
            allow_zero=False,
            fix="To keep containers up for good, set min_containers instead.",
        )
        if self.timeout is not None:
            self.timeout = non_negative_number(
                "timeout", self.timeout, allow_zero=False, fix="Pass timeout=None for no limit."
            )
        self.retries = as_retries(self.retries)
