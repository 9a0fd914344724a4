"""Where front-ends plug into the core, and the one place that asks "are we in a kernel?".

The core never imports a front-end. What a front-end wants from it (a view that appears when a
blocking call waits long, a progress bar in a terminal, echoing inputs' output) it installs
here; ``concur_nb/__init__.py``, which sits above both, wires the defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def in_kernel() -> bool:
    """True inside a Jupyter kernel (the only place that names ipykernel)."""
    return "ipykernel" in sys.modules


# Called once, with the waiting call's handle and ``FunctionCall``, when a blocking call in a
# kernel has waited ``AUTO_VIEW_AFTER`` seconds. None: nothing is shown.
long_wait: Callable[[Any, Any], None] | None = None
AUTO_VIEW_AFTER = 1.0

# Makes the router that streams inputs' lines into the cell that made the call, for
# ``set_echo("cell")`` in a kernel. None: that mode falls back to the terminal's echo.
cell_echo: Callable[[], Any] | None = None
