"""A private ``sshd`` on 127.0.0.1 for tests and benchmarks: a real server, nothing shared.

It gets a free port, its own host key, a freshly generated client key in its own
authorized_keys, a known_hosts file for the client, and ``PasswordAuthentication no``. The
client options it hands out (``ssh_options``) never touch the user's ``~/.ssh``.

Where ``sshd`` is missing the SSH tests skip, except under ``CI=true`` where that is a failure
(``scripts/setup.sh`` installs ``openssh-server``).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


def find_sshd() -> str | None:
    for candidate in (shutil.which("sshd"), *SSHD_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)  # sshd re-execs itself: it needs an absolute path
    return None


def require_sshd() -> str:
    """The sshd path; skip without one, but fail under CI where nothing may skip."""
    sshd = find_sshd()
    if sshd is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        message = "sshd/ssh/ssh-keygen missing: run scripts/setup.sh (installs openssh-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sshd


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "concur_nb-test", "-f", str(path)],
        check=True,
    )


def sshd_descendants(root: int) -> list[int]:
    """The sshd processes below ``root`` in the process tree (Linux /proc)."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry.name)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), name)
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, name) in parents.items():
            if ppid == parent and name.startswith("sshd"):
                found.append(pid)
                frontier.append(pid)
    return found


class SshKeys:
    """A host key and a client key, with the client's own authorized_keys and known_hosts."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="concur_nb-sshd-"))
        self.user = getpass.getuser()
        self.host_key = self.dir / "host_key"
        self.client_key = self.dir / "client_key"
        self.authorized_keys = self.dir / "authorized_keys"
        self.known_hosts = self.dir / "known_hosts"
        keygen(self.host_key)
        keygen(self.client_key)
        self.authorized_keys.write_text((self.dir / "client_key.pub").read_text())
        self.known_hosts.write_text("")

    def trust(self, port: int) -> None:
        """Add the host key for 127.0.0.1:``port`` to the client's known_hosts."""
        kind, key = (self.dir / "host_key.pub").read_text().split()[:2]
        with self.known_hosts.open("a") as known:
            known.write(f"[127.0.0.1]:{port} {kind} {key}\n")

    def options(self, known_hosts: Path | None = None) -> list[str]:
        """Client options for servers with these keys; ``known_hosts`` may name another file."""
        return [
            "-F",
            "/dev/null",  # not the user's ~/.ssh/config
            "-i",
            str(self.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts or self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
        ]

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateSshd:
    """One server on a free port; ``start()``, then ``stop()`` (which also cuts live sessions).

    ``destination`` is an ``ssh://user@127.0.0.1:port`` URI, so one set of client options
    serves several servers.
    """

    def __init__(self, sshd: str, keys: SshKeys) -> None:
        self.sshd = sshd
        self.keys = keys
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def destination(self) -> str:
        return f"ssh://{self.keys.user}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> PrivateSshd:
        self.port = free_port()
        config = self.keys.dir / f"sshd_config_{self.port}"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.keys.host_key}",
                    f"AuthorizedKeysFile {self.keys.authorized_keys}",
                    f"PidFile {self.keys.dir / f'sshd_{self.port}.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",  # the temp dir's modes are not a user's home's
                    "UsePAM no",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self.keys.trust(self.port)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        with (self.keys.dir / f"sshd_{self.port}.log").open("wb") as log:
            self._process = subprocess.Popen(
                [self.sshd, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._wait_listening(timeout)
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                log = self.keys.dir / f"sshd_{self.port}.log"
                raise RuntimeError(f"sshd exited: {log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"sshd did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop the server and the sshd processes of its live sessions: connections drop.

        Each connection's sshd runs in a session of its own, so they are found through the
        process tree; the programs those sessions run are left to notice the cut themselves.
        """
        if self._process is None:
            return
        for pid in [self._process.pid, *sshd_descendants(self._process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._process.wait()
        self._process = None
