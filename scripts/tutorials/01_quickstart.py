# ruff: noqa: B018, E402
# %% [markdown]
# # 1. Quickstart: input concurrency in a notebook
#
# By default a worker (a *container*) runs one input of a function at a time. With **input
# concurrency** one container runs up to `max_inputs` inputs at once. That is a big win when
# each input spends its time *waiting*: on an API, a database, another function, a GPU.
#
# concur_nb brings Modal's `@concurrent` decorator to Jupyter, with the same rules:
#
# - **sync functions** run their concurrent inputs on **threads** (so they must be thread-safe);
# - **async functions** run them as **asyncio tasks** on one event loop (so they must not block
#   the loop).
#
# This notebook runs both, shows the live views, and measures what `max_inputs` changes.

# %%
import asyncio
import time

import concur_nb

# %% [markdown]
# ## A sync function: inputs on threads
#
# The decorator is all it takes. Each container runs up to 10 inputs of `sleep_sync` at once,
# each on its own thread. `current_input_id()` tells an input which one it is.


# %%
@concur_nb.concurrent(max_inputs=10)
def sleep_sync(seconds: float) -> str:
    time.sleep(seconds)  # the function must be thread-safe: 10 of these run at once
    return concur_nb.current_input_id()


sleep_sync

# %% [markdown]
# `.remote(x)` runs one input and waits for it; `.map(xs)` runs one input per item and yields
# the outputs in order. Twenty inputs of 0.6 s each, ten at a time, take about 1.2 s instead
# of 12 (and, taking more than a second, show their call's view under the cell):

# %%
started = time.perf_counter()
ids = list(sleep_sync.map([0.6] * 20))
print(f"20 inputs in {time.perf_counter() - started:.2f} s; the first ids: {ids[:3]}")

# %% [markdown]
# ## An async function: inputs as tasks on one event loop
#
# An `async def` gets the same decorator. Its inputs run as tasks on one event loop per
# container, so it must `await` instead of blocking. In a notebook cell you can `await` the
# `.aio` twin of every blocking call: `await f.remote.aio(x)`, `async for y in f.map.aio(xs)`.


# %%
@concur_nb.concurrent(max_inputs=10)
async def sleep_async(seconds: float) -> str:
    await asyncio.sleep(seconds)  # must not block the event loop
    return concur_nb.current_input_id()


started = time.perf_counter()
ids = [i async for i in sleep_async.map.aio([0.5] * 20)]
print(f"20 async inputs in {time.perf_counter() - started:.2f} s")

# %% [markdown]
# ## Live views
#
# You have already seen one: a blocking call that takes more than a second (the `map` above)
# shows **its call's view** by itself, and when the call ends the view **freezes** into a
# summary: final counts, run-time percentiles and a chart of the call from its start. The
# summary is plain HTML, so it stays in the saved notebook.
#
# `spawn_map` starts the inputs and returns at once with a `FunctionCall`. `Dashboard(f,
# call=call)` follows that call live: done of 100, a progress bar, the rate and an ETA, its
# inputs (click one to read its logs) and the containers it runs on.

# %%
from concur_nb.notebook import Dashboard

call = sleep_sync.spawn_map([0.2] * 100)
Dashboard(sleep_sync, call=call)

# %%
outputs = call.get()  # waits for all 100; the view above freezes into the call's summary
len(outputs)

# %% [markdown]
# `Dashboard(sleep_sync)` (no call) shows the function's **totals** across all its calls,
# and says so in its title; `Dashboard(sleep_sync, where="panel")` docks it in a JupyterLab
# side panel instead of piling views up in cells.

# ## What `max_inputs` changes, measured
#
# `update(...)` changes the settings of a function in place, even while it runs. Here the same
# 20 inputs of 0.2 s run with 1, 2, 5, 10 and 20 slots per container (one container):

# %%
from concur_nb.notebook import auto

auto.enabled = False  # five timed runs: no view under this cell (it would show the first only)
rows = []
for max_inputs in [1, 2, 5, 10, 20]:
    sleep_sync.update(max_inputs=max_inputs, target_inputs=max_inputs)
    started = time.perf_counter()
    sleep_sync.for_each([0.2] * 20)
    rows.append((max_inputs, time.perf_counter() - started))

auto.enabled = True
for max_inputs, seconds in rows:
    print(f"max_inputs={max_inputs:>2}: {seconds:5.2f} s  ({20 / seconds:5.1f} inputs/s)")

# %%
import plotly.graph_objects as go

go.Figure(
    go.Bar(x=[str(m) for m, _ in rows], y=[20 / s for _, s in rows]),
    layout=dict(
        title="20 inputs that wait 0.2 s each",
        xaxis_title="max_inputs",
        yaxis_title="inputs per second",
        height=320,
    ),
)

# %% [markdown]
# Throughput grows with `max_inputs` while the inputs only wait. For inputs that *compute*, it
# would not: see tutorial 5. `snapshot()` is the engine's view of a function at one moment,
# and prints as a short summary:

# %%
snap = sleep_sync.snapshot()
print(f"succeeded={snap.succeeded} failed={snap.failed} p50 run time={snap.run_time.p50:.3f} s")
snap

# %% [markdown]
# ## Also: magics
#
# `%load_ext concur_nb` adds `%%concurrent` (make a cell's function concurrent, or
# map the cell's body over items) and `%concurrent_status`, `%concurrent_dashboard`,
# `%concurrent_tune`.

# %%
# %load_ext concur_nb

# %%
# %concurrent_status

# %% [markdown]
# **Next:** [2. I/O-bound work](02_io_bound.ipynb) — a real HTTP API, a real database, and
# functions that call functions.

# %%
concur_nb.shutdown()  # retire every container (this also happens when the kernel stops)
