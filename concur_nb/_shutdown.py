"""Shutting everything down under one time bound, at ``concur_nb.shutdown()`` and at exit."""

from __future__ import annotations

import atexit
import logging
import time

from ._pool import Pool
from ._timers import timers

logger = logging.getLogger("concur_nb")


def shutdown_all(timeout: float = 10.0) -> list[str]:
    """Cancel all work, retire every container and stop the timer thread, within ``timeout``
    seconds in all (not per function). Returns the ids of inputs abandoned still running
    (sync code stuck in C cannot be interrupted), and says so in one log line."""
    deadline = time.monotonic() + timeout
    pools = [m for m in timers.members() if isinstance(m, Pool)]
    for pool in pools:  # every pool stops at once; then one bound for the waiting
        pool.close()
    abandoned: list[str] = []
    for pool in pools:
        abandoned += pool.wait_closed(deadline - time.monotonic())
    if abandoned:
        shown = ", ".join(abandoned[:10]) + (" ..." if len(abandoned) > 10 else "")
        logger.warning(
            "concur_nb shutdown: %d input(s) still running after %gs were abandoned: %s",
            len(abandoned),
            timeout,
            shown,
        )
    timers.stop(max(0.1, deadline - time.monotonic()))
    return abandoned


atexit.register(shutdown_all, 5.0)
