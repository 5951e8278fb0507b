"""Where the datasets live on disk: one lookup rule, one alias table, one link command.

A dataset reader needs the dataset's own folder (its *root*, e.g. ``.../BSDS500``).
:func:`resolve_root` finds it, in this order:

1. an explicit ``root`` (``--root DIR`` on the command line) wins;
2. else the folder named by the environment variable ``SEGBENCH_DATA``;
3. else ``./data/`` in the current directory.

Options 2 and 3 are *parent* folders holding one sub-folder per dataset; a sub-folder is
recognised by its name (any case) from :data:`ALIASES` and by a quick look at its
layout, so ``data/BSDS500``, ``data/bsds500`` and ``data/BSR/BSDS500`` (the official
archive's layout) all work. ``segbench datasets link NAME PATH`` (:func:`link_dataset`)
puts a symlink ``data/<CanonicalName>`` to a copy that lives elsewhere.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALIASES",
    "DATA_ENV",
    "DatasetLocation",
    "canonical_name",
    "find_datasets",
    "link_dataset",
    "looks_like",
    "resolve_root",
    "search_paths",
]

#: Environment variable naming the parent folder of the datasets.
DATA_ENV = "SEGBENCH_DATA"

#: Folder names (relative paths, matched case-insensitively) under which each dataset is
#: looked for inside a parent folder, most likely first. The first entry is the dataset's
#: canonical folder name, the one :func:`link_dataset` creates.
#:
#: * ``bsds500``: ``BSDS500`` as distributed in ``BSR_bsds500.tgz`` (inside ``BSR/``);
#:   a bare ``BSR`` is accepted only when it has the BSDS500 layout itself.
#: * ``camvid``: the SegNet tutorial's ``CamVid`` folder (also found under ``SegNet/``).
#: * ``voc``: the ``VOCdevkit`` folder of ``VOCtrainval_11-May-2012.tar``, also when
#:   unpacked into a ``VOC2012/`` or ``VOCtrainval_11-May-2012/`` folder.
ALIASES: dict[str, tuple[str, ...]] = {
    "bsds500": ("BSDS500", "BSR/BSDS500", "BSR", "BSDS"),
    "camvid": ("CamVid", "SegNet/CamVid", "CamVid-SegNet"),
    "voc": ("VOCdevkit", "VOC2012/VOCdevkit", "VOCtrainval_11-May-2012/VOCdevkit",
            "VOC/VOCdevkit"),
}

# What each dataset's folder must contain (any one of these sub-paths) to be recognised.
_MARKERS: dict[str, tuple[str, ...]] = {
    "bsds500": ("data/images", "bench_sample/images"),
    "camvid": ("train", "val", "test"),
    "voc": ("VOC2012/JPEGImages", "VOC2007/JPEGImages", "VOC2011/JPEGImages",
            "VOC2010/JPEGImages"),
}
_MARKER_TEXT = {
    "bsds500": "data/images/ or bench_sample/images/",
    "camvid": "train/ and trainannot/, or val/ and valannot/",
    "voc": "VOC2012/JPEGImages/",
}


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str); got {type(name).__name__}.")
    key = name.strip().lower()
    if key not in ALIASES:
        raise ValueError(
            f"dataset {name!r} has no standard data folder; datasets with one: "
            f"{', '.join(sorted(ALIASES))}. Other datasets take an explicit root "
            "(the 'folder' dataset) or need no files ('synthetic')."
        )
    return key


def canonical_name(name: str) -> str:
    """The folder name :func:`link_dataset` uses for dataset `name` (``"BSDS500"``...).

    Raises
    ------
    ValueError
        If `name` is not a key of :data:`ALIASES`.
    """
    return ALIASES[_check_name(name)][0]


def looks_like(name: str, path) -> bool:
    """Whether folder `path` has the layout of dataset `name` (a quick, shallow check).

    Parameters
    ----------
    name : str
        A key of :data:`ALIASES`.
    path : path-like
        Candidate dataset folder.

    Returns
    -------
    bool
        True if `path` is a folder containing one of the dataset's marker sub-folders
        (BSDS500: ``data/images`` or ``bench_sample/images``; CamVid: a split folder with
        its ``<split>annot`` partner; VOC: ``VOC<year>/JPEGImages``).
    """
    key = _check_name(name)
    path = Path(path)
    if not path.is_dir():
        return False
    if key == "camvid":
        return any((path / s).is_dir() and (path / f"{s}annot").is_dir()
                   for s in _MARKERS["camvid"])
    return any((path / marker).is_dir() for marker in _MARKERS[key])


def _child_ci(parent: Path, name: str) -> Path | None:
    """`parent/name` matched case-insensitively (exact spelling preferred), or None."""
    exact = parent / name
    if exact.is_dir():
        return exact
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return None
    for entry in entries:
        if entry.lower() == name.lower() and (parent / entry).is_dir():
            return parent / entry
    return None


def _find_in(name: str, parent: Path) -> tuple[Path | None, list[Path]]:
    """The dataset folder inside `parent`; also the name matches that had the wrong layout."""
    rejected: list[Path] = []
    for alias in ALIASES[name]:
        candidate: Path | None = parent
        for part in alias.split("/"):
            candidate = _child_ci(candidate, part)
            if candidate is None:
                break
        if candidate is None:
            continue
        if looks_like(name, candidate):
            return candidate, rejected
        rejected.append(candidate)
    return None, rejected


def _as_dataset_dir(name: str, path: Path) -> Path | None:
    """`path` if it has the dataset's layout, else a recognised sub-folder of it, else None."""
    if looks_like(name, path):
        return path
    found, _ = _find_in(name, path)
    return found


