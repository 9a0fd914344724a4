"""concur_nb: input concurrency for Jupyter and Python.

Decorate a function and its inputs run many at a time, in containers an autoscaler adds and
retires: sync functions on threads, async functions as tasks on one event loop::

    import concur_nb

    @concur_nb.concurrent(max_inputs=100, target_inputs=80)
    def fetch(url): ...

    pages = list(fetch.map(urls))
"""

from . import _joblib_hook
from ._api import Cls as Cls
from ._api import Function as Function
from ._api import FunctionCall as FunctionCall
from ._api import batched as batched
from ._api import concurrent as concurrent
from ._api import function as function
from ._api import gather as gather
from ._containers.ssh import ssh as ssh
from ._context import current_function_call_id as current_function_call_id
from ._context import current_input_id as current_input_id
from ._context import input_cancelled as input_cancelled
from ._engine import engine as _engine
from ._errors import CallCancelledError as CallCancelledError
from ._errors import ContainerError as ContainerError
from ._errors import FunctionTimeoutError as FunctionTimeoutError
from ._errors import InputCancellation as InputCancellation
from ._errors import InvalidError as InvalidError
from ._errors import RemoteError as RemoteError
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


def functions() -> list[Function | Cls]:
    """Every registered function and class still referenced (newest last)."""
    return list(_engine.handles())


def shutdown() -> None:
    """Cancel all work, retire every container and stop the engine's thread.

    It also runs at interpreter exit; calling a function afterwards starts a fresh engine.
    """
    _engine.shutdown()
