"""Stand-ins for Modal names that have no local meaning, each saying what it does here.

Builders of cloud resources (``Image``, ``Volume``, ``Secret``, ``CloudBucketMount``,
``NetworkFileSystem``) accept any chain of calls and mean nothing locally: passing them to a
decorator draws the one "ignored" warning. ``Period`` and ``Cron`` describe a schedule that
nothing runs locally. ``Sandbox`` raises: there is no local container to run commands in.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

from .._context import current_input_id
from .._errors import InvalidError


class _CloudOnly:
    """Stands in for a cloud-only builder: any chain of calls works and means nothing locally."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return lambda *args, **kwargs: self

    def __call__(self, *args: Any, **kwargs: Any) -> _CloudOnly:
        return self

    def __repr__(self) -> str:
        return f"<concur_nb.modal stand-in for modal.{self._name}: ignored locally>"

    @contextlib.contextmanager
    def imports(self) -> Iterator[None]:
        """``with image.imports():`` runs its body here, with what this machine has installed."""
        yield


Image = _CloudOnly("Image")
Volume = _CloudOnly("Volume")
Secret = _CloudOnly("Secret")
NetworkFileSystem = _CloudOnly("NetworkFileSystem")


def CloudBucketMount(
    bucket_name: str,
    bucket_endpoint_url: str | None = None,
    key_prefix: str | None = None,
    secret: Any = None,
    oidc_auth_role_arn: str | None = None,
    read_only: bool = False,
    requester_pays: bool = False,
    force_path_style: bool = False,
) -> _CloudOnly:
    """A bucket mount: nothing is mounted locally (read the bucket with its own client)."""
    return _CloudOnly(f"CloudBucketMount({bucket_name!r})")


class Sandbox:
    """Modal's sandboxes are cloud containers; there is no local stand-in to run commands in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError(
            "modal.Sandbox runs commands in a Modal cloud container, which does not exist "
            "locally; run the command with subprocess.run(...) on this machine instead."
        )

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> Sandbox:
        return cls(*args, **kwargs)

    @classmethod
    def from_id(cls, *args: Any, **kwargs: Any) -> Sandbox:
        return cls(*args, **kwargs)

    @classmethod
    def from_name(cls, *args: Any, **kwargs: Any) -> Sandbox:
        return cls(*args, **kwargs)


class Period:
    """A schedule every so often (``schedule=modal.Period(hours=1)``): nothing runs it locally;
    call the function yourself (or from a loop) to run it."""

    def __init__(
        self,
        *,
        years: int = 0,
        months: int = 0,
        weeks: int = 0,
        days: int = 0,
        hours: int = 0,
        minutes: int = 0,
        seconds: float = 0,
    ) -> None:
        self.years, self.months = years, months
        self.interval = datetime.timedelta(
            weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if years == months == 0 and self.interval <= datetime.timedelta(0):
            raise InvalidError("Period must be positive, e.g. modal.Period(hours=1).")

    def __repr__(self) -> str:
        return f"modal.Period(every {self.interval}): not run on a schedule locally"


class Cron:
    """A cron schedule (``schedule=modal.Cron("0 9 * * *")``): nothing runs it locally."""

    def __init__(self, cron_string: str, timezone: str = "UTC") -> None:
        if not isinstance(cron_string, str) or len(cron_string.split()) != 5:
            raise InvalidError(
                f"Cron takes five fields ('minute hour day month weekday'), got {cron_string!r}."
            )
        self.cron_string = cron_string
        self.timezone = timezone

    def __repr__(self) -> str:
        return f"modal.Cron({self.cron_string!r}): not run on a schedule locally"


def is_local() -> bool:
    """False inside an input (where Modal code runs "remotely", in a container), True outside.

    On Modal, ``is_local()`` is True in the process that launched the app and False in the
    containers; here the code of an input plays the container's part, so a function can still
    branch on it (``if modal.is_local(): ...`` at import time, in a local entrypoint, in a cell).
    """
    return current_input_id() is None


def interact() -> None:
    """Locally a no-op: the input already runs in this process, with this terminal's stdin
    (Modal uses it to attach a container's stdin for ``breakpoint()``)."""
