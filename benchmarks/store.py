"""The results store of a run: one SQLite row per finished work unit.

SQLite in WAL mode gives atomic writes for free: a unit's row is either fully committed
or absent, so a run killed at any point resumes by skipping the keys already present.
Each row keeps the unit's metadata as JSON and its arrays (per-threshold counts,
confusion matrices, label maps) as an ``.npz`` blob, everything needed to recompute the
dataset-level numbers without re-running the method. The dataset, split, perturbation
and method of a unit are columns, so summaries select one group without reading the
others.
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
    arrays BLOB NOT NULL,
    dataset TEXT NOT NULL DEFAULT '',
    split TEXT NOT NULL DEFAULT '',
    perturbation TEXT NOT NULL DEFAULT 'none'
);
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first release; older stores get them (with their defaults)
# when opened, so their units read back as one unnamed dataset and split.
_ADDED_COLUMNS = {"dataset": "TEXT NOT NULL DEFAULT ''", "split": "TEXT NOT NULL DEFAULT ''",
                  "perturbation": "TEXT NOT NULL DEFAULT 'none'"}
_COLUMNS = ("key", "method", "image_id", "meta", "arrays", "dataset", "split", "perturbation")


class Unit:
    """A stored unit: `meta` (JSON-able dict) and `arrays` (name -> ndarray mapping).

    `dataset` (the dataset's label), `split` and `perturbation` (``"none"`` for the
    original images) say which group of the run the unit belongs to.
    """

    def __init__(self, key: str, method: str, image_id: str, meta: dict, arrays: dict,
                 dataset: str = "", split: str = "", perturbation: str = "none"):
        self.key, self.method, self.image_id = key, method, image_id
        self.meta, self.arrays = meta, arrays
        self.dataset, self.split, self.perturbation = dataset, split, perturbation

    @property
    def group(self) -> tuple[str, str, str, str]:
        """``(dataset, split, perturbation, method)``: the rows of a summary."""
        return self.dataset, self.split, self.perturbation, self.method


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
        present = {row[1] for row in self._db.execute("PRAGMA table_info(units)")}
        with self._db:
            for name, kind in _ADDED_COLUMNS.items():
                if name not in present:
                    self._db.execute(f"ALTER TABLE units ADD COLUMN {name} {kind}")
            self._db.execute("CREATE INDEX IF NOT EXISTS units_group "
                             "ON units (dataset, split, perturbation, method)")

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
                f"INSERT OR REPLACE INTO units ({', '.join(_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(_COLUMNS))})",
                (unit.key, unit.method, unit.image_id, json.dumps(unit.meta, sort_keys=True),
                 _pack(unit.arrays), unit.dataset, unit.split, unit.perturbation),
            )

    def groups(self) -> list[tuple[str, str, str, str]]:
        """The distinct ``(dataset, split, perturbation, method)`` of the stored units."""
        return [tuple(row) for row in self._db.execute(
            "SELECT DISTINCT dataset, split, perturbation, method FROM units "
            "ORDER BY dataset, split, perturbation, method")]

    def units(self, method: str | None = None, *, dataset: str | None = None,
              split: str | None = None, perturbation: str | None = None,
              with_arrays: bool = True) -> Iterator[Unit]:
        """Stored units in key order, optionally only those of one method, dataset,
        split and/or perturbation."""
        where = [(name, value) for name, value in (
            ("method", method), ("dataset", dataset), ("split", split),
            ("perturbation", perturbation)) if value is not None]
        query = f"SELECT {', '.join(_COLUMNS)} FROM units"
        if where:
            query += " WHERE " + " AND ".join(f"{name} = ?" for name, _ in where)
        args = tuple(value for _, value in where)
        for key, meth, image_id, meta, blob, data, split_, pert in self._db.execute(
                query + " ORDER BY key", args):
            yield Unit(key, meth, image_id, json.loads(meta),
                       _unpack(blob) if with_arrays else {}, data, split_, pert)

    def set_info(self, name: str, value) -> None:
        """Store run-level information (config, versions, timings) as JSON."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)",
                             (name, json.dumps(value, sort_keys=True)))

    def info(self, name: str, default=None):
        row = self._db.execute("SELECT value FROM info WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])
