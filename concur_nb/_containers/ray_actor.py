"""The far side of a Ray container: an actor that hosts one in-process container.

``ContainerActor`` is a plain class; ``concur_nb._containers.ray_cluster`` turns it into a Ray
actor (``ray.remote``) only when a Ray backend is used, so importing this module never imports
Ray.
The actor runs the same ``LocalContainer`` a worker process runs (threads for sync works, one
event loop for async ones) and is its host, as ``concur_nb.worker.Worker`` is: what the
container reports becomes an event (``Relay``), and the engine collects events with a long
poll (``poll``), so outcomes and each input's log lines come back through concur_nb's own
channel, never through Ray's log forwarding. Commands (submit, cancel, capacity, stop) arrive
in numbered batches and are applied in their order, whatever order Ray delivers the calls in;
the works for the slots a poll's outcomes freed travel with the next poll (one call, not two).

The inputs do not occupy Ray's actor concurrency: only ``hello``, ``commands`` and ``poll``
calls do, so the actor needs a few concurrent calls, not ``max_inputs`` of them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys
import threading
from typing import Any

from . import protocol as p
from .base import CANCELLED, Container, Outcome, Work
from .gpu import describe, query_gpus

BIG_PAYLOAD = 100 * 1024  # bytes above which a payload travels through Ray's object store
SWITCH_INTERVAL = 0.0005  # as in the worker: relays must not wait 5 ms for the GIL

# Event kinds (the first item of each event tuple); commands reuse the protocol's names.
READY, FAILED, LOG, WARNING, FINISHED, HEARTBEAT, STOPPED = (
    p.READY,
    p.FAILED,
    p.LOG,
    p.WARNING,
    p.FINISHED,
    p.HEARTBEAT,
    p.STOPPED,
)


def node_details() -> dict[str, Any]:
    """Where this actor runs: Ray node, host, process and the GPUs Ray gave it."""
    import ray

    gpu_ids = [str(i) for i in ray.get_gpu_ids()]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    real = [gpu for gpu in query_gpus() if gpu.get("index") in gpu_ids] if gpu_ids else []
    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "gpu_ids": gpu_ids,
        "cuda_visible_devices": visible,
        "gpus": [describe(gpu) for gpu in real] or [f"{i}: GPU (Ray)" for i in gpu_ids],
    }


class Relay:
    """The container's host inside the actor: what the container reports becomes an event for
    the engine's next poll. Not a method of the actor class, whose methods Ray wraps (a
    tracing check on every call): these run once or more per input."""

    def __init__(self) -> None:
        from .worker import LineBuffer

        self.lock = threading.Lock()
        self.events: list[p.Message] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wake: asyncio.Event | None = None
        self.lines = LineBuffer(self.send)
        self.submitted: set[str] = set()  # works running (or about to)

    def bind_loop(self) -> None:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self.wake = asyncio.Event()
            if self.events:
                self.wake.set()

    def send(self, event: p.Message) -> None:
        with self.lock:
            first = not self.events
            self.events.append(event)
            loop, wake = self.loop, self.wake
        if first and loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass  # the actor is shutting down

    def take(self) -> list[p.Message]:
        with self.lock:
            events, self.events = self.events, []
        return events

    # --- ContainerHost ------------------------------------------------------------------------

    def ready(self, container: Container) -> None:
        self.send((READY,))

    def failed(self, container: Container, error: BaseException) -> None:
        cause = error.__cause__ or error
        self.send((FAILED, str(error), p.traceback_text(cause)))

    def log(self, work_id: str, stream: str, text: str) -> None:
        self.lines.write(work_id, stream, text)

    def warning(self, container: Container, message: str) -> None:
        self.send((WARNING, message))

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        data: Any
        data, kind, text = p.dump_outcome(outcome)
        if type(data) is bytes and len(data) > BIG_PAYLOAD:
            import ray

            data = ray.put(data)  # the engine fetches it from the object store
        self.lines.flush(work_id)  # its log lines go first: the engine drops them once it ended
        self.submitted.discard(work_id)
        self.send((FINISHED, work_id, kind, data, text))
        return None  # the engine hands the freed slot its next work

    def stopped(self, container: Container) -> None:
        self.send((STOPPED,))


class ContainerActor:
    """One container inside a Ray actor; see the module docstring."""

    def __init__(
        self,
        container_id: str,
        target_bytes: bytes,
        max_inputs: int,
        env: dict[str, str] | None = None,
    ) -> None:
        from .. import _context
        from .local import LocalContainer

        os.environ.update(env or {})  # the kernel's choices (uvloop on or off); the actor is ours

        _context.echo_output = False  # captured output travels as events, not to the log files
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._relay = Relay()
        self._next_seq = 1
        self._held: dict[int, list[p.Message]] = {}
        self._details = node_details()
        self._container: LocalContainer | None = None
        # Cancels may overtake their submit (they travel in another batch): remembered here,
        # they end the work as cancelled when it arrives.
        self._early_cancels: set[str] = set()
        try:
            target = p.load_target(target_bytes)
        except BaseException as exc:
            self._relay.send(p.target_failed(exc))
            return
        self._container = LocalContainer(container_id, target, max_inputs, self._relay)
        self._container.start()
        # Ray's own modules leave a large heap here; without this, the full collections that
        # an input's garbage triggers scan all of it: W3 measured ~30% less actor CPU with it.
        gc.freeze()

    # --- calls from the engine ----------------------------------------------------------------

    async def hello(self) -> dict[str, Any]:
        """Answers once Ray placed the actor and built it: where it runs."""
        self._relay.bind_loop()
        return self._details

    async def commands(self, seq: int, batch: list[p.Message]) -> None:
        """Apply numbered command batches in order (Ray may deliver calls out of order)."""
        self._relay.bind_loop()
        self._held[seq] = batch
        while self._next_seq in self._held:
            for command in self._held.pop(self._next_seq):
                await self._apply(command)
            self._next_seq += 1

    async def poll(self, wait: float, seq: int = 0, batch: list[p.Message] | None = None) -> Any:
        """The events since the last poll; waits up to ``wait`` s for one, then a heartbeat.
        ``batch`` (numbered ``seq``): commands that travel with the poll (the next works for
        the slots the last poll's outcomes freed), applied first."""
        relay = self._relay
        relay.bind_loop()
        assert relay.wake is not None
        if batch:
            await self.commands(seq, batch)
        if not relay.events:
            try:
                await asyncio.wait_for(relay.wake.wait(), wait)
            except asyncio.TimeoutError:
                relay.lines.flush()  # a progress bar without newlines still shows up
        relay.wake.clear()
        return relay.take() or [(HEARTBEAT, None)]

    # --- internals ----------------------------------------------------------------------------

    async def _apply(self, command: p.Message) -> None:
        kind = command[0]
        container = self._container
        relay = self._relay
        if container is None:
            return  # the function failed to load; the engine got FAILED and ends the actor
        if kind == p.SUBMIT:
            _, work_id, call_id, method, is_async, data = command
            if work_id in self._early_cancels:
                self._early_cancels.discard(work_id)
                relay.send((FINISHED, work_id, CANCELLED, b"", ""))
                return
            try:
                if not isinstance(data, bytes | tuple):
                    data = await data  # an object store reference to a big payload
                args, kwargs = p.unpack(data)
            except BaseException as exc:
                relay.send(p.arguments_failed(work_id, exc))
                return
            relay.submitted.add(work_id)
            container.submit(Work(work_id, call_id, method, args, kwargs, is_async))
        elif kind == p.CANCEL:
            if command[1] in relay.submitted:
                container.cancel(command[1])
            else:
                self._early_cancels.add(command[1])
        elif kind == p.CAPACITY:
            container.set_capacity(command[1])
        elif kind == p.SHUTDOWN:
            container.stop(graceful=bool(command[1]))
