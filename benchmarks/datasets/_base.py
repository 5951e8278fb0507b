"""The one small dataset interface that every part of segbench uses.

Conventions, stated once:

* ``Sample.image`` is uint8 RGB, shape (H, W, 3).
* ``Sample.mask`` (semantic datasets) is int64 (H, W) with class indices and
  :data:`IGNORE_INDEX` (255) for void pixels. Readers convert each dataset's own void
  value (CamVid 11, VOC 255) to it at the boundary.
* ``Sample.partitions`` is the region ground truth: one int32 (H, W) label image per
  annotator. **Label 0 means "no region ground truth here"** (BSDS500 stores labels from
  1, so its partitions are kept exactly as stored). Region metrics leave label-0
  pixels of the ground truth out of every score.
* Where a dataset has only a class mask, its region ground truth is the 8-connected
  components of the mask, numbered from 1, with void pixels labelled 0
  (:func:`mask_to_partition`). This is the single definition used everywhere.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from classical._validate import IGNORE_INDEX

__all__ = [
    "IGNORE_INDEX",
    "ClassInfo",
    "DatasetFileError",
    "Problem",
    "Sample",
    "SegmentationDataset",
    "mask_to_partition",
    "read_image",
    "read_label_png",
]


class DatasetFileError(ValueError):
    """A dataset file is missing, unreadable or inconsistent; the message names it."""

    def __init__(self, path, message: str):
        self.path = os.fspath(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class ClassInfo:
    """A semantic class: its index, name and display colour (RGB, 0..255)."""

    index: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Problem:
    """One problem found by :meth:`SegmentationDataset.verify`."""

    sample_id: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.sample_id}: {self.path}: {self.message}"


def mask_to_partition(mask: np.ndarray, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Region ground truth of a class mask: its 8-connected same-class components.

    Parameters
    ----------
    mask : ndarray of int, shape (H, W)
        Semantic class map; `ignore_index` marks void pixels.
    ignore_index : int, optional
        Void value; these pixels get label 0 ("no region ground truth").

    Returns
    -------
    partition : ndarray of int32, shape (H, W)
        Components numbered 1..n in raster order of their first pixel; 0 on void.
    """
    from skimage.measure import label

    mask = np.asarray(mask)
    # skimage.measure.label splits by value; background=-1 keeps class 0 as a region.
    shifted = np.where(mask == ignore_index, -1, mask.astype(np.int64))
    return label(shifted, background=-1, connectivity=2).astype(np.int32)


@dataclass(frozen=True, eq=False)
class Sample:
    """One image with its ground truth.

    Attributes
    ----------
    id : str
        Stable identifier (file stem) within the dataset.
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    mask : ndarray of int64, shape (H, W), or None
        Semantic classes, 255 = ignore. None for region-only datasets (BSDS500).
    partitions : list of ndarray of int32, shape (H, W), or None
        Region ground truth, one per annotator; 0 = unlabelled. When None and `mask` is
        given, :attr:`regions` derives it from the mask.
    """

    id: str
    image: np.ndarray
    mask: np.ndarray | None = None
    partitions: list[np.ndarray] | None = field(default=None)

    @property
    def ignore(self) -> np.ndarray:
        """Boolean (H, W): pixels excluded from every metric."""
        if self.mask is None:
            return np.zeros(self.image.shape[:2], dtype=bool)
        return self.mask == IGNORE_INDEX

    @property
    def regions(self) -> list[np.ndarray]:
        """Region ground truth: `partitions`, else the components of `mask`."""
        if self.partitions is not None:
            return list(self.partitions)
        if self.mask is not None:
            return [mask_to_partition(self.mask)]
        raise ValueError(f"sample {self.id!r} has neither a mask nor partitions.")


def read_image(path) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3); grey images are repeated to 3 channels.

    Raises
    ------
    DatasetFileError
        If the file is missing or cannot be decoded.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "file not found")
    try:
        with Image.open(path) as im:
            im.load()
            image = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise DatasetFileError(path, f"cannot decode image ({exc})") from exc
    return image


def read_label_png(path) -> np.ndarray:
    """Read a single-channel (or palette) label PNG as its raw integer values.

    Palette PNGs give palette indices (VOC's convention), not colours.

    Raises
    ------
    DatasetFileError
        If the file is missing, cannot be decoded, or has colour channels.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "file not found")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("L", "P", "I", "I;16", "1"):
                raise DatasetFileError(
                    path, f"label image must be single-channel or palette; got mode {im.mode}"
                )
            labels = np.asarray(im)
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise DatasetFileError(path, f"cannot decode label image ({exc})") from exc
    return labels.astype(np.int64)


def _natural_key(stem: str) -> tuple:
    """Sort key putting ``"2018"`` before ``"100075"`` and ``"img2"`` before ``"img10"``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", stem) if part)


class SegmentationDataset(Sequence[Sample]):
    """Base class of every reader: a lazily loaded, indexable sequence of samples.

    Subclasses set :attr:`name`, :attr:`split`, :attr:`root`, :attr:`ids` and
    :attr:`classes` (None for region-only datasets) and implement :meth:`load`.
    """

    name: str = ""
    task: str = "semantic"  # "semantic" or "regions"
    split: str = ""
    root: Path | None = None
    ids: list[str]
    classes: tuple[ClassInfo, ...] | None = None

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self.load(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {self!r} with {n} samples.")
        return self.load(index % n)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self.load(i)

    def __repr__(self) -> str:
        root = f", root={str(self.root)!r}" if self.root is not None else ""
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)}{root})"

    def load(self, index: int) -> Sample:  # pragma: no cover - abstract
        raise NotImplementedError

    def files(self, index: int) -> list[Path]:
        """Paths read for sample `index` (for error reports); empty if generated."""
        return []

    def verify(self, progress=None) -> list[Problem]:
        """Load every sample and check it; return the problems found (empty if none).

        Checks: every file readable, image and mask/partition sizes equal, mask values
        within ``0..num_classes-1`` or 255.

        Parameters
        ----------
        progress : callable, optional
            Wraps the index iterable (e.g. ``tqdm``) to show progress.
        """
        problems: list[Problem] = []
        indices = range(len(self))
        for i in progress(indices) if progress is not None else indices:
            sample_id = self.ids[i]
            files = self.files(i)
            where = str(files[0]) if files else self.name
            try:
                sample = self.load(i)
            except DatasetFileError as exc:
                problems.append(Problem(sample_id, exc.path, str(exc).split(": ", 1)[-1]))
                continue
            problems.extend(self._check_sample(sample, files, where))
        return problems

    def _check_sample(self, sample: Sample, files: list[Path], where: str) -> list[Problem]:
        found = []
        hw = sample.image.shape[:2]
        mask_file = str(files[1]) if len(files) > 1 else where
        if sample.mask is not None:
            if sample.mask.shape != hw:
                found.append(Problem(sample.id, mask_file,
                                     f"mask size {sample.mask.shape} differs from image size {hw}"))
            elif self.classes is not None:
                n = len(self.classes)
                bad = (sample.mask >= n) & (sample.mask != IGNORE_INDEX) | (sample.mask < 0)
                if bad.any():
                    values = np.unique(sample.mask[bad])[:5].tolist()
                    found.append(Problem(
                        sample.id, mask_file,
                        f"{int(bad.sum())} pixels with labels {values} outside 0..{n - 1} "
                        f"(ignore is {IGNORE_INDEX})"))
        for k, part in enumerate(sample.partitions or []):
            if part.shape != hw:
                found.append(Problem(sample.id, mask_file,
                                     f"partition {k} size {part.shape} differs from image size {hw}"))
        return found
