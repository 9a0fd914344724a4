# ruff: noqa: B018
# %% [markdown]
# # 3. Tuning: `target_inputs`, `max_inputs` and the autoscaler
#
# Two numbers set a function's concurrency:
#
# - `max_inputs`: the hard cap, what one container can take (memory, GPU memory, connections);
# - `target_inputs`: what the autoscaler *aims* for per container (your latency goal).
#
# When demand exceeds `target_inputs` x containers, the autoscaler starts more containers. New
# containers take time to start (a cold start), and meanwhile the running ones **burst** up to
# `max_inputs`. When demand falls, idle containers retire after `scaledown_window` seconds.
# This notebook shows all of it on the product API from tutorial 2, then tunes the settings
# with widgets and with a sweep.

# %%
import time

import demo_api
from plotly.subplots import make_subplots

import concur_nb
from concur_nb.notebook import tune
from concur_nb.notebook.sweep import sweep

api = demo_api.start(latency_ms=100)

# %% [markdown]
# ## A class with a cold start
#
# A class runs one instance per container; its `@enter` hook runs once when a container starts
# (load a model, open a connection pool). Here it takes 1.5 s, so the cold start is visible.
# One container is kept warm (`min_containers=1`), at most 4 run, and idle ones retire after
# 2 s. Each aims for 6 inputs and may burst to 12.


# %%
@concur_nb.function(min_containers=1, max_containers=4, scaledown_window=2)
@concur_nb.concurrent(max_inputs=12, target_inputs=6)
class Catalog:
    @concur_nb.enter()
    def open(self):
        time.sleep(1.5)  # stands in for loading a model or opening a pool

    @concur_nb.method()
    def price(self, sku: int) -> float:
        return api.get(f"/product/{sku}")["price"]


Catalog().price.remote(1)  # the first call waits for the warm container to start

# %% [markdown]
# ## A burst of traffic
#
# `traffic` sends requests at a steady rate with `spawn` (which returns at once), and samples
# `snapshot()` every 50 ms: each container's slots in use and the queue. First a gentle second
# (about 3 inputs in flight: one container is plenty), then three seconds of heavy traffic
# (about 20 in flight: more than 6 per container), then silence.


# %%
def traffic(fn, phases, sample_every=0.05, tail=4.0):
    """Spawn ``rate`` inputs/s for ``seconds``, per phase; return the samples and the calls."""
    samples, calls = [], []
    started = time.perf_counter()
    for rate, seconds in phases:
        phase_end = time.perf_counter() + seconds
        while time.perf_counter() < phase_end:
            calls += [fn.spawn(len(calls) % 5000) for _ in range(max(1, int(rate * 0.05)))]
            snap = fn.snapshot()
            samples.append((time.perf_counter() - started, snap))
            time.sleep(sample_every)
    end = time.perf_counter() + tail
    while time.perf_counter() < end:  # the tail: watch containers retire
        samples.append((time.perf_counter() - started, fn.snapshot()))
        time.sleep(sample_every)
    return samples, calls


samples, calls = traffic(Catalog().price, phases=[(30, 1.0), (200, 3.0)])
results = concur_nb.gather(*calls)
print(f"{len(results)} inputs done")


