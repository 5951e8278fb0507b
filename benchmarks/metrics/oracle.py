"""Oracle labelling: the best scores an over-segmentation allows (an upper bound).

Unsupervised methods output regions, not classes. To put them on the semantic scale,
each region takes the ground-truth class most of its pixels carry (its *majority*
class); the result is an upper bound on what any region classifier could reach with
those regions, and reports must mark it as such. The same idea on region ground truth
gives the *achievable* covering and the achievable segmentation accuracy (ASA): each
region joins the ground-truth region it overlaps most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classical._validate import IGNORE_INDEX, check_int
from benchmarks.metrics.region import _as_int_labels, _compact, segmentation_covering
from benchmarks.metrics.semantic import ConfusionMatrix

__all__ = ["OracleScores", "oracle_labels", "oracle_partition", "oracle_scores"]


def _majority(region: np.ndarray, n_regions: int, values: np.ndarray, valid: np.ndarray,
              n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Per region: its most frequent value among valid pixels and that count."""
    table = np.bincount(region[valid] * n_values + values[valid],
                        minlength=n_regions * n_values).reshape(n_regions, n_values)
    best = table.argmax(axis=1)
    return best, table[np.arange(n_regions), best]


def oracle_labels(labels, mask, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Give each region of `labels` the majority ground-truth class of its pixels.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation (any integers).
    mask : ndarray of int, shape (H, W)
        Ground-truth classes ``>= 0``; `ignore_index` marks void pixels, which do not
        vote.
    ignore_index : int, optional
        Void value (255).

    Returns
    -------
    oracle : ndarray of int64, shape (H, W)
        The majority class of each pixel's region; `ignore_index` for regions made only
        of void pixels. Ties go to the smallest class index.

    Raises
    ------
    ValueError
        On mismatched shapes or negative classes in `mask`.
    TypeError
        If an input is not an integer array.

    Examples
    --------
    >>> labels = np.array([[0, 0, 0, 1]])
    >>> mask = np.array([[2, 2, 1, 255]])
    >>> oracle_labels(labels, mask).tolist()
    [[2, 2, 2, 255]]
    """
    mask = _as_int_labels(mask, "mask")
    labels = _as_int_labels(labels, "labels", mask.shape, "mask")
    ignore_index = check_int(ignore_index, "ignore_index")
    region, n_regions = _compact(labels)
    classes = mask.astype(np.int64)
    valid = classes != ignore_index
    if (classes[valid] < 0).any():
        raise ValueError(f"mask has negative class {int(classes[valid].min())}; classes are "
                         f"0.. with {ignore_index} for void pixels.")
    if not valid.any():
        return np.full(mask.shape, ignore_index, dtype=np.int64)
    n_values = int(classes[valid].max()) + 1
    best, count = _majority(region, n_regions, classes, valid, n_values)
    best = np.where(count > 0, best, ignore_index)
    return best[region]


def oracle_partition(labels, partition) -> np.ndarray:
    """Merge the regions of `labels` by the ground-truth region each overlaps most.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation (any integers).
    partition : ndarray of int, shape (H, W)
        Region ground truth; 0 = unlabelled (does not vote).

    Returns
    -------
    merged : ndarray of int64, shape (H, W)
        The winning ground-truth label of each pixel's region (0 for regions with no
        labelled pixel).

    Raises
    ------
    ValueError
        On mismatched shapes or negative labels in `partition`.
    """
    partition = _as_int_labels(partition, "partition")
    labels = _as_int_labels(labels, "labels", partition.shape, "partition")
    if partition.min() < 0:
        raise ValueError(f"partition has negative label {int(partition.min())}; labels are "
                         "1.. with 0 for unlabelled pixels.")
    region, n_regions = _compact(labels)
    gt = partition.astype(np.int64)
    valid = gt > 0
    if not valid.any():
        return np.zeros(partition.shape, dtype=np.int64)
    best, count = _majority(region, n_regions, gt, valid, int(gt.max()) + 1)
    return np.where(count > 0, best, 0)[region]


@dataclass(frozen=True)
class OracleScores:
    """Upper bounds reachable from one over-segmentation.

    Attributes
    ----------
    mean_iou, pixel_accuracy : float
        Of :func:`oracle_labels` against the mask (NaN without a mask).
    covering : float
        Covering of the region ground truth by :func:`oracle_partition`.
    asa : float
        Achievable segmentation accuracy: fraction of labelled ground-truth pixels
        inside their region's majority ground-truth region.
    n_regions : int
        Number of regions in the segmentation.
    """

    mean_iou: float
    pixel_accuracy: float
    covering: float
    asa: float
    n_regions: int

    def as_dict(self) -> dict[str, float]:
        """Flat dict with ``oracle_`` prefixes (these are upper bounds)."""
        return {"oracle_mean_iou": self.mean_iou, "oracle_pixel_accuracy": self.pixel_accuracy,
                "oracle_covering": self.covering, "oracle_asa": self.asa,
                "n_regions": float(self.n_regions)}


def oracle_scores(labels, mask=None, *, num_classes: int | None = None, partition=None,
                  ignore_index: int = IGNORE_INDEX) -> OracleScores:
    """Best IoU / covering an over-segmentation allows, by majority (oracle) labelling.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation (any integers).
    mask : ndarray of int, shape (H, W), optional
        Semantic ground truth (`ignore_index` = void). Needed for the IoU scores.
    num_classes : int, optional
        Number of classes of `mask`; default ``max class + 1``.
    partition : ndarray of int, shape (H, W), optional
        Region ground truth (0 = unlabelled); default the 8-connected components of
        `mask` (:func:`benchmarks.datasets._base.mask_to_partition`).
    ignore_index : int, optional
        Void value of `mask`.

    Returns
    -------
    OracleScores

    Raises
    ------
    ValueError
        If neither `mask` nor `partition` is given, or on bad shapes / labels.

    References
    ----------
    .. [1] M.-Y. Liu, O. Tuzel, S. Ramalingam, R. Chellappa, "Entropy rate superpixel
       segmentation", CVPR 2011 (achievable segmentation accuracy).

    Examples
    --------
    >>> mask = np.array([[0, 0, 1, 1]])
    >>> s = oracle_scores(np.array([[5, 5, 6, 6]]), mask)
    >>> s.mean_iou, s.covering, s.asa
    (1.0, 1.0, 1.0)
    """
    if mask is None and partition is None:
        raise ValueError("give mask (semantic ground truth) or partition (region ground "
                         "truth), or both.")
    labels = _as_int_labels(labels, "labels")
    region, n_regions = _compact(labels)
    miou = acc = float("nan")
    if mask is not None:
        mask = _as_int_labels(mask, "mask", labels.shape, "labels")
        oracle = oracle_labels(labels, mask, ignore_index)
        valid = mask != ignore_index
        if num_classes is None:
            num_classes = int(mask[valid].max()) + 1 if valid.any() else 1
        cm = ConfusionMatrix(num_classes, ignore_index).update(
            np.where(valid, oracle, 0), mask)
        miou, acc = cm.mean_iou(), cm.pixel_accuracy()
        if partition is None:
            from benchmarks.datasets._base import mask_to_partition

            partition = mask_to_partition(mask, ignore_index)
    partition = _as_int_labels(partition, "partition", labels.shape, "labels")
    merged = oracle_partition(labels, partition)
    gt = partition.astype(np.int64)
    valid = gt > 0
    if not valid.any():
        raise ValueError("partition has no labelled pixels (all 0).")
    _, count = _majority(region, n_regions, gt, valid, int(gt.max()) + 1)
    return OracleScores(
        mean_iou=miou, pixel_accuracy=acc,
        covering=segmentation_covering(merged, partition),
        asa=float(count.sum() / valid.sum()),
        n_regions=n_regions,
    )
