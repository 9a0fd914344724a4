"""A small shop for the tutorials: a real HTTP API on 127.0.0.1 backed by a real SQLite file.

Every request waits a network-like latency (log-normal: most are near the median, a few are
several times slower), then answers from SQLite. Nothing leaves this machine.

    api = demo_api.start(latency_ms=80)
    api.get(f"/product/42")           # {'sku': 42, 'name': ..., 'price': ...}
    api.stats()                       # requests served, the most ever in flight at once
    api.stop()

Endpoints:

- ``/product/<sku>``: one product;
- ``/products?skus=1,2,3``: several products in one request (what batching saves);
- ``/flaky/<key>?fail=N``: answers 503 to the first N requests for ``key``, then 200;
- ``/stats``: requests served and the peak number in flight.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

WORDS = [
    "red",
    "blue",
    "green",
    "small",
    "large",
    "steel",
    "wooden",
    "smart",
    "classic",
    "travel",
    "kitchen",
    "garden",
]
ITEMS = [
    "lamp",
    "chair",
    "mug",
    "kettle",
    "backpack",
    "bottle",
    "clock",
    "speaker",
    "pillow",
    "notebook",
    "pen",
    "plant",
]


def make_shop_db(
    path: str | Path,
    products: int = 5_000,
    customers: int = 2_000,
    orders: int = 100_000,
    seed: int = 0,
) -> Path:
    """Create a SQLite file with ``products``, ``customers`` and ``orders`` tables."""
    path = Path(path)
    rng = random.Random(seed)
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            DROP TABLE IF EXISTS products; DROP TABLE IF EXISTS orders;
            CREATE TABLE products (sku INTEGER PRIMARY KEY, name TEXT, price REAL);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, sku INTEGER,
                                 qty INTEGER, day INTEGER);
            """
        )
        db.executemany(
            "INSERT INTO products VALUES (?, ?, ?)",
            (
                (sku, f"{rng.choice(WORDS)} {rng.choice(ITEMS)}", round(rng.uniform(2, 200), 2))
                for sku in range(products)
            ),
        )
        db.executemany(
            "INSERT INTO orders (customer, sku, qty, day) VALUES (?, ?, ?, ?)",
            (
                (
                    rng.randrange(customers),
                    rng.randrange(products),
                    rng.randint(1, 5),
                    rng.randrange(365),
                )
                for _ in range(orders)
            ),
        )
        db.execute("CREATE INDEX orders_by_customer ON orders (customer)")
    return path


class ShopAPI:
    """The HTTP server (in a daemon thread) and what it measured."""

    def __init__(self, db_path: Path, latency_ms: float, seed: int) -> None:
        self.db_path = db_path
        self.latency_ms = latency_ms
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._failures: dict[str, int] = {}
        self.served = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        handler = type("Handler", (_Handler,), {"api": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="demo-api", daemon=True
        )

    def get(self, path: str, timeout: float = 30) -> object:
        """GET ``path`` from the API and decode its JSON (raises ``HTTPError`` on 4xx/5xx)."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return json.load(response)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"served": self.served, "peak_in_flight": self.peak_in_flight}

    def reset_stats(self) -> None:
        with self._lock:
            self.served = 0
            self.peak_in_flight = self.in_flight

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- used by the request handler, one thread per request
    def latency(self) -> float:
        with self._lock:
            return self.latency_ms / 1000 * math.exp(self._rng.gauss(0, 0.35))

    def db(self) -> sqlite3.Connection:
        # sqlite3 connections belong to the thread that made them: one per handler thread.
        conn = getattr(self._local, "db", None)
        if conn is None:
            conn = self._local.db = sqlite3.connect(self.db_path)
        return conn

    def fail_first(self, key: str, count: int) -> bool:
        with self._lock:
            seen = self._failures.get(key, 0)
            self._failures[key] = seen + 1
            return seen < count

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.served += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default (5) drops bursts of connections


class _Handler(BaseHTTPRequestHandler):
    api: ShopAPI

    def do_GET(self) -> None:
        self.api.enter()
        try:
            time.sleep(self.api.latency())  # the network and the service's own work
            status, body = self.route(urlparse(self.path))
        finally:
            self.api.leave()
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def route(self, url) -> tuple[int, object]:
        parts = url.path.strip("/").split("/")
        query = parse_qs(url.query)
        if parts[0] == "product" and len(parts) == 2 and parts[1].isdigit():
            return self.products([int(parts[1])])
        if parts[0] == "products":
            skus = [int(s) for s in query.get("skus", [""])[0].split(",") if s.isdigit()]
            status, rows = self.products(skus)
            return status, rows if len(skus) != 1 else [rows]
        if parts[0] == "flaky" and len(parts) == 2:
            if self.api.fail_first(parts[1], int(query.get("fail", ["1"])[0])):
                return 503, {"error": "service unavailable, try again"}
            return 200, {"key": parts[1], "ok": True}
        if parts[0] == "stats":
            return 200, self.api.stats()
        return 404, {"error": f"no route for {url.path}"}

    def products(self, skus: list[int]) -> tuple[int, object]:
        marks = ",".join("?" * len(skus))
        rows = (
            self.api.db()
            .execute(f"SELECT sku, name, price FROM products WHERE sku IN ({marks})", skus)
            .fetchall()
        )
        found = [{"sku": s, "name": n, "price": p} for s, n, p in rows]
        if len(skus) == 1:
            return (200, found[0]) if found else (404, {"error": f"no product {skus[0]}"})
        return 200, found

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the notebook quiet


def start(latency_ms: float = 80, seed: int = 0, db_path: str | Path | None = None) -> ShopAPI:
    """Create the shop database (unless ``db_path`` exists) and serve it on a free port."""
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="concur_nb-shop-")) / "shop.sqlite"
    db_path = Path(db_path)
    if not db_path.exists():
        make_shop_db(db_path)
    api = ShopAPI(db_path, latency_ms, seed)
    api._thread.start()
    return api
