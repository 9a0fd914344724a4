"""How a worker's end is told to a user: its exit code or signal, and what ssh's own
failures mean (host keys, logins, unreachable hosts), each with the fix."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable

# The remote shell writes this line with the worker's exit status (``ssh.remote_command``).
EXIT_MARK = "concur_nb-worker-exit-status"
_EXIT_LINE = re.compile(rf"^{EXIT_MARK} (\d+)$", re.MULTILINE)


def exit_description(code: int) -> str:
    """``"exited with code 3"``, or ``"was killed by signal SIGKILL (9)"`` for a negative code
    (how ``subprocess`` reports a death by signal)."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "an unknown signal"
    return f"was killed by signal {name} ({-code})"


def local_explanation(python: str) -> Callable[[int | None, str, bool], str]:
    def explain(code: int | None, stderr: str, started: bool) -> str:
        said = stderr.strip()
        if code is None:
            return f"could not start a worker process with {python!r}: {said}"
        if "No module named" in said and "concur_nb" in said:
            return (
                f"concur_nb is not importable by {python!r}; install it there "
                f"(`{python} -m pip install concur-nb`)"
            )
        if not started:
            return (
                f"the worker did not start: {python!r} {exit_description(code)} before the "
                "concur_nb worker said hello; pass the path of a Python interpreter that can "
                f"import concur_nb (`{python} -m concur_nb.worker` must run)."
                + (f"\n{said}" if said else "")
            )
        return f"the worker process {exit_description(code)}" + (f":\n{said}" if said else "")

    return explain


def worker_status(stderr: str) -> tuple[int | None, str]:
    """(how the worker ended, as ``subprocess`` says it: negative for a signal), and stderr
    without the line that said so; None when the worker's shell never said (the link broke)."""
    found = _EXIT_LINE.findall(stderr)
    rest = _EXIT_LINE.sub("", stderr).strip()
    if not found:
        return None, rest
    status = int(found[-1])
    return (128 - status if 128 < status <= 128 + 64 else status), rest


def add_key_hint(destination: str) -> str:
    """How to trust a host's key, for error messages."""
    host, port = _host_and_port(destination)
    scan = f"ssh-keyscan -H {f'-p {port} ' if port else ''}{host} >> ~/.ssh/known_hosts"
    return (
        f"check the host's key fingerprint, then add it with `{scan}` (or run `ssh "
        f"{destination}` once in a terminal and answer yes), or pass "
        "known_hosts='/path/to/known_hosts' (or ssh_options=['-o', "
        "'UserKnownHostsFile=/path/to/known_hosts']) naming a file that holds it"
    )


def _host_and_port(destination: str) -> tuple[str, str | None]:
    rest = destination.removeprefix("ssh://").rsplit("@", 1)[-1]
    if destination.startswith("ssh://") and re.fullmatch(r".*:\d+", rest):
        host, port = rest.rsplit(":", 1)
        return host.strip("[]"), port
    return rest, None


def ssh_failure(destination: str, said: str, last: str, started: bool) -> str:
    """What an ssh client that exited 255 (its own failure) means."""
    if "identification has changed" in said.lower():
        return (
            f"ssh refused {destination}: its host key CHANGED since it was added to "
            "known_hosts. That happens when a host is reinstalled, and also when someone is "
            "intercepting the connection; concur_nb always checks host keys. If the change is "
            "expected, remove the old key (`ssh-keygen -R host`), then "
            f"{add_key_hint(destination)}."
        )
    if "host key verification failed" in said.lower():
        return (
            f"ssh refused {destination}: its host key is not in known_hosts. concur_nb "
            "always checks host keys (it runs what the far side sends back); "
            f"{add_key_hint(destination)}."
        )
    if "permission denied" in said.lower():
        return (
            f"{destination} refused the login ({last}). concur_nb runs ssh with "
            "BatchMode=yes, so a key or agent must log in without any prompt."
        )
    if started:
        return (
            f"the ssh connection to {destination} closed while the worker ran (the link "
            f"dropped, or sshd or the worker's shell was killed): {last}"
        )
    return f"cannot reach {destination} over ssh: {last}"
