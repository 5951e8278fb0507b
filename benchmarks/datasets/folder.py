"""Reader for any ``images/`` + ``masks/`` pair of folders (your own data)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._base import (
    IGNORE_INDEX,
    ClassInfo,
    DatasetFileError,
    Problem,
    Sample,
    SegmentationDataset,
    _natural_key,
    read_image,
    read_label_png,
)

__all__ = ["IMAGE_SUFFIXES", "FolderDataset", "read_classes_json"]

#: File suffixes (lower case) taken as images in ``images/``.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp",
                  ".ppm", ".pgm", ".pnm")


def read_classes_json(path) -> tuple[ClassInfo, ...]:
    """Read a ``classes.json``: a list of names, or of ``{"name": ..., "color": [r, g, b]}``.

    Parameters
    ----------
    path : path-like
        The JSON file. Entry ``i`` describes mask value ``i``. Colours are optional;
        missing ones default to the VOC colour map's entry ``i``.

    Returns
    -------
    classes : tuple of ClassInfo

    Raises
    ------
    DatasetFileError
        If the file is missing or is not valid JSON of that form; the message names
        the file and the offending entry.

    Examples
    --------
    ``["background", "cell"]`` or
    ``[{"name": "background", "color": [0, 0, 0]}, {"name": "cell"}]``.
    """
    from .voc import voc_colormap

    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "file not found")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFileError(path, f"cannot read JSON ({exc})") from exc
    form = 'a list of class names or of {"name": ..., "color": [r, g, b]} objects'
    if not isinstance(entries, list) or not entries:
        raise DatasetFileError(path, f"expected {form}; got {type(entries).__name__} "
                                     f"{json.dumps(entries)[:60]}")
    if len(entries) >= IGNORE_INDEX:
        raise DatasetFileError(path, f"{len(entries)} classes; at most {IGNORE_INDEX - 1} "
                                     f"are possible because {IGNORE_INDEX} means ignore")
    colormap = voc_colormap(256)
    classes = []
    for i, entry in enumerate(entries):
        color = tuple(int(v) for v in colormap[i])
        if isinstance(entry, dict):
            name = entry.get("name")
            if "color" in entry:
                raw = entry["color"]
                if (not isinstance(raw, list) or len(raw) != 3
                        or not all(isinstance(v, int) and not isinstance(v, bool)
                                   and 0 <= v <= 255 for v in raw)):
                    raise DatasetFileError(
                        path, f"entry {i}: color must be [r, g, b] with integers 0..255; "
                              f"got {raw!r}")
                color = tuple(raw)
        else:
            name = entry
        if not isinstance(name, str) or not name:
            raise DatasetFileError(path, f"entry {i}: expected {form}; got {entry!r}")
        classes.append(ClassInfo(i, name, color))
    names = [c.name for c in classes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetFileError(path, f"duplicate class names {duplicates}")
    return tuple(classes)


class FolderDataset(SegmentationDataset):
    """Images with masks in two folders: ``images/<stem>.*`` and ``masks/<stem>.png``.

    Parameters
    ----------
    root : path-like
        Folder holding ``images/`` and ``masks/`` (and optionally ``classes.json``), or
        split sub-folders ``<split>/images``, ``<split>/masks``.
    split : str, optional
        When given, read ``root/<split>/``; None (default) or ``"."`` read ``root``
        itself (then :attr:`split` is ``"."``).

    Raises
    ------
    TypeError
        If `root` is None.
    FileNotFoundError
        If `root`, ``images/`` or ``masks/`` is missing (the message lists the split
        sub-folders present).
    DatasetFileError
        If ``images/`` holds no image, two images share a stem, or ``classes.json`` is
        malformed.

    Notes
    -----
    * Images: any file in ``images/`` with a suffix in :data:`IMAGE_SUFFIXES` (any
      format PIL reads); grey images are repeated to RGB. Ids are the stems, in natural
      order (``img2`` before ``img10``).
    * Masks: ``masks/<stem>.png``, single-channel or palette (palette *indices* are the
      values), read as int64; 255 is ignore. A mask without an image is reported by
      :meth:`verify`; an image without a mask fails at :meth:`load`.
    * With ``classes.json`` (looked for in the split folder, then in `root`; see
      :func:`read_classes_json`) the dataset is **semantic**: ``num_classes`` is the
      number of entries, and values outside ``0..num_classes-1`` other than 255 are
      problems for :meth:`verify`.
    * Without it the values' meaning is unknown, so the dataset is **region-only**
      (``task="regions"``, ``classes=None``): the masks are kept in ``Sample.mask`` with
      no range check, and the region ground truth is their 8-connected same-value
      components (:func:`~benchmarks.datasets.mask_to_partition`; 255 = no ground
      truth). This works both for class maps and for masks that already hold one id per
      region.
    """

    name = "folder"
    DEFAULT_SPLIT = None

    def __init__(self, root, split: str | None = None):
        if root is None:
            raise TypeError(
                "root is required for the folder dataset: a folder holding images/ and "
                "masks/ (optionally classes.json); got None.")
        self.root = Path(os.fspath(root)).expanduser().absolute()
        if not self.root.is_dir():
            raise FileNotFoundError(f"root of the folder dataset does not exist: {self.root}.")
        present = [s for s in self.available_splits(self.root) if s != "."]
        if split is None or split == ".":
            self.split = "."
            self.base = self.root
            if not (self.base / "images").is_dir():
                hint = (f" It has split sub-folders {', '.join(present)}: pass split=NAME."
                        if present else " Put the images in images/ and the masks in masks/.")
                raise FileNotFoundError(f"no folder {self.base / 'images'}.{hint}")
        else:
            if not isinstance(split, str) or not split or Path(split).name != split:
                raise ValueError(
                    f"split must be a sub-folder name of root, '.' or None; got {split!r}.")
            self.split = split
            self.base = self.root / split
            if not (self.base / "images").is_dir():
                flat = (self.root / "images").is_dir()
                hint = (" Splits present: " + ", ".join(present) + "." if present else "")
                hint += (" root itself holds images/: pass split='.' (or None) to read it."
                         if flat else "")
                raise FileNotFoundError(
                    f"split {split!r} not found: no folder {self.base / 'images'}.{hint}")
        self.image_dir = self.base / "images"
        self.mask_dir = self.base / "masks"
        if not self.mask_dir.is_dir():
            raise FileNotFoundError(
                f"no folder {self.mask_dir}: put masks/<stem>.png beside images/.")

        by_stem: dict[str, Path] = {}
        for path in sorted(self.image_dir.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if path.stem in by_stem:
                raise DatasetFileError(
                    self.image_dir, f"two images share the stem {path.stem!r} "
                                    f"({by_stem[path.stem].name}, {path.name}); keep one")
            by_stem[path.stem] = path
        if not by_stem:
            raise DatasetFileError(
                self.image_dir, f"no images (suffixes {', '.join(IMAGE_SUFFIXES)})")
        self.ids = sorted(by_stem, key=_natural_key)
        self._images = [by_stem[i] for i in self.ids]

        self.classes = None
        self.task = "regions"
        for folder in dict.fromkeys([self.base, self.root]):
            if (folder / "classes.json").is_file():
                self.classes = read_classes_json(folder / "classes.json")
                self.task = "semantic"
                break

    @classmethod
    def available_splits(cls, root) -> list[str]:
        """``"."`` if `root` holds ``images/``, then its sub-folders that do (sorted)."""
        root = Path(root)
        if not root.is_dir():
            return []
        flat = ["."] if (root / "images").is_dir() else []
        return flat + sorted(p.name for p in root.iterdir()
                             if not p.name.startswith(".") and p.name != "images"
                             and (p / "images").is_dir())

    def files(self, index: int) -> list[Path]:
        """``[images/<stem>.<ext>, masks/<stem>.png]`` of sample `index`."""
        return [self._images[index], self.mask_dir / f"{self.ids[index]}.png"]

    def load(self, index: int) -> Sample:
        """Read sample `index`: RGB image and int64 mask as stored (255 = ignore)."""
        image_path, mask_path = self.files(index)
        return Sample(self.ids[index], read_image(image_path), mask=read_label_png(mask_path))

    def verify(self, progress=None) -> list[Problem]:
        """Check every sample (see the base class), and report masks without an image.

        Parameters
        ----------
        progress : callable, optional
            Wraps the index iterable (e.g. ``tqdm``) to show progress.

        Returns
        -------
        list of Problem
            Empty if everything is readable and consistent.
        """
        problems = super().verify(progress)
        known = set(self.ids)
        for path in sorted(self.mask_dir.glob("*.png"), key=lambda p: _natural_key(p.stem)):
            if path.stem not in known and not path.name.startswith("."):
                problems.append(Problem(path.stem, str(path),
                                        f"mask has no image with this stem in {self.image_dir}"))
        return problems
