# ruff: noqa: B018, F704
# %% [markdown]
# # 5. CPU-bound work, process containers, and batching
#
# Input concurrency helps when inputs *wait*. When they *compute*, it does not: Python threads
# take turns on the interpreter lock (the GIL), and an event loop runs one task at a time. This
# notebook shows that with numbers, then the tools that do help:
#
# - **process containers** (`backend="process"`): each container is its own Python process, so
#   containers compute in parallel on separate cores;
# - **`@batched`**: callers pass single inputs, the function gets lists, so a fixed per-call
#   cost (a request, a kernel launch) is paid once per batch;
# - **continuous batching**: concurrent inputs of an async function share the steps of a model,
#   joining and leaving the batch at every step, as vLLM does on a GPU.

# %%
import asyncio
import os
import random
import time
import zlib
from dataclasses import dataclass, field

import demo_api
import plotly.graph_objects as go

import concur_nb
from concur_nb.notebook import auto

print(f"{os.cpu_count()} CPU cores here")

# %% [markdown]
# ## CPU-bound work on threads: no gain
#
# `count_primes` is pure-Python arithmetic: it never waits. Eight inputs with 1 slot, then with
# 8 slots on the same container:


# %%
def count_primes(limit: int) -> int:
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


LIMIT = 60_000
started = time.perf_counter()
count_primes(LIMIT)
print(f"one input takes {time.perf_counter() - started:.2f} s")


# %%
auto.enabled = False  # a live view's redraws would take CPU from the work we time


def timed(fn, items) -> float:
    started = time.perf_counter()
    fn.for_each(items)
    return time.perf_counter() - started


threaded = concur_nb.concurrent(max_inputs=1)(count_primes)
cpu_results = {}
for max_inputs in [1, 8]:
    threaded.update(max_inputs=max_inputs)
    cpu_results[f"threads, max_inputs={max_inputs}"] = timed(threaded, [LIMIT] * 8)
cpu_results

# %% [markdown]
# Eight slots bought nothing: the eight threads shared one interpreter lock, so the same work
# took the same time (or a little more, from switching between threads).
#
# ## Process containers: one process per container
#
# `backend="process"` runs each container in a worker process of its own. The function is sent
# there (by value: functions defined in a notebook work), and so are its inputs and outputs.
# With one input per container and one container per core, CPU-bound work runs in parallel.


# %%
CORES = os.cpu_count() or 1


@concur_nb.function(backend="process", min_containers=CORES, max_containers=CORES)
@concur_nb.concurrent(max_inputs=1)
def count_primes_in_process(limit: int) -> int:
    return count_primes(limit)


def running(fn) -> int:
    return sum(c.status == "running" for c in fn.snapshot().containers)


count_primes_in_process.remote(100)  # min_containers starts the workers; wait until all are up
while running(count_primes_in_process) < CORES:
    time.sleep(0.1)
cpu_results["processes, max_inputs=1"] = timed(count_primes_in_process, [LIMIT] * 8)
for setup, seconds in cpu_results.items():
    print(f"{setup:<26} {seconds:5.2f} s")

# %%
[(c.id, c.kind, c.status, c.info.get("pid")) for c in count_primes_in_process.snapshot().containers]

# %% [markdown]
# (On a busy machine the numbers are noisy; run the cells again to see them settle.) With more
# cores, the gain grows with them. The price: starting a process, and sending inputs
# and outputs between processes (keep them small; send a path, not a gigabyte).
#
# ## `@batched`: single inputs in, lists to the function
#
# The shop API has a batch endpoint, `/products?skus=1,2,3`: one request, one latency, many
# products. With `@batched` callers still ask for one product at a time; concur_nb groups up to
# `max_batch_size` of them, and calls the function with a list when the batch is full or
# `wait_ms` after its first input. The function returns one output per input, in order.

# %%
auto.enabled = True
api = demo_api.start(latency_ms=80)


@concur_nb.concurrent(max_inputs=4)
@concur_nb.batched(max_batch_size=16, wait_ms=20)
def fetch_products(skus: list[int]) -> list[dict]:
    print(f"one request for {len(skus)} products")
    rows = api.get("/products?skus=" + ",".join(map(str, skus)))
    by_sku = {row["sku"]: row for row in rows}
    return [by_sku[sku] for sku in skus]


api.reset_stats()
started = time.perf_counter()
products = list(fetch_products.map(range(64)))
print(f"64 products in {time.perf_counter() - started:.2f} s with {api.stats()['served']} requests")
products[:2]

