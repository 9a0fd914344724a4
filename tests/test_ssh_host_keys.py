"""Host keys are always checked, whatever the user's ssh config or ``ssh_options`` say.

The engine unpickles what the far side of the channel sends, so a connection to a host whose
key ssh could not vouch for would let a man in the middle run code in the kernel. These tests
use a real, private sshd (``tests/sshd.py``) and a client config of their own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkout_python import checkout_python
from recording_host import RecordingHost
from sshd import PrivateSshd, SshKeys, keygen, require_sshd

from concur_nb._containers.base import Target
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._containers.ssh import SSHBackend, ssh
from concur_nb._errors import ContainerError, InvalidError

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def keys() -> Iterator[SshKeys]:
    require_sshd()
    made = SshKeys()
    yield made
    made.cleanup()


@pytest.fixture(scope="module")
def server(keys: SshKeys) -> Iterator[PrivateSshd]:
    running = PrivateSshd(require_sshd(), keys).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def python(keys: SshKeys) -> str:
    return checkout_python(keys.dir)


def user_config(tmp_path: Path, keys: SshKeys, known_hosts: Path, checking: str) -> Path:
    """A client config as a careless user might have it, in place of ``~/.ssh/config``."""
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host *\n"
        f"  StrictHostKeyChecking {checking}\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        f"  IdentityFile {keys.client_key}\n"
        "  IdentitiesOnly yes\n"
    )
    return config


def first_report(backend: SSHBackend) -> tuple[RecordingHost, ProcessContainer]:
    host = RecordingHost()
    container = backend.create("c-keys", Target("fn", len, False), 1, host)
    container.start()
    host.wait_for(lambda: bool(host.failures or host.ready_containers), timeout=20)
    return host, container


def refusal(backend: SSHBackend) -> str:
    host, container = first_report(backend)
    try:
        assert host.failures, "ssh connected to a host whose key it could not check"
        assert isinstance(host.failures[0], ContainerError)
        return str(host.failures[0])
    finally:
        container.kill()


@pytest.mark.parametrize("checking", ["no", "accept-new", "off"])
def test_a_config_that_turns_checking_off_does_not_let_an_unknown_host_in(
    keys: SshKeys, server: PrivateSshd, python: str, tmp_path: Path, checking: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    config = user_config(tmp_path, keys, known, checking)
    message = refusal(ssh(server.destination, python=python, ssh_options=["-F", str(config)]))
    assert "host key is not in known_hosts" in message
    assert f"ssh-keyscan -H -p {server.port} 127.0.0.1 >> ~/.ssh/known_hosts" in message
    assert known.read_text() == "", "the unknown key was added to known_hosts"


def test_a_changed_host_key_is_refused_even_with_checking_off_in_the_config(
    keys: SshKeys, server: PrivateSshd, python: str, tmp_path: Path
) -> None:
    impostor = tmp_path / "old_host_key"
    keygen(impostor)
    kind, key = (tmp_path / "old_host_key.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {kind} {key}\n")
    config = user_config(tmp_path, keys, known, "no")
    message = refusal(ssh(server.destination, python=python, ssh_options=["-F", str(config)]))
    assert "host key CHANGED" in message and "ssh-keygen -R" in message


def test_the_same_config_connects_once_the_key_is_trusted(
    keys: SshKeys, server: PrivateSshd, python: str, tmp_path: Path
) -> None:
    config = user_config(tmp_path, keys, keys.known_hosts, "no")
    host, container = first_report(
        ssh(server.destination, python=python, ssh_options=["-F", str(config)])
    )
    try:
        assert host.ready_containers and not host.failures
    finally:
        container.kill()


def test_known_hosts_names_the_file_to_check_keys_against(
    keys: SshKeys, server: PrivateSshd, python: str, tmp_path: Path
) -> None:
    options = ["-F", "/dev/null", "-i", str(keys.client_key), "-o", "IdentitiesOnly=yes"]
    empty = tmp_path / "empty"
    empty.write_text("")
    trusted = ssh(
        server.destination,
        python=python,
        ssh_options=options,
        known_hosts=keys.known_hosts,
    )
    assert "host key is not in known_hosts" in refusal(
        ssh(server.destination, python=python, ssh_options=options, known_hosts=empty)
    )
    host, container = first_report(trusted)
    try:
        assert host.ready_containers, host.failures
    finally:
        container.kill()


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "StrictHostKeyChecking=no"],
        ["-o", "stricthostkeychecking accept-new"],
        ["-oStrictHostKeyChecking=off"],
        ["-o", "StrictHostKeyChecking = ask"],
        ["-o", "UserKnownHostsFile=/dev/null"],
        ["-p", "22", "-o", "UserKnownHostsFile none"],
    ],
)
def test_ssh_options_that_weaken_checking_are_refused_with_how_to_add_a_key(
    options: list[str],
) -> None:
    with pytest.raises(InvalidError, match="always checks host keys") as refused:
        ssh("ssh://me@gpu-box:2200", ssh_options=options)
    assert "ssh-keyscan -H -p 2200 gpu-box >> ~/.ssh/known_hosts" in str(refused.value)
    assert "known_hosts=" in str(refused.value)


def test_strict_checking_comes_before_every_other_option() -> None:
    argv = ssh("gpu-box", ssh_options=["-F", "/home/me/ssh_config", "-p", "2222"]).argv("gpu-box")
    assert argv[argv.index("StrictHostKeyChecking=yes") - 1] == "-o"
    assert argv.index("StrictHostKeyChecking=yes") < argv.index("-F")


def test_a_missing_known_hosts_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidError, match=r"known_hosts=.*is not a known_hosts file"):
        ssh("gpu-box", known_hosts=tmp_path / "nope")
    with pytest.raises(InvalidError, match="is not a known_hosts file"):
        ssh("gpu-box", known_hosts="/dev/null")


def test_ssh_itself_puts_the_command_line_before_the_config(tmp_path: Path) -> None:
    """The precedence the fix relies on, checked against the installed ssh (``ssh -G``)."""
    require_sshd()
    config = tmp_path / "config"
    config.write_text("Host *\n  StrictHostKeyChecking no\n")
    argv = ssh("gpu-box", ssh_options=["-F", str(config)]).argv("gpu-box")
    effective = subprocess.run(
        ["ssh", "-G", *argv[1 : argv.index("--")], "gpu-box"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "stricthostkeychecking true" in effective.splitlines()
