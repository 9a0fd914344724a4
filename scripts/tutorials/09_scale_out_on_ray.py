# ruff: noqa: B018
# %% [markdown]
# # 9. Scale out on a Ray cluster
#
# The same `@concurrent` function, first on local containers, then with its containers as
# **actors on a Ray cluster**: Ray places each container where its GPUs are free, and Ray's
# cluster autoscaler adds nodes when containers wait for a place. Nothing else changes: the
# same `max_inputs` and `target_inputs`, the same per-input logs, cancellation and views.
#
# **What you need:** `pip install 'concur-nb[ray]'`. With `RAY_ADDRESS` set (or `address=`),
# concur_nb joins that cluster; without it, it starts a local one, as here.

# %%
import os
import time

import concur_nb


def embed(text: str) -> dict:
    """Stands in for a model call; reports where it ran and which GPU it was given."""
    time.sleep(0.05)  # the forward pass
    print(f"embedded {text!r}")
    return {
        "pid": os.getpid(),
        "gpu": os.environ.get("CUDA_VISIBLE_DEVICES", "(none)"),
        "length": len(text),
    }


texts = [f"document {i}" for i in range(40)]

# %% [markdown]
# ## On local containers
#
# Threads in this kernel: one container, up to 8 inputs at a time.

# %%
local_embed = concur_nb.function(name="embed_local")(concur_nb.concurrent(max_inputs=8)(embed))
start = time.perf_counter()
rows = list(local_embed.map(texts))
print(f"{len(rows)} inputs in {time.perf_counter() - start:.2f} s, in process {rows[0]['pid']}")

# %% [markdown]
# ## On a Ray cluster
#
# `concur_nb.ray(num_gpus=1)`: each container is a Ray actor that asks for one GPU; Ray pins
# it (`CUDA_VISIBLE_DEVICES`) and concur_nb reports the ids. With no `RAY_ADDRESS`, concur_nb
# starts a local cluster; `init_options` go to that `ray.init()`: here two *logical* GPUs, so
# the notebook runs on a laptop without one (Ray places and pins them as it would real ones).
# A GPU container asks for no CPU unless you say so (`num_cpus=0` is the default beside GPUs),
# so GPUs never sit idle for want of a CPU.

# %%
if os.environ.get("RAY_ADDRESS"):
    backend = concur_nb.ray(num_gpus=1)
    print(f"joining the Ray cluster at {os.environ['RAY_ADDRESS']}")
else:
    backend = concur_nb.ray(
        num_gpus=1,
        init_options={"num_cpus": 2, "num_gpus": 2, "include_dashboard": False},
    )
    print("RAY_ADDRESS is not set: starting a local Ray cluster with two logical GPUs")
backend

# %% [markdown]
# The same function, with Ray as its backend, two containers: one per GPU. Ray starts each
# actor in a worker process of its own (a second or two); to see the work spread over both
# GPUs, wait until both run before mapping (otherwise the first one takes it all).

# %%
ray_embed = concur_nb.function(backend=backend, max_containers=2, min_containers=2)(
    concur_nb.concurrent(max_inputs=8)(embed)
)
start = time.perf_counter()
while sum(c.status == "running" for c in ray_embed.snapshot().containers) < 2:
    time.sleep(0.1)
print(f"two containers up in {time.perf_counter() - start:.1f} s")
start = time.perf_counter()
rows = list(ray_embed.map(texts))
print(f"{len(rows)} inputs in {time.perf_counter() - start:.2f} s")
print("GPUs the inputs saw:", sorted({row["gpu"] for row in rows}))

# %% [markdown]
# ## Containers per node, with their GPU ids
#
# Each container shows the Ray node it landed on and the GPUs Ray gave it; the dashboard
# (`concur_nb.dashboard(ray_embed)`) shows the same in its containers table.

# %%
for container in ray_embed.snapshot().containers:
    info = container.info
    print(
        f"{container.id}: {container.status}, node {str(info.get('node_id'))[:8]}, "
        f"GPU ids {info.get('gpu_ids')}, CUDA_VISIBLE_DEVICES={info.get('cuda_visible_devices')}"
    )

# %% [markdown]
# Logs are kept per input and came back through concur_nb, not Ray's log forwarding:

# %%
first = ray_embed.inputs(1)[0]
[line.text for line in ray_embed.logs(first.id)]

# %% [markdown]
# ## A container Ray cannot place yet is pending, not failed
#
# Ask for a third GPU container while both GPUs are taken: it waits, and says why. On a cluster
# with an autoscaler (KubeRay with `enableInTreeAutoscaling: true`, or the cluster launcher),
# that waiting actor is a resource demand, and Ray adds a GPU node for it.

# %%
more = concur_nb.function(backend=backend, max_containers=1, name="embed_more")(
    concur_nb.concurrent(max_inputs=8)(embed)
)
waiting = more.spawn("one more")
time.sleep(2)
for container in more.snapshot().containers:
    print(container.id, container.status, "-", container.info["status"])

# %% [markdown]
# When a GPU frees up, Ray places it and the input runs:

# %%
ray_embed.shutdown()
waiting.get(timeout=60)

# %% [markdown]
# ## On your cluster
#
# - **KubeRay**: run the notebook where it can reach the head (`RAY_ADDRESS=ray://head:10001`
#   or `host:6379` from inside the cluster). concur_nb's autoscaler asks for containers; each
#   pending one is a Ray actor waiting for resources; Ray's autoscaler adds pods of the worker
#   group whose resources fit, and removes them when concur_nb retires idle containers.
# - **Slurm**: `ray start --head` on the first node of the allocation, `srun ray start
#   --address=<head>:6379 --block` on the others, then set `RAY_ADDRESS` for the kernel.
# - Nodes need the kernel's Python minor version, `cloudpickle` and `concur-nb` (or a
#   `runtime_env={"pip": [...]}` that installs them). See `docs/ray.md`.

# %%
more.shutdown()
local_embed.shutdown()
