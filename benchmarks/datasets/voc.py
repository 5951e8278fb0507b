"""Reader for PASCAL VOC semantic segmentation (VOCdevkit layout)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._base import (
    ClassInfo,
    DatasetFileError,
    Sample,
    SegmentationDataset,
    read_image,
    read_label_png,
)
from ._roots import resolve_root

__all__ = ["VOC", "VOC_CLASSES", "voc_colormap"]


def voc_colormap(n: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map: colour of label ``i`` from the bits of ``i``.

    Parameters
    ----------
    n : int, optional
        Number of entries (256 covers every palette index, including 255 = void).

    Returns
    -------
    colormap : ndarray of uint8, shape (n, 3)
        RGB rows; row 0 is black, row 1 (128, 0, 0), row 255 (224, 224, 192).

    Raises
    ------
    ValueError
        If `n` is not in 1..256.

    Examples
    --------
    >>> voc_colormap(3).tolist()
    [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 256:
        raise ValueError(f"n must be an integer in 1..256; got {n!r}.")
    index = np.arange(n)
    colormap = np.zeros((n, 3), dtype=np.uint8)
    for bit in range(8):
        for channel in range(3):
            colormap[:, channel] |= (((index >> (3 * bit + channel)) & 1) << (7 - bit)).astype(
                np.uint8)
    return colormap


_VOC_NAMES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)

#: The 21 VOC classes (background + 20 objects) with the standard VOC colours.
VOC_CLASSES: tuple[ClassInfo, ...] = tuple(
    ClassInfo(i, name, tuple(int(v) for v in color))
    for i, (name, color) in enumerate(zip(_VOC_NAMES, voc_colormap(len(_VOC_NAMES))))
)


class VOC(SegmentationDataset):
    """PASCAL VOC semantic segmentation: 20 object classes plus background.

    Everingham, Van Gool, Williams, Winn, Zisserman, "The PASCAL Visual Object Classes
    (VOC) Challenge", IJCV 2010.

    Parameters
    ----------
    root : path-like, optional
        The ``VOCdevkit`` folder holding ``VOC<year>/{JPEGImages, SegmentationClass,
        ImageSets/Segmentation/<split>.txt}``; the ``VOC<year>`` folder itself is also
        accepted. Default: found by :func:`~benchmarks.datasets.resolve_root`.
    split : str, optional
        Name of a list in ``ImageSets/Segmentation`` (``"train"``, ``"val"``,
        ``"trainval"``).
    year : str, optional
        ``"2012"`` (default) or another VOC release present under `root`.

    Raises
    ------
    ValueError
        If `year` is not a 4-digit year or `split` is not a plain name.
    FileNotFoundError
        If the dataset, ``VOC<year>`` or the split list is missing (the message lists the
        splits present).
    DatasetFileError
        If the split list is empty.

    Notes
    -----
    Conventions at the boundary: masks are the palette *indices* of the
    ``SegmentationClass`` PNGs (0 background, 1..20 objects), not their colours; VOC's
    own void value, 255 (object borders and difficult regions), is already the suite's
    :data:`~benchmarks.datasets.IGNORE_INDEX` and stays. Ids are the list's names
    (``"2007_000033"``).
    """

    name = "voc"
    task = "semantic"
    classes = VOC_CLASSES
    DEFAULT_SPLIT = "val"

    def __init__(self, root=None, split: str = "val", year: str = "2012"):
        year = str(year)
        if not re.fullmatch(r"\d{4}", year):
            raise ValueError(f"year must be a 4-digit VOC release such as '2012'; got {year!r}.")
        if not isinstance(split, str) or not re.fullmatch(r"[\w.-]+", split):
            raise ValueError(
                f"split must be the name of a list in ImageSets/Segmentation such as 'val'; "
                f"got {split!r}.")
        self.root = resolve_root(self.name, root)
        self.split = split
        self.year = year
        self.base = self._base_dir(self.root, year)
        if not self.base.is_dir():
            raise FileNotFoundError(
                f"VOC{year} not found: no folder {self.base}. Pass root=the VOCdevkit folder "
                f"that holds VOC{year}/.")
        list_file = self.base / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not list_file.is_file():
            present = self.available_splits(self.root, year)
            raise FileNotFoundError(
                f"VOC{year} split {split!r} not found: no file {list_file}. Splits present: "
                f"{', '.join(present) if present else 'none'}.")
        text = list_file.read_text(encoding="utf-8", errors="replace")
        self.ids = [line.split()[0] for line in text.splitlines() if line.strip()]
        if not self.ids:
            raise DatasetFileError(list_file, "split list is empty")

    @staticmethod
    def _base_dir(root: Path, year: str) -> Path:
        base = root / f"VOC{year}"
        if not base.is_dir() and (root / "JPEGImages").is_dir():
            return root  # root is the VOC<year> folder itself
        return base

    @classmethod
    def available_splits(cls, root, year: str = "2012") -> list[str]:
        """Names of the lists in ``VOC<year>/ImageSets/Segmentation`` (sorted)."""
        folder = cls._base_dir(Path(root), str(year)) / "ImageSets" / "Segmentation"
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.txt") if not p.name.startswith("."))

    def files(self, index: int) -> list[Path]:
        """``[JPEGImages/<id>.jpg, SegmentationClass/<id>.png]`` of sample `index`."""
        sample_id = self.ids[index]
        return [self.base / "JPEGImages" / f"{sample_id}.jpg",
                self.base / "SegmentationClass" / f"{sample_id}.png"]

    def load(self, index: int) -> Sample:
        """Read sample `index`: RGB image and int64 mask of palette indices (255 = void)."""
        image_path, mask_path = self.files(index)
        return Sample(self.ids[index], read_image(image_path), mask=read_label_png(mask_path))