def search_paths() -> list[tuple[str, Path]]:
    """The parent folders searched when no explicit root is given, in order.

    Returns
    -------
    list of (str, Path)
        ``(label, absolute path)`` pairs: ``("$SEGBENCH_DATA", ...)`` for each entry of
        that variable (``os.pathsep``-separated) when it is set, then ``("./data", ...)``.
    """
    places: list[tuple[str, Path]] = []
    env = os.environ.get(DATA_ENV, "")
    for entry in env.split(os.pathsep):
        if entry.strip():
            places.append((f"${DATA_ENV}", Path(entry.strip()).expanduser().absolute()))
    places.append(("./data", (Path.cwd() / "data").absolute()))
    return places


def resolve_root(name: str, root=None) -> Path:
    """Find the folder of dataset `name`.

    Parameters
    ----------
    name : str
        A key of :data:`ALIASES`: ``"bsds500"``, ``"camvid"`` or ``"voc"``.
    root : path-like, optional
        The dataset's own folder (e.g. ``../shared/datasets/BSDS500``). When given it
        wins; if it lacks the dataset's layout but holds a recognised sub-folder (you
        passed the parent, or ``BSR/``), that sub-folder is used; otherwise `root` is
        returned as given and the reader reports what is missing.

    Returns
    -------
    root : Path
        Absolute path of the dataset folder (symlinks are kept, not resolved).

    Raises
    ------
    TypeError
        If `name` is not a string.
    ValueError
        If `name` has no standard data folder (see :data:`ALIASES`).
    FileNotFoundError
        If the explicit `root` does not exist, or no folder was found; the message says
        where it looked and how to fix it.

    Examples
    --------
    >>> resolve_root("bsds500", "../shared/datasets/BSDS500")  # doctest: +SKIP
    PosixPath('/work/shared/datasets/BSDS500')
    """
    key = _check_name(name)
    if root is not None:
        path = Path(os.fspath(root)).expanduser().absolute()
        if not path.exists():
            raise FileNotFoundError(
                f"root for dataset {key!r} does not exist: {path}. Pass the dataset's own "
                f"folder (the one holding {_MARKER_TEXT[key]})."
            )
        if not path.is_dir():
            raise FileNotFoundError(f"root for dataset {key!r} is a file, not a folder: {path}.")
        return _as_dataset_dir(key, path) or path

    looked: list[str] = []
    for label, parent in search_paths():
        found, rejected = _find_in(key, parent)
        if found is not None:
            return found
        state = "" if parent.is_dir() else " (does not exist)"
        looked.append(f"{label} = {parent}{state}")
        for bad in rejected:
            looked.append(f"  {bad} has the right name but not {_MARKER_TEXT[key]}")
    names = ", ".join(ALIASES[key])
    raise FileNotFoundError(
        f"dataset {key!r} not found. Looked for a folder named {names} (any case) in:\n  "
        + "\n  ".join(looked)
        + f"\nFix it with one of: pass --root DIR (the {ALIASES[key][0]} folder itself); "
        f"set {DATA_ENV} to the folder that holds {ALIASES[key][0]}/; or run "
        f"`segbench datasets link {key} PATH` to make data/{ALIASES[key][0]} point at it."
    )


