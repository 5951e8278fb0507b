"""Reader for the Berkeley Segmentation Data Set 500 (BSDS500)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._base import DatasetFileError, Sample, SegmentationDataset, _natural_key, read_image
from ._roots import resolve_root

__all__ = ["BSDS500", "read_bsds_ground_truth"]


def read_bsds_ground_truth(path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Read a BSDS500 ground-truth ``.mat`` file: every annotator's labels and boundaries.

    Parameters
    ----------
    path : path-like
        A MATLAB v5 file whose variable ``groundTruth`` is a 1xN cell array of structs
        with fields ``Segmentation`` (uint16 labels from 1) and ``Boundaries`` (binary).

    Returns
    -------
    partitions : list of ndarray of int32, shape (H, W)
        One per annotator, labels as stored (from 1).
    boundaries : list of ndarray of bool, shape (H, W)
        One per annotator, in the same order.

    Raises
    ------
    DatasetFileError
        If the file is missing, is not a readable MATLAB v5 file, or lacks the
        ``groundTruth`` cell and its fields; the message names the file.
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "file not found")
    try:
        contents = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - loadmat raises a zoo of types on bad input
        raise DatasetFileError(
            path, f"cannot read MATLAB file ({type(exc).__name__}: {exc})") from exc
    if "groundTruth" not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise DatasetFileError(path, f"no variable 'groundTruth' (found {found})")
    cells = np.asarray(contents["groundTruth"])
    if cells.dtype != object or cells.size == 0:
        raise DatasetFileError(
            path, f"'groundTruth' must be a non-empty cell array; got {cells.dtype} "
                  f"with shape {cells.shape}")
    partitions, boundaries = [], []
    for k, entry in enumerate(cells.ravel()):
        fields = getattr(np.asarray(entry).dtype, "names", None) or ()
        missing = [f for f in ("Segmentation", "Boundaries") if f not in fields]
        if missing:
            raise DatasetFileError(
                path, f"annotator {k} has no field {missing[0]!r} (fields: {list(fields)})")
        segmentation = np.asarray(np.asarray(entry["Segmentation"]).ravel()[0])
        boundary = np.asarray(np.asarray(entry["Boundaries"]).ravel()[0])
        if segmentation.ndim != 2 or boundary.shape != segmentation.shape:
            raise DatasetFileError(
                path, f"annotator {k}: Segmentation {segmentation.shape} and Boundaries "
                      f"{boundary.shape} must be equal 2-D shapes")
        partitions.append(segmentation.astype(np.int32))
        boundaries.append(boundary.astype(bool))
    return partitions, boundaries


class BSDS500(SegmentationDataset):
    """The BSDS500 natural images with several human region annotations each.

    Arbeláez, Maire, Fowlkes, Malik, "Contour Detection and Hierarchical Image
    Segmentation", TPAMI 2011.

    Parameters
    ----------
    root : path-like, optional
        The ``BSDS500`` folder (holding ``data/images/<split>/*.jpg`` and
        ``data/groundTruth/<split>/*.mat``). Default: found by
        :func:`~benchmarks.datasets.resolve_root` (``$SEGBENCH_DATA`` or ``./data``).
    split : {"val", "train", "test", "bench_sample"}, optional
        ``"test"`` only where its folder exists; ``"bench_sample"`` reads the 5 images
        shipped with the official benchmark code, in ``root/bench_sample/{images,
        groundTruth}``.

    Raises
    ------
    ValueError
        If `split` is not one of the names above.
    FileNotFoundError
        If the dataset or the split's image folder is missing (the message lists the
        splits present).
    DatasetFileError
        If the split's image folder holds no ``.jpg`` files.

    Notes
    -----
    Conventions at the boundary: ``Sample.mask`` is None (no classes; ``task`` is
    ``"regions"``); ``Sample.partitions`` holds every annotator's ``Segmentation`` as
    int32, **kept as stored**, labels from 1 (so no pixel has the "unlabelled" label 0).
    The boundary maps are read on request by :meth:`boundaries`. Sample ids are the file
    stems (``"2018"``), in numeric order.
    """

    name = "bsds500"
    task = "regions"
    classes = None
    #: Every split name the reader knows; :meth:`available_splits` gives those present.
    SPLITS = ("train", "val", "test", "bench_sample")
    DEFAULT_SPLIT = "val"

    def __init__(self, root=None, split: str = "val"):
        if not isinstance(split, str) or split not in self.SPLITS:
            raise ValueError(
                f"split must be one of {', '.join(self.SPLITS)} for BSDS500; got {split!r}.")
        self.root = resolve_root(self.name, root)
        self.split = split
        self.image_dir, self.ground_truth_dir = self._split_dirs(self.root, split)
        if not self.image_dir.is_dir():
            present = self.available_splits(self.root)
            raise FileNotFoundError(
                f"BSDS500 split {split!r} not found: no folder {self.image_dir}. Splits "
                f"present in {self.root}: {', '.join(present) if present else 'none'}."
            )
        images = [p for p in self.image_dir.iterdir()
                  if p.suffix.lower() == ".jpg" and not p.name.startswith(".")]
        if not images:
            raise DatasetFileError(self.image_dir, "no .jpg images in this folder")
        images.sort(key=lambda p: _natural_key(p.stem))
        self._images = images
        self.ids = [p.stem for p in images]

    @staticmethod
    def _split_dirs(root: Path, split: str) -> tuple[Path, Path]:
        if split == "bench_sample":
            return root / "bench_sample" / "images", root / "bench_sample" / "groundTruth"
        return root / "data" / "images" / split, root / "data" / "groundTruth" / split

    @classmethod
    def available_splits(cls, root) -> list[str]:
        """Splits whose image folder exists under `root`, in :attr:`SPLITS` order."""
        root = Path(root)
        return [s for s in cls.SPLITS if cls._split_dirs(root, s)[0].is_dir()]

    def files(self, index: int) -> list[Path]:
        """``[image .jpg, groundTruth .mat]`` of sample `index`."""
        image = self._images[index]
        return [image, self.ground_truth_dir / f"{image.stem}.mat"]

    def load(self, index: int) -> Sample:
        """Read sample `index`: the RGB image and every annotator's partition."""
        image_path, mat_path = self.files(index)
        image = read_image(image_path)
        partitions, _ = read_bsds_ground_truth(mat_path)
        return Sample(self.ids[index], image, mask=None, partitions=partitions)

    def boundaries(self, index: int) -> list[np.ndarray]:
        """Every annotator's boundary map of sample `index`.

        Returns
        -------
        list of ndarray of bool, shape (H, W)
            One per annotator, in the order of ``load(index).partitions``.

        Raises
        ------
        DatasetFileError
            If the ground-truth file is missing or unreadable.
        """
        return read_bsds_ground_truth(self.files(index)[1])[1]
