# ruff: noqa: E402, F704
# %% [markdown]
# # 7. Modal code, locally, with `concur_nb.modal`
#
# Code written for [Modal](https://modal.com)'s input concurrency runs here unchanged, with the
# same semantics, once `import modal` becomes `import concur_nb.modal as modal`. Functions run
# on local threads and event loops (or any concur_nb backend: a process, an SSH host).
#
# Cloud-only parameters (`image=`, `gpu=`, `volumes=`, `secrets=`, ...) are accepted and
# ignored, with one warning (pointing at your line) per decorator that receives some. What
# carries over is the whole SDK surface (Modal 1.6) that has a local meaning: `App`,
# `app.function`, `app.cls`, `concurrent`, `batched`, `method`, `enter`, `exit`, `parameter`,
# generator functions, variants (`with_options`, `with_concurrency`), `Dict`, `Queue`,
# `Function.from_name`, `current_input_id`, `is_local`, `Retries` (with Modal's bounds), every
# class of `modal.exception`, and the calls `.remote`, `.map`, `.spawn`, `.remote_gen`, `.aio`.
#
# `modal.is_local()` is False inside an input and True everywhere else: on Modal, code in a
# container is "remote", and here an input plays the container's part.

# %%
import asyncio
import logging
import time

import concur_nb.modal as modal

app = modal.App("concurrency-examples")
image = modal.Image.debian_slim().pip_install("httpx")  # a stand-in: nothing is built locally

# %% [markdown]
# ## The examples from Modal's guide, as written there
#
# Enabling input concurrency (with a cloud-only `image` and `gpu`, ignored with a warning):


# %%
@app.function(image=image, gpu="A10G")
@modal.concurrent(max_inputs=100)
def my_function(input: str):
    return input.upper()


my_function.remote("hello")

# %% [markdown]
# A target with a 20% burst, and the class pattern, where `@modal.concurrent` goes on the class
# and every method shares its containers:


# %%
@app.function()
@modal.concurrent(max_inputs=120, target_inputs=100)  # Allow a 20% burst
def my_bursty_function(input: str):
    return len(input)


@app.cls()
@modal.concurrent(max_inputs=100)
class MyCls:
    @modal.enter()
    def setup(self):
        self.greeting = "hello"

    @modal.method()
    def my_method(self, input: str):
        return f"{self.greeting}, {input}"


print(sum(my_bursty_function.map(["a", "bb", "ccc"])))
MyCls().my_method.remote("world")

# %% [markdown]
# Sync functions on threads, async functions as tasks on one loop: ten inputs of one second
# each take about one second, both ways.


# %%
@app.function()
@modal.concurrent(max_inputs=10)
def sleep_sync():
    # Function must be thread-safe
    time.sleep(1)


@app.function()
@modal.concurrent(max_inputs=10)
async def sleep_async():
    # Function must not block the event loop
    await asyncio.sleep(1)


def span(fn) -> float:
    """Seconds from the first input queued to the last one finished."""
    inputs = fn.inputs()
    return max(i.finished_at for i in inputs) - min(i.queued_at for i in inputs)


list(sleep_sync.starmap([()] * 10))
await asyncio.gather(*(sleep_async.remote.aio() for _ in range(10)))
print(f"10 sync inputs took {span(sleep_sync):.2f} s, 10 async inputs {span(sleep_async):.2f} s")

# %% [markdown]
# ## Cancellation, as Modal describes it
#
# A cancelled sync input gets `modal.exception.InputCancellation`, an async one
# `asyncio.CancelledError`. Unlike Modal, cancelling one sync input does not take down the
# container with its siblings.


# %%
@app.function()
@modal.concurrent(max_inputs=4)
def careful(x: int) -> int:
    try:
        for _ in range(40):
            time.sleep(0.05)
        return x
    except modal.exception.InputCancellation:
        print(f"input {x} cancelled, cleaning up")
        raise


calls = [careful.spawn(x) for x in range(4)]
time.sleep(0.3)
calls[0].cancel()
print([c.get() for c in calls[1:]])
[line.text for line in careful.logs(calls[0].input_ids[0])]

# %% [markdown]
# ## Concurrent logging
#
# Modal's guide recommends putting `modal.current_input_id()` into each message, so the lines
# of concurrent inputs can be told apart. That still works; locally it is also unnecessary,
# since each input's lines are kept apart for you (tutorial 4):

# %%
logger = logging.getLogger("examples")
logger.setLevel(logging.INFO)


