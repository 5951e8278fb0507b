"""The BSDS500 boundary benchmark: precision/recall of boundaries, as the official code.

Faithful to the official MATLAB benchmark (``bench/benchmarks``):

- :func:`seg_to_boundary` is ``seg2bdry(seg, 'imageSize')``;
- :func:`evaluate_boundaries_image` is ``evaluation_bdry_image.m``: at every threshold
  the machine boundary map is thresholded (``pb >= t``; a ucm2 is read at
  ``ucm2(3:2:end, 3:2:end)``; segmentation k gives ``seg2bdry(segs{k})``), thinned
  (``bwmorph(bmap, 'thin', inf)``) and matched one-to-one against every annotator's
  boundaries within ``max_dist`` times the image diagonal (``correspondPixels``, see
  :mod:`benchmarks.metrics._correspond`). Recall counts the matched human pixels over
  annotators, precision the machine pixels matched to any annotator;
- :func:`collect_boundaries` is ``collect_eval_bdry.m``: dataset precision/recall per
  threshold, ODS (best F over the dataset, interpolated between thresholds), OIS (best
  threshold per image) and AP (area under the interpolated precision/recall curve);
- :func:`write_boundary_files` writes ``eval_bdry.txt``, ``eval_bdry_img.txt`` and
  ``eval_bdry_thr.txt`` in the official layout and ``%10g`` format.

The official matcher is randomised (its outlier graph is sparse and random), so two
official runs on the same inputs differ by a few 1e-4; this implementation solves the
same assignment problem exactly and deterministically. On the official 5-image sample
it lands within 5e-4 of the official summaries and 1.3e-3 of the per-image numbers
(its recall is about 2e-4 higher: the official matcher misses a few pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from numba import njit

from classical._validate import check_int, check_real
from benchmarks.metrics._correspond import BoundaryMatcher
from benchmarks.metrics._official import round10g, write_official_txt
from benchmarks.metrics.region import region_thresholds

__all__ = [
    "BoundaryImage",
    "BoundaryResult",
    "boundary_thresholds",
    "collect_boundaries",
    "evaluate_boundaries_image",
    "seg_to_boundary",
    "thin_boundary",
    "write_boundary_files",
]

_KINDS = ("pb", "ucm", "segs")


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BoundaryImage:
    """Per-image boundary counts at every threshold (``evaluation_bdry_image.m``).

    Attributes
    ----------
    thresholds : ndarray of float64, shape (T,)
        Map thresholds, or ``1..K`` (the segmentation's index) for a sweep of
        segmentations.
    cntR, sumR : ndarray of int64, shape (T,)
        Matched human boundary pixels and all human boundary pixels, summed over
        annotators: recall is ``cntR / sumR``.
    cntP, sumP : ndarray of int64, shape (T,)
        Machine boundary pixels matched to some annotator, and all machine boundary
        pixels (after thinning): precision is ``cntP / sumP``.
    """

    thresholds: np.ndarray
    cntR: np.ndarray
    sumR: np.ndarray
    cntP: np.ndarray
    sumP: np.ndarray

    def __post_init__(self) -> None:
        thresholds = np.atleast_1d(np.asarray(self.thresholds, dtype=np.float64))
        if thresholds.ndim != 1:
            raise ValueError(f"thresholds must be 1-D; got shape {thresholds.shape}.")
        object.__setattr__(self, "thresholds", thresholds)
        for name in ("cntR", "sumR", "cntP", "sumP"):
            values = np.atleast_1d(np.asarray(getattr(self, name)))
            if values.shape != thresholds.shape:
                raise ValueError(f"{name} must have shape {thresholds.shape} like thresholds; "
                                 f"got {values.shape}.")
            object.__setattr__(self, name, values.astype(np.int64))

    @property
    def recall(self) -> np.ndarray:
        """(T,) recall at every threshold (0 where there is no human boundary)."""
        return self.cntR / (self.sumR + (self.sumR == 0))

    @property
    def precision(self) -> np.ndarray:
        """(T,) precision at every threshold (0 where there is no machine boundary)."""
        return self.cntP / (self.sumP + (self.sumP == 0))

    @property
    def f(self) -> np.ndarray:
        """(T,) F-measure (harmonic mean of precision and recall) at every threshold."""
        return _fmeasure(self.recall, self.precision)


@dataclass(frozen=True, eq=False)
class BoundaryResult:
    """Dataset-level boundary scores, as ``collect_eval_bdry.m`` computes them.

    ODS ("optimal dataset scale"): one threshold for the whole dataset, interpolated
    between the evaluated thresholds. OIS ("optimal image scale"): each image at its
    own best threshold. AP: area under the precision/recall curve.

    Attributes
    ----------
    ids : tuple of str
        Image ids, in the order of the per-image table.
    thresholds : ndarray, shape (T,)
    recall, precision, f : ndarray, shape (T,)
        Dataset recall, precision and F at every threshold (``eval_bdry_thr.txt``);
        ``(recall, precision)`` is the precision/recall curve.
    ods_threshold, ods_recall, ods_precision, ods_f : float
        The ODS point (``eval_bdry.txt`` columns 1-4).
    ois_recall, ois_precision, ois_f : float
        The OIS point (columns 5-7).
    ap : float
        Average precision (column 8).
    image_table : ndarray, shape (N, 5)
        ``eval_bdry_img.txt``: 1-based index, best (interpolated) threshold, and the
        recall, precision and F there, per image.
    images : tuple of BoundaryImage
        The per-image counts the result was computed from.
    """

    ids: tuple[str, ...]
    thresholds: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    f: np.ndarray
    ods_threshold: float
    ods_recall: float
    ods_precision: float
    ods_f: float
    ois_recall: float
    ois_precision: float
    ois_f: float
    ap: float
    image_table: np.ndarray
    images: tuple[BoundaryImage, ...] = field(repr=False, default=())

    @property
    def pr_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(recall, precision)`` of the dataset at every threshold."""
        return self.recall, self.precision

    def summary(self) -> str:
        """The official benchmark's printed summary (``plot_eval.m`` wording)."""
        return (f"Boundary\n"
                f"ODS: F( {self.ods_recall:.2f}, {self.ods_precision:.2f} ) = "
                f"{self.ods_f:.2f}   [th = {self.ods_threshold:.2f}]\n"
                f"OIS: F( {self.ois_recall:.2f}, {self.ois_precision:.2f} ) = "
                f"{self.ois_f:.2f}\n"
                f"Area_PR = {self.ap:.2f}")

    def as_dict(self) -> dict[str, float]:
        """The summary numbers as a flat dict (for results tables)."""
        return {
            "boundary_ods_threshold": self.ods_threshold,
            "boundary_ods_recall": self.ods_recall,
            "boundary_ods_precision": self.ods_precision,
            "boundary_ods_f": self.ods_f,
            "boundary_ois_recall": self.ois_recall,
            "boundary_ois_precision": self.ois_precision,
            "boundary_ois_f": self.ois_f,
            "boundary_ap": self.ap,
        }


# --------------------------------------------------------------------------------------
# Boundaries of label images, thinning, thresholds
# --------------------------------------------------------------------------------------


def seg_to_boundary(labels) -> np.ndarray:
    """Boundary pixels of a label image, as the official ``seg2bdry(seg, 'imageSize')``.

    The official function marks label changes on a double-resolution grid (between
    pixels) and samples it back at ``(3:2:end, 3:2:end)``: pixel (i, j) is a boundary
    pixel when the labels around the grid corner below-right of it differ, i.e.
    ``labels[i, j] != labels[i + 1, j]``, ``labels[i, j + 1] != labels[i + 1, j + 1]``,
    ``labels[i, j] != labels[i, j + 1]`` or ``labels[i + 1, j] != labels[i + 1, j + 1]``;
    the last row and column repeat the label changes along them.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        A segmentation (any integer labels).

    Returns
    -------
    boundary : ndarray of bool, shape (H, W)

    Raises
    ------
    TypeError
        If `labels` is not an integer (or bool) ndarray.
    ValueError
        If `labels` is not 2-D or is empty.

    References
    ----------
    .. [1] P. Arbeláez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 2011.

    Examples
    --------
    >>> seg_to_boundary(np.array([[1, 1, 2], [1, 1, 2], [1, 1, 2]])).astype(int)
    array([[0, 1, 0],
           [0, 1, 0],
           [0, 1, 0]])
    """
    labels = _check_label_image(labels, "labels")
    h, w = labels.shape
    # Double-size grid: pixels at odd (1-based even) positions, edges between them.
    bdry = np.zeros((2 * h + 1, 2 * w + 1), dtype=bool)
    edge_v = np.zeros((h, w), dtype=bool)   # label change between rows i and i + 1
    edge_v[:-1, :] = labels[:-1, :] != labels[1:, :]
    edge_h = np.zeros((h, w), dtype=bool)   # label change between columns j and j + 1
    edge_h[:, :-1] = labels[:, :-1] != labels[:, 1:]
    bdry[2::2, 1::2] = edge_v
    bdry[1::2, 2::2] = edge_h
    bdry[2:-1:2, 2:-1:2] = (edge_h[:-1, :-1] | edge_h[1:, :-1]
                            | edge_v[:-1, :-1] | edge_v[:-1, 1:])
    bdry[0, :] = bdry[1, :]
    bdry[:, 0] = bdry[:, 1]
    bdry[-1, :] = bdry[-2, :]
    bdry[:, -1] = bdry[:, -2]
    return bdry[2::2, 2::2].copy()


def _thinning_lut(first: bool) -> np.ndarray:
    """Deletion table of one subiteration of the Guo-Hall / Lam-Lee-Suen thinning.

    Neighbour bits follow ``bwmorph`` and :func:`skimage.morphology.thin`: x1 = E (1),
    x2 = NE (2), x3 = N (4), x4 = NW (8), x5 = W (16), x6 = SW (32), x7 = S (64),
    x8 = SE (128). A pixel is deleted when X_H = 1 (condition G1), 2 <= min(n1, n2)
    <= 3 (G2) and G3 (first subiteration) or G3' (second) holds.
    """
    lut = np.zeros(256, dtype=np.uint8)
    for code in range(256):
        x = [0] + [(code >> k) & 1 for k in range(8)] + [code & 1]   # x[1..8], x[9] = x1
        crossings = sum(1 for i in range(1, 5) if not x[2 * i - 1] and (x[2 * i] or x[2 * i + 1]))
        n1 = sum(1 for k in range(1, 5) if x[2 * k - 1] or x[2 * k])
        n2 = sum(1 for k in range(1, 5) if x[2 * k] or x[2 * k + 1])
        if first:
            g3 = not ((x[2] or x[3] or not x[8]) and x[1])
        else:
            g3 = not ((x[6] or x[7] or not x[4]) and x[5])
        lut[code] = crossings == 1 and 2 <= min(n1, n2) <= 3 and g3
    return lut


_THIN_LUTS = np.stack([_thinning_lut(True), _thinning_lut(False)])


@njit(cache=True, nogil=True)
def _thin_kernel(img, ys, xs, luts):  # pragma: no cover - compiled
    """Thin `img` (uint8, zero border of one pixel) in place; (ys, xs) its pixels."""
    n = ys.size
    delete = np.empty(n, dtype=np.int64)
    changed = True
    while changed:
        changed = False
        for s in range(2):
            lut = luts[s]
            n_del = 0
            for k in range(n):
                y = ys[k]
                x = xs[k]
                code = (img[y, x + 1] + 2 * img[y - 1, x + 1] + 4 * img[y - 1, x]
                        + 8 * img[y - 1, x - 1] + 16 * img[y, x - 1] + 32 * img[y + 1, x - 1]
                        + 64 * img[y + 1, x] + 128 * img[y + 1, x + 1])
                if lut[code]:
                    delete[n_del] = k
                    n_del += 1
            if n_del == 0:
                continue
            changed = True
            for i in range(n_del):                # simultaneous deletion
                img[ys[delete[i]], xs[delete[i]]] = 0
            m = 0
            for k in range(n):                    # keep the surviving pixels
                if img[ys[k], xs[k]]:
                    ys[m] = ys[k]
                    xs[m] = xs[k]
                    m += 1
            n = m
    return n


def thin_boundary(bmap) -> np.ndarray:
    """Thin a binary boundary map to one-pixel-wide curves (``bwmorph(b, 'thin', inf)``).

    The two-subiteration parallel thinning of Guo and Hall as MATLAB's ``bwmorph``
    and :func:`skimage.morphology.thin` run it (same tables, same result), repeated
    until nothing changes; compiled, it visits only the map's pixels.

    Parameters
    ----------
    bmap : ndarray of bool, shape (H, W)

    Returns
    -------
    thinned : ndarray of bool, shape (H, W)

    References
    ----------
    .. [1] Z. Guo, R. W. Hall, "Parallel thinning with two-subiteration algorithms",
       Communications of the ACM 32(3), 1989.
    .. [2] L. Lam, S.-W. Lee, C. Y. Suen, "Thinning Methodologies - A Comprehensive
       Survey", IEEE TPAMI 14(9), 1992 (p. 879).

    Examples
    --------
    >>> block = np.zeros((5, 6), bool); block[1:4, 1:5] = True
    >>> thin_boundary(block).astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    bmap = np.asarray(bmap, dtype=bool)
    if bmap.ndim != 2:
        raise ValueError(f"bmap must have shape (H, W); got {bmap.shape}.")
    h, w = bmap.shape
    img = np.zeros((h + 2, w + 2), dtype=np.uint8)
    img[1:-1, 1:-1] = bmap
    ys, xs = np.nonzero(img)
    _thin_kernel(img, ys.astype(np.int64), xs.astype(np.int64), _THIN_LUTS)
    return img[1:-1, 1:-1].astype(bool)


def boundary_thresholds(nthresh: int = 99) -> np.ndarray:
    """The official thresholds: ``linspace(1/(n+1), 1 - 1/(n+1), n)`` (MATLAB's values).

    Parameters
    ----------
    nthresh : int, optional
        Number of thresholds, >= 1.

    Returns
    -------
    thresholds : ndarray of float64, shape (nthresh,)

    Raises
    ------
    ValueError
        If `nthresh` < 1.

    Examples
    --------
    >>> boundary_thresholds(5).round(6).tolist()
    [0.166667, 0.333333, 0.5, 0.666667, 0.833333]
    """
    return region_thresholds(nthresh)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _check_label_image(labels, name: str, shape=None) -> np.ndarray:
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(labels).__name__}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise TypeError(f"{name} must hold integer labels; got dtype {labels.dtype}. "
                        f"Convert with {name}.astype(np.int32) if the values are whole numbers.")
    if labels.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W); got {labels.shape}.")
    if labels.size == 0:
        raise ValueError(f"{name} is empty: shape {labels.shape}.")
    if shape is not None and labels.shape != tuple(shape):
        raise ValueError(f"{name} must have the ground truth's shape {tuple(shape)}; "
                         f"got {labels.shape}.")
    return labels


def _check_gt_boundaries(gt_boundaries) -> list[np.ndarray]:
    if isinstance(gt_boundaries, np.ndarray) and gt_boundaries.ndim == 2:
        raise ValueError("gt_boundaries must be a list of (H, W) boundary maps, one per "
                         f"annotator; got one array of shape {gt_boundaries.shape}. Wrap it "
                         "in a list: [boundary].")
    if isinstance(gt_boundaries, (str, bytes)) or not hasattr(gt_boundaries, "__len__"):
        raise TypeError("gt_boundaries must be a list of (H, W) boundary maps; got "
                        f"{type(gt_boundaries).__name__}.")
    if len(gt_boundaries) == 0:
        raise ValueError("gt_boundaries is empty; give at least one annotator's boundary map "
                         "(the official code stops with 'bad gtFile').")
    out = []
    for k, b in enumerate(gt_boundaries):
        if not isinstance(b, np.ndarray):
            raise TypeError(f"gt_boundaries[{k}] must be a numpy array; got {type(b).__name__}.")
        if b.ndim != 2 or b.size == 0:
            raise ValueError(f"gt_boundaries[{k}] must be a non-empty (H, W) map; got shape "
                             f"{b.shape}.")
        if not (b.dtype == np.bool_ or np.issubdtype(b.dtype, np.number)):
            raise TypeError(f"gt_boundaries[{k}] must be a binary map (bool or 0/1); got dtype "
                            f"{b.dtype}.")
        if out and b.shape != out[0].shape:
            raise ValueError(f"gt_boundaries[{k}] has shape {b.shape} but gt_boundaries[0] has "
                             f"{out[0].shape}; all annotators must have the same shape.")
        if b.dtype != np.bool_:
            finite = np.isfinite(b) if np.issubdtype(b.dtype, np.floating) else None
            if finite is not None and not finite.all():
                raise ValueError(f"gt_boundaries[{k}] contains NaN or infinite values.")
            bad = (b != 0) & (b != 1)
            if bad.any():
                raise ValueError(f"gt_boundaries[{k}] must be binary (0/1); it holds "
                                 f"{np.unique(b[bad])[:3].tolist()} at {int(bad.sum())} pixels.")
        out.append(b != 0)
    return out


def _check_map(pb, shape) -> np.ndarray:
    if not isinstance(pb, np.ndarray):
        raise TypeError(f"machine must be a numpy array for kind='pb'; got {type(pb).__name__}.")
    if not np.issubdtype(pb.dtype, np.floating):
        raise TypeError(f"machine must be a float boundary map in [0, 1] for kind='pb'; got "
                        f"dtype {pb.dtype}. For an 8-bit PNG pass png / 255.")
    if pb.ndim != 2:
        raise ValueError(f"machine must have shape (H, W) for kind='pb'; got {pb.shape}.")
    if pb.shape != tuple(shape):
        raise ValueError(f"machine and gt_boundaries must have the same height and width; got "
                         f"{pb.shape} and {tuple(shape)}.")
    pb = pb.astype(np.float64, copy=False)
    finite = np.isfinite(pb)
    if not finite.all():
        raise ValueError(f"machine contains {int(pb.size - finite.sum())} NaN or infinite "
                         "values; a boundary map holds strengths in [0, 1].")
    lo, hi = float(pb.min()), float(pb.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"machine holds values in [{lo:g}, {hi:g}]; a boundary map for "
                         "kind='pb' holds strengths in [0, 1]. For an 8-bit PNG pass png / 255.")
    return pb


def _check_ucm2(ucm2, shape) -> np.ndarray:
    if not isinstance(ucm2, np.ndarray):
        raise TypeError(f"machine must be a numpy array for kind='ucm'; got "
                        f"{type(ucm2).__name__}.")
    if ucm2.dtype == np.bool_ or not (np.issubdtype(ucm2.dtype, np.floating)
                                       or np.issubdtype(ucm2.dtype, np.integer)):
        raise TypeError(f"machine must be a real-valued ucm2 for kind='ucm'; got dtype "
                        f"{ucm2.dtype}.")
    want = (2 * shape[0] + 1, 2 * shape[1] + 1)
    if ucm2.shape != want:
        hint = ""
        if ucm2.shape == tuple(shape):
            hint = (" It has the image's own size; the benchmark needs the double-resolution "
                    "'ucm2' (contours between pixels).")
        raise ValueError(f"machine must be a ucm2 of shape (2H+1, 2W+1) = {want} for ground "
                         f"truth of shape {tuple(shape)}; got {ucm2.shape}.{hint}")
    ucm2 = ucm2.astype(np.float64, copy=False)
    finite = np.isfinite(ucm2)
    if not finite.all():
        raise ValueError(f"machine contains {int(ucm2.size - finite.sum())} NaN or infinite "
                         "values; a ucm2 holds contour strengths in [0, 1].")
    return ucm2


# --------------------------------------------------------------------------------------
# Per-image evaluation
# --------------------------------------------------------------------------------------


def evaluate_boundaries_image(machine, gt_boundaries, *, kind: str, nthresh: int = 99,
                              max_dist: float = 0.0075, thin: bool = True) -> BoundaryImage:
    """Boundary benchmark of one image: matching counts at every threshold.

    Parameters
    ----------
    machine : ndarray or sequence of ndarray
        ``kind="pb"``: a boundary strength map, float (H, W) in [0, 1] (an 8-bit PNG
        divided by 255). ``kind="ucm"``: a ucm2, float (2H+1, 2W+1), read at
        ``ucm2[2::2, 2::2]`` as the official code does. ``kind="segs"``: a sequence of
        K integer label images (H, W) (or an array (K, H, W)); threshold k is the
        boundary of the k-th (:func:`seg_to_boundary`).
    gt_boundaries : sequence of ndarray of bool, shape (H, W)
        One human boundary map per annotator (the ``Boundaries`` fields).
    kind : {"pb", "ucm", "segs"}
        What `machine` is.
    nthresh : int, optional
        Number of thresholds for "pb" and "ucm" (:func:`boundary_thresholds`). Ignored
        for "segs", where there is one threshold per segmentation (the official code
        resets it the same way).
    max_dist : float, optional
        Matching tolerance as a fraction of the image diagonal.
    thin : bool, optional
        Thin the thresholded machine map before matching (official default True).

    Returns
    -------
    BoundaryImage

    Raises
    ------
    ValueError
        On an unknown `kind`, an empty `gt_boundaries` or `machine` list, mismatched
        shapes, a ucm2 of the wrong size, NaN in a map, a pb map outside [0, 1], or
        `max_dist` <= 0.
    TypeError
        On inputs of the wrong kind (e.g. float label images, a non-array map).

    References
    ----------
    .. [1] D. Martin, C. Fowlkes, J. Malik, "Learning to Detect Natural Image
       Boundaries Using Local Brightness, Color, and Texture Cues", IEEE TPAMI 26(5),
       2004.
    .. [2] P. Arbeláez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 2011.

    Examples
    --------
    >>> gt = np.zeros((20, 20), bool); gt[10, 2:18] = True
    >>> pb = np.zeros((20, 20)); pb[11, 2:18] = 0.9       # one pixel off, within tolerance
    >>> image = evaluate_boundaries_image(pb, [gt], kind="pb", nthresh=3, max_dist=0.1)
    >>> image.recall.tolist(), image.precision.tolist()
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}.")
    boundaries = _check_gt_boundaries(gt_boundaries)
    shape = boundaries[0].shape
    max_dist = check_real(max_dist, "max_dist", minimum=0.0, strict_minimum=True)
    thin = bool(thin)

    if kind == "segs":
        segs = machine
        if isinstance(segs, np.ndarray) and segs.ndim == 2:
            raise ValueError("machine must be a sequence of (H, W) label images for "
                             f"kind='segs'; got one array of shape {segs.shape}. Wrap it in a "
                             "list: [labels].")
        if isinstance(segs, (str, bytes)) or not hasattr(segs, "__len__"):
            raise TypeError("machine must be a sequence of label images for kind='segs'; got "
                            f"{type(segs).__name__}.")
        if len(segs) == 0:
            raise ValueError("machine is an empty list of segmentations; give at least one.")
        segs = [_check_label_image(np.asarray(s), f"machine[{k}]", shape)
                for k, s in enumerate(segs)]
        thresholds = np.arange(1, len(segs) + 1, dtype=np.float64)
        maps = (seg_to_boundary(s) for s in segs)
    else:
        nthresh = check_int(nthresh, "nthresh", minimum=1)
        if kind == "ucm":
            pb = _check_ucm2(machine, shape)[2::2, 2::2]
        else:
            pb = _check_map(machine, shape)
        thresholds = boundary_thresholds(nthresh)
        maps = (pb >= t for t in thresholds)

    matcher = BoundaryMatcher(boundaries, max_dist=max_dist)
    counts = np.zeros((thresholds.size, 4), dtype=np.int64)
    seen: dict[bytes, int] = {}
    for t, bmap in enumerate(maps):
        key = np.packbits(bmap).tobytes()
        if key in seen:                          # same map as an earlier threshold
            counts[t] = counts[seen[key]]
            continue
        seen[key] = t
        if thin:
            bmap = thin_boundary(bmap)
        counts[t] = matcher.counts(bmap)
    return BoundaryImage(thresholds, counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3])


