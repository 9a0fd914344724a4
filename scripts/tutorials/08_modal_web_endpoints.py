# ruff: noqa: E402, F704
# %% [markdown]
# # 8. Modal web endpoints, served locally
#
# Most `@modal.concurrent` code in the wild decorates a web endpoint: an ASGI app
# (`@modal.asgi_app()`), a WSGI app (`@modal.wsgi_app()`), a plain function behind FastAPI
# (`@modal.fastapi_endpoint()`) or a server the function starts (`@modal.web_server(port)`).
# With `import concur_nb.modal as modal` the same code is served on `127.0.0.1`, and every
# HTTP request is **one input** of the function: it has an input id and its own log, obeys the
# function's `timeout`, waits in the queue when every slot is taken, and drives the autoscaler
# past `target_inputs`, exactly as other inputs do. Each container builds the app once, as
# Modal calls the decorated function once per container.
#
# Needs the web extra: `pip install 'concur-nb[web]'` (uvicorn, starlette, httpx, fastapi).
# Responses are buffered: a streaming response reaches the client whole.

# %%
import asyncio
import collections
import time

import httpx
from fastapi import FastAPI

import concur_nb.modal as modal

app = modal.App("web-endpoints")

# %% [markdown]
# ## An ASGI app written for Modal
#
# A FastAPI app whose handler waits 200 ms on something slow (a model server, a database).
# The decorators are Modal's, unchanged: up to 8 requests at once per container, the
# autoscaler aiming for 6, and at most 3 containers.

# %%
web_app = FastAPI()


@web_app.get("/embed")
async def embed(text: str) -> dict:
    print(f"embedding {text!r}")  # lands in this request's own log
    await asyncio.sleep(0.2)  # the slow call
    return {"text": text, "length": len(text), "input_id": modal.current_input_id()}


@app.function(max_containers=3)
@modal.concurrent(max_inputs=8, target_inputs=6)
@modal.asgi_app()
def fastapi_app():
    print("building the app")  # once per container
    return web_app


# %% [markdown]
# `get_web_url()` starts the local front (uvicorn on a free port) and returns its URL.

# %%
url = fastapi_app.get_web_url()
print(url)
httpx.get(f"{url}/embed", params={"text": "hello"}).json()

# %% [markdown]
# ## Under load, with the dashboard
#
# The dashboard below follows the function while the next cell sends 300 requests at once
# from this notebook (10 users with 30 requests each: one httpx client with hundreds in flight
# spends its time in its own connection pool): watch the queue fill, two more containers start
# (demand is far past `target_inputs=6` per container), and each container run at most 8
# requests at a time.

# %%
from concur_nb.notebook import Dashboard

Dashboard(fastapi_app)


# %%
async def user(number: int, requests: int) -> list[httpx.Response]:
    """One user sending ``requests`` requests at once."""
    limits = httpx.Limits(max_connections=requests)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        texts = [f"doc {number}-{i}" for i in range(requests)]
        return await asyncio.gather(*(client.get("/embed", params={"text": t}) for t in texts))


started = time.monotonic()
batches = await asyncio.gather(*(user(n, 30) for n in range(10)))  # 10 users x 30 requests
responses = [response for batch in batches for response in batch]
elapsed = time.monotonic() - started
print(
    f"{len(responses)} requests in {elapsed:.1f} s:",
    collections.Counter(r.status_code for r in responses),
)

# %% [markdown]
# What the function saw: every request was an input, the queue absorbed the burst, and the
# autoscaler's decisions say why each container was added.

# %%
snap = fastapi_app.snapshot()
served = fastapi_app.inputs(limit=300)
span = max(i.finished_at for i in served) - min(i.queued_at for i in served)
print(f"the function ran the 300 requests in {span:.1f} s (24 slots x 200 ms: 2.5 s at best)")
print(f"submitted {snap.submitted}, succeeded {snap.succeeded}, containers {len(snap.containers)}")
print(
    f"queue wait p50 {snap.queue_wait.p50 * 1000:.0f} ms, p99 {snap.queue_wait.p99 * 1000:.0f} ms"
)
for d in snap.decisions:
    print(f"{d.action}: {d.containers_before} -> {d.containers_after} ({d.reason})")
assert snap.succeeded == 301 and len(snap.containers) == 3

# %% [markdown]
# Each request's log holds only what that request printed:

# %%
answer = responses[42].json()
[line.text for line in fastapi_app.logs(answer["input_id"])]

# %% [markdown]
# ## A plain function behind FastAPI
#
# `@modal.fastapi_endpoint(method=...)` serves the function itself at `/` (query parameters
# and a JSON body are FastAPI's, as on Modal). A sync function runs on a thread; its prints
# still land in its input's log.


# %%
@app.function()
@modal.concurrent(max_inputs=4)
@modal.fastapi_endpoint(method="POST")
def predict(item: dict) -> dict:
    print(f"scoring {item}")
    return {"score": sum(len(str(v)) for v in item.values())}


httpx.post(predict.get_web_url(), json={"title": "concurrency", "body": "locally"}).json()

# %% [markdown]
# ## From a terminal
#
# `python -m concur_nb.modal serve app.py` serves the endpoints of an app file, prints their
# URLs, reloads when the file changes (the URLs stay the same) and stops on Ctrl-C, as
# `modal serve` does.
#
# Shutting the functions down stops their fronts and retires their containers:

# %%
fastapi_app.shutdown()
predict.shutdown()
