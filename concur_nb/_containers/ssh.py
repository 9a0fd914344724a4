"""Containers on remote hosts, reached with the system OpenSSH client.

``ssh("gpu-box", "user@other", python="/opt/venv/bin/python")`` makes a backend whose
containers each run ``python -m concur_nb.worker`` on one of the hosts, over ``ssh``: the
user's ``~/.ssh/config`` (aliases, keys, agent, ProxyJump) applies as in a terminal. ssh runs
with ``BatchMode=yes``, so a host that would prompt fails at once with a clear error, and with
``ConnectTimeout``, so an unreachable host fails within seconds. Host keys are always checked
against known_hosts (``StrictHostKeyChecking=yes`` comes first on the command line, where it
wins over any config file), and ``ssh_options`` that would weaken that are refused: the engine
unpickles what the far side sends, so a man in the middle could run code in the kernel. All
traffic rides the SSH channel: nothing listens on a port.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import InvalidError
from .._validate import MAX_SECONDS, non_negative_number, shown
from .base import ContainerHost, Target
from .exits import EXIT_MARK, add_key_hint, exit_description, ssh_failure, worker_status
from .gpu import GpuSpec, validate_spec
from .pins import GpuPins
from .process_container import Launch, ProcessContainer

# Options whose value is a local file path; such paths are never shown in messages.
_PATH_OPTIONS = ("-i", "-F", "-E", "-S")
_PATH_SETTINGS = re.compile(
    r"^(IdentityFile|UserKnownHostsFile|GlobalKnownHostsFile|CertificateFile|ControlPath|"
    r"IdentityAgent)\s*=\s*(.+)$",
    re.IGNORECASE,
)
HOST_DOWN_FOR = 30.0  # seconds a host that failed to start a container is passed over
_KEYISH_PATH = re.compile(r"(?:~|/)[^\s\"']*(?:\.ssh|id_[A-Za-z0-9_]+|\.pem|\.key)[^\s\"']*")
MAX_CONNECT_TIMEOUT = 3600  # seconds; ssh takes a whole number, and an hour is already absurd
# ``-o`` settings that would let ssh talk to a host whose key it cannot vouch for.
_SETTING = re.compile(r"^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$")
_NO_KNOWN_HOSTS = {"/dev/null", "none", "nul"}


def weakening_option(options: Sequence[str]) -> str | None:
    """The first ``-o`` setting in ``options`` that would weaken host-key checking."""
    settings = []
    for flag, value in itertools.pairwise(["", *options]):
        if flag == "-o":
            settings.append(value)
        elif value.startswith("-o") and len(value) > 2:
            settings.append(value[2:])
    for setting in settings:
        match = _SETTING.match(setting)
        if match is None:
            continue
        key, value = match.group(1).lower(), match.group(2).strip().strip("\"'").lower()
        if key == "stricthostkeychecking" and value not in ("yes", "true"):
            return setting
        if key == "userknownhostsfile" and set(value.split()) & _NO_KNOWN_HOSTS:
            return setting
    return None


def secret_paths(options: Sequence[str]) -> list[str]:
    """The file paths named in ssh options (keys, known_hosts files...)."""
    paths = []
    for flag, value in itertools.pairwise(options):
        if flag in _PATH_OPTIONS:
            paths.append(value)
        elif flag == "-o" and (match := _PATH_SETTINGS.match(value)):
            paths.append(match.group(2).strip())
    return paths


def redact(text: str, paths: Sequence[str]) -> str:
    """``text`` with key and known_hosts paths replaced, so no key location reaches a log."""
    for path in sorted(paths, key=len, reverse=True):
        text = text.replace(path, "<path>")
    return _KEYISH_PATH.sub("<path>", text)


def remote_command(python: str, worker_args: Sequence[str]) -> str:
    """The command the remote shell runs; ``~/...`` in ``python`` still expands there.

    The worker runs under ``sh`` (whatever the login shell is: fish and csh differ), which
    then writes how it ended to stderr: ssh itself only says 255 when it died of a signal.
    """
    home = python.startswith("~/")
    program = "~/" + shlex.quote(python[2:]) if home else shlex.quote(python)
    worker = " ".join([program, "-m", "concur_nb.worker", *map(shlex.quote, worker_args)])
    script = f'{worker}; s=$?; echo "{EXIT_MARK} $s" >&2; exit $s'
    return f"exec sh -c {shlex.quote(script)}"


def explain_ssh_exit(
    destination: str, python: str, secrets: Sequence[str]
) -> Callable[[int | None, str, bool], str]:
    def explain(code: int | None, stderr: str, started: bool) -> str:
        status, said = worker_status(redact(stderr.strip(), secrets))
        last = said.splitlines()[-1] if said else "(nothing on stderr)"
        if code is None:
            return f"could not run the ssh client to reach {destination}: {said}"
        if status is None and code == 255:
            return ssh_failure(destination, said, last, started)
        code = code if status is None else status
        if code == 127 or "not found" in said or "No such file" in said:
            return (
                f"the Python interpreter {python!r} was not found on {destination}; "
                "pass ssh(..., python='/path/to/python') naming one that has concur_nb."
            )
        if "No module named" in said and "concur_nb" in said:
            return (
                f"concur_nb is not installed for {python!r} on {destination}; run "
                f"`{python} -m pip install concur-nb` there."
            )
        if not started:
            return (
                f"the worker on {destination} did not start: {python!r} "
                f"{exit_description(code)} before the concur_nb worker said hello; pass "
                "ssh(..., python='/path/to/python') naming a Python interpreter that has "
                "concur_nb." + (f"\n{said}" if said else "")
            )
        return f"the worker process on {destination} {exit_description(code)}" + (
            f":\n{said}" if said else ""
        )

    return explain


class SSHBackend:
    """Containers on one or more SSH hosts; made by ``concur_nb.ssh(...)``."""

    name = "ssh"
    out_of_process = True

    def __init__(
        self,
        destinations: Sequence[str],
        *,
        python: str,
        gpus: GpuSpec,
        containers_per_host: int | None,
        ssh_options: Sequence[str],
        connect_timeout: float,
        start_timeout: float,
        heartbeat_timeout: float,
    ) -> None:
        self.destinations = tuple(destinations)
        self.python = python
        self._per_host = containers_per_host
        self._options = tuple(ssh_options)
        self._connect_timeout = connect_timeout
        self._start_timeout = start_timeout
        self._heartbeat_timeout = heartbeat_timeout
        self._secrets = secret_paths(self._options)
        self._pins = {dest: GpuPins(gpus) for dest in self.destinations}
        self._lock = threading.Lock()
        self._live = dict.fromkeys(self.destinations, 0)
        self._down_until: dict[str, float] = {}

    def argv(self, destination: str) -> list[str]:
        timeout = max(1, round(self._connect_timeout))
        return [
            "ssh",
            "-T",  # no terminal: the channel carries binary frames
            # ssh keeps the first value it gets for a setting, and reads the command line before
            # any config file: first here, this wins over a config's "StrictHostKeyChecking no".
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",  # fail instead of prompting for a password or a host key
            "-o",
            f"ConnectTimeout={timeout}",
            *self._options,
            # ssh keeps the first value it gets for an option, so these are only defaults.
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "LogLevel=ERROR",
            "--",
            destination,
            remote_command(self.python, ["--orphan-timeout", f"{3 * self._heartbeat_timeout:g}"]),
        ]

    def capacity(self, destination: str) -> int | None:
        """Containers this host should run at once (None: no limit of its own)."""
        if self._per_host is not None:
            return self._per_host
        return self._pins[destination].capacity()

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> ProcessContainer:
        destination = self._place()
        launch = Launch(
            argv=self.argv(destination),
            kind="ssh",
            host_name=destination,
            explain_exit=explain_ssh_exit(destination, self.python, self._secrets),
            start_timeout=self._start_timeout,
            heartbeat_timeout=self._heartbeat_timeout,
        )
        return ProcessContainer(
            container_id,
            target,
            max_inputs,
            host,
            launch,
            self._pins[destination],
            on_end=lambda container, error: self._release(destination, container, error),
        )

    def max_containers(self) -> int | None:
        """The sum over hosts that are up (over all hosts when none is, so errors surface)."""
        hosts = self._hosts_up() or self.destinations
        total = 0
        for destination in hosts:
            capacity = self.capacity(destination)
            if capacity is None:
                return None
            total += capacity
        return total

    def live_containers(self) -> dict[str, int]:
        with self._lock:
            return dict(self._live)

    def _place(self) -> str:
        """The host with the most room left (the least loaded when all are full)."""

        def room(destination: str) -> float:
            capacity = self.capacity(destination)
            free = float("inf") if capacity is None else capacity - self._live[destination]
            return free - self._live[destination] / 1e6  # ties: the less busy host

        with self._lock:
            destination = max(self._hosts_up() or self.destinations, key=room)
            self._live[destination] += 1
        return destination

    def _hosts_up(self) -> tuple[str, ...]:
        now = time.monotonic()
        return tuple(d for d in self.destinations if self._down_until.get(d, 0.0) <= now)

    def _release(
        self, destination: str, container: ProcessContainer, error: BaseException | None
    ) -> None:
        with self._lock:
            self._live[destination] -= 1
            if error is not None and not container.was_ready:
                # It could not even start there: place the next containers on other hosts
                # for a while instead of failing again and again on this one.
                self._down_until[destination] = time.monotonic() + HOST_DOWN_FOR

    def __repr__(self) -> str:
        return f"ssh({', '.join(map(repr, self.destinations))}, python={self.python!r})"


def ssh(
    *destinations: str,
    python: str = "python3",
    gpus: Any = None,
    containers_per_host: int | None = None,
    ssh_options: Sequence[str] = (),
    known_hosts: str | os.PathLike[str] | None = None,
    connect_timeout: float = 5,
    start_timeout: float = 60,
    heartbeat_timeout: float = 10,
) -> SSHBackend:
    """Run a function's containers on SSH hosts: ``function(backend=concur_nb.ssh("gpu-box"))``.

    - ``destinations``: what you would type after ``ssh`` (``"user@host"``, an alias from
      ``~/.ssh/config``); several hosts share the containers.
    - ``python``: the interpreter on the hosts; it needs the same Python minor version,
      cloudpickle and concur_nb as this kernel (checked at connect, with a fix in the error).
    - ``gpus``: None puts one container on each GPU of a host (hosts without GPUs run on the
      CPU); an int gives each container that many GPUs; ``[[0, 1], [2, 3]]`` names the groups;
      False leaves ``CUDA_VISIBLE_DEVICES`` alone.
    - ``containers_per_host``: a fixed number of containers per host instead.
    - ``ssh_options``: extra ssh arguments, e.g. ``("-p", "2222", "-i", key)``. Host keys are
      always checked: options that turn that off are refused.
    - ``known_hosts``: a known_hosts file to check host keys against (instead of
      ``~/.ssh/known_hosts``).
    - ``connect_timeout``: seconds before an unreachable host is given up.
    - ``start_timeout``: seconds a new worker has to say hello.
    - ``heartbeat_timeout``: seconds of silence after which a worker is presumed dead and its
      inputs are rescheduled.

    Example::

        @concur_nb.function(backend=concur_nb.ssh("gpu-box", python="~/venv/bin/python"))
        @concur_nb.concurrent(max_inputs=32)
        def embed(texts): ...
    """
    if not destinations or not all(isinstance(d, str) and d.strip() for d in destinations):
        raise InvalidError(
            f"ssh{destinations!r}: name at least one host, e.g. ssh('user@gpu-box')."
        )
    python = _checked_python(python)
    options = _checked_options(ssh_options, destinations[0])
    if known_hosts is not None:
        path = _checked_known_hosts(known_hosts)
        quoted = f'"{path}"' if any(c.isspace() for c in path) else path  # ssh splits on spaces
        options = ("-o", f"UserKnownHostsFile={quoted}", *options)
    if containers_per_host is not None and (
        isinstance(containers_per_host, bool)
        or not isinstance(containers_per_host, int)
        or containers_per_host < 1
    ):
        raise InvalidError(
            f"containers_per_host={containers_per_host!r}: use a positive int, or None for "
            "one container per GPU."
        )
    return SSHBackend(
        destinations,
        python=python,
        gpus=validate_spec(gpus),
        containers_per_host=containers_per_host,
        ssh_options=options,
        connect_timeout=_seconds("connect_timeout", connect_timeout, MAX_CONNECT_TIMEOUT),
        start_timeout=_seconds("start_timeout", start_timeout, MAX_SECONDS),
        heartbeat_timeout=_seconds("heartbeat_timeout", heartbeat_timeout, MAX_SECONDS),
    )


def _checked_python(python: Any) -> str:
    if isinstance(python, os.PathLike):
        python = os.fspath(python)
    if not isinstance(python, str) or not python.strip():
        raise InvalidError(
            f"ssh(python={shown(python)}): name the interpreter on the hosts as a string, e.g. "
            "python='python3' or python='~/venv/bin/python'."
        )
    return python


def _checked_options(ssh_options: Any, destination: str) -> tuple[str, ...]:
    if isinstance(ssh_options, str) or not isinstance(ssh_options, (list, tuple)):
        raise InvalidError(
            f"ssh_options={shown(ssh_options)} is a {type(ssh_options).__name__}; pass a list of "
            "arguments, e.g. ssh_options=['-p', '2222'] (or leave it out)."
        )
    for item in ssh_options:
        if not isinstance(item, str):
            raise InvalidError(
                f"ssh_options={shown(ssh_options)} holds {shown(item)} "
                f"({type(item).__name__}); every item must be a string, e.g. "
                "ssh_options=['-p', '2222']."
            )
    weak = weakening_option(ssh_options)
    if weak is not None:
        raise InvalidError(
            f"ssh_options has {weak!r}, which would let ssh connect to a host whose key it "
            "cannot check. concur_nb always checks host keys: it unpickles what the far side "
            "sends, so a man in the middle could run code in this kernel. Drop that option and "
            f"trust the host's key instead: {add_key_hint(destination)}."
        )
    return tuple(ssh_options)


def _checked_known_hosts(known_hosts: Any) -> str:
    path = os.fspath(known_hosts) if isinstance(known_hosts, (str, os.PathLike)) else None
    if not path or path in _NO_KNOWN_HOSTS or not os.path.isfile(os.path.expanduser(path)):
        raise InvalidError(
            f"known_hosts={shown(known_hosts)} is not a known_hosts file; name an existing file "
            "that holds the hosts' keys (make one with `ssh-keyscan -H host > file` after "
            "checking the fingerprint), or leave it out to use ~/.ssh/known_hosts."
        )
    return str(path)


def _seconds(name: str, value: Any, maximum: float) -> float:
    return non_negative_number(
        name,
        value,
        allow_zero=False,
        maximum=maximum,
        fix=f"Pass a positive number of seconds, e.g. ssh(..., {name}=10).",
    )
