"""concur_nb: input concurrency for Jupyter and Python.

Decorate a function and its inputs run many at a time, in containers an autoscaler adds and
retires: sync functions on threads, async functions as tasks on one event loop::

    import concur_nb

    @concur_nb.concurrent(max_inputs=100, target_inputs=80)
    def fetch(url): ...

    pages = list(fetch.map(urls))
"""

from . import _handles, _hooks, _joblib_hook
from . import _shutdown as _shutdown  # registers the shutdown at interpreter exit
from ._classes import Cls as Cls
from ._containers.loop_choice import set_uvloop as set_uvloop
from ._containers.ray_backend import ray as ray
from ._containers.ssh import ssh as ssh
from ._context import current_function_call_id as current_function_call_id
from ._context import current_input_id as current_input_id
from ._context import get_echo as get_echo
from ._context import input_cancelled as input_cancelled
from ._context import set_echo as set_echo
from ._control import FunctionCurrentStats as FunctionCurrentStats
from ._decorators import batched as batched
from ._decorators import concurrent as concurrent
from ._decorators import function as function
from ._errors import CallCancelledError as CallCancelledError
from ._errors import CallTimeoutError as CallTimeoutError
from ._errors import ContainerError as ContainerError
from ._errors import FunctionTimeoutError as FunctionTimeoutError
from ._errors import InputCancellation as InputCancellation
from ._errors import InvalidError as InvalidError
from ._errors import RemoteError as RemoteError
from ._function import Function as Function
from ._function_call import FunctionCall as FunctionCall
from ._function_call import gather as gather
from ._markers import enter as enter
from ._markers import exit as exit
from ._markers import method as method
from ._retries import Retries as Retries
from ._settings import Settings as Settings
from ._state import ContainerSnapshot as ContainerSnapshot
from ._state import Event as Event
from ._state import FunctionSnapshot as FunctionSnapshot
from ._state import InputInfo as InputInfo
from ._state import LogLine as LogLine
from ._state import ScalingDecision as ScalingDecision

__version__ = "0.1.0"

_joblib_hook.install()  # the "concur_nb" joblib backend, registered when joblib is imported


def _show_a_view_of_the_long_wait(handle: object, call: object) -> None:
    """The default ``_hooks.long_wait``: a blocking call in a kernel waits long, so show its
    live view in the cell. The notebook front-end is imported here, only when this fires."""
    from .notebook import auto

    auto.maybe_show(handle, call)


def _cell_echo_router() -> object:
    """The default ``_hooks.cell_echo``: what streams inputs' lines into the calling cell (the
    kernel's parent message is the notebook side's to know)."""
    from .notebook.cell_echo import CellRouter

    return CellRouter.install()


_hooks.long_wait = _show_a_view_of_the_long_wait
_hooks.cell_echo = _cell_echo_router


# The notebook front-end is loaded only when asked for: the engine imports no UI library.
_FRONT_END = {
    "dashboard": "concur_nb.notebook.dashboard",
    "tune": "concur_nb.notebook.tuning",
    "sweep": "concur_nb.notebook.sweep",
}


def __getattr__(name: str) -> object:
    module = _FRONT_END.get(name)
    if module is None:
        raise AttributeError(f"module 'concur_nb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_FRONT_END])


def load_ipython_extension(ip: object) -> None:
    """``%load_ext concur_nb``: register the ``%%concurrent`` magics."""
    from .notebook import load_ipython_extension as load

    load(ip)


def functions() -> list[Function | Cls]:
    """Every registered function and class still referenced (newest last)."""
    return [h for h in _handles.handles() if isinstance(h, (Function, Cls))]


def shutdown() -> None:
    """Cancel all work, retire every container and stop the engine's thread.

    It also runs at interpreter exit; calling a function afterwards starts a fresh engine.
    """
    from ._shutdown import shutdown_all

    shutdown_all()