@app.function()
@modal.concurrent(max_inputs=10)
async def better_concurrent_logging(x: int):
    logger.info(f"{modal.current_input_id()}: Starting work with {x}")
    await asyncio.sleep(0.1)
    logger.info("done, no id needed")
    return x


values = [v async for v in better_concurrent_logging.map.aio(range(5))]
latest = better_concurrent_logging.inputs()[0]
[line.text for line in better_concurrent_logging.logs(latest.id)]

# %% [markdown]
# ## Retries, timeouts and the autoscaler settings carry over
#
# `timeout`, `retries` (an int or `modal.Retries`), `max_containers`, `min_containers`,
# `buffer_containers` and `scaledown_window` mean the same here.

# %%
attempts = {}


@app.function(retries=modal.Retries(max_retries=2, initial_delay=0.1), timeout=5)
@modal.concurrent(max_inputs=4)
def flaky(x: int) -> int:
    attempts[x] = attempts.get(x, 0) + 1
    if attempts[x] < 2:
        raise ConnectionError("try again")
    return x * 10


print(list(flaky.map(range(3))), attempts)

# %% [markdown]
# ## Variants: the same function with other settings, as its own pool
#
# `with_concurrency` and `with_options` make a variant of a function: its own containers,
# autoscaled on their own and shown as their own function, while the original keeps its
# settings. Cloud-only options (`gpu=` here) are ignored with the usual warning.

# %%
wide = my_function.with_concurrency(max_inputs=200, target_inputs=150)
patient = my_function.with_options(timeout=600, retries=3, max_containers=2, gpu="H100")
print(wide.remote("wide"), wide.settings.max_inputs, my_function.settings.max_inputs)
print(patient.remote("patient"), patient.settings.timeout)

# %% [markdown]
# ## Parametrized classes
#
# `modal.parameter()` fields are set per instance: `Model(name="small")` and
# `Model(name="large")` run on separate containers, and `@modal.enter()` sees the values.
# Parameters are `str`, `int`, `bool` or `bytes`, passed by keyword, as on Modal.


# %%
@app.cls()
@modal.concurrent(max_inputs=8)
class Model:
    name: str = modal.parameter(default="small")
    layers: int = modal.parameter(default=2)

    @modal.enter()
    def load(self):
        self.weights = f"{self.name} model with {self.layers} layers"

    @modal.method()
    def predict(self, x: int) -> str:
        return f"{self.weights}: {x}"


print(Model().predict.remote(1))
print(list(Model(name="large", layers=48).predict.map([1, 2])))
print(sorted({i.function for i in Model(name="large", layers=48).predict.inputs()}))

# %% [markdown]
# ## Generator functions
#
# A function that `yield`s is called with `.remote_gen(...)`: each value reaches the caller as
# the input yields it (sync and async generators alike, with `async for` over
# `.remote_gen.aio(...)`). Stopping early cancels the input.


# %%
@app.function()
@modal.concurrent(max_inputs=4)
def tokens(text: str):
    for word in text.split():
        time.sleep(0.05)  # an LLM streaming its tokens
        yield word


for token in tokens.remote_gen("streamed one word at a time"):
    print(token, end=" ", flush=True)
print()
[t async for t in tokens.remote_gen.aio("also from async code")]

# %% [markdown]
# ## Dicts and queues between inputs
#
# `modal.Dict` and `modal.Queue` are in-process here, safe from threads and event loops, with
# Modal's methods and their `.aio` twins: inputs coordinate through them as they would on Modal.


# %%
results = modal.Dict.from_name("results", create_if_missing=True)
jobs = modal.Queue.from_name("jobs", create_if_missing=True)


@app.function()
@modal.concurrent(max_inputs=4)
async def worker(worker_id: int) -> int:
    done = 0
    while (job := await jobs.get.aio(block=False)) is not None:  # None: the queue is empty
        await asyncio.sleep(0.01)  # the work
        await results.put.aio(job, job * job)
        done += 1
    return done


jobs.put_many(list(range(20)))
print("jobs per worker:", list(worker.map(range(4))))
print(results.len(), sorted(results.values())[:5])

# %% [markdown]
# `app.run()` and `@app.local_entrypoint()` work too (locally there is nothing to deploy), so a
# Modal script's `main` runs as it is:


# %%
@app.local_entrypoint()
def main():
    print(list(my_function.map(["a", "b"])))


with app.run():
    main()

# %% [markdown]
# That is the tour. Back to [the README](../README.md), or start again from
# [1. Quickstart](01_quickstart.ipynb).

# %%
import concur_nb

concur_nb.shutdown()
