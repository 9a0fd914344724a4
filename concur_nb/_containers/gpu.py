"""A host's GPUs (from ``nvidia-smi``) and how containers are pinned to them.

A worker lists its host's GPUs at the handshake and their use in its heartbeats. The engine
decides which GPUs each container gets and the worker sets ``CUDA_VISIBLE_DEVICES`` before it
loads the user's function, so CUDA in that container sees only its own GPUs.

``gpus=`` takes:

- ``None`` (default for SSH hosts): one container per GPU on hosts that have GPUs; on hosts
  without, containers run on the CPU and say so.
- ``False`` or ``0``: no pinning; ``CUDA_VISIBLE_DEVICES`` is left as it is.
- an int ``n``: each container gets ``n`` GPUs of its host.
- a list of GPU indices (``[0, 1]``: one container on GPU 0, one on GPU 1) or of groups
  (``[[0, 1], [2, 3]]``: two containers with two GPUs each).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import Any, Union

from .._errors import InvalidError

QUERY_FIELDS = ("index", "uuid", "name", "memory.total", "memory.used", "utilization.gpu")
GpuSpec = Union[None, bool, int, Sequence[Union[int, str, Sequence[Union[int, str]]]]]  # noqa: UP007 (a runtime alias on 3.10)
GpuGroups = tuple[tuple[str, ...], ...]


def parse_nvidia_smi(text: str) -> list[dict[str, str]]:
    """Rows of ``nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(QUERY_FIELDS) or not cells[0].isdigit():
            continue  # a warning line, or a format we do not know
        gpus.append(dict(zip(QUERY_FIELDS, cells, strict=True)))
    return gpus


def query_gpus(timeout: float = 10.0) -> list[dict[str, str]]:
    """This host's GPUs; empty when there is no ``nvidia-smi`` or it fails (no driver)."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return []
    try:
        done = subprocess.run(
            [program, f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else []


def describe(gpu: dict[str, str]) -> str:
    """A short label for displays: ``"0: NVIDIA H100 (81559 MiB)"``."""
    return f"{gpu.get('index', '?')}: {gpu.get('name', 'GPU')} ({gpu.get('memory.total', '?')} MiB)"


def usage(gpus: list[dict[str, str]], pinned: tuple[str, ...] | None) -> list[dict[str, str]]:
    """The rows of the GPUs a container uses (all of them when it is not pinned)."""
    if pinned is None:
        return gpus
    return [gpu for gpu in gpus if gpu.get("index") in pinned]


def validate_spec(spec: Any) -> GpuSpec:
    """Check a ``gpus=`` value early, at the call that sets it, with a message that says how."""
    if spec is None or spec is False:
        return spec
    if isinstance(spec, bool) or (isinstance(spec, int) and spec < 0):
        raise InvalidError(
            f"gpus={spec!r}: use None (one container per GPU), False (no pinning), a number "
            "of GPUs per container, or a list of GPU indices or groups like [[0, 1], [2, 3]]."
        )
    if isinstance(spec, int):
        return spec
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or not spec:
        raise InvalidError(
            f"gpus={spec!r} is not a list of GPU indices; write e.g. gpus=[0, 1] for one "
            "container per GPU or gpus=[[0, 1], [2, 3]] for two GPUs per container."
        )
    groups = explicit_groups(spec)
    if any(not group for group in groups):
        raise InvalidError(f"gpus={spec!r} has an empty group; every container needs a GPU.")
    return spec


def explicit_groups(spec: Sequence[Any]) -> GpuGroups:
    groups: list[tuple[str, ...]] = []
    for item in spec:
        if isinstance(item, (int, str)) and not isinstance(item, bool):
            groups.append((str(item),))
        elif isinstance(item, Sequence):
            groups.append(tuple(str(index) for index in item))
        else:
            raise InvalidError(f"gpus: {item!r} is neither a GPU index nor a group of indices.")
    return tuple(groups)


def plan_groups(spec: GpuSpec, host_gpus: Sequence[str]) -> GpuGroups | None:
    """The GPU groups one host offers its containers, one group per container.

    None means "no pinning" (spec False/0, or no GPUs there with the automatic spec).
    """
    if spec is False or spec == 0:
        return None
    if spec is None:
        return tuple((index,) for index in host_gpus) or None
    if isinstance(spec, int):
        if len(host_gpus) < spec:
            return ()
        return tuple(
            tuple(host_gpus[start : start + spec])
            for start in range(0, len(host_gpus) - spec + 1, spec)
        )
    return explicit_groups(spec)
