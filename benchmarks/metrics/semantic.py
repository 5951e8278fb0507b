"""Semantic segmentation metrics from one confusion matrix: accumulate, then reduce.

:class:`ConfusionMatrix` accumulates an ``(n, n)`` int64 table (rows = ground truth,
columns = prediction) with one ``bincount`` of ``n * target + pred`` per update, over
NumPy arrays or torch tensors alike (tensors stay on their device until the small
table is made). Accumulators merge (``a + b``), so workers can score shards and add.
The reductions are plain functions of the table:

=====================  ===============================================================
pixel accuracy         ``trace / total``
class accuracy         per-class recall ``diag / row sum``; mean over classes
IoU                    ``diag / (row + col - diag)``; mean IoU; frequency-weighted IoU
Dice / F1              ``2 diag / (row + col)``; mean Dice
=====================  ===============================================================

**Absent classes.** A class with no pixels in the ground truth *and* none in the
prediction has an undefined IoU/Dice (0/0); a class with no ground-truth pixels has an
undefined recall. ``absent="nan"`` (default) leaves those classes out of the means, as
FCN's ``score.py``, torchvision's reference scripts and mmsegmentation do;
``absent="zero"`` counts them as 0 and divides by ``num_classes``, as SegNet's test
script does. Dataset scores are computed from the summed table, never by averaging
per-image scores (that is :func:`per_image_miou`, reported under its own name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from classical._validate import IGNORE_INDEX, check_int

__all__ = [
    "ConfusionMatrix",
    "SemanticScores",
    "confusion_matrix",
    "pixel_accuracy",
    "class_accuracy",
    "mean_class_accuracy",
    "iou",
    "mean_iou",
    "frequency_weighted_iou",
    "dice",
    "mean_dice",
    "per_image_miou",
    "semantic_scores",
]

_ABSENT = ("nan", "zero")


def _is_torch(x) -> bool:
    return type(x).__module__.split(".", 1)[0] == "torch"


def _check_absent(absent: str) -> str:
    if absent not in _ABSENT:
        raise ValueError(f"absent must be 'nan' or 'zero'; got {absent!r}.")
    return absent


def _check_matrix(matrix, name: str = "matrix") -> np.ndarray:
    if isinstance(matrix, ConfusionMatrix):
        return matrix.matrix
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"{name} must be a square (num_classes, num_classes) table; "
                         f"got shape {m.shape}.")
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise TypeError(f"{name} must hold counts; got dtype {m.dtype}.")
    if (m < 0).any():
        raise ValueError(f"{name} holds negative counts; a confusion matrix counts pixels.")
    return m


def _kind(x, name: str):
    """'numpy' or 'torch' for a label array; TypeError for anything else."""
    if _is_torch(x):
        if x.is_floating_point() or x.is_complex():
            raise TypeError(f"{name} must hold integer class indices; got dtype {x.dtype}. "
                            f"For scores or logits (N, C, H, W), pass {name}.argmax(1).")
        return "torch"
    if isinstance(x, np.ndarray):
        if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
            raise TypeError(f"{name} must hold integer class indices; got dtype {x.dtype}. "
                            f"For scores (H, W, C), pass {name}.argmax(-1).")
        return "numpy"
    raise TypeError(f"{name} must be a numpy array or a torch tensor; got {type(x).__name__}.")


class ConfusionMatrix:
    """Accumulator of an ``(n, n)`` confusion matrix (rows = truth, cols = prediction).

    Parameters
    ----------
    num_classes : int
        Number of classes ``n``; valid labels are ``0..n-1``.
    ignore_index : int, optional
        Ground-truth value of void pixels (the suite's 255). Void pixels, and ground-truth
        values outside ``0..n-1``, are dropped (as torchvision's reference code does).
    keep_per_image : bool, optional
        Also keep one matrix per image (per 2-D update, or per item of an (N, H, W)
        batch), for :func:`per_image_miou`.

    Attributes
    ----------
    matrix : ndarray of int64, shape (n, n)
        The accumulated table.
    per_image : list of ndarray of int64, shape (n, n)
        Per-image tables (empty unless `keep_per_image`).

    Examples
    --------
    >>> cm = ConfusionMatrix(3)
    >>> cm.update(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [2, 255]]))
    ConfusionMatrix(num_classes=3, pixels=3)
    >>> cm.mean_iou()
    1.0
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX,
                 keep_per_image: bool = False):
        self.num_classes = check_int(num_classes, "num_classes", minimum=1)
        self.ignore_index = check_int(ignore_index, "ignore_index")
        self.keep_per_image = bool(keep_per_image)
        self._matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.per_image: list[np.ndarray] = []

    # ---- accumulate --------------------------------------------------------------
    @property
    def matrix(self) -> np.ndarray:
        """The accumulated (n, n) int64 table (a read-only view)."""
        view = self._matrix.view()
        view.flags.writeable = False
        return view

    def __repr__(self) -> str:
        return (f"ConfusionMatrix(num_classes={self.num_classes}, "
                f"pixels={int(self._matrix.sum())})")

    def reset(self) -> None:
        """Zero the table and drop per-image tables."""
        self._matrix[:] = 0
        self.per_image = []

    def update(self, pred, target) -> "ConfusionMatrix":
        """Add one image (H, W) or a batch (N, H, W) of predictions and ground truth.

        Parameters
        ----------
        pred : ndarray or torch.Tensor of int
            Predicted class per pixel, ``0..n-1`` wherever `target` is valid.
        target : ndarray or torch.Tensor of int, same shape
            Ground truth; `ignore_index` (and out-of-range values) are dropped.

        Returns
        -------
        self : ConfusionMatrix

        Raises
        ------
        TypeError
            If an input is not an integer array / tensor (e.g. logits).
        ValueError
            If the shapes differ, or `pred` has a value outside ``0..n-1`` at a pixel
            where `target` is valid.
        """
        kp, kt = _kind(pred, "pred"), _kind(target, "target")
        if tuple(pred.shape) != tuple(target.shape):
            hint = ""
            if len(pred.shape) == len(target.shape) + 1:
                hint = " If pred holds per-class scores, pass pred.argmax(1) (or argmax(-1))."
            raise ValueError(f"pred and target must have the same shape; got "
                             f"{tuple(pred.shape)} and {tuple(target.shape)}.{hint}")
        if kp != kt:  # mixed: bring the NumPy side to torch without copying when possible
            import torch

            if kp == "numpy":
                pred = torch.as_tensor(pred, device=target.device)
            else:
                target = torch.as_tensor(target, device=pred.device)
            kp = kt = "torch"
        per_image = self.keep_per_image and len(pred.shape) >= 3
        if kp == "torch":
            table = self._update_torch(pred, target, per_image)
        else:
            table = self._update_numpy(pred, target, per_image)
        n = self.num_classes
        if per_image:
            table = table.reshape(-1, n, n)
            self._matrix += table.sum(axis=0)
            self.per_image.extend(list(table))
        else:
            table = table.reshape(n, n)
            self._matrix += table
            if self.keep_per_image:
                self.per_image.append(table)
        return self

    def _bad_pred(self, value, count) -> ValueError:
        n = self.num_classes
        return ValueError(
            f"pred has label {value} outside 0..{n - 1} (num_classes={n}) at {count} "
            f"pixels where target is valid; predictions must be class indices.")

    def _update_numpy(self, pred: np.ndarray, target: np.ndarray, per_image: bool) -> np.ndarray:
        n = self.num_classes
        valid = (target >= 0) & (target < n)
        if 0 <= self.ignore_index < n:
            valid &= target != self.ignore_index
        t = target[valid].astype(np.int64)
        p = pred[valid].astype(np.int64)
        if p.size and (p.min() < 0 or p.max() >= n):
            bad = (p < 0) | (p >= n)
            raise self._bad_pred(int(p[bad][0]), int(np.count_nonzero(bad)))
        key = n * t + p
        if per_image:
            m = target.shape[0]
            image = np.nonzero(valid)[0]  # batch index of every kept pixel
            return np.bincount(key + (n * n) * image, minlength=m * n * n)
        return np.bincount(key, minlength=n * n)

    def _update_torch(self, pred, target, per_image: bool) -> np.ndarray:
        import torch

        n = self.num_classes
        valid = (target >= 0) & (target < n)
        if 0 <= self.ignore_index < n:
            valid &= target != self.ignore_index
        # No boolean-mask gathers (the slow part of the usual recipe): invalid pixels
        # go to one spare bin that is dropped afterwards.
        lo, hi = torch.aminmax(pred)
        if int(lo) < 0 or int(hi) >= n:  # only then look for out-of-range at valid pixels
            p = pred[valid]
            bad = (p < 0) | (p >= n)
            if bool(bad.any()):
                raise self._bad_pred(int(p[bad][0]), int(bad.sum()))
        size = n * n
        key = n * target.long() + pred.long()
        if per_image:
            m = target.shape[0]
            offsets = size * torch.arange(m, device=key.device).view(-1, *([1] * (key.dim() - 1)))
            key = key + offsets
            size *= m
        key = torch.where(valid, key, size)
        counts = torch.bincount(key.reshape(-1), minlength=size + 1)[:size]
        return counts.cpu().numpy().astype(np.int64, copy=False)

    @classmethod
    def from_matrix(cls, matrix, ignore_index: int = IGNORE_INDEX) -> "ConfusionMatrix":
        """An accumulator holding a finished (n, n) table, e.g. one summed across ranks.

        Raises
        ------
        ValueError
            If `matrix` is not a square table of non-negative whole-number counts.
        """
        table = _check_matrix(matrix)
        if not np.array_equal(table, np.round(table)):
            raise ValueError("matrix must hold whole-number pixel counts.")
        out = cls(table.shape[0], ignore_index)
        out._matrix += table.astype(np.int64)
        return out

    # ---- merge -------------------------------------------------------------------
    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """A new accumulator holding both tables (and both per-image lists, self's first).

        Raises
        ------
        TypeError
            If `other` is not a ConfusionMatrix.
        ValueError
            If `num_classes` or `ignore_index` differ.
        """
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"other must be a ConfusionMatrix; got {type(other).__name__}.")
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                "cannot merge confusion matrices with different settings: "
                f"num_classes {self.num_classes} vs {other.num_classes}, ignore_index "
                f"{self.ignore_index} vs {other.ignore_index}.")
        out = ConfusionMatrix(self.num_classes, self.ignore_index,
                              self.keep_per_image or other.keep_per_image)
        out._matrix = self._matrix + other._matrix
        out.per_image = list(self.per_image) + list(other.per_image)
        return out

    def __add__(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        return self.merge(other)

    # ---- reduce ------------------------------------------------------------------
    def pixel_accuracy(self) -> float:
        """See :func:`pixel_accuracy`."""
        return pixel_accuracy(self._matrix)

    def class_accuracy(self, absent: str = "nan") -> np.ndarray:
        """See :func:`class_accuracy`."""
        return class_accuracy(self._matrix, absent)

    def mean_class_accuracy(self, absent: str = "nan") -> float:
        """See :func:`mean_class_accuracy`."""
        return mean_class_accuracy(self._matrix, absent)

    def iou(self, absent: str = "nan") -> np.ndarray:
        """See :func:`iou`."""
        return iou(self._matrix, absent)

    def mean_iou(self, absent: str = "nan") -> float:
        """See :func:`mean_iou`."""
        return mean_iou(self._matrix, absent)

    def frequency_weighted_iou(self) -> float:
        """See :func:`frequency_weighted_iou`."""
        return frequency_weighted_iou(self._matrix)

    def dice(self, absent: str = "nan") -> np.ndarray:
        """See :func:`dice`."""
        return dice(self._matrix, absent)

    def mean_dice(self, absent: str = "nan") -> float:
        """See :func:`mean_dice`."""
        return mean_dice(self._matrix, absent)

    def per_image_miou(self, absent: str = "nan") -> np.ndarray:
        """See :func:`per_image_miou`; needs ``keep_per_image=True``."""
        if not self.keep_per_image:
            raise ValueError("per-image tables were not kept; create the ConfusionMatrix "
                             "with keep_per_image=True.")
        return per_image_miou(self.per_image, absent)

    def scores(self, absent: str = "nan",
               class_names: Sequence[str] | None = None) -> "SemanticScores":
        """All dataset scores at once; see :func:`semantic_scores`."""
        return semantic_scores(self._matrix, absent, class_names)


def confusion_matrix(pred, target, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """The (n, n) int64 confusion matrix of one prediction (rows = truth).

    Shorthand for ``ConfusionMatrix(num_classes, ignore_index).update(pred, target).matrix``;
    see :meth:`ConfusionMatrix.update` for the parameters and errors.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    return ConfusionMatrix(num_classes, ignore_index).update(pred, target)._matrix.copy()


def _ratio(num: np.ndarray, den: np.ndarray, absent: str) -> np.ndarray:
    """num / den with 0/0 -> NaN ("nan") or 0 ("zero")."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.full(num.shape, np.nan if absent == "nan" else 0.0)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _mean(values: np.ndarray, absent: str) -> float:
    if absent == "zero":
        return float(values.mean())
    present = ~np.isnan(values)
    return float(values[present].mean()) if present.any() else float("nan")


def pixel_accuracy(matrix) -> float:
    """Fraction of scored pixels predicted correctly: ``trace / total``.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Confusion matrix (rows = truth), or a :class:`ConfusionMatrix`.

    Returns
    -------
    accuracy : float
        NaN when the table is empty.

    Raises
    ------
    ValueError
        If `matrix` is not square or holds negative counts.
    """
    m = _check_matrix(matrix)
    total = m.sum()
    return float(np.trace(m) / total) if total > 0 else float("nan")


def class_accuracy(matrix, absent: str = "nan") -> np.ndarray:
    """Per-class accuracy (recall): ``diag / row sum``.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Confusion matrix (rows = truth), or a :class:`ConfusionMatrix`.
    absent : {"nan", "zero"}, optional
        Value for classes without ground-truth pixels.

    Returns
    -------
    accuracy : ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        On a bad `matrix` or `absent`.
    """
    absent = _check_absent(absent)
    m = _check_matrix(matrix)
    return _ratio(np.diag(m), m.sum(axis=1), absent)


def mean_class_accuracy(matrix, absent: str = "nan") -> float:
    """Class-average accuracy: mean of :func:`class_accuracy`.

    With ``absent="nan"`` classes without ground-truth pixels are left out; with
    ``"zero"`` they count as 0 and the sum is divided by ``n``.
    """
    return _mean(class_accuracy(matrix, absent), absent)


def iou(matrix, absent: str = "nan") -> np.ndarray:
    """Per-class intersection over union (Jaccard): ``diag / (row + col - diag)``.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Confusion matrix (rows = truth), or a :class:`ConfusionMatrix`.
    absent : {"nan", "zero"}, optional
        Value for classes absent from both truth and prediction.

    Returns
    -------
    iou : ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        On a bad `matrix` or `absent`.

    References
    ----------
    .. [1] M. Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge",
       IJCV 88(2), 2010.
    """
    absent = _check_absent(absent)
    m = _check_matrix(matrix)
    d = np.diag(m)
    return _ratio(d, m.sum(axis=1) + m.sum(axis=0) - d, absent)


def mean_iou(matrix, absent: str = "nan") -> float:
    """Mean IoU over classes (``absent`` as in :func:`iou`; "zero" divides by ``n``).

    Examples
    --------
    >>> mean_iou(np.array([[3, 1], [0, 2]]))
    0.7083333333333333
    """
    return _mean(iou(matrix, absent), absent)


def frequency_weighted_iou(matrix) -> float:
    """IoU weighted by each class's ground-truth frequency (FCN's ``fwavacc``).

    ``sum_c (row_c / total) IoU_c`` over classes with ground-truth pixels.

    References
    ----------
    .. [1] J. Long, E. Shelhamer, T. Darrell, "Fully Convolutional Networks for Semantic
       Segmentation", CVPR 2015.
    """
    m = _check_matrix(matrix)
    total = m.sum()
    if total == 0:
        return float("nan")
    freq = m.sum(axis=1) / total
    values = iou(m, "zero")
    return float((freq * values)[freq > 0].sum())


def dice(matrix, absent: str = "nan") -> np.ndarray:
    """Per-class Dice coefficient (F1): ``2 diag / (row + col)``.

    ``absent`` sets the value for classes absent from both truth and prediction.
    """
    absent = _check_absent(absent)
    m = _check_matrix(matrix)
    return _ratio(2 * np.diag(m), m.sum(axis=1) + m.sum(axis=0), absent)


def mean_dice(matrix, absent: str = "nan") -> float:
    """Mean of :func:`dice` over classes (``absent`` as there)."""
    return _mean(dice(matrix, absent), absent)


def per_image_miou(matrices, absent: str = "nan") -> np.ndarray:
    """Mean IoU of each image on its own (not the dataset mIoU).

    Averaging this over images weights small images and rare classes differently from
    the dataset mIoU; report it under this name only.

    Parameters
    ----------
    matrices : ConfusionMatrix, sequence of ndarray (n, n), or ndarray (N, n, n)
        Per-image tables (a ConfusionMatrix made with ``keep_per_image=True``).
    absent : {"nan", "zero"}, optional
        As in :func:`iou`.

    Returns
    -------
    miou : ndarray of float64, shape (N,)
    """
    if isinstance(matrices, ConfusionMatrix):
        return matrices.per_image_miou(absent)
    _check_absent(absent)
    return np.array([mean_iou(m, absent) for m in matrices], dtype=np.float64)


@dataclass(frozen=True)
class SemanticScores:
    """Dataset-level semantic scores from one confusion matrix.

    Attributes
    ----------
    pixel_accuracy, mean_class_accuracy, mean_iou, frequency_weighted_iou, mean_dice : float
    class_accuracy, iou, dice : tuple of float
        Per class (NaN for absent classes under ``absent="nan"``).
    class_names : tuple of str
    absent : str
        The absent-class policy used.
    pixels : int
        Number of scored pixels.
    """

    pixel_accuracy: float
    mean_class_accuracy: float
    mean_iou: float
    frequency_weighted_iou: float
    mean_dice: float
    class_accuracy: tuple[float, ...]
    iou: tuple[float, ...]
    dice: tuple[float, ...]
    class_names: tuple[str, ...]
    absent: str
    pixels: int

    def as_dict(self) -> dict[str, float]:
        """Flat dict: the summary scores, then ``iou/<class>`` and ``acc/<class>``."""
        out: dict[str, float] = {
            "pixel_accuracy": self.pixel_accuracy,
            "mean_class_accuracy": self.mean_class_accuracy,
            "mean_iou": self.mean_iou,
            "frequency_weighted_iou": self.frequency_weighted_iou,
            "mean_dice": self.mean_dice,
        }
        for name, value in zip(self.class_names, self.iou):
            out[f"iou/{name}"] = value
        for name, value in zip(self.class_names, self.class_accuracy):
            out[f"acc/{name}"] = value
        return out


def semantic_scores(matrix, absent: str = "nan",
                    class_names: Sequence[str] | None = None) -> SemanticScores:
    """Every dataset score of a confusion matrix in one :class:`SemanticScores`.

    Parameters
    ----------
    matrix : array_like, shape (n, n), or ConfusionMatrix
    absent : {"nan", "zero"}, optional
        Absent-class policy (see the module docstring).
    class_names : sequence of str, optional
        n names; default ``"0".."n-1"``.

    Returns
    -------
    SemanticScores

    Raises
    ------
    ValueError
        On a bad `matrix`, `absent`, or a wrong number of `class_names`.
    """
    m = _check_matrix(matrix)
    absent = _check_absent(absent)
    n = m.shape[0]
    names = tuple(str(c) for c in (class_names if class_names is not None else range(n)))
    if len(names) != n:
        raise ValueError(f"class_names must have {n} entries (num_classes); got {len(names)}.")
    acc, jac, dsc = class_accuracy(m, absent), iou(m, absent), dice(m, absent)
    return SemanticScores(
        pixel_accuracy=pixel_accuracy(m),
        mean_class_accuracy=_mean(acc, absent),
        mean_iou=_mean(jac, absent),
        frequency_weighted_iou=frequency_weighted_iou(m),
        mean_dice=_mean(dsc, absent),
        class_accuracy=tuple(acc.tolist()),
        iou=tuple(jac.tolist()),
        dice=tuple(dsc.tolist()),
        class_names=names,
        absent=absent,
        pixels=int(m.sum()),
    )
