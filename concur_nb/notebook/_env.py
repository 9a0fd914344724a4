"""Where are we running: a Jupyter kernel (widgets can show), terminal IPython, or a script."""

from __future__ import annotations

import sys
from typing import Any


def ipython() -> Any:
    """The running IPython shell, or None (checked without importing IPython)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where widget messages have somewhere to go."""
    shell = ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
