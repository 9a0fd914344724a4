# ruff: noqa: B018, F704
# %% [markdown]
# # 4. Logs, cancellation, timeouts and retries
#
# With input concurrency, many inputs share one container. Three things get harder, and
# concur_nb handles each:
#
# - **logs**: the lines of concurrent inputs interleave in one stream. concur_nb captures
#   `print`, `sys.stdout`/`sys.stderr` and `logging` *per input*, with no id in the message;
# - **cancellation**: cancelling one input must not take its siblings down;
# - **timeouts and retries** apply to each input on its own.

# %%
import asyncio
import io
import logging
import time
import urllib.error

import demo_api

import concur_nb

api = demo_api.start(latency_ms=50)
logger = logging.getLogger("shop")
logger.setLevel(logging.INFO)

# %% [markdown]
# ## Per-input logs, without manual ids
#
# Modal's guide suggests putting `current_input_id()` into every log message to tell inputs
# apart. Here there is no need: each line is kept with the input that wrote it.


# %%
@concur_nb.concurrent(max_inputs=20)
def restock(sku: int) -> int:
    product = api.get(f"/product/{sku}")
    print(f"checking {product['name']}")
    if product["price"] > 150:
        logger.warning("%s is expensive (%.2f): ordering 1", product["name"], product["price"])
        return 1
    logger.info("ordering 5 of %s", product["name"])
    return 5


orders = list(restock.map(range(40)))
sum(orders)

# %% [markdown]
# `inputs()` lists the recent inputs (running ones first); `logs(input_id)` gives the lines of
# one input, in order, with the stream they came from and when:

# %%
one = restock.inputs()[0]
print(one.id, one.status, f"{one.duration * 1000:.0f} ms")
for line in restock.logs(one.id):
    print(f"  [{line.stream}] {line.text}")

# %% [markdown]
# `search_logs(text)` finds lines across all inputs, each with its input id. (Each warning is
# there once, as a `stderr` line: the logger has no handler of its own, so Python's last-resort
# handler prints it to `stderr`, which is captured.)

# %%
for input_id, line in restock.search_logs("expensive")[:6]:
    print(input_id, f"[{line.stream}]", line.text)

# %% [markdown]
# Inside an input, `current_input_id()` and `current_function_call_id()` say which input and
# which call it belongs to (they are `None` outside an input):


# %%
@concur_nb.concurrent(max_inputs=4)
def who_am_i(x: int) -> tuple:
    return x, concur_nb.current_input_id(), concur_nb.current_function_call_id()


print(list(who_am_i.map(range(3))))
print("outside an input:", concur_nb.current_input_id())

# %% [markdown]
# Log records made during an input carry an `input_id` attribute, so your own handlers and
# formats can use it (`%(input_id)s`), e.g. to ship logs elsewhere:

# %%
mine = io.StringIO()
handler = logging.StreamHandler(mine)
handler.setFormatter(logging.Formatter("%(input_id)s %(levelname)s %(message)s"))
logger.addHandler(handler)
restock.for_each(range(3))
logger.removeHandler(handler)
print(mine.getvalue())

# %% [markdown]
# ## Cancelling an async input
#
# A running async input gets `asyncio.CancelledError` at its current `await`; it can clean up
# in `finally` (or `except`, re-raising). The caller of a cancelled input gets
# `CallCancelledError`.


# %%
@concur_nb.concurrent(max_inputs=10)
async def long_job(seconds: float) -> str:
    try:
        print("working")
        await asyncio.sleep(seconds)
        return "done"
    except asyncio.CancelledError:
        print("cancelled: cleaning up")
        raise


call = long_job.spawn(30)
await asyncio.sleep(0.3)
call.cancel()
try:
    await call.get.aio()
except concur_nb.CallCancelledError as exc:
    print("the caller sees:", repr(exc))

[line.text for line in long_job.logs(call.input_ids[0])]

# %% [markdown]
# ## Cancelling one sync input, siblings untouched
#
# A sync input runs on a thread. Cancelling it raises `InputCancellation` (a `BaseException`,
# so a bare `except Exception` does not swallow it) *in that thread only*; the other inputs of
# the container go on. (Modal terminates the whole container in this case.) Python delivers it
# between bytecodes, so an input blocked in one long C call sees it when the call returns; work
# in short steps, or check `concur_nb.input_cancelled()` yourself.


# %%
@concur_nb.concurrent(max_inputs=4)
def crunch(n: int) -> int:
    total = 0
    try:
        for step in range(40):
            time.sleep(0.05)  # one step of work
            total += step * n
        return total
    except concur_nb.InputCancellation:
        print(f"input {n} cancelled after some steps, total so far {total}")
        raise


calls = [crunch.spawn(n) for n in (1, 2, 3, 4)]
time.sleep(0.5)
calls[1].cancel()
results = concur_nb.gather(*calls, return_exceptions=True)
for n, result in zip((1, 2, 3, 4), results):
    print(n, repr(result))

# %%
print([(i.status, i.log_lines) for i in crunch.inputs()])
crunch.logs(calls[1].input_ids[0])[-1].text

# %% [markdown]
# `f.cancel_input(input_id)` cancels one input by id and `f.cancel_all()` everything queued and
# running; the dashboard's buttons call them. Queued inputs are dropped before they start.
#
# ## Timeouts
#
# `timeout` bounds each attempt of each input. An input that runs longer is cancelled (as
# above) and fails with `FunctionTimeoutError`; the others are unaffected.


# %%
@concur_nb.function(timeout=0.5)
@concur_nb.concurrent(max_inputs=10)
async def lookup(latency: float) -> str:
    await asyncio.sleep(latency)
    return f"answered in {latency} s"


for outcome in lookup.map([0.1, 0.2, 2.0, 0.3], return_exceptions=True):
    print(repr(outcome))

# %% [markdown]
# ## Retries with backoff
#
# The shop's `/flaky/<key>?fail=2` endpoint answers `503` to the first two requests for a key.
# With `retries=Retries(...)` each failed input is tried again after a growing delay; a
# cancelled input is never retried.


# %%
@concur_nb.function(retries=concur_nb.Retries(max_retries=3, initial_delay=0.1))
@concur_nb.concurrent(max_inputs=10)
def call_flaky(key: str) -> dict:
    try:
        return api.get(f"/flaky/{key}?fail=2")
    except urllib.error.HTTPError as exc:
        print(f"got {exc.code}, will be retried")
        raise


started = time.perf_counter()
print(list(call_flaky.map(["a", "b", "c"])))
print(f"{time.perf_counter() - started:.2f} s (two retries: 0.1 s, then 0.2 s of backoff)")
[(i.id, i.status, i.attempts) for i in call_flaky.inputs()]

# %% [markdown]
# **Next:** [5. CPU-bound work and batching](05_cpu_bound_and_batching.ipynb).

# %%
concur_nb.shutdown()
api.stop()
