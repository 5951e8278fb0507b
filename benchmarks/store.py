"""The results store of a run: one SQLite row per finished work unit.

SQLite in WAL mode gives atomic writes for free: a unit's row is either fully committed
or absent, so a run killed at any point resumes by skipping the keys already present.
Each row keeps the unit's metadata as JSON and its arrays (per-threshold counts,
confusion matrices, label maps) as an ``.npz`` blob, everything needed to recompute the
dataset-level numbers without re-running the method.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from collections.abc import Mapping
from typing import Iterator

import numpy as np

__all__ = ["ResultStore", "Unit"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    image_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    arrays BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Unit:
    """A stored unit: `meta` (JSON-able dict) and `arrays` (name -> ndarray mapping)."""

    def __init__(self, key: str, method: str, image_id: str, meta: dict, arrays: dict):
        self.key, self.method, self.image_id = key, method, image_id
        self.meta, self.arrays = meta, arrays


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


class _LazyArrays(Mapping):
    """A unit's arrays, decompressed one name at a time on first access.

    Summaries read only the small count arrays; the label maps (most of the bytes)
    are decompressed only by the report's example images.
    """

    def __init__(self, blob: bytes):
        self._data = np.load(io.BytesIO(blob), allow_pickle=False)
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name not in self._data.files:
                raise KeyError(name)
            self._cache[name] = self._data[name]
        return self._cache[name]

    def __iter__(self):
        return iter(self._data.files)

    def __len__(self) -> int:
        return len(self._data.files)


def _unpack(blob: bytes) -> Mapping[str, np.ndarray]:
    return _LazyArrays(blob)


class ResultStore:
    """An SQLite results file (``results.sqlite``) in a run folder.

    Parameters
    ----------
    path : path-like
        The database file; created with its folder if missing.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def keys(self) -> set[str]:
        """Keys of the units already stored."""
        return {row[0] for row in self._db.execute("SELECT key FROM units")}

    def put(self, unit: Unit) -> None:
        """Store one unit atomically (replacing a unit with the same key)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?)",
                (unit.key, unit.method, unit.image_id, json.dumps(unit.meta, sort_keys=True),
                 _pack(unit.arrays)),
            )

    def units(self, method: str | None = None, *, with_arrays: bool = True) -> Iterator[Unit]:
        """Stored units, optionally of one method, in key order."""
        query = "SELECT key, method, image_id, meta, arrays FROM units"
        args: tuple = ()
        if method is not None:
            query += " WHERE method = ?"
            args = (method,)
        for key, meth, image_id, meta, blob in self._db.execute(query + " ORDER BY key", args):
            yield Unit(key, meth, image_id, json.loads(meta), _unpack(blob) if with_arrays else {})

    def set_info(self, name: str, value) -> None:
        """Store run-level information (config, versions, timings) as JSON."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)",
                             (name, json.dumps(value, sort_keys=True)))

    def info(self, name: str, default=None):
        row = self._db.execute("SELECT value FROM info WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])