# %%
def plot_slots(samples, settings):
    """One row per container (lines of containers side by side hid each other), the queue
    below; each row marks target_inputs and max_inputs."""
    ids = sorted({c.id for _, snap in samples for c in snap.containers})
    fig = make_subplots(
        rows=len(ids) + 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[f"{cid}: inputs in flight" for cid in ids] + ["queued"],
    )
    for row, cid in enumerate(ids, start=1):
        points = [
            (t, c.in_use if c.status == "running" else None)
            for t, snap in samples
            for c in snap.containers
            if c.id == cid
        ]
        fig.add_scatter(
            x=[t for t, _ in points], y=[u for _, u in points], name=cid, row=row, col=1
        )
        for y, color, label, where in [
            (settings.target, "green", "target_inputs", "bottom right"),
            (settings.max_inputs, "red", "max_inputs", "top right"),
        ]:
            fig.add_hline(
                y=y,
                line_dash="dash",
                line_color=color,
                row=row,
                col=1,
                annotation_text=label if row == 1 else None,
                annotation_position=where,
            )
        fig.update_yaxes(range=[0, settings.max_inputs + 2], row=row, col=1)
    fig.add_scatter(
        x=[t for t, _ in samples],
        y=[s.queued for _, s in samples],
        name="queued",
        line=dict(dash="dot", color="gray"),
        row=len(ids) + 1,
        col=1,
    )
    fig.update_layout(
        height=130 * (len(ids) + 1) + 80, showlegend=False, margin=dict(l=50, r=20, t=40, b=40)
    )
    fig.update_xaxes(title_text="seconds", row=len(ids) + 1, col=1)
    return fig


plot_slots(samples, Catalog.settings)

# %% [markdown]
# Read the chart left to right: the warm container carries the gentle traffic below its
# target. When traffic jumps, it **bursts** past `target_inputs` up to `max_inputs` (and the
# rest queue) while new containers cold-start; once they are up, the load spreads out and each
# container comes back near its target. After the traffic stops, idle containers retire, down
# to `min_containers`.
#
# ## Why the autoscaler did what it did
#
# Every decision is recorded with its reason in `snapshot().decisions`:

# %%
first_t = samples[0][1].taken_at
for d in Catalog.snapshot().decisions:
    print(
        f"{d.at - first_t:6.2f} s  {d.action:<10} {d.containers_before} -> "
        f"{d.containers_after}: {d.reason}"
    )

# %% [markdown]
# ## Tuning widgets
#
# `tune(fn)` shows sliders above the live view of the function's totals. Each move calls
# `fn.update(...)` while the inputs run: lower `max_inputs` and the slots in use follow; raise
# `max_containers` and the autoscaler adds containers. The work must run in the background
# (`spawn_map`): the notebook handles a slider only while the kernel is idle.

# %%
call = Catalog().price.spawn_map(range(3000))
tuner = tune(Catalog)
tuner

# %% [markdown]
# Moving a slider calls `tuner.apply(...)`; here is the same call from code (so this notebook
# also runs unattended). Lower `max_inputs` to 3 and watch the slots in use follow: running
# inputs are never cancelled, new ones just wait for a free slot.


# %%
def slots():
    return [c.in_use for c in Catalog.snapshot().containers if c.status == "running"]


time.sleep(0.5)
print("slots in use before:", slots())
tuner.apply("max_inputs", 3)
time.sleep(0.5)
print("slots in use after: ", slots(), "|", tuner)
call.cancel()  # seen enough: drop the rest
tuner.apply("max_inputs", 12)

# %% [markdown]
# ## A sweep recommends settings
#
# `sweep` runs the same inputs at several `max_inputs` on **one** container and measures
# throughput and run-time percentiles. It recommends a `target_inputs` (the smallest setting
# that gets within 5% of the best throughput) and a `max_inputs` (the largest whose p95 run
# time stays within 1.5x the target's: room to burst). The function's settings are restored
# afterwards.


# %%
@concur_nb.concurrent(max_inputs=1)
def fetch_price(sku: int) -> float:
    return api.get(f"/product/{sku}")["price"]


result = sweep(fetch_price, range(64), max_inputs=[2, 4, 8, 16, 32, 64])
result  # the table, the recommendation with its reason, and a chart

# %%
result.recommendation

# %%
rec = result.recommendation
fetch_price.update(max_inputs=rec.max_inputs, target_inputs=rec.target_inputs)
fetch_price

# %% [markdown]
# Try `sweep(..., latency_bound=0.15)` to cap p95 run time as well, and `repeats=3` to smooth
# out noise. On a real service the knee is where the *service* saturates, which only an
# experiment can find.
#
# **Next:** [4. Logs and cancellation](04_logs_and_cancellation.ipynb).

# %%
concur_nb.shutdown()
api.stop()
