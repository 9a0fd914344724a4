# ruff: noqa: B018
# %% [markdown]
# # 2. I/O-bound work: an HTTP API, a database, and functions calling functions
#
# Input concurrency shines when an input spends its time waiting on something else. This
# notebook uses real ones, all on this machine:
#
# - a **product API**: a real HTTP server on `127.0.0.1`, with network-like latency (a median of
#   80 ms, and a tail of slower requests);
# - a real **SQLite** database of 100,000 orders;
# - a function that **calls other concurrent functions**: it looks up a customer's orders in
#   the database, then the price of each product through the API.
#
# The server lives in [demo_api.py](demo_api.py), next to this notebook; open it to see it.

# %%
import sqlite3
import threading
import time

import demo_api
import plotly.graph_objects as go

import concur_nb

api = demo_api.start(latency_ms=80)
print("the API is at", api.url)
api.get("/product/42")

# %% [markdown]
# ## Calling the API: one thread per input
#
# `fetch_product` is plain blocking code: `urllib` opens a connection and waits. Declared with
# `max_inputs=64`, each container runs 64 of them at once, one per thread.


# %%
@concur_nb.concurrent(max_inputs=64)
def fetch_product(sku: int) -> dict:
    return api.get(f"/product/{sku}")


fetch_product.remote(7)

# %% [markdown]
# ## Throughput with and without concurrency
#
# The same 64 requests with 1, 4, 16 and 64 inputs at a time per container. The server counts
# how many requests it saw in flight at once: the concurrency is real, not simulated.

# %%
skus = list(range(100, 164))
measured = []
for max_inputs in [1, 4, 16, 64]:
    fetch_product.update(max_inputs=max_inputs, target_inputs=max_inputs)
    api.reset_stats()
    started = time.perf_counter()
    products = list(fetch_product.map(skus))
    seconds = time.perf_counter() - started
    measured.append((max_inputs, len(skus) / seconds, api.stats()["peak_in_flight"]))

for max_inputs, per_second, peak in measured:
    print(f"max_inputs={max_inputs:>2}: {per_second:6.1f} requests/s, server saw {peak} at once")

# %%
go.Figure(
    go.Bar(x=[str(m) for m, _, _ in measured], y=[r for _, r, _ in measured]),
    layout=dict(
        title="64 API calls (80 ms median latency)",
        xaxis_title="max_inputs (one container)",
        yaxis_title="requests per second",
        height=320,
    ),
)

# %% [markdown]
# Throughput grows almost in proportion: while one input waits on the network, the others
# wait beside it. At 64 the machine's own cores start to show (the client threads and this
# server share them), which is why the server saw fewer than 64 at once. The run time of each
# *input* stays about the same; see the percentiles:

# %%
snap = fetch_product.snapshot()
print(f"run time p50={snap.run_time.p50 * 1000:.0f} ms  p95={snap.run_time.p95 * 1000:.0f} ms")

# %% [markdown]
# ## A real database, safely from many threads
#
# Sync inputs run on threads, so the code must be **thread-safe**. A `sqlite3` connection
# belongs to the thread that opened it, so each thread keeps its own in a `threading.local`
# (a shared connection would raise `ProgrammingError`).

# %%
local = threading.local()


def db() -> sqlite3.Connection:
    if not hasattr(local, "conn"):
        local.conn = sqlite3.connect(api.db_path)
    return local.conn


@concur_nb.concurrent(max_inputs=16)
def customer_orders(customer: int) -> list[tuple[int, int]]:
    """The (sku, quantity) of every order of ``customer`` in the last quarter."""
    rows = db().execute(
        "SELECT sku, qty FROM orders WHERE customer = ? AND day >= 270", (customer,)
    )
    return rows.fetchall()


customer_orders.remote(17)

# %% [markdown]
# ## Functions calling functions
#
# `basket_value` computes what a customer spent last quarter: it calls `customer_orders` for
# the orders, then `fetch_product` for each product, **concurrently**, with `.map`. Each of
# the three functions has its own containers and limits; the calls between them are ordinary
# function calls.


# %%
@concur_nb.concurrent(max_inputs=8)
def basket_value(customer: int) -> float:
    orders = customer_orders.remote(customer)
    prices = {p["sku"]: p["price"] for p in fetch_product.map({sku for sku, _ in orders})}
    print(f"customer {customer}: {len(orders)} orders")
    return round(sum(prices[sku] * qty for sku, qty in orders), 2)


fetch_product.update(max_inputs=64, target_inputs=64)
api.reset_stats()
started = time.perf_counter()
values = dict(zip(range(16), basket_value.map(range(16))))
concurrent_seconds = time.perf_counter() - started
print(f"16 customers in {concurrent_seconds:.2f} s, {api.stats()['served']} API calls")
values

# %% [markdown]
# Each `basket_value` input printed a line. Its output did not interleave with the others: it
# was captured *per input*. Ask the function for the logs of any input (tutorial 4 has more):

# %%
first = basket_value.inputs()[-1]
[line.text for line in basket_value.logs(first.id)]

# %% [markdown]
# The same work without concurrency, for comparison: one customer at a time, one call at a
# time (only 4 customers, to keep it short):

# %%
started = time.perf_counter()
for customer in range(4):
    orders = customer_orders.local(customer)
    prices = {sku: fetch_product.local(sku)["price"] for sku, _ in orders}
sequential = (time.perf_counter() - started) / 4
print(f"sequential: {sequential:.2f} s per customer")
print(f"concurrent: {concurrent_seconds / 16:.2f} s per customer")

# %% [markdown]
# **Next:** [3. Tuning](03_tuning.ipynb): `target_inputs` vs `max_inputs`, and how the
# autoscaler decides.

# %%
concur_nb.shutdown()
api.stop()
