"""Reader for CamVid in the 11-class SegNet layout."""

from __future__ import annotations

import re
from pathlib import Path

from ._base import (
    IGNORE_INDEX,
    ClassInfo,
    DatasetFileError,
    Sample,
    SegmentationDataset,
    read_image,
    read_label_png,
)
from ._roots import resolve_root

__all__ = ["CAMVID_CLASSES", "CAMVID_VOID", "CamVid"]

#: The 11 SegNet CamVid classes in label order, with their usual display colours.
CAMVID_CLASSES: tuple[ClassInfo, ...] = tuple(
    ClassInfo(i, name, color) for i, (name, color) in enumerate([
        ("Sky", (128, 128, 128)),
        ("Building", (128, 0, 0)),
        ("Pole", (192, 192, 128)),
        ("Road", (128, 64, 128)),
        ("Pavement", (60, 40, 222)),
        ("Tree", (128, 128, 0)),
        ("SignSymbol", (192, 128, 128)),
        ("Fence", (64, 64, 128)),
        ("Car", (64, 0, 128)),
        ("Pedestrian", (64, 64, 0)),
        ("Bicyclist", (0, 128, 192)),
    ])
)

#: CamVid's own void label in the annotation PNGs; it becomes IGNORE_INDEX at load.
CAMVID_VOID = 11


class CamVid(SegmentationDataset):
    """CamVid road scenes, 11 classes, as prepared for SegNet (480x360 frames).

    Brostow, Fauqueur, Cipolla, "Semantic object classes in video", PRL 2009; split
    and labels by Badrinarayanan, Kendall, Cipolla (SegNet, TPAMI 2017).

    Parameters
    ----------
    root : path-like, optional
        The ``CamVid`` folder holding ``<split>/``, ``<split>annot/`` and
        ``<split>.txt``. Default: found by :func:`~benchmarks.datasets.resolve_root`.
    split : {"val", "train", "test"}, optional
        Standard sizes: train 367, val 101, test 233.

    Raises
    ------
    ValueError
        If `split` is unknown.
    FileNotFoundError
        If the dataset or the split's image folder is missing (the message lists the
        splits present).
    DatasetFileError
        If ``<split>.txt`` has a malformed line, or the split holds no images.

    Notes
    -----
    Conventions at the boundary: the annotation value 11 (void) becomes
    :data:`~benchmarks.datasets.IGNORE_INDEX` (255); classes 0..10 are kept; any other
    value is left as is, so :meth:`verify` reports it. The pairs in ``<split>.txt`` carry
    absolute paths from the machine that made them: only their file names are used,
    looked up in ``root/<split>/`` and ``root/<split>annot/``. Without the ``.txt`` the
    split's folder is listed (``*.png``, sorted). Ids are the image stems
    (``"0001TP_006690"``).
    """

    name = "camvid"
    task = "semantic"
    classes = CAMVID_CLASSES
    SPLITS = ("train", "val", "test")
    DEFAULT_SPLIT = "val"

    def __init__(self, root=None, split: str = "val"):
        if not isinstance(split, str) or split not in self.SPLITS:
            raise ValueError(
                f"split must be one of {', '.join(self.SPLITS)} for CamVid; got {split!r}.")
        self.root = resolve_root(self.name, root)
        self.split = split
        self.image_dir = self.root / split
        self.mask_dir = self.root / f"{split}annot"
        if not self.image_dir.is_dir():
            present = self.available_splits(self.root)
            raise FileNotFoundError(
                f"CamVid split {split!r} not found: no folder {self.image_dir}. Splits "
                f"present in {self.root}: {', '.join(present) if present else 'none'}."
            )
        list_file = self.root / f"{split}.txt"
        if list_file.is_file():
            names = self._read_list(list_file)
        else:
            names = [(p.name, p.name) for p in sorted(self.image_dir.glob("*.png"))
                     if not p.name.startswith(".")]
        if not names:
            where = list_file if list_file.is_file() else self.image_dir
            raise DatasetFileError(where, f"no images listed for split {split!r}")
        self._pairs = [(self.image_dir / a, self.mask_dir / b) for a, b in names]
        self.ids = [Path(a).stem for a, _ in names]

    @staticmethod
    def _read_list(list_file: Path) -> list[tuple[str, str]]:
        names = []
        text = list_file.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise DatasetFileError(
                    list_file, f"line {number}: expected 'image annotation' (2 paths); "
                               f"got {len(fields)} fields: {line.strip()!r}")
            # Paths come from another machine (maybe Windows): keep the file names only.
            names.append(tuple(re.split(r"[\\/]", f)[-1] for f in fields))
        return names

    @classmethod
    def available_splits(cls, root) -> list[str]:
        """Splits whose image folder exists under `root`, in :attr:`SPLITS` order."""
        root = Path(root)
        return [s for s in cls.SPLITS if (root / s).is_dir()]

    def files(self, index: int) -> list[Path]:
        """``[image .png, annotation .png]`` of sample `index`."""
        return list(self._pairs[index])

    def load(self, index: int) -> Sample:
        """Read sample `index`: RGB frame and int64 mask with void as 255."""
        image_path, mask_path = self._pairs[index]
        image = read_image(image_path)
        mask = read_label_png(mask_path)
        mask[mask == CAMVID_VOID] = IGNORE_INDEX
        return Sample(self.ids[index], image, mask=mask)