# --------------------------------------------------------------------------------------
# Dataset aggregation (collect_eval_bdry.m)
# --------------------------------------------------------------------------------------


def _fmeasure(r, p):
    r = np.asarray(r, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return 2 * p * r / (p + r + ((p + r) == 0))


_D = np.arange(100, dtype=np.float64) / 99.0     # MATLAB linspace(0, 1): k * (1 - 0) / 99
_D[-1] = 1.0


def _max_f(thresh, R, P):
    """The official ``maxF``: best F on a 100-step interpolation between thresholds.

    Candidates are visited in the official order and only a strictly larger F
    replaces the best, so the first maximum wins.
    """
    if thresh.size == 1:
        return float(thresh[0]), float(R[0]), float(P[0]), float(_fmeasure(R[0], P[0]))
    d = _D[None, :]
    t = thresh[1:, None] * d + thresh[:-1, None] * (1 - d)
    r = R[1:, None] * d + R[:-1, None] * (1 - d)
    p = P[1:, None] * d + P[:-1, None] * (1 - d)
    f = _fmeasure(r, p).ravel()
    f0 = float(_fmeasure(R[0], P[0]))
    best = int(np.argmax(f))
    if not f[best] > f0:
        return float(thresh[0]), float(R[0]), float(P[0]), f0
    return float(t.ravel()[best]), float(r.ravel()[best]), float(p.ravel()[best]), float(f[best])


def _average_precision(R, P) -> float:
    """``[Ru, indR] = unique(R); interp1(Ru, P(indR), 0:0.01:1)``, NaN -> 0, sum * 0.01.

    ``unique`` keeps the last occurrence of a repeated recall, as MATLAB did when the
    benchmark was written (and does with ``'legacy'``).
    """
    order = np.argsort(R, kind="stable")
    r_sorted = R[order]
    last = np.ones(r_sorted.size, dtype=bool)
    last[:-1] = r_sorted[1:] != r_sorted[:-1]
    Ru = r_sorted[last]
    Pu = P[order][last]
    if Ru.size <= 1:
        return 0.0
    Ri = np.arange(101, dtype=np.float64) * 0.01
    inside = (Ri >= Ru[0]) & (Ri <= Ru[-1])
    P_int = np.where(inside, np.interp(Ri, Ru, Pu), 0.0)
    return float(P_int.sum() * 0.01)


def collect_boundaries(images: Sequence[BoundaryImage], ids: Sequence[str], *,
                       official_rounding: bool = True) -> BoundaryResult:
    """Dataset-level boundary scores from per-image counts (``collect_eval_bdry.m``).

    Parameters
    ----------
    images : sequence of BoundaryImage
        Per-image results, all with the same thresholds.
    ids : sequence of str
        Their image ids (same length), in the order wanted for the per-image table.
        The official code orders images by file name;
        :func:`benchmarks.metrics.bsds.evaluate_bsds` does the same.
    official_rounding : bool, optional
        Round every per-image number to 6 significant digits first, as the official
        code does by writing them with ``%10g`` and reading them back (this only
        changes the thresholds, and counts of a million or more).

    Returns
    -------
    BoundaryResult

    Raises
    ------
    ValueError
        If `images` is empty, the lengths differ or the thresholds disagree.
    TypeError
        If an element of `images` is not a :class:`BoundaryImage`.

    Notes
    -----
    Per threshold, ``R = cntR / sumR`` and ``P = cntP / sumP`` with counts summed over
    images, and ``F = 2PR / (P + R)``. ODS is the official ``maxF``: F is evaluated on
    100 points of the straight line between every two consecutive thresholds' (R, P)
    and the best one kept (its threshold interpolated the same way). Each image's row
    of the per-image table is its own ``maxF``; OIS sums the counts of every image at
    its first best (not interpolated) threshold. AP interpolates P linearly over the
    distinct recalls at recalls 0, 0.01, ..., 1 (0 outside the recall range) and sums
    times 0.01.

    Examples
    --------
    Two thresholds with F = 0.615 and 0.571; the interpolated ODS F lies between them
    on the (R, P) line and beats both, OIS takes the better threshold as it is:

    >>> a = BoundaryImage([1, 2], cntR=[8, 4], sumR=[10, 10], cntP=[8, 4], sumP=[16, 4])
    >>> r = collect_boundaries([a], ["x"])
    >>> round(r.ods_f, 4), round(r.ois_f, 4)
    (0.6687, 0.6154)
    """
    images = list(images)
    ids = tuple(str(i) for i in ids)
    if not images:
        raise ValueError("images is empty; evaluate at least one image.")
    if len(ids) != len(images):
        raise ValueError(f"ids and images must have the same length; got {len(ids)} and "
                         f"{len(images)}.")
    for i, im in enumerate(images):
        if not isinstance(im, BoundaryImage):
            raise TypeError(f"images[{i}] must be a BoundaryImage; got {type(im).__name__}.")
    thr0 = images[0].thresholds
    for i, im in enumerate(images):
        if im.thresholds.shape != thr0.shape or not np.allclose(im.thresholds, thr0):
            raise ValueError(f"images[{i}] ({ids[i]}) has {im.thresholds.size} thresholds, "
                             f"images[0] has {thr0.size}; evaluate all images with the same "
                             "nthresh (for segs: the same number of segmentations).")
    rnd = round10g if official_rounding else (lambda a: np.asarray(a, dtype=np.float64))
    thresh = rnd(thr0)
    T = thresh.size
    totals = np.zeros((4, T))
    best_counts = np.zeros(4)
    table = np.zeros((len(images), 5))
    for i, im in enumerate(images):
        cntR, sumR, cntP, sumP = (rnd(a) for a in (im.cntR, im.sumR, im.cntP, im.sumP))
        R = cntR / (sumR + (sumR == 0))
        P = cntP / (sumP + (sumP == 0))
        F = _fmeasure(R, P)
        table[i] = (i + 1, *_max_f(thresh, R, P))
        totals += np.stack([cntR, sumR, cntP, sumP])
        first = int(np.flatnonzero(F == F.max())[0])
        best_counts += (cntR[first], sumR[first], cntP[first], sumP[first])
    cntR, sumR, cntP, sumP = totals
    R = cntR / (sumR + (sumR == 0))
    P = cntP / (sumP + (sumP == 0))
    F = _fmeasure(R, P)
    ods_t, ods_r, ods_p, ods_f = _max_f(thresh, R, P)
    bR, bS, bP, bSP = best_counts
    ois_r = float(bR / (bS + (bS == 0)))
    ois_p = float(bP / (bSP + (bSP == 0)))
    return BoundaryResult(
        ids=ids, thresholds=thresh, recall=R, precision=P, f=F,
        ods_threshold=ods_t, ods_recall=ods_r, ods_precision=ods_p, ods_f=ods_f,
        ois_recall=ois_r, ois_precision=ois_p, ois_f=float(_fmeasure(ois_r, ois_p)),
        ap=_average_precision(R, P), image_table=table, images=tuple(images),
    )


def write_boundary_files(result: BoundaryResult, out_dir) -> list[Path]:
    """Write the official boundary files into `out_dir` (created if needed).

    Files, all in ``%10g`` as the official code writes them: ``eval_bdry.txt`` (ODS
    threshold, R, P, F; OIS R, P, F; AP), ``eval_bdry_img.txt`` (index, best
    threshold, R, P, F per image) and ``eval_bdry_thr.txt`` (threshold, R, P, F).

    Parameters
    ----------
    result : BoundaryResult
    out_dir : str or os.PathLike

    Returns
    -------
    paths : list of Path
        The files written.

    Raises
    ------
    TypeError
        If `result` is not a :class:`BoundaryResult`.
    """
    if not isinstance(result, BoundaryResult):
        raise TypeError(f"result must be a BoundaryResult; got {type(result).__name__}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = result
    files = {
        "eval_bdry.txt": [r.ods_threshold, r.ods_recall, r.ods_precision, r.ods_f,
                          r.ois_recall, r.ois_precision, r.ois_f, r.ap],
        "eval_bdry_img.txt": r.image_table,
        "eval_bdry_thr.txt": np.column_stack([r.thresholds, r.recall, r.precision, r.f]),
    }
    return [write_official_txt(out / name, rows) for name, rows in files.items()]