def link_dataset(name: str, path, data_dir=Path("data")) -> Path:
    """Make ``data_dir/<CanonicalName>`` a symlink to the dataset folder `path`.

    Parameters
    ----------
    name : str
        A key of :data:`ALIASES`.
    path : path-like
        The dataset's folder (or a folder holding it under a known alias, e.g. ``BSR/``).
        The link points at its absolute, resolved path.
    data_dir : path-like, optional
        Where the link goes; created if missing. Relative paths are relative to the
        current directory.

    Returns
    -------
    link : Path
        The symlink, e.g. ``data/BSDS500``.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist or is not a folder.
    ValueError
        If `name` is unknown, or `path` does not have the dataset's layout.
    FileExistsError
        If ``data_dir/<CanonicalName>`` exists and is not a symlink (a real folder or
        file is never replaced).
    OSError
        If the system refuses to create symlinks.

    Notes
    -----
    An existing symlink is replaced atomically: the new link is made under a temporary
    name and renamed over the old one, so readers never see a missing dataset.
    """
    key = _check_name(name)
    source = Path(os.fspath(path)).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"path for dataset {key!r} does not exist: {source}.")
    if not source.is_dir():
        raise FileNotFoundError(f"path for dataset {key!r} is a file, not a folder: {source}.")
    target = _as_dataset_dir(key, source)
    if target is None:
        raise ValueError(
            f"{source} does not look like the {key} dataset: expected it to contain "
            f"{_MARKER_TEXT[key]} (or a sub-folder named {', '.join(ALIASES[key])})."
        )
    target = target.resolve()

    data_dir = Path(os.fspath(data_dir)).expanduser()
    link = data_dir / ALIASES[key][0]
    if link.exists() or link.is_symlink():
        if not link.is_symlink():
            raise FileExistsError(
                f"{link} exists and is not a symlink; refusing to replace it. Move it away, "
                f"or point {DATA_ENV} at the folder that holds it instead."
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{link.name}.{uuid.uuid4().hex}.tmp"
    try:
        os.symlink(target, tmp, target_is_directory=True)
    except OSError as exc:
        raise OSError(f"cannot create symlink {link} -> {target}: {exc}") from exc
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return link


@dataclass(frozen=True)
class DatasetLocation:
    """Where a dataset was found, for ``segbench datasets list``.

    Attributes
    ----------
    name : str
        Registry name (``"bsds500"``...).
    root : Path or None
        The dataset folder, or None when not found.
    splits : dict of str to int
        Image count of every split present (empty when not found).
    note : str
        Empty when all is well; otherwise why it was not found or which split failed.
    """

    name: str
    root: Path | None
    splits: dict[str, int] = field(default_factory=dict)
    note: str = ""


def find_datasets() -> list[DatasetLocation]:
    """Locate every dataset with a standard folder and count its images per split.

    Uses :func:`resolve_root` without an explicit root (``$SEGBENCH_DATA``, then
    ``./data``). Counting only lists files; nothing is decoded.

    Returns
    -------
    list of DatasetLocation
        One entry per key of :data:`ALIASES`, in that order.
    """
    from .bsds500 import BSDS500
    from .camvid import CamVid
    from .voc import VOC

    readers = {"bsds500": BSDS500, "camvid": CamVid, "voc": VOC}
    found: list[DatasetLocation] = []
    for key in ALIASES:
        try:
            root = resolve_root(key)
        except FileNotFoundError:
            places = ", ".join(f"{label}={path}" for label, path in search_paths())
            found.append(DatasetLocation(
                key, None, {},
                f"not found in {places}; run `segbench datasets link {key} PATH`"))
            continue
        cls = readers[key]
        counts: dict[str, int] = {}
        notes: list[str] = []
        for split in cls.available_splits(root):
            try:
                counts[split] = len(cls(root=root, split=split))
            except (OSError, ValueError) as exc:
                notes.append(f"{split}: {exc}")
        found.append(DatasetLocation(key, root, counts, "; ".join(notes)))
    return found
