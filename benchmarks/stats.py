"""Statistics for the benchmark: bootstrap confidence intervals and paired comparisons.

Dataset-level scores in this suite are *pooled*: covering ODS is
``max_t sum_i cntR[i, t] / sum_i sumR[i, t]``, not a mean of per-image scores, and mIoU is
the mIoU of the summed confusion matrix. Every such score is a function of per-image
count arrays **summed over a set of images**, which makes resampling cheap: a bootstrap
resample of the images is an index array with repeats, i.e. a vector of per-image
weights (how often each image was drawn), and the resampled sums of all resamples at
once are one matrix product ``weights @ counts``. The ready statistics below
(:func:`covering_ods`, :func:`covering_ois`, :func:`pri_ods`, :func:`voi_ods`,
:func:`boundary_f_ods`, :func:`miou`, :func:`mean`) carry that description, so
:func:`bootstrap_ci` and :func:`paired_bootstrap` evaluate 2000 resamples of 100 images
in a few milliseconds. Any other callable works too (evaluated once per resample).

The resampling itself is :func:`scipy.stats.bootstrap`, run on the image indices
``0..n-1`` as the one sample (percentile, basic or BCa intervals). Statistics that pick
the best sweep value (ODS) pick it again inside every resample, so the interval covers
the whole "tune on the dataset, report the best" procedure, not one fixed threshold.

Paired comparisons of two methods resample the *same* image indices for both, which
removes the between-image variance the methods share. Per-image tests use the Wilcoxon
signed-rank test on per-image scores (:func:`per_image_scores`), and many pairwise
p-values are adjusted with Holm's step-down method (:func:`holm`);
:func:`compare_methods` puts it all in one table.

References
----------
.. [1] B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall,
   1993 (percentile and BCa intervals, ch. 13-14; bootstrap hypothesis tests, ch. 16).
.. [2] P. Koehn, "Statistical Significance Tests for Machine Translation Evaluation",
   EMNLP 2004 (the paired bootstrap over test items).
.. [3] P. Arbeláez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and Hierarchical
   Image Segmentation", TPAMI 33(5), 2011 (the pooled ODS/OIS region and boundary scores).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats as _st

from classical._validate import check_int, check_real

__all__ = [
    "CI",
    "PairedResult",
    "WilcoxonResult",
    "Comparison",
    "STATISTICS",
    "covering_ods",
    "covering_ois",
    "pri_ods",
    "voi_ods",
    "boundary_f_ods",
    "miou",
    "mean",
    "covering_at_ods",
    "per_image_scores",
    "bootstrap_ci",
    "paired_bootstrap",
    "wilcoxon_paired",
    "holm",
    "compare_methods",
]

_METHODS = {"percentile": "percentile", "basic": "basic", "bca": "BCa"}
# Resampled weight matrices are (resamples, images) float64; cap one batch at ~16 MB.
_BATCH_CELLS = 2_000_000


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CI:
    """A point estimate with a bootstrap confidence interval.

    Attributes
    ----------
    point : float
        The statistic on all images.
    low, high : float
        Interval bounds; NaN when there is a single image (no variability to estimate).
    confidence : float
        Confidence level, e.g. 0.95.
    method : str
        Interval method actually used: "percentile", "basic" or "BCa" (BCa falls back
        to "percentile" when its bias correction is undefined, see :func:`bootstrap_ci`).
    n_images : int
    n_resamples : int
    standard_error : float
        Standard deviation of the bootstrap distribution (NaN for one image).
    """

    point: float
    low: float
    high: float
    confidence: float
    method: str
    n_images: int
    n_resamples: int
    standard_error: float

    def __str__(self) -> str:
        return (f"{self.point:.4f} [{self.low:.4f}, {self.high:.4f}] "
                f"({self.confidence:.0%} {self.method}, n={self.n_images})")

    def as_dict(self) -> dict:
        """The fields as a plain dict (for results tables and JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class PairedResult:
    """A paired bootstrap comparison of method a with method b on the same images.

    Attributes
    ----------
    statistic_a, statistic_b : float
        The statistic of each method on all images.
    difference : float
        ``statistic_a - statistic_b``.
    low, high : float
        Confidence interval of the difference (NaN for a single image).
    p_value : float
        Two-sided bootstrap p-value for "no difference" (1.0 for a single image).
    confidence : float
    method : str
        Interval method actually used (as in :class:`CI`).
    n_images : int
    n_resamples : int
    """

    statistic_a: float
    statistic_b: float
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    method: str
    n_images: int
    n_resamples: int

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class WilcoxonResult:
    """A Wilcoxon signed-rank test on per-image score differences ``a - b``.

    Attributes
    ----------
    statistic : float
        SciPy's statistic (the smaller signed-rank sum for the two-sided test).
    p_value : float
        Two-sided p-value; 1.0 when every difference is zero.
    median_difference : float
        Median of ``a - b`` over all images (zeros included).
    n_images : int
    n_nonzero : int
        Images with a nonzero difference (the ones the test ranks).
    """

    statistic: float
    p_value: float
    median_difference: float
    n_images: int
    n_nonzero: int


@dataclass(frozen=True)
class Comparison:
    """One row of :func:`compare_methods`: method a against method b.

    Attributes
    ----------
    method_a, method_b : str
    statistic_a, statistic_b, difference, low, high : float
        As in :class:`PairedResult` (difference = a - b, with its CI).
    p_bootstrap : float
        Paired bootstrap p-value.
    p_wilcoxon : float
        Wilcoxon signed-rank p-value on per-image scores (NaN when the statistic has no
        per-image score and none were given).
    p_holm, p_wilcoxon_holm : float
        The two p-values Holm-adjusted over all rows of the table.
    significant : bool
        ``p_holm < alpha``: the bootstrap test, adjusted for the number of comparisons.
    n_images : int
    """

    method_a: str
    method_b: str
    statistic_a: float
    statistic_b: float
    difference: float
    low: float
    high: float
    p_bootstrap: float
    p_wilcoxon: float
    p_holm: float
    p_wilcoxon_holm: float
    significant: bool
    n_images: int

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


# --------------------------------------------------------------------------------------
# Pooled statistics: per-image arrays -> sums over images -> a number
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pooled:
    """How a statistic is computed from per-image arrays summed over images.

    ``prepare`` maps the validated per-image arrays (each (n, ...)) to the arrays that
    are summed (e.g. OIS picks each image's best index first); ``reduce`` maps batched
    sums ``{name: (B, ...)}`` and the total weight per resample ``(B,)`` to ``(B,)``;
    ``per_image`` gives each image's own score, for rank tests.
    """

    fields: tuple[str, ...]
    ndims: tuple[int, ...]  # per-image dimensions of each field
    counts: tuple[bool, ...]  # whether the field holds counts (must be >= 0)
    reduce: Callable[[dict, np.ndarray], np.ndarray]
    prepare: Callable[[dict], dict]
    per_image: Callable[[dict], np.ndarray]
    higher_is_better: bool = True


def _pooled(fields, ndims, counts, reduce, per_image, prepare=None, higher_is_better=True):
    spec = _Pooled(tuple(fields), tuple(ndims), tuple(counts), reduce,
                   prepare if prepare is not None else (lambda data: data), per_image,
                   higher_is_better)

    def attach(func):
        func._pooled = spec
        return func

    return attach


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0, as the official benchmark (``x / (y + (y == 0))``)."""
    return num / (den + (den == 0))


def _fmeasure(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    s = precision + recall
    return 2 * precision * recall / (s + (s == 0))


def _last_argmax(values: np.ndarray) -> np.ndarray:
    """Per row, the index of the *last* maximum (``collect_eval_reg.m``'s OIS choice)."""
    return values.shape[-1] - 1 - np.argmax(values[..., ::-1], axis=-1)


def _miou_batch(matrices: np.ndarray) -> np.ndarray:
    """Mean IoU of each (C, C) table of a (B, C, C) stack; absent classes left out."""
    diag = np.diagonal(matrices, axis1=-2, axis2=-1)
    union = matrices.sum(axis=-1) + matrices.sum(axis=-2) - diag
    present = union > 0
    iou = np.divide(diag, union, out=np.zeros(diag.shape), where=present)
    n_present = present.sum(axis=-1)
    out = np.full(n_present.shape, np.nan)
    np.divide(iou.sum(axis=-1), n_present, out=out, where=n_present > 0)
    return out


def _ods_index(data: dict, reduce_curve) -> int:
    return int(np.argmax(reduce_curve(data)))


def _covering_curve(data):
    return _ratio(data["cntR"].sum(0), data["sumR"].sum(0))


def _boundary_curve(data):
    return _fmeasure(_ratio(data["cntR"].sum(0), data["sumR"].sum(0)),
                     _ratio(data["cntP"].sum(0), data["sumP"].sum(0)))


def _ois_select(data):
    rows = np.arange(data["cntR"].shape[0])
    best = _last_argmax(_ratio(data["cntR"], data["sumR"]))
    return {"cntR": data["cntR"][rows, best], "sumR": data["sumR"][rows, best]}


@_pooled(("cntR", "sumR"), (1, 1), (True, True),
         reduce=lambda s, w: _ratio(s["cntR"], s["sumR"]).max(axis=-1),
         per_image=lambda d: covering_at_ods(d["cntR"], d["sumR"]))
def covering_ods(cntR, sumR) -> float:
    """Segmentation covering at the optimal dataset scale (ODS).

    ``max_t sum_i cntR[i, t] / sum_i sumR[i, t]``: the covering counts are pooled over
    images at every sweep index ``t`` and the best index is taken, as
    ``collect_eval_reg.m`` does.

    Parameters
    ----------
    cntR, sumR : array_like, shape (n_images, T)
        Per-image covering numerators and denominators at every sweep value
        (:class:`benchmarks.metrics.region.RegionImage` ``cntR`` / ``sumR``).

    Returns
    -------
    covering : float

    Raises
    ------
    ValueError
        If the arrays are empty, not 2-D, differ in shape, or hold negative or
        non-finite values.

    References
    ----------
    .. [1] P. Arbeláez et al., "Contour Detection and Hierarchical Image Segmentation",
       TPAMI 33(5), 2011.

    Examples
    --------
    >>> covering_ods([[1, 3], [2, 2]], [[4, 4], [4, 4]])
    0.625
    """
    return _evaluate(covering_ods, (cntR, sumR))


@_pooled(("cntR", "sumR"), (1, 1), (True, True), prepare=_ois_select,
         reduce=lambda s, w: _ratio(s["cntR"], s["sumR"]),
         per_image=lambda d: _ratio(*_ois_select(d).values()))
def covering_ois(cntR, sumR) -> float:
    """Segmentation covering at the optimal image scale (OIS).

    Every image picks its own best sweep index (the last of equal maxima, as
    ``collect_eval_reg.m``), and the counts there are pooled:
    ``sum_i cntR[i, t_i] / sum_i sumR[i, t_i]``.

    Parameters
    ----------
    cntR, sumR : array_like, shape (n_images, T)
        As in :func:`covering_ods`.

    Returns
    -------
    covering : float

    Raises
    ------
    ValueError
        As in :func:`covering_ods`.
    """
    return _evaluate(covering_ois, (cntR, sumR))


@_pooled(("pri",), (1,), (False,),
         reduce=lambda s, w: (s["pri"] / w[:, None]).max(axis=-1),
         per_image=lambda d: d["pri"][:, int(np.argmax(d["pri"].mean(0)))])
def pri_ods(pri) -> float:
    """Probabilistic Rand Index at ODS: the mean over images, then the best index.

    Parameters
    ----------
    pri : array_like, shape (n_images, T)
        Per-image PRI at every sweep value (``RegionImage.pri``).

    Returns
    -------
    pri : float

    Raises
    ------
    ValueError
        If `pri` is empty, not 2-D or not finite.
    """
    return _evaluate(pri_ods, (pri,))


@_pooled(("voi",), (1,), (False,), higher_is_better=False,
         reduce=lambda s, w: (s["voi"] / w[:, None]).min(axis=-1),
         per_image=lambda d: d["voi"][:, int(np.argmin(d["voi"].mean(0)))])
def voi_ods(voi) -> float:
    """Variation of Information at ODS: the mean over images, then the *lowest* index.

    Parameters
    ----------
    voi : array_like, shape (n_images, T)
        Per-image VoI (bits) at every sweep value (``RegionImage.voi``).

    Returns
    -------
    voi : float
        Lower is better.

    Raises
    ------
    ValueError
        If `voi` is empty, not 2-D or not finite.
    """
    return _evaluate(voi_ods, (voi,))


def _boundary_reduce(s, w):
    return _fmeasure(_ratio(s["cntR"], s["sumR"]), _ratio(s["cntP"], s["sumP"])).max(axis=-1)


def _boundary_per_image(d):
    t = _ods_index(d, _boundary_curve)
    return _fmeasure(_ratio(d["cntR"][:, t], d["sumR"][:, t]),
                     _ratio(d["cntP"][:, t], d["sumP"][:, t]))


@_pooled(("cntR", "sumR", "cntP", "sumP"), (1, 1, 1, 1), (True,) * 4,
         reduce=_boundary_reduce, per_image=_boundary_per_image)
def boundary_f_ods(cntR, sumR, cntP, sumP) -> float:
    """Boundary F-measure at ODS, the best of the sweep values themselves.

    ``max_t F(P_t, R_t)`` with ``R_t = sum_i cntR[i, t] / sum_i sumR[i, t]`` and
    ``P_t = sum_i cntP[i, t] / sum_i sumP[i, t]``. The official ``maxF`` also tries
    100 points interpolated between consecutive thresholds; for the statistics the
    plain maximum over the measured sweep values is used (it can be slightly lower
    than :attr:`BoundaryResult.ods_f <benchmarks.metrics.boundary.BoundaryResult>`).

    Parameters
    ----------
    cntR, sumR, cntP, sumP : array_like, shape (n_images, T)
        Per-image boundary counts (:class:`benchmarks.metrics.boundary.BoundaryImage`).

    Returns
    -------
    f : float

    Raises
    ------
    ValueError
        If the arrays are empty, not 2-D, differ in shape, or hold negative or
        non-finite values.

    References
    ----------
    .. [1] D. Martin, C. Fowlkes, J. Malik, "Learning to Detect Natural Image
       Boundaries Using Local Brightness, Color, and Texture Cues", TPAMI 26(5), 2004.
    """
    return _evaluate(boundary_f_ods, (cntR, sumR, cntP, sumP))


def _miou_per_image(d):
    return _miou_batch(d["confusions"])


@_pooled(("confusions",), (2,), (True,),
         reduce=lambda s, w: _miou_batch(s["confusions"]), per_image=_miou_per_image)
def miou(confusions) -> float:
    """Mean IoU of the confusion matrix summed over images (not a mean of per-image IoU).

    Classes absent from both the ground truth and the prediction of the summed table are
    left out of the mean, as :func:`benchmarks.metrics.semantic.mean_iou` with
    ``absent="nan"``. For a sweep (``oracle_confusion`` has shape (n_images, T, C, C))
    pick the sweep index first, e.g. ``confusions[:, t]``.

    Parameters
    ----------
    confusions : array_like, shape (n_images, C, C)
        Per-image confusion matrices (rows = ground truth).

    Returns
    -------
    miou : float
        NaN if the summed table is empty.

    Raises
    ------
    ValueError
        If `confusions` is empty, not (n, C, C), or holds negative or non-finite counts.

    References
    ----------
    .. [1] M. Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge",
       IJCV 88(2), 2010.
    """
    return _evaluate(miou, (confusions,))


@_pooled(("values",), (0,), (False,),
         reduce=lambda s, w: s["values"] / w, per_image=lambda d: d["values"])
def mean(values) -> float:
    """Plain mean of per-image values (e.g. per-image scores or seconds per image).

    Parameters
    ----------
    values : array_like, shape (n_images,)

    Returns
    -------
    mean : float

    Raises
    ------
    ValueError
        If `values` is empty, not 1-D or not finite.
    """
    return _evaluate(mean, (values,))


STATISTICS: dict[str, Callable[..., float]] = {
    f.__name__: f for f in (covering_ods, covering_ois, pri_ods, voi_ods, boundary_f_ods,
                            miou, mean)
}
"""The ready pooled statistics by name."""


def covering_at_ods(cntR, sumR) -> np.ndarray:
    """Each image's covering at the dataset's ODS sweep index.

    ``cntR[i, t*] / sumR[i, t*]`` with ``t*`` the first index of the best pooled
    covering (the index :func:`covering_ods` and ``collect_regions`` report). These are
    the per-image scores that belong to the ODS number, for rank tests such as
    :func:`wilcoxon_paired`.

    Parameters
    ----------
    cntR, sumR : array_like, shape (n_images, T)

    Returns
    -------
    covering : ndarray of float64, shape (n_images,)
        0 for an image with ``sumR == 0``.

    Raises
    ------
    ValueError
        As in :func:`covering_ods`.
    """
    data = _check_data(covering_ods, (cntR, sumR), "data")
    t = _ods_index(data, _covering_curve)
    return _ratio(data["cntR"][:, t], data["sumR"][:, t])


def per_image_scores(statistic, data) -> np.ndarray:
    """Per-image scores that go with a pooled statistic, for rank tests.

    ODS statistics give each image's score at the dataset's ODS index
    (:func:`covering_at_ods`), OIS each image's own best, :func:`miou` each image's own
    mIoU (NaN for an image with no scored pixel) and :func:`mean` the values themselves.

    Parameters
    ----------
    statistic : callable
        One of the ready statistics (see :data:`STATISTICS`).
    data : dict of str to ndarray, tuple of ndarray, or ndarray
        The statistic's arguments, by name or in order.

    Returns
    -------
    scores : ndarray of float64, shape (n_images,)

    Raises
    ------
    TypeError
        If `statistic` is not one of the ready statistics.
    ValueError
        On bad `data`, as the statistic itself.
    """
    spec = getattr(statistic, "_pooled", None)
    if spec is None:
        raise TypeError(f"statistic must be one of the ready statistics "
                        f"({', '.join(STATISTICS)}) to have per-image scores; got "
                        f"{getattr(statistic, '__name__', repr(statistic))}. Pass per-image "
                        "scores directly instead.")
    return np.asarray(spec.per_image(_check_data(statistic, data, "data")), dtype=np.float64)


# --------------------------------------------------------------------------------------
# Validation and evaluation
# --------------------------------------------------------------------------------------


def _as_parts(data, name: str) -> tuple | dict:
    if isinstance(data, np.ndarray):
        return (data,)
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, (tuple, list)):
        if data and all(np.ndim(x) == 0 for x in data):
            return (np.asarray(data),)  # a plain list of per-image numbers: one array
        return tuple(data)
    raise TypeError(f"{name} must be a dict of arrays, a tuple of arrays or one array; "
                    f"got {type(data).__name__}.")


def _check_data(statistic, data, name: str) -> dict[str, np.ndarray]:
    """Validate `data` for `statistic` and return ``{field: float64 array (n, ...)}``."""
    parts = _as_parts(data, name)
    spec = getattr(statistic, "_pooled", None)
    if spec is None:
        items = parts.items() if isinstance(parts, dict) else enumerate(parts)
        arrays = {k: np.asarray(v) for k, v in items}
        if not arrays:
            raise ValueError(f"{name} holds no arrays; give the statistic's per-image data.")
        for key, a in arrays.items():
            if a.ndim == 0:
                raise ValueError(f"{name}[{key!r}] must have a first axis over images; "
                                 f"got a scalar.")
        _check_lengths(arrays, name)
        return arrays
    fields = spec.fields
    if isinstance(parts, dict):
        missing = [f for f in fields if f not in parts]
        if missing:
            raise ValueError(f"{name} is missing {missing} for {statistic.__name__}, which "
                             f"needs {list(fields)}; got keys {sorted(parts)}.")
        parts = {f: parts[f] for f in fields}
    else:
        if len(parts) != len(fields):
            raise ValueError(f"{name} must hold {len(fields)} arrays for "
                             f"{statistic.__name__} ({', '.join(fields)}); got {len(parts)}.")
        parts = dict(zip(fields, parts))
    arrays = {}
    for (field, value), ndim, is_count in zip(parts.items(), spec.ndims, spec.counts):
        a = np.asarray(value)
        if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer)
                                       or np.issubdtype(a.dtype, np.floating)):
            raise TypeError(f"{field} must hold numbers; got dtype {a.dtype}.")
        a = a.astype(np.float64)
        if a.ndim != ndim + 1:
            shape = {0: "(n_images,)", 1: "(n_images, T)", 2: "(n_images, C, C)"}[ndim]
            raise ValueError(f"{field} must have shape {shape}; got {a.shape}.")
        if ndim == 2 and a.shape[1] != a.shape[2]:
            raise ValueError(f"{field} must hold square (C, C) matrices; got {a.shape}.")
        if a.shape[0] == 0 or a.size == 0:
            raise ValueError(f"{field} is empty: shape {a.shape}; give at least one image "
                             "with at least one sweep value.")
        finite = np.isfinite(a)
        if not finite.all():
            raise ValueError(f"{field} holds {int(a.size - finite.sum())} NaN or infinite "
                             "values; per-image arrays must be finite.")
        if is_count and (a < 0).any():
            raise ValueError(f"{field} holds negative counts (minimum {a.min():g}); "
                             "counts must be >= 0.")
        arrays[field] = a
    first = next(iter(arrays))
    for field, a in arrays.items():
        if a.shape != arrays[first].shape:
            raise ValueError(f"{first} and {field} must have the same shape; got "
                             f"{arrays[first].shape} and {a.shape}.")
    return arrays


