"""Run a command beside a real two-node Ray cluster, inside a network namespace of its own.

Ray rewrites 127.0.0.1 to the machine's interface address and its processes try DNS and the
cloud metadata address; inside a private network + PID + mount namespace with only ``lo`` and
a private ``/etc/hosts``, all of that stays on loopback, and when the command ends the kernel
ends every Ray process left inside. See ``/work/shared/recipes/ray-in-a-namespace.md``.

The cluster: a head node with 1 CPU and no GPU, and a worker node with 1 CPU and two logical
GPUs (``--num-gpus=2``: Ray places and pins them, ``CUDA_VISIBLE_DEVICES`` included, with no
real GPU). The command sees ``RAY_ADDRESS``; ``CONCUR_NB_RAY_TEMP`` is the cluster's temp dir.

    python tests/ray_namespace.py -- python benchmarks/bench_ray.py
    python tests/ray_namespace.py --no-cluster -- python script.py   # ray.init() starts one
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = r"""
set -eu
ip link set lo up
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0
export RAY_health_check_period_ms=500 RAY_health_check_timeout_ms=500
export RAY_health_check_failure_threshold=3
TMPD=$(mktemp -d /tmp/rayns.XXXXXX)
printf "127.0.0.1 localhost %s\n" "$(hostname)" >"$TMPD/hosts"
mount --bind "$TMPD/hosts" /etc/hosts
export CONCUR_NB_RAY_TEMP="$TMPD" CONCUR_NB_RAY_NS=1
RAY=$(dirname "$PYTHON")/ray
# The second node's agents need ports of their own (else it retries the head's for seconds).
ports() {
  echo "--dashboard-agent-listen-port=$((52365 + $1)) --dashboard-agent-grpc-port=$((52370 + $1))"
  echo "--runtime-env-agent-port=$((52380 + $1)) --metrics-export-port=$((52390 + $1))"
}
start_cluster() {
  $NICE "$RAY" start --head --node-ip-address=127.0.0.1 --port=6379 --num-cpus=1 --num-gpus=0 \
      --include-dashboard=false --disable-usage-stats --temp-dir="$TMPD" $(ports 0) \
      --include-log-monitor=false \
      >"$TMPD/head.log" 2>&1 || return 1
  $NICE "$RAY" start --address=127.0.0.1:6379 --node-ip-address=127.0.0.1 --num-cpus=1 \
      --num-gpus=2 $(ports 1) --include-log-monitor=false >"$TMPD/worker.log" 2>&1
}
# A raylet waits a fixed 15 s (Ray 2.60's WaitForPersistedPort, not configurable) for its
# dashboard agent, whose imports alone take that long on a loaded 2-core machine. So the nodes
# start at a higher priority (root: nice -5), and a cluster that still fails starts again.
NICE="nice -n -5"
[ "$(id -u)" = 0 ] || NICE=""
if [ "$CLUSTER" = 1 ]; then
  for attempt in 1 2 3; do
    start_cluster && break
    cat "$TMPD"/*.log | grep -v '^ ' | tail -n 3 >&2
    "$RAY" stop --force >/dev/null 2>&1
    [ "$attempt" = 3 ] && exit 90
    echo "ray_namespace: the cluster did not start (attempt $attempt); again" >&2
  done
  export RAY_ADDRESS=127.0.0.1:6379
fi
set +e
"$@"
rc=$?
[ "$CLUSTER" = 1 ] && "$RAY" stop --force >/dev/null 2>&1
umount /etc/hosts
rm -rf "$TMPD"
exit $rc
"""


def missing() -> str | None:
    """Why a namespace cannot be made here (None when it can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed; scripts/setup.sh installs it"
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed; scripts/setup.sh installs it"
    if os.geteuid() != 0:
        return "network namespaces need root here (unshare --net)"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed; pip install -e '.[ray]'"
    return None


def command(argv: list[str], *, cluster: bool = True) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run ``argv`` in a namespace (with a cluster)."""
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "CLUSTER": "1" if cluster else "0",
        # Ray's worker processes import this tree's concur_nb (and tests' helpers) by value
        # of this path, whatever the virtualenv's editable install points at.
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    env.pop("RAY_ADDRESS", None)
    wrapper = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--", "bash", "-c"]
    return [*wrapper, _SCRIPT, "ray_ns_run", *argv], env


def run(
    argv: list[str], *, timeout: float, cluster: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a namespace (with a cluster) from the project's root; what it printed."""
    line, env = command(argv, cluster=cluster)
    return subprocess.run(
        line, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def main() -> None:
    args = sys.argv[1:]
    cluster = True
    if args and args[0] == "--no-cluster":
        cluster, args = False, args[1:]
    if args and args[0] == "--":
        args = args[1:]
    why = missing()
    if why is not None or not args:
        sys.exit(f"ray_namespace: {why or 'usage: ray_namespace.py [--no-cluster] -- CMD...'}")
    argv, env = command(args, cluster=cluster)
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main()
