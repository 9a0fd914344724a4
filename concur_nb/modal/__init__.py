"""Run code written for Modal locally: ``import concur_nb.modal as modal``.

The names of Modal's SDK (1.6) that have a local meaning behave with Modal's semantics, on local
threads and event loops (or any concur_nb backend): ``App``, ``app.function``, ``app.cls``,
``concurrent``, ``batched``, ``method``, ``enter``, ``exit``, ``parameter``, generator
functions (``remote_gen``), ``Function.from_name``, ``Dict``, ``Queue``, ``Retries`` (with
Modal's bounds), ``current_input_id``, ``is_local``, and ``modal.exception``. Cloud-only
parameters (``image``, ``gpu``, ``volumes``, ``secrets``, ...) are accepted and ignored, with
one warning pointing at the line that passed them. ``python -m concur_nb.modal run app.py``
runs a ``local_entrypoint`` as ``modal run`` does.

Example::

    import concur_nb.modal as modal

    app = modal.App()

    @app.function()
    @modal.concurrent(max_inputs=100)
    async def fetch(url: str) -> str: ...
"""

from __future__ import annotations

from .. import FunctionCall as FunctionCall
from .. import gather as gather
from .._context import current_function_call_id as current_function_call_id
from .._context import current_input_id as current_input_id
from .._errors import Error as Error
from .._markers import exit as exit
from . import exception as exception
from ._app import App as App
from ._decorators import batched as batched
from ._decorators import concurrent as concurrent
from ._decorators import enter as enter
from ._decorators import method as method
from ._dict import Dict as Dict
from ._functions import Cls as Cls
from ._functions import Function as Function
from ._options import Retries as Retries
from ._params import parameter as parameter
from ._queue import Queue as Queue
from ._standins import CloudBucketMount as CloudBucketMount
from ._standins import Cron as Cron
from ._standins import Image as Image
from ._standins import NetworkFileSystem as NetworkFileSystem
from ._standins import Period as Period
from ._standins import Sandbox as Sandbox
from ._standins import Secret as Secret
from ._standins import Volume as Volume
from ._standins import interact as interact
from ._standins import is_local as is_local
from ._web import asgi_app as asgi_app
from ._web import fastapi_endpoint as fastapi_endpoint
from ._web import web_endpoint as web_endpoint
from ._web import web_server as web_server
from ._web import wsgi_app as wsgi_app
from .exception import RemoteError as RemoteError
