"""One container on Ray: an actor, and this side's channel to it.

Each container is one Ray actor (``ray_actor.ContainerActor``) that Ray places where its
resources (``num_gpus``, ``num_cpus``, custom ``resources``) are free. The actor hosts the same
in-process container a worker process hosts, so the engine's promises hold unchanged. Here, one
reader thread per container long-polls the actor for events (ready, log lines, outcomes) and
hands the freed slots their next works, which travel with its next poll; other commands
(submits, cancels) go out at once when the channel is quiet, else one sender thread ships them
in numbered batches. What it shares with the process container (works sent and awaited, the
actor's events turned into the host's calls, one end reported once) is
``far_container.FarContainer``'s.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any, Protocol

from .._errors import ContainerError
from .._errors_text import safe_repr
from . import protocol as p
from . import ray_cluster as cluster
from .base import CANCELLED, ERROR, ContainerHost, Outcome, Target
from .far_container import FarContainer
from .loop_choice import far_side_env
from .ray_actor import BIG_PAYLOAD
from .ray_cluster import ray_module, remote_class

POLL_WAIT = 1.0  # seconds the actor holds a poll open when it has nothing to say
SILENCE_LIMIT = 15.0  # seconds without an answer to a poll after which the actor is given up
PLACEMENT_CHECK = 0.2  # seconds between looks at whether Ray placed a pending actor
INLINE_GAP = 0.002  # seconds since the last send after which a command goes out inline
NOT_PLACED = "stopped before Ray placed it"  # a quiet end: nothing ran, nothing failed


class Placement(Protocol):
    """What a container needs of its backend (``ray.RayBackend``)."""

    @property
    def needs(self) -> str: ...

    def connect(self) -> None: ...

    def actor_options(self, name: str) -> dict[str, Any]: ...


class RayContainer(FarContainer):
    """One actor; see the module docstring."""

    kind = "ray"
    breaks_where = "on Ray (a bug, or Ray's own error)"
    reader_name = "ray-reader"

    def __init__(
        self,
        container_id: str,
        target: Target,
        max_inputs: int,
        host: ContainerHost,
        backend: Placement,
    ) -> None:
        super().__init__(container_id, target, max_inputs, host, "ray (pending)")
        self._backend = backend
        self._wake = threading.Condition(self._lock)  # the sender thread waits on it
        self._outgoing: list[p.Message] = []
        self._seq = itertools.count(1)
        self._last_send = 0.0
        self._actor: Any = None
        self._placed = False
        self._details: dict[str, Any] = {}
        self._reader_done = threading.Event()
        self.actor_name = f"concur_nb-{container_id}-{uuid.uuid4().hex[:8]}"

    # --- Container interface (the rest is FarContainer's) -------------------------------------

    def stop(self, *, graceful: bool) -> None:
        with self._lock:
            placed = self._placed
        if placed:
            self._send((p.SHUTDOWN, graceful))
        else:  # nothing ran on it: give its place back to Ray at once
            self._terminate(NOT_PLACED)

    def kill(self) -> None:
        self._terminate("the container was terminated on request (ray.kill of its actor)")

    def info(self) -> dict[str, Any]:
        if not self._placed:
            return {"status": f"pending: waiting for Ray to place it (needs {self._backend.needs})"}
        d = self._details
        facts: dict[str, Any] = {
            "node_id": d.get("node_id"),
            "node_ip": d.get("node_ip"),
            "host": d.get("hostname"),
            "pid": d.get("pid"),
            "python": d.get("python"),
            "actor": self.actor_name,
            "gpu_ids": d.get("gpu_ids"),
            "device": "cuda" if d.get("gpu_ids") else "cpu",
            "in_flight": len(self._running),
        }
        if d.get("cuda_visible_devices") is not None:
            facts["cuda_visible_devices"] = d["cuda_visible_devices"]
        return facts

    # --- the reader thread ----------------------------------------------------------------------

    def _run(self) -> None:
        cluster.live.add(self)
        try:
            super()._run()
        finally:
            cluster.live.discard(self)
            self._reader_done.set()

    def _live(self) -> None:
        self._create()
        self._wait_placed()
        self._read_until_end()

    def _create(self) -> None:
        self._backend.connect()
        try:
            target_bytes = p.dump_payload(self._target)
        except Exception as exc:
            raise ContainerError(
                f"{self._target.name} could not be pickled to send it to a Ray actor: "
                f"{safe_repr(exc)}; "
                "functions that capture locks, open files or sockets cannot travel"
            ) from exc
        options = self._backend.actor_options(self.actor_name)
        actor = (
            remote_class()
            .options(**options)
            .remote(self.id, target_bytes, self._max_inputs, far_side_env())
        )
        with self._lock:
            self._actor = actor
            killed = self._kill_reason is not None or self._ended
        if killed:
            ray_module().kill(actor, no_restart=True)

    def _wait_placed(self) -> None:
        ray = ray_module()
        hello = self._actor.hello.remote()
        while not ray.wait([hello], timeout=PLACEMENT_CHECK)[0]:
            if self._kill_reason is not None or self._ended or cluster.closing:
                raise ContainerError(f"container {self.id}: {self._kill_reason or 'stopped'}")
        try:
            self._details = ray.get(hello)
        except ray.exceptions.RayActorError as exc:
            raise ContainerError(
                f"the Ray actor of container {self.id} could not start: {exc}"
            ) from exc
        self.host_name = f"ray:{self._details['node_ip']} node {self._details['node_id'][:8]}"
        self.gpus = tuple(self._details.get("gpus") or ())
        with self._lock:
            self._placed = True
        self._flush()

    def _read_until_end(self) -> None:
        ray = ray_module()
        actor = self._actor
        ref = actor.poll.remote(POLL_WAIT)
        while True:
            try:
                events = ray.get(ref, timeout=POLL_WAIT + SILENCE_LIMIT)
            except ray.exceptions.GetTimeoutError:
                raise ContainerError(
                    f"no answer from the Ray actor of container {self.id} for "
                    f"{POLL_WAIT + SILENCE_LIMIT:g} s: its node or the Ray cluster went away"
                ) from None
            except ray.exceptions.RayActorError as exc:
                reason = (
                    self._kill_reason or f"its Ray actor died ({exc.__class__.__name__}: {exc})"
                )
                raise ContainerError(f"container {self.id} on {self.host_name}: {reason}") from None
            following: list[p.Message] = []
            for event in events:
                if self._handle(event, following):
                    return
            # After handling, not before: a round trip's result would wait for this call. The
            # works for the slots just freed travel with it: one Ray call, not two.
            if following:
                seq, batch = self._number(following)
                ref = actor.poll.remote(POLL_WAIT, seq, batch)
            else:
                ref = actor.poll.remote(POLL_WAIT)

    def _heartbeat(self, details: Any) -> None:
        pass  # a poll with nothing to say: the answer itself is the sign of life

    def _outcome(self, kind: str, data: Any, text: str) -> Outcome:
        if kind != CANCELLED and not isinstance(data, bytes | tuple):
            try:
                data = ray_module().get(data)  # a big payload, in the object store
            except Exception as exc:
                error = p.RemoteError(f"the result could not be fetched: {safe_repr(exc)}")
                return Outcome(ERROR, error)
        return super()._outcome(kind, data, text)

    # --- sending commands ---------------------------------------------------------------------

    def _send(self, command: p.Message) -> None:
        """Called under the pool's lock. A command that finds the channel quiet goes out at
        once, in this thread (a lone round trip then skips the sender thread's wake-up); in a
        burst the sender thread ships them in batches, one Ray call each."""
        with self._lock:
            if self._ended:
                return
            now = time.monotonic()
            quiet = not self._outgoing and now - self._last_send > INLINE_GAP
            if not (self._placed and quiet and not _is_big(command)):
                self._outgoing.append(command)
                if len(self._outgoing) == 1 and self._placed:
                    self._wake.notify()
                return
            self._last_send = now
            seq = next(self._seq)
        try:
            self._actor.commands.remote(seq, [command])
        except Exception:
            pass

    def _flush(self) -> None:
        """Start the sender thread once the actor is placed (commands wait until then)."""
        threading.Thread(target=self._sender, name=f"{self.id}-ray-sender", daemon=True).start()

    def _sender(self) -> None:
        while True:
            with self._lock:
                while not self._outgoing and not self._ended:
                    self._wake.wait()
                if self._ended:
                    return
                batch, self._outgoing = self._outgoing, []
                self._last_send = time.monotonic()
            try:
                self._ship(batch)
            except Exception:
                return

    def _number(self, batch: list[p.Message]) -> tuple[int, list[p.Message]]:
        """``batch`` with its number in the sequence the actor applies in order (big payloads
        go into the object store first)."""
        if any(_is_big(command) for command in batch):
            ray = ray_module()
            batch = [
                (*command[:5], ray.put(command[5])) if _is_big(command) else command
                for command in batch
            ]
        with self._lock:
            return next(self._seq), batch

    def _ship(self, batch: list[p.Message]) -> None:
        """Ship ``batch`` in a call of its own."""
        seq, batch = self._number(batch)
        self._actor.commands.remote(seq, batch)

    # --- endings ------------------------------------------------------------------------------

    def _lose(self, reason: str) -> None:
        """The cluster is gone (``ray_cluster``): report the end now, asking Ray nothing (its
        calls may block until it gives up on the cluster); the reader leaves when Ray lets it."""
        with self._lock:
            if self._kill_reason is None:
                self._kill_reason = reason
        self._end(ContainerError(f"container {self.id}: {reason}"))

    def _kill_far_side(self) -> None:
        with self._lock:
            actor = self._actor
        if actor is not None and cluster.lost is None:
            try:
                ray_module().kill(actor, no_restart=True)  # the reader sees it die, and reports
            except Exception:
                pass

    def _release(self, error: BaseException | None) -> BaseException | None:
        """Free the actor's place on the cluster; an actor never placed, stopped, ends quietly."""
        with self._lock:
            self._wake.notify_all()  # the sender thread sees the end and leaves
            placed = self._placed
        self._kill_far_side()
        quiet = not placed and self._kill_reason == NOT_PLACED
        return None if quiet or cluster.closing else error


def _is_big(command: p.Message) -> bool:
    """A submit whose pickled arguments go through the object store."""
    return command[0] == p.SUBMIT and type(command[5]) is bytes and len(command[5]) > BIG_PAYLOAD