def _check_lengths(arrays: dict, name: str) -> int:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    n = next(iter(lengths.values()))
    if any(m != n for m in lengths.values()):
        raise ValueError(f"every array in {name} needs one entry per image (same first "
                         f"axis); got lengths {lengths}.")
    if n == 0:
        raise ValueError(f"{name} is empty (0 images); give at least one image.")
    return n


def _evaluate(statistic, data) -> float:
    spec = statistic._pooled
    prepared = spec.prepare(_check_data(statistic, data, "data"))
    n = next(iter(prepared.values())).shape[0]
    return float(_batched(spec, prepared, np.ones((1, n)))[0])


def _batched(spec: _Pooled, prepared: dict, weights: np.ndarray) -> np.ndarray:
    """The statistic for every row of `weights` (B, n): sums are one matrix product."""
    n = weights.shape[1]
    sums = {k: (weights @ a.reshape(n, -1)).reshape((weights.shape[0],) + a.shape[1:])
            for k, a in prepared.items()}
    return spec.reduce(sums, weights.sum(axis=1))


def _weights(indices: np.ndarray, n: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Index arrays (..., m) with repeats -> per-image draw counts (B, n)."""
    indices = np.asarray(indices).astype(np.intp, copy=False)
    lead = indices.shape[:-1]
    rows = indices.reshape(-1, indices.shape[-1])
    b = rows.shape[0]
    flat = (rows + n * np.arange(b, dtype=np.intp)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64), lead


def _resampler(statistic, data: dict[str, np.ndarray]):
    """(function of an index sample, vectorised?) evaluating `statistic` on resamples."""
    spec = getattr(statistic, "_pooled", None)
    n = next(iter(data.values())).shape[0]
    if spec is not None:
        prepared = spec.prepare(data)

        def on_indices(indices, axis=-1):
            weights, lead = _weights(indices, n)
            return _batched(spec, prepared, weights).reshape(lead)

        return on_indices, True
    keys = list(data)
    by_name = all(isinstance(k, str) for k in keys)

    def on_indices_loop(indices):
        indices = np.asarray(indices, dtype=np.intp)
        if by_name:
            return float(statistic(**{k: data[k][indices] for k in keys}))
        return float(statistic(*(data[k][indices] for k in keys)))

    return on_indices_loop, False


def _point(statistic, data: dict) -> float:
    fn, vectorised = _resampler(statistic, data)
    n = next(iter(data.values())).shape[0]
    return float(fn(np.arange(n)))


def _check_options(confidence, n_resamples, seed, method) -> tuple[float, int, int, str]:
    confidence = check_real(confidence, "confidence", minimum=0.0, maximum=1.0,
                            strict_minimum=True)
    if confidence >= 1.0:
        raise ValueError(f"confidence must be < 1; got {confidence:g}.")
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"method must be one of {sorted(set(_METHODS.values()))}; "
                         f"got {method!r}.")
    return confidence, n_resamples, seed, _METHODS[method.lower()]


def _run_bootstrap(fn, vectorised: bool, n: int, confidence: float, n_resamples: int,
                   seed: int, method: str):
    """scipy.stats.bootstrap over the image indices; returns (low, high, method, dist)."""
    batch = max(1, _BATCH_CELLS // n) if vectorised else None
    quiet = (np.errstate(divide="ignore", invalid="ignore") if method == "BCa"
             else contextlib.nullcontext())
    with warnings.catch_warnings(), quiet:
        # BCa is undefined when no resample falls below the point estimate (all
        # resamples equal, or an ODS maximum below every resampled maximum): SciPy then
        # warns (DegenerateDataWarning or a 0/0 RuntimeWarning) and returns NaN, which
        # is handled just below. The ready statistics never divide by zero themselves.
        if method == "BCa":
            warnings.simplefilter("ignore", _st.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
        result = _st.bootstrap((np.arange(n),), fn, n_resamples=n_resamples, batch=batch,
                               vectorized=vectorised, confidence_level=confidence,
                               method=method, rng=np.random.default_rng(seed))
    dist = np.asarray(result.bootstrap_distribution, dtype=np.float64)
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)) and np.isfinite(dist).all():
        alpha = (1.0 - confidence) / 2.0
        low, high = (float(v) for v in np.quantile(dist, [alpha, 1.0 - alpha]))
        method = "percentile"
    return low, high, method, dist


# --------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------


def bootstrap_ci(statistic, data, *, confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0, method: str = "percentile") -> CI:
    """Bootstrap confidence interval of a dataset statistic, resampling images.

    Images are drawn with replacement (``n`` of ``n``); the statistic is recomputed on
    every resample, re-selecting the best sweep index for ODS statistics.

    Parameters
    ----------
    statistic : callable
        One of the ready statistics (:func:`covering_ods`, :func:`covering_ois`,
        :func:`pri_ods`, :func:`voi_ods`, :func:`boundary_f_ods`, :func:`miou`,
        :func:`mean`; evaluated for all resamples at once), or any function of per-image
        arrays returning a float (called once per resample with the arrays indexed along
        their first axis, by keyword if `data` is a dict).
    data : dict of str to ndarray, tuple of ndarray, or ndarray
        The statistic's per-image arguments (first axis = images), by name or in order.
    confidence : float, optional
        Confidence level in (0, 1).
    n_resamples : int, optional
        Number of bootstrap resamples.
    seed : int, optional
        Seed of the resampling generator; the same seed gives the same interval.
    method : {"percentile", "basic", "BCa"}, optional
        Interval method of :func:`scipy.stats.bootstrap`. "percentile" is the default:
        simple and invariant to monotone transforms. "BCa" corrects bias and skewness
        (useful for ODS maxima, which are biased upwards) at the cost of ``n`` jackknife
        evaluations; where its bias correction is undefined (no resample below the
        point estimate) the percentile interval is returned and ``CI.method`` says so.

    Returns
    -------
    CI
        ``point`` is the statistic on all images. With a single image there is nothing
        to resample: ``low``, ``high`` and ``standard_error`` are NaN rather than a
        zero-width interval that would claim certainty.

    Raises
    ------
    ValueError
        If `data` is empty or its arrays disagree in shape, or on a bad option.
    TypeError
        If `data` is not arrays, or an option has the wrong kind.

    Notes
    -----
    An ODS score is a maximum over the sweep, so a resample, which adds noise to every
    sweep value's pooled score before the maximum is taken, tends to score higher than
    the full set. With a smooth, peaked score curve the shift is small next to the
    interval's width; with many noisy, nearly equal sweep values the percentile interval
    can even lie above the point estimate. That is the honest uncertainty of "pick the
    best of many": report fewer sweep values or use "BCa", which corrects the bias.

    References
    ----------
    .. [1] B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13-14.
    .. [2] B. Efron, "Better Bootstrap Confidence Intervals", JASA 82(397), 1987.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sumR = np.full((50, 3), 100.0)
    >>> cntR = rng.uniform(40, 60, (50, 3))
    >>> ci = bootstrap_ci(covering_ods, {"cntR": cntR, "sumR": sumR})
    >>> bool(ci.low < ci.point < ci.high)
    True
    """
    confidence, n_resamples, seed, method = _check_options(confidence, n_resamples, seed,
                                                           method)
    data = _check_data(statistic, data, "data")
    n = next(iter(data.values())).shape[0]
    point = _point(statistic, data)
    if n == 1:
        nan = float("nan")
        return CI(point, nan, nan, confidence, method, 1, n_resamples, nan)
    fn, vectorised = _resampler(statistic, data)
    low, high, method, dist = _run_bootstrap(fn, vectorised, n, confidence, n_resamples,
                                             seed, method)
    return CI(point, low, high, confidence, method, n, n_resamples,
              float(dist.std(ddof=1)) if dist.size > 1 else float("nan"))


def paired_bootstrap(statistic, data_a, data_b, *, confidence: float = 0.95,
                     n_resamples: int = 2000, seed: int = 0,
                     method: str = "percentile") -> PairedResult:
    """Paired bootstrap comparison of two methods scored on the same images.

    Every resample draws one set of image indices and evaluates both methods on it, so
    the difference ``statistic(a) - statistic(b)`` keeps the images' shared difficulty
    out of its variance. The two-sided p-value tests "no difference" by shifting the
    bootstrap distribution of the difference ``d*`` to the null [1]_:
    ``p = (1 + #{|d* - d| >= |d|}) / (1 + n_resamples)``, so two identical methods get
    ``p = 1`` and the smallest possible p is ``1 / (1 + n_resamples)``.

    Parameters
    ----------
    statistic : callable
        As in :func:`bootstrap_ci`.
    data_a, data_b : dict of str to ndarray, tuple of ndarray, or ndarray
        Each method's per-image arrays, images in the same order.
    confidence, n_resamples, seed, method
        As in :func:`bootstrap_ci` (the interval is of the difference).

    Returns
    -------
    PairedResult
        With a single image the interval is NaN and ``p_value`` is 1.0 (no evidence).

    Raises
    ------
    ValueError
        If either data set is bad or they hold different numbers of images.

    References
    ----------
    .. [1] B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 16.
    .. [2] P. Koehn, "Statistical Significance Tests for Machine Translation
       Evaluation", EMNLP 2004.
    .. [3] T. Berg-Kirkpatrick, D. Burkett, D. Klein, "An Empirical Investigation of
       Statistical Significance in NLP", EMNLP 2012.
    """
    confidence, n_resamples, seed, method = _check_options(confidence, n_resamples, seed,
                                                           method)
    data_a = _check_data(statistic, data_a, "data_a")
    data_b = _check_data(statistic, data_b, "data_b")
    n = next(iter(data_a.values())).shape[0]
    n_b = next(iter(data_b.values())).shape[0]
    if n != n_b:
        raise ValueError(f"data_a and data_b must hold the same images; got {n} and {n_b} "
                         "images.")
    point_a, point_b = _point(statistic, data_a), _point(statistic, data_b)
    diff = point_a - point_b
    if n == 1:
        nan = float("nan")
        return PairedResult(point_a, point_b, diff, nan, nan, 1.0, confidence, method, 1,
                            n_resamples)
    fn_a, vectorised = _resampler(statistic, data_a)
    fn_b, _ = _resampler(statistic, data_b)

    if vectorised:
        def fn(indices, axis=-1):
            return fn_a(indices) - fn_b(indices)
    else:
        def fn(indices):
            return fn_a(indices) - fn_b(indices)

    low, high, method, dist = _run_bootstrap(fn, vectorised, n, confidence, n_resamples,
                                             seed, method)
    if np.isfinite(diff):
        extreme = np.count_nonzero(np.abs(dist - diff) >= abs(diff))
        p_value = float((1 + extreme) / (1 + dist.size))
    else:
        p_value = float("nan")
    return PairedResult(point_a, point_b, diff, low, high, p_value, confidence, method, n,
                        n_resamples)


# --------------------------------------------------------------------------------------
# Rank test and multiple comparisons
# --------------------------------------------------------------------------------------


def wilcoxon_paired(scores_a, scores_b) -> WilcoxonResult:
    """Wilcoxon signed-rank test of per-image scores of two methods on the same images.

    Zero differences are dropped before ranking (SciPy's ``zero_method="wilcox"``);
    SciPy picks the exact or normal-approximation p-value. When every difference is zero
    there is nothing to rank and ``p_value`` is 1.0 (SciPy would warn and return NaN).

    Parameters
    ----------
    scores_a, scores_b : array_like, shape (n_images,)
        Per-image scores (e.g. :func:`covering_at_ods`), images in the same order.

    Returns
    -------
    WilcoxonResult

    Raises
    ------
    ValueError
        If the arrays are empty, not 1-D, of different lengths, or not finite.

    References
    ----------
    .. [1] F. Wilcoxon, "Individual Comparisons by Ranking Methods", Biometrics
       Bulletin 1(6), 1945.
    """
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    for name, x in (("scores_a", a), ("scores_b", b)):
        if x.ndim != 1:
            raise ValueError(f"{name} must have shape (n_images,); got {x.shape}.")
        if x.size == 0:
            raise ValueError(f"{name} is empty; give at least one image's score.")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} holds NaN or infinite scores; drop those images from "
                             "both methods first.")
    if a.shape != b.shape:
        raise ValueError(f"scores_a and scores_b must have one score per image each; got "
                         f"{a.size} and {b.size}.")
    diff = a - b
    n_nonzero = int(np.count_nonzero(diff))
    median = float(np.median(diff))
    if n_nonzero == 0:
        return WilcoxonResult(0.0, 1.0, median, a.size, 0)
    result = _st.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
    return WilcoxonResult(float(result.statistic), float(result.pvalue), median, a.size,
                          n_nonzero)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values for multiple comparisons.

    With the ``m`` p-values sorted ascending, the ``k``-th (from 0) is multiplied by
    ``m - k``; running maxima keep the adjusted values monotone and they are capped at
    1. Rejecting where the adjusted p-value is below ``alpha`` controls the
    family-wise error rate at ``alpha``, uniformly more powerful than Bonferroni.

    Parameters
    ----------
    p_values : array_like, shape (m,)
        Raw p-values in [0, 1].

    Returns
    -------
    adjusted : ndarray of float64, shape (m,)
        In the input order.

    Raises
    ------
    ValueError
        If `p_values` is not 1-D or holds values outside [0, 1] (or NaN).

    References
    ----------
    .. [1] S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure",
       Scandinavian Journal of Statistics 6(2), 1979.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D; got shape {p.shape}.")
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        raise ValueError(f"p_values must lie in [0, 1]; got {p[bad][0]!r} at index "
                         f"{int(np.flatnonzero(bad)[0])}.")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def compare_methods(per_method: Mapping[str, object], statistic, *, image_ids,
                    scores: Mapping[str, object] | None = None, pairs: str = "all",
                    alpha: float = 0.05, confidence: float = 0.95, n_resamples: int = 2000,
                    seed: int = 0, method: str = "percentile") -> list[Comparison]:
    """Pairwise comparison table of several methods scored on the same images.

    Every row compares method a with method b: the difference of the statistic with its
    paired-bootstrap CI and p-value (:func:`paired_bootstrap`), the Wilcoxon
    signed-rank p-value on per-image scores (:func:`wilcoxon_paired`), and both p-values
    Holm-adjusted over the rows of the table (:func:`holm`). All rows use the same seed,
    so every pair is evaluated on the same resamples.

    Parameters
    ----------
    per_method : mapping of str to data
        Method name -> its per-image arrays (as `data` in :func:`bootstrap_ci`).
    statistic : callable
        As in :func:`bootstrap_ci`.
    image_ids : mapping of str to sequence of str, or sequence of str
        Each method's image ids in the order of its arrays (or one list shared by all).
        The lists must be identical: a paired test on different images is meaningless.
    scores : mapping of str to array_like (n_images,), optional
        Per-image scores for the Wilcoxon test. By default they come from
        :func:`per_image_scores` for the ready statistics; for other statistics the
        Wilcoxon columns are NaN unless given here. Images whose score is NaN for either
        method of a pair are left out of that pair's Wilcoxon test.
    pairs : {"all", "best"}, optional
        "all": every pair once, a before b in the order of `per_method`. "best": the
        best method (highest statistic; lowest for :func:`voi_ods`) as a against each
        other method.
    alpha : float, optional
        Family-wise error rate for the ``significant`` flag.
    confidence, n_resamples, seed, method
        As in :func:`bootstrap_ci`.

    Returns
    -------
    rows : list of Comparison

    Raises
    ------
    ValueError
        With fewer than two methods, differing image id lists, a bad `pairs` or `alpha`,
        or bad data.
    """
    names = list(per_method)
    if len(names) < 2:
        raise ValueError(f"per_method needs at least two methods to compare; got {names}.")
    if pairs not in ("all", "best"):
        raise ValueError(f"pairs must be 'all' or 'best'; got {pairs!r}.")
    alpha = check_real(alpha, "alpha", minimum=0.0, maximum=1.0, strict_minimum=True)
    ids = _check_ids(image_ids, names)
    data = {}
    for name in names:
        data[name] = _check_data(statistic, per_method[name], f"per_method[{name!r}]")
        n = next(iter(data[name].values())).shape[0]
        if n != len(ids):
            raise ValueError(f"per_method[{name!r}] holds {n} images but its image_ids list "
                             f"has {len(ids)}.")
    spec = getattr(statistic, "_pooled", None)
    if scores is not None:
        per_image = {name: np.asarray(scores[name], dtype=np.float64) if name in scores
                     else None for name in names}
    elif spec is not None:
        per_image = {name: np.asarray(spec.per_image(data[name])) for name in names}
    else:
        per_image = {name: None for name in names}
    if pairs == "all":
        order = list(combinations(names, 2))
    else:
        values = {name: _point(statistic, data[name]) for name in names}
        sign = 1.0 if spec is None or spec.higher_is_better else -1.0
        # NaN statistics rank last.
        best = max(names, key=lambda k: -np.inf if np.isnan(values[k]) else sign * values[k])
        order = [(best, name) for name in names if name != best]
    results, p_wilcoxon = [], []
    for a, b in order:
        results.append(paired_bootstrap(statistic, data[a], data[b], confidence=confidence,
                                        n_resamples=n_resamples, seed=seed, method=method))
        p_wilcoxon.append(_pair_wilcoxon(per_image[a], per_image[b], a, b, len(ids)))
    p_boot = np.array([r.p_value for r in results])
    p_holm = _holm_nan(p_boot)
    p_wil = np.array(p_wilcoxon)
    p_wil_holm = _holm_nan(p_wil)
    return [Comparison(a, b, r.statistic_a, r.statistic_b, r.difference, r.low, r.high,
                       r.p_value, float(pw), float(ph), float(pwh), bool(ph < alpha),
                       r.n_images)
            for (a, b), r, pw, ph, pwh in zip(order, results, p_wil, p_holm, p_wil_holm)]


def _check_ids(image_ids, names: list[str]) -> list[str]:
    if isinstance(image_ids, Mapping):
        missing = [name for name in names if name not in image_ids]
        if missing:
            raise ValueError(f"image_ids has no list for {missing}; give one per method.")
        lists = {name: [str(i) for i in image_ids[name]] for name in names}
    elif isinstance(image_ids, (str, bytes)) or not isinstance(image_ids, Sequence):
        raise TypeError(f"image_ids must be a mapping of method -> ids or one sequence of "
                        f"ids; got {type(image_ids).__name__}.")
    else:
        lists = {name: [str(i) for i in image_ids] for name in names}
    ref_name = names[0]
    ref = lists[ref_name]
    for name in names[1:]:
        other = lists[name]
        if other != ref:
            only_ref = sorted(set(ref) - set(other))
            only_other = sorted(set(other) - set(ref))
            if only_ref or only_other:
                detail = (f"{len(only_ref)} only in {ref_name!r} (e.g. {only_ref[:3]}), "
                          f"{len(only_other)} only in {name!r} (e.g. {only_other[:3]})")
            else:
                at = next(i for i, (x, y) in enumerate(zip(ref, other)) if x != y)
                detail = (f"same ids in a different order (position {at}: {ref[at]!r} vs "
                          f"{other[at]!r}); sort both the same way")
            raise ValueError(f"methods {ref_name!r} and {name!r} must be scored on the same "
                             f"image ids in the same order; {detail}.")
    if not ref:
        raise ValueError("image_ids is empty; compare methods on at least one image.")
    return ref


def _pair_wilcoxon(a, b, name_a: str, name_b: str, n: int) -> float:
    if a is None or b is None:
        return float("nan")
    for name, x in ((name_a, a), (name_b, b)):
        if x.shape != (n,):
            raise ValueError(f"scores[{name!r}] must have shape ({n},) (one per image); got "
                             f"{x.shape}.")
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        return float("nan")
    return wilcoxon_paired(a[keep], b[keep]).p_value


def _holm_nan(p: np.ndarray) -> np.ndarray:
    """Holm over the finite entries; NaN entries stay NaN (and are not counted)."""
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    out[finite] = holm(p[finite])
    return out