# %% [markdown]
# Sixty-four inputs, four requests. Without batching (and with the same 4 slots) it would be 64
# requests:


# %%
@concur_nb.concurrent(max_inputs=4)
def fetch_product(sku: int) -> dict:
    return api.get(f"/product/{sku}")


api.reset_stats()
started = time.perf_counter()
products = list(fetch_product.map(range(64)))
print(f"64 products in {time.perf_counter() - started:.2f} s with {api.stats()['served']} requests")

# %% [markdown]
# ## Continuous batching: concurrent inputs share a model's steps
#
# An LLM server generates text one token per *step*, and one step runs the whole batch at
# once on the GPU: ten sequences cost about as much as one. **Continuous batching** lets a new
# request join at the next step and a finished one leave at once, instead of waiting for a
# whole batch to finish.
#
# With input concurrency this is natural: each request is an input of an async method, and all
# the inputs of one container share one step loop. `TinyLM` below is a toy model (its "forward
# pass" is a 20 ms `asyncio.sleep`, standing in for the GPU's time, and its tokens are made up),
# but the scheduling is the real thing.


# %%
@dataclass
class Sequence:
    prompt: str
    max_tokens: int
    done: asyncio.Future
    tokens: list[str] = field(default_factory=list)


WORDS = [
    "the",
    "a",
    "model",
    "token",
    "batch",
    "step",
    "joins",
    "leaves",
    "quickly",
    "slowly",
    "GPU",
    "shares",
]


@concur_nb.concurrent(max_inputs=64)
class TinyLM:
    @concur_nb.enter()
    def load(self):
        self.joining: list[Sequence] = []  # requests that join at the next step
        self.batch_sizes: list[int] = []  # how many sequences each step carried
        self.stepping = None

    async def step_loop(self):
        active: list[Sequence] = []
        while active or self.joining:
            active += self.joining
            self.joining = []
            await asyncio.sleep(0.02)  # one forward pass for the whole batch
            self.batch_sizes.append(len(active))
            for seq in active:
                seed = zlib.crc32(f"{seq.prompt}{len(seq.tokens)}".encode())
                seq.tokens.append(WORDS[seed % len(WORDS)])
            for seq in [s for s in active if len(s.tokens) == s.max_tokens]:
                seq.done.set_result(" ".join(seq.tokens))
                active.remove(seq)
        self.stepping = None

    @concur_nb.method()
    async def generate(self, prompt: str, max_tokens: int) -> str:
        seq = Sequence(prompt, max_tokens, asyncio.get_running_loop().create_future())
        self.joining.append(seq)
        if self.stepping is None:
            self.stepping = asyncio.create_task(self.step_loop())
        return await seq.done

    @concur_nb.method()
    async def steps(self) -> list[int]:
        return self.batch_sizes


lm = TinyLM()
await lm.generate.remote.aio("hello", 5)

# %% [markdown]
# Forty-eight requests arrive over half a second, each wanting 5 to 40 tokens:

# %%
rng = random.Random(0)
requests = [(f"prompt {i}", rng.randint(5, 40)) for i in range(48)]
started = time.perf_counter()
calls = []
for prompt, max_tokens in requests:
    calls.append(await lm.generate.spawn.aio(prompt, max_tokens))
    await asyncio.sleep(0.01)
texts = await concur_nb.gather.aio(*calls)
elapsed = time.perf_counter() - started
one_by_one = sum(n for _, n in requests) * 0.02
print(
    f"{len(texts)} generations in {elapsed:.2f} s; one at a time they would take {one_by_one:.1f} s"
)
texts[0]

# %%
sizes = (await lm.steps.remote.aio())[5:]  # the first 5 steps were the warm-up request
go.Figure(
    go.Scatter(y=sizes, mode="lines", line_shape="hv"),
    layout=dict(
        title="sequences in each model step: requests join and leave between steps",
        xaxis_title="step",
        yaxis_title="batch size",
        height=320,
    ),
)

# %% [markdown]
# The batch grows as requests arrive and shrinks as short ones finish, step by step; no request
# waits for another to finish. `max_inputs` bounds the batch (think GPU memory), and
# `target_inputs` tells the autoscaler when to add another GPU container.
#
# **Next:** [6. Remote GPU workers over SSH](06_remote_gpu_over_ssh.ipynb).

# %%
concur_nb.shutdown()
api.stop()
