"""``modal.Dict``: a key-value store shared by every input of this process, thread- and
task-safe, with Modal's methods and their ``.aio`` twins.

Values are stored pickled (each ``get`` returns a copy), keys by equality, as a Python dict.
Named dicts live as long as the process; ``Dict.ephemeral()`` makes an anonymous one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ._stores import Named, Store, dump, load
from ._twin import twin

_NO_DEFAULT: Any = object()


class _Contents:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[Any, bytes] = {}


_named = Named("Dict", _Contents)


class Dict(Store):
    """A dict shared by inputs: ``d = modal.Dict.from_name("cache", create_if_missing=True)``."""

    _named = _named
    _contents: _Contents

    def __repr__(self) -> str:
        return (
            f"<concur_nb.modal.Dict {self._name or '(ephemeral)'}: {len(self._contents.data)} keys>"
        )

    @twin
    def clear(self) -> None:
        """Remove every key."""
        with self._contents.lock:
            self._contents.data.clear()

    @twin
    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key`` (a copy), or ``default``."""
        with self._contents.lock:
            blob = self._contents.data.get(key)
        return default if blob is None else load(blob)

    @twin
    def contains(self, key: Any) -> bool:
        with self._contents.lock:
            return key in self._contents.data

    @twin
    def len(self) -> int:
        with self._contents.lock:
            return len(self._contents.data)

    @twin
    def update(self, other: Mapping[Any, Any] | None = None, /, **kwargs: Any) -> None:
        """Set several keys at once, as ``dict.update``."""
        items = dict(other or {})
        items.update(kwargs)
        blobs = {key: dump(value) for key, value in items.items()}
        with self._contents.lock:
            self._contents.data.update(blobs)

    @twin
    def put(self, key: Any, value: Any, *, skip_if_exists: bool = False) -> bool:
        """Set ``key``; False (and nothing changed) if it exists and ``skip_if_exists``."""
        blob = dump(value)
        with self._contents.lock:
            if skip_if_exists and key in self._contents.data:
                return False
            self._contents.data[key] = blob
            return True

    @twin
    def pop(self, key: Any, default: Any = _NO_DEFAULT) -> Any:
        """Remove ``key`` and return its value; ``default`` or ``KeyError`` if missing."""
        with self._contents.lock:
            blob = self._contents.data.pop(key, None)
        if blob is None:
            if default is _NO_DEFAULT:
                raise KeyError(f"{key} not in dict {self._name or '(ephemeral)'}")
            return default
        return load(blob)

    @twin
    def keys(self) -> Iterator[Any]:
        """The keys, as they are now."""
        with self._contents.lock:
            keys = list(self._contents.data)
        yield from keys

    @twin
    def values(self) -> Iterator[Any]:
        with self._contents.lock:
            blobs = list(self._contents.data.values())
        for blob in blobs:
            yield load(blob)

    @twin
    def items(self) -> Iterator[tuple[Any, Any]]:
        with self._contents.lock:
            pairs = list(self._contents.data.items())
        for key, blob in pairs:
            yield key, load(blob)

    def __getitem__(self, key: Any) -> Any:
        with self._contents.lock:
            blob = self._contents.data.get(key)
        if blob is None:
            raise KeyError(f"{key} not in dict {self._name or '(ephemeral)'}")
        return load(blob)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Any) -> None:
        self.pop(key)

    def __contains__(self, key: Any) -> bool:
        return bool(self.contains(key))
