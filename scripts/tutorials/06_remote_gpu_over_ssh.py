# ruff: noqa: B018
# %% [markdown]
# # 6. Remote GPU workers over SSH
#
# Your laptop runs the notebook; a GPU box runs the work. `concur_nb.ssh(...)` makes a backend
# whose containers are worker processes on other hosts, started with the system `ssh` client:
# your `~/.ssh/config` (aliases, keys, agent, jump hosts) applies as in a terminal, nothing
# listens on a port, and all traffic rides the SSH channel. The same function, the same
# `@concurrent` settings, the same dashboard.
#
# **What a host needs:** the same Python minor version as this kernel, with `concur_nb` and
# `cloudpickle` installed (`pip install concur-nb`). The first connection checks this and says
# how to fix it.
#
# ## Configure a host
#
# This notebook reads the host from environment variables, so it runs anywhere:
#
# | variable | example |
# |---|---|
# | `CONCUR_NB_SSH_HOST` | `gpu-box`, `me@10.0.0.5`, `ssh://me@host:2222` |
# | `CONCUR_NB_SSH_OPTIONS` | `-i ~/.ssh/gpu_key` (extra `ssh` arguments) |
# | `CONCUR_NB_SSH_PYTHON` | `~/venv/bin/python` (default `python3`) |
#
# Where none is set (on Binder, for instance) it says so and runs the same cells on local
# **process containers**, which speak the same protocol to the same worker program.

# %%
import hashlib
import os
import shlex
import socket
import tempfile
import time
import uuid

import concur_nb

HOST = os.environ.get("CONCUR_NB_SSH_HOST", "").strip()
if HOST:
    backend = concur_nb.ssh(
        HOST,
        python=os.environ.get("CONCUR_NB_SSH_PYTHON") or "python3",
        ssh_options=shlex.split(os.environ.get("CONCUR_NB_SSH_OPTIONS", "")),
        containers_per_host=2,
    )
    print(f"running on SSH host {HOST}")
else:
    backend = "process"
    print("CONCUR_NB_SSH_HOST is not set: running on local process containers instead.")
backend

# %% [markdown]
# ## A function that runs there
#
# `embed` stands in for a model call: it turns a text into a small vector (by hashing its
# words, so it needs no model download), and reports where it ran: the host, the worker's
# process id, and the GPUs it was given (`CUDA_VISIBLE_DEVICES`). The function is sent to the
# host by value (as is every function defined in a notebook); modules it uses are imported
# there.


# %%
@concur_nb.function(backend=backend, max_containers=2)
@concur_nb.concurrent(max_inputs=8)
def embed(text: str) -> dict:
    vector = [0.0] * 8
    for word in text.split():
        digest = hashlib.sha256(word.encode()).digest()
        for i in range(8):
            vector[i] += digest[i] / 255
    time.sleep(0.05)  # the model's forward pass
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "(not pinned)"),
        "vector": [round(v, 2) for v in vector[:4]],
    }


texts = [f"document {i} about input concurrency on remote workers" for i in range(64)]
results = list(embed.map(texts))
print(f"{len(results)} embeddings from", sorted({(r["host"], r["pid"]) for r in results}))
results[0]

# %% [markdown]
# The containers, as the engine sees them: their kind, host, GPUs and how many inputs each ran.

# %%
for c in embed.snapshot().containers:
    print(c.id, c.kind, c.status, c.host, c.gpus or "(no GPUs)", f"{c.inputs_done} inputs done")

# %% [markdown]
# ## GPU pinning
#
# On hosts with NVIDIA GPUs the worker lists them (with `nvidia-smi`) and each container gets
# its own, through `CUDA_VISIBLE_DEVICES`, set before your function is loaded. `gpus=` says how:
#
# ```python
# concur_nb.ssh("gpu-box")                      # one container per GPU (the default)
# concur_nb.ssh("gpu-box", gpus=2)              # each container gets 2 GPUs
# concur_nb.ssh("gpu-box", gpus=[[0, 1], [2, 3]])  # name the groups
# concur_nb.ssh("gpu-box", gpus=False)          # leave CUDA_VISIBLE_DEVICES alone
# concur_nb.ssh("box-a", "box-b")               # several hosts share the containers
# ```
#
# With one container per GPU, `max_inputs` is how many requests share that GPU (the batch of
# tutorial 5), and the autoscaler adds GPUs as demand grows, up to what the hosts have. A host
# without GPUs runs its containers on the CPU.
#
# ## When a host (or a worker) dies
#
# A worker can die: the process is killed, the GPU runs out of memory, the host reboots, the
# network drops. concur_nb notices (the process ends, or its heartbeats stop) and **reschedules
# the inputs that were running there** on other containers: nothing is lost. Here one input
# kills its own worker process, once, while other inputs run beside it:

# %%
MARKER = os.path.join(tempfile.gettempdir(), f"concur_nb-crash-{uuid.uuid4().hex}")


@concur_nb.function(backend=backend, max_containers=2, min_containers=2)
@concur_nb.concurrent(max_inputs=4)
def fragile(x: int) -> str:
    if x == 5 and not os.path.exists(MARKER):
        open(MARKER, "w").close()
        os._exit(1)  # the worker dies abruptly, with its other inputs in flight
    time.sleep(0.3)
    return f"{x} done by pid {os.getpid()} on {socket.gethostname()}"


started = time.perf_counter()
outputs = list(fragile.map(range(16)))
print(f"all {len(outputs)} inputs done in {time.perf_counter() - started:.1f} s")
outputs[5]

# %% [markdown]
# Every input finished; the worker that died was replaced. The engine recorded it:

# %%
snap = fragile.snapshot()
print(f"succeeded={snap.succeeded} failed={snap.failed}")
for d in snap.decisions:
    print(d.action, d.containers_before, "->", d.containers_after, ":", d.reason)

# %% [markdown]
# A host that cannot even start a worker (unreachable, refused login, no `concur_nb` there) is
# passed over for a while, and its error says what to fix. To stop an input whose container
# should go, `call.cancel(terminate_container=True)` terminates that container instead of
# interrupting the input; its other inputs are rescheduled the same way.
#
# **Next:** [7. Modal code, locally](07_modal_locally.ipynb).

# %%
concur_nb.shutdown()
if os.path.exists(MARKER):
    os.remove(MARKER)
