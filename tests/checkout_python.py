"""An interpreter for the far side of ssh that imports this checkout's concur_nb.

A login over ssh does not inherit this process's ``PYTHONPATH``, so without it the worker would
import whatever concur_nb the interpreter has installed (another checkout, another version).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout_python(directory: Path) -> str:
    """Write (once) and return a wrapper around this interpreter in ``directory``."""
    wrapper = directory / "python-this-checkout"
    if not wrapper.exists():
        wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" "$@"\n')
        wrapper.chmod(0o755)
    return str(wrapper)
