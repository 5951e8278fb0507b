"""Datasets for segbench: one :class:`Sample` interface over every source of images.

============  ======================================  ==========  =======================
name          class                                   task        root
============  ======================================  ==========  =======================
synthetic     :class:`SyntheticDataset`               semantic    none (generated)
bsds500       :class:`BSDS500`                        regions     ``BSDS500/``
camvid        :class:`CamVid`                         semantic    ``CamVid/``
voc           :class:`VOC`                            semantic    ``VOCdevkit/``
folder        :class:`FolderDataset`                  either      any ``images/+masks/``
============  ======================================  ==========  =======================

Roots are found by :func:`resolve_root` (explicit root, else ``$SEGBENCH_DATA``, else
``./data``). This package never imports torch; the synthetic generator is imported only
when it is first used.

Examples
--------
>>> from benchmarks.datasets import load_dataset
>>> dataset = load_dataset("bsds500", split="val")        # doctest: +SKIP
>>> sample = dataset[0]                                    # doctest: +SKIP
>>> sample.image.shape, len(sample.partitions)             # doctest: +SKIP
((321, 481, 3), 5)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Mapping
from typing import Iterator

from ._base import (
    IGNORE_INDEX,
    ClassInfo,
    DatasetFileError,
    Problem,
    Sample,
    SegmentationDataset,
    mask_to_partition,
    read_image,
    read_label_png,
)
from ._roots import (
    ALIASES,
    DATA_ENV,
    DatasetLocation,
    canonical_name,
    find_datasets,
    link_dataset,
    looks_like,
    resolve_root,
    search_paths,
)
from .bsds500 import BSDS500, read_bsds_ground_truth
from .camvid import CAMVID_CLASSES, CAMVID_VOID, CamVid
from .folder import FolderDataset, read_classes_json
from .voc import VOC, VOC_CLASSES, voc_colormap

__all__ = [
    # interface (_base)
    "IGNORE_INDEX",
    "ClassInfo",
    "DatasetFileError",
    "Problem",
    "Sample",
    "SegmentationDataset",
    "mask_to_partition",
    "read_image",
    "read_label_png",
    # readers
    "BSDS500",
    "CAMVID_CLASSES",
    "CAMVID_VOID",
    "CamVid",
    "FolderDataset",
    "VOC",
    "VOC_CLASSES",
    "read_bsds_ground_truth",
    "read_classes_json",
    "voc_colormap",
    # roots
    "ALIASES",
    "DATA_ENV",
    "DatasetLocation",
    "canonical_name",
    "find_datasets",
    "link_dataset",
    "looks_like",
    "resolve_root",
    "search_paths",
    # registry
    "DATASETS",
    "available_splits",
    "load_dataset",
]


class _LazyRegistry(Mapping):
    """Read-only name -> class mapping; entries given as ``"module:Class"`` load on access.

    Listing the names (``list(DATASETS)``, ``"voc" in DATASETS``) imports nothing.
    """

    def __init__(self, entries: dict[str, object]):
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> type[SegmentationDataset]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attr = entry.partition(":")
            if module_name.startswith("."):
                module_name = __name__ + module_name
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise ImportError(
                    f"dataset {name!r} needs module {module_name!r}, which cannot be "
                    f"imported: {exc}") from exc
            entry = getattr(module, attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"DATASETS({', '.join(self._entries)})"


#: Dataset name -> reader class. ``synthetic`` is imported on first access.
DATASETS: Mapping[str, type[SegmentationDataset]] = _LazyRegistry({
    "synthetic": ".synthetic:SyntheticDataset",
    "bsds500": BSDS500,
    "camvid": CamVid,
    "voc": VOC,
    "folder": FolderDataset,
})


# Listed only when its module is there, so ``import *`` works before it is written;
# finding the module's file does not import it.
if importlib.util.find_spec(f"{__name__}.synthetic") is not None:
    __all__.append("SyntheticDataset")


def __getattr__(name: str):
    # ``from benchmarks.datasets import SyntheticDataset`` without importing it eagerly.
    if name == "SyntheticDataset":
        return DATASETS["synthetic"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _registry_key(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str); got {type(name).__name__}.")
    key = name.strip().lower()
    if key not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}.")
    return key


def available_splits(name: str, root=None, **options) -> list[str]:
    """The splits of dataset `name` that can be opened, without reading any sample.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    root : path-like, optional
        As for :func:`load_dataset`. Required for ``"folder"``; ignored by
        ``"synthetic"``.
    **options
        Reader options that change the layout: ``year`` for ``voc``.

    Returns
    -------
    splits : list of str
        Each one a valid `split` for :func:`load_dataset`: the splits present on disk
        (``bsds500``: train, val, test, bench_sample; ``camvid``: train, val, test;
        ``voc``: the lists in ``ImageSets/Segmentation``); for ``folder`` the
        sub-folders holding ``images/``, or ``["."]`` when `root` itself holds them;
        for ``synthetic`` every split it generates.

    Raises
    ------
    TypeError
        If `name` is not a string, or ``"folder"`` is given no root.
    ValueError
        If `name` is unknown (the message lists the valid names).
    FileNotFoundError
        If the dataset folder cannot be found (see :func:`resolve_root`).
    """
    key = _registry_key(name)
    cls = DATASETS[key]
    if key in ALIASES:
        return cls.available_splits(resolve_root(key, root), **options)
    if key == "folder":
        if root is None:
            raise TypeError("root is required for the folder dataset; got None.")
        return cls.available_splits(root, **options)
    module = importlib.import_module(cls.__module__)
    return list(getattr(cls, "SPLITS", None) or getattr(module, "SPLITS", ()))


def load_dataset(name: str, split: str | None = None, root=None,
                 **options) -> SegmentationDataset:
    """Open a dataset by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive): ``"synthetic"``, ``"bsds500"``,
        ``"camvid"``, ``"voc"``, ``"folder"``.
    split : str, optional
        Split to read (see :func:`available_splits`). None (default) means the
        reader's default: ``"val"`` for every dataset except ``"folder"``, where it
        means the root folder itself (also spelled ``"."``).
    root : path-like, optional
        The dataset's own folder; see :func:`resolve_root` for the default. Required
        for ``"folder"``; ignored by ``"synthetic"``.
    **options
        Reader-specific keyword arguments, e.g. ``year="2012"`` for ``voc``,
        ``preset="medium", seed=0`` for ``synthetic``.

    Returns
    -------
    dataset : SegmentationDataset
        Lazily loaded: files are read when a sample is indexed.

    Raises
    ------
    TypeError
        If `name` is not a string, or an option is not accepted by the reader (the
        message lists the options it takes).
    ValueError
        If `name` is unknown (the message lists the valid names), or from the reader.
    FileNotFoundError
        If the data cannot be found (the message says where it looked).

    Examples
    --------
    >>> load_dataset("voc", split="train", year="2012")    # doctest: +SKIP
    VOC(split='train', n=1464, root='/data/VOCdevkit')
    """
    key = _registry_key(name)
    cls = DATASETS[key]
    if split is None:
        split = getattr(cls, "DEFAULT_SPLIT", "val")
    kwargs = {"root": root, "split": split, **options}
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        accepted = [p for p in inspect.signature(cls).parameters if p not in ("root", "split")]
        raise TypeError(
            f"dataset {key!r} does not accept {sorted(options)} ({exc}); its options: "
            f"{', '.join(accepted) if accepted else 'none besides root and split'}."
        ) from None
    return cls(**kwargs)
