"""Containers as actors on a Ray cluster: ``backend=concur_nb.ray(...)``, its options checked.

Each container is one Ray actor (``ray_container.RayContainer``) that Ray places where its
resources (``num_gpus``, ``num_cpus``, custom ``resources``) are free; ``ray_cluster`` joins
the cluster. Ray is imported only when a Ray container starts: importing concur_nb never
imports it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from .._errors import InvalidError
from . import ray_cluster
from .base import ContainerHost, Target
from .ray_container import RayContainer

ACTOR_CALLS = 16  # concurrent actor calls (polls, command batches); inputs do not count


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidError(
            f"{name} must be a number >= 0, got {value!r}; e.g. {name}=1 (or 0.5 to share one)."
        )
    return float(value)


def _plural(amount: float, unit: str) -> str:
    return f"{amount:g} {unit}"


class RayBackend:
    """Containers as Ray actors; made by ``concur_nb.ray(...)``."""

    name = "ray"
    out_of_process = True

    def __init__(
        self,
        address: str | None,
        num_gpus: float,
        num_cpus: float | None,
        resources: dict[str, float] | None,
        runtime_env: dict[str, Any] | None,
        namespace: str | None,
        max_containers: int | None,
        init_options: dict[str, Any] | None,
    ) -> None:
        self.address = address
        self.num_gpus = num_gpus
        self.resources = dict(resources or {})
        # An actor that asks for any resource also reserves a CPU for its whole life unless
        # told 0: a GPU container holding a CPU it does not use would leave a GPU idle on a
        # node with fewer CPUs than GPUs. So: 0 CPUs when GPUs or custom resources are asked
        # for, 1 otherwise (Ray then spreads CPU containers by the CPUs nodes have).
        self.num_cpus = (
            (0.0 if (num_gpus or self.resources) else 1.0) if num_cpus is None else num_cpus
        )
        self.runtime_env = runtime_env
        self.namespace = namespace
        self._max_containers = max_containers
        self.init_options = dict(init_options or {})

    @property
    def needs(self) -> str:
        parts = []
        if self.num_gpus:
            parts.append(_plural(self.num_gpus, "GPU"))
        if self.num_cpus:
            parts.append(_plural(self.num_cpus, "CPU"))
        parts += [_plural(amount, name) for name, amount in self.resources.items() if amount]
        return ", ".join(parts) or "no resources"

    def connect(self) -> None:
        """Join the cluster (``address``, else ``RAY_ADDRESS``, else start a local one) once."""
        ray_cluster.connect(self._init_options())

    def _init_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "namespace": self.namespace,
            "log_to_driver": False,  # logs come back per input, through concur_nb
            "ignore_reinit_error": True,
            **self.init_options,
        }
        if self.address is not None:
            options["address"] = self.address
        return options

    def actor_options(self, name: str) -> dict[str, Any]:
        options: dict[str, Any] = {
            "name": name,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_concurrency": ACTOR_CALLS,
            "max_restarts": 0,  # a dead container is replaced by the engine, not restarted
            "lifetime": None,  # dies with the driver: a kernel that dies leaves no actor
        }
        if self.resources:
            options["resources"] = self.resources
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        if self.namespace is not None:
            options["namespace"] = self.namespace
        return options

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> RayContainer:
        return RayContainer(container_id, target, max_inputs, host, self)

    def max_containers(self) -> int | None:
        return self._max_containers

    def __repr__(self) -> str:
        where = self.address or "RAY_ADDRESS or a local cluster"
        return f"RayBackend({where}, needs {self.needs})"


def ray(
    address: str | None = None,
    *,
    num_gpus: float = 0,
    num_cpus: float | None = None,
    resources: dict[str, float] | None = None,
    runtime_env: dict[str, Any] | None = None,
    namespace: str | None = None,
    max_containers: int | None = None,
    init_options: dict[str, Any] | None = None,
) -> RayBackend:
    """A backend whose containers are actors on a Ray cluster.

    ``address``: the cluster to join (``"ray://host:10001"``, ``"host:6379"``, ``"auto"``);
    None joins the one in ``RAY_ADDRESS`` or starts a local one (with ``init_options``, e.g.
    ``{"num_gpus": 2}``). ``num_gpus``/``num_cpus``/``resources`` are what each container asks
    Ray for; ``num_cpus`` defaults to 0 when GPUs or resources are asked for, else 1.
    ``runtime_env`` and ``namespace`` are Ray's own. Example::

        @concur_nb.concurrent(max_inputs=8)
        @concur_nb.function(backend=concur_nb.ray(num_gpus=1), max_containers=4)
        def infer(batch): ...
    """
    if importlib.util.find_spec("ray") is None:
        raise InvalidError(
            "concur_nb.ray(...) needs Ray, which is not installed here; install it with "
            "`pip install 'concur-nb[ray]'` (or `pip install ray`)."
        )
    if address is not None and (not isinstance(address, str) or not address):
        raise InvalidError(f"address must be None or a Ray address string, got {address!r}.")
    gpus = _number("num_gpus", num_gpus)
    cpus = None if num_cpus is None else _number("num_cpus", num_cpus)
    if resources is not None:
        if not isinstance(resources, dict) or not all(isinstance(k, str) for k in resources):
            raise InvalidError(
                f"resources must be a dict of resource name to amount, got {resources!r}; "
                "e.g. resources={'accelerator_type:A100': 1}."
            )
        resources = {k: _number(f"resources[{k!r}]", v) for k, v in resources.items()}
    if runtime_env is not None and not isinstance(runtime_env, dict):
        raise InvalidError(
            f"runtime_env must be a dict (Ray's runtime environment), got {runtime_env!r}."
        )
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise InvalidError(f"namespace must be None or a non-empty string, got {namespace!r}.")
    if max_containers is not None and (
        isinstance(max_containers, bool)
        or not isinstance(max_containers, int)
        or max_containers < 1
    ):
        raise InvalidError(f"max_containers must be None or an int >= 1, got {max_containers!r}.")
    if init_options is not None and not isinstance(init_options, dict):
        raise InvalidError(
            f"init_options must be a dict of ray.init arguments, got {init_options!r}."
        )
    return RayBackend(
        address, gpus, cpus, resources, runtime_env, namespace, max_containers, init_options
    )
