"""scikit-image and OpenCV segmenters behind segbench's interface.

Each baseline validates its input, returns int32 labels 0..n-1 with every region
connected (8-connectivity), and comes with a frozen params dataclass and a default
sweep ordered from fine to coarse, so the harness compares them exactly as it compares
segbench's own methods.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from classical._regions import merge_small_regions, relabel_connected
from classical._validate import as_float_image, check_int, check_real
from classical.segmenter import Segmenter

__all__ = [
    "BASELINES",
    "FelzenszwalbParams",
    "MeanShiftParams",
    "QuickshiftParams",
    "QuickshiftSegmenter",
    "SlicParams",
    "WatershedParams",
    "get_baseline",
    "felzenszwalb",
    "mean_shift",
    "quickshift",
    "quickshift_sweep",
    "slic",
    "watershed",
]


def _rgb(image: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1]; grey images are repeated to three channels."""
    image = as_float_image(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


@dataclass(frozen=True)
class FelzenszwalbParams:
    """Parameters of :func:`felzenszwalb` (scikit-image's defaults)."""

    scale: float = 1.0
    sigma: float = 0.8
    min_size: int = 20


def felzenszwalb(image: np.ndarray, params: FelzenszwalbParams = FelzenszwalbParams()) -> np.ndarray:
    """Felzenszwalb-Huttenlocher graph-based segmentation (scikit-image).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8, or float in [0, 1].
    params : FelzenszwalbParams, optional

    Returns
    -------
    labels : ndarray of int32, shape (H, W)

    Raises
    ------
    ValueError, TypeError
        On invalid images or parameters.

    References
    ----------
    .. [1] Felzenszwalb, P. F., Huttenlocher, D. P. "Efficient graph-based image
       segmentation", IJCV 59(2), 2004.
    """
    from skimage.segmentation import felzenszwalb as _fh

    check_real(params.scale, "scale", minimum=0, strict_minimum=True)
    check_real(params.sigma, "sigma", minimum=0)
    check_int(params.min_size, "min_size", minimum=0)
    labels = _fh(_rgb(image), scale=params.scale, sigma=params.sigma,
                 min_size=params.min_size, channel_axis=-1)
    return relabel_connected(labels)


@dataclass(frozen=True)
class SlicParams:
    """Parameters of :func:`slic` (k-means in Lab + xy, enforced connectivity)."""

    n_segments: int = 100
    compactness: float = 10.0
    sigma: float = 0.0


def slic(image: np.ndarray, params: SlicParams = SlicParams()) -> np.ndarray:
    """SLIC superpixels (scikit-image), connectivity enforced.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
    params : SlicParams, optional

    Returns
    -------
    labels : ndarray of int32, shape (H, W)

    References
    ----------
    .. [1] Achanta, R. et al. "SLIC superpixels compared to state-of-the-art superpixel
       methods", TPAMI 34(11), 2012.
    """
    from skimage.segmentation import slic as _slic

    check_int(params.n_segments, "n_segments", minimum=1)
    check_real(params.compactness, "compactness", minimum=0, strict_minimum=True)
    check_real(params.sigma, "sigma", minimum=0)
    labels = _slic(_rgb(image), n_segments=params.n_segments, compactness=params.compactness,
                   sigma=params.sigma, start_label=0, channel_axis=-1, enforce_connectivity=True)
    return relabel_connected(labels)


@dataclass(frozen=True)
class QuickshiftParams:
    """Parameters of :func:`quickshift`.

    ``kernel_size`` sets the Parzen window (and the cost: the density is estimated over
    a square of side ``6 * kernel_size + 1`` around each pixel); ``max_dist`` only
    cuts the resulting tree, so a sweep over it reuses one tree
    (:class:`QuickshiftSegmenter`). Links never reach beyond the window, so even an
    unlimited ``max_dist`` leaves hundreds of regions on a 481 x 321 image (a median
    of about 530 at the covering ODS on BSDS500 training images with the default 5,
    the scikit-image default): quick shift is a superpixel method.
    """

    kernel_size: float = 5.0
    max_dist: float = 10.0
    ratio: float = 1.0
    sigma: float = 0.0
    seed: int = 0


def _check_quickshift(params: QuickshiftParams) -> None:
    check_real(params.kernel_size, "kernel_size", minimum=0, strict_minimum=True)
    check_real(params.max_dist, "max_dist", minimum=0, strict_minimum=True)
    check_real(params.ratio, "ratio", minimum=0, maximum=1)
    check_real(params.sigma, "sigma", minimum=0)
    check_int(params.seed, "seed", minimum=0)


def _quickshift_tree(image: np.ndarray, params: QuickshiftParams):
    """Quick shift's forest in Lab + xy: (parent, distance to parent), flat (H * W,)."""
    from skimage.segmentation import quickshift as _qs

    # The tree does not depend on max_dist (it only cuts links afterwards); inf keeps
    # every link so that any max_dist can be cut from it.
    _, parent, distance = _qs(_rgb(image), kernel_size=params.kernel_size,
                              max_dist=np.inf, ratio=params.ratio, sigma=params.sigma,
                              return_tree=True, rng=params.seed, channel_axis=-1)
    return np.asarray(parent).ravel(), np.asarray(distance).ravel()


def _cut_tree(parent: np.ndarray, distance: np.ndarray, max_dist: float,
              shape: tuple[int, int]) -> np.ndarray:
    """Clusters of quick shift's forest after cutting links longer than `max_dist`."""
    root = np.where(distance > max_dist, np.arange(parent.size), parent)
    while True:  # pointer jumping: every pixel reaches its root in O(log depth) passes
        up = root[root]
        if np.array_equal(up, root):
            break
        root = up
    return relabel_connected(root.reshape(shape))


def quickshift(image: np.ndarray, params: QuickshiftParams = QuickshiftParams()) -> np.ndarray:
    """Quick shift mode seeking in Lab + xy (scikit-image); clusters split if disconnected.

    Every pixel links to its nearest neighbour of higher density (a Parzen estimate in
    the joint Lab + xy space) within the kernel's window; links longer than
    ``max_dist`` are cut and the trees left are the regions. Equal to
    ``skimage.segmentation.quickshift`` up to label numbering and the split of
    disconnected clusters.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
    params : QuickshiftParams, optional

    Returns
    -------
    labels : ndarray of int32, shape (H, W)

    Raises
    ------
    ValueError, TypeError
        On invalid images or parameters.

    References
    ----------
    .. [1] Vedaldi, A., Soatto, S. "Quick shift and kernel methods for mode seeking",
       ECCV 2008.
    """
    _check_quickshift(params)
    parent, distance = _quickshift_tree(image, params)
    return _cut_tree(parent, distance, params.max_dist, np.shape(image)[:2])


def quickshift_sweep(image: np.ndarray, max_dists: Sequence[float],
                     params: QuickshiftParams = QuickshiftParams()) -> list[np.ndarray]:
    """Quick shift at many ``max_dist`` values from one density estimate.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
    max_dists : sequence of float
        Cut distances; results come back in the same order.
    params : QuickshiftParams, optional
        Its ``max_dist`` is ignored.

    Returns
    -------
    list of ndarray of int32, shape (H, W)
        Each equal to ``quickshift(image, replace(params, max_dist=d))``.

    Raises
    ------
    ValueError, TypeError
        On invalid images, parameters or distances.
    """
    values = [check_real(d, "max_dists", minimum=0, strict_minimum=True) for d in max_dists]
    if not values:
        raise ValueError("max_dists is empty; pass at least one distance, e.g. [5, 10, 20].")
    _check_quickshift(params)
    parent, distance = _quickshift_tree(image, params)
    shape = np.shape(image)[:2]
    return [_cut_tree(parent, distance, d, shape) for d in values]


@dataclass(frozen=True)
class QuickshiftSegmenter(Segmenter):
    """Quick shift as a segmenter whose ``max_dist`` sweep reuses one tree."""

    def sweep(self, image: np.ndarray, values: Sequence | None = None,
              param: str | None = None) -> list[np.ndarray]:
        """Segment `image` once per value of one parameter; ``max_dist`` in one pass."""
        param = param or self.sweep_param
        if param != "max_dist":
            return super().sweep(image, values, param)
        values = self.sweep_values if values is None else tuple(values)
        return quickshift_sweep(image, values, self.params)


@dataclass(frozen=True)
class WatershedParams:
    """Parameters of :func:`watershed` (compact watershed on the Sobel gradient)."""

    markers: int = 250
    compactness: float = 0.001


def watershed(image: np.ndarray, params: WatershedParams = WatershedParams()) -> np.ndarray:
    """Marker-based watershed of the colour gradient magnitude (scikit-image).

    The gradient is the per-channel Sobel magnitude summed over channels; markers are
    a regular grid of `markers` seeds (scikit-image's integer-markers mode).

    References
    ----------
    .. [1] Neubert, P., Protzel, P. "Compact watershed and preemptive SLIC", ICPR 2014.
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed as _ws

    check_int(params.markers, "markers", minimum=1)
    check_real(params.compactness, "compactness", minimum=0)
    rgb = _rgb(image)
    gradient = sum(sobel(rgb[..., c]) for c in range(3))
    labels = _ws(gradient, markers=params.markers, compactness=params.compactness)
    return relabel_connected(labels)


@dataclass(frozen=True)
class MeanShiftParams:
    """Parameters of :func:`mean_shift` (OpenCV pyramid mean-shift filtering)."""

    spatial_radius: int = 10
    color_radius: float = 20.0
    min_size: int = 20


def mean_shift(image: np.ndarray, params: MeanShiftParams = MeanShiftParams()) -> np.ndarray:
    """Mean-shift filtering (OpenCV) followed by connected-component labelling.

    Pixels are joined when neighbours' filtered colours differ by at most half the
    colour radius; regions under `min_size` pixels join their most similar neighbour.

    References
    ----------
    .. [1] Comaniciu, D., Meer, P. "Mean shift: a robust approach toward feature space
       analysis", TPAMI 24(5), 2002.
    """
    import cv2
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    check_int(params.spatial_radius, "spatial_radius", minimum=1)
    check_real(params.color_radius, "color_radius", minimum=0, strict_minimum=True)
    check_int(params.min_size, "min_size", minimum=0)
    rgb8 = np.round(_rgb(image) * 255).astype(np.uint8)
    filtered = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(rgb8[..., ::-1]),
                                         params.spatial_radius, params.color_radius)
    filtered = filtered.astype(np.float32)
    h, w = filtered.shape[:2]
    index = np.arange(h * w).reshape(h, w)
    rows, cols = [], []
    tol = params.color_radius / 2
    for a, b in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                 ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
        close = np.linalg.norm(filtered[a] - filtered[b], axis=-1) <= tol
        rows.append(index[a][close])
        cols.append(index[b][close])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(h * w, h * w))
    _, comp = connected_components(graph, directed=False)
    labels = comp.reshape(h, w).astype(np.int32)
    return merge_small_regions(labels, params.min_size, features=filtered)


#: name -> (function, params class, sweep parameter, default sweep fine -> coarse). Each
#: sweep has 12 values, spaced geometrically over a range whose covering ODS on 50
#: BSDS500 training images falls inside it, not at an end (``benchmarks/perf/tune_bsds.py``).
BASELINES: dict[str, tuple] = {
    "felzenszwalb": (felzenszwalb, FelzenszwalbParams, "scale",
                     (40.0, 62.0, 96.2, 149.0, 232.0, 359.0, 557.0, 864.0, 1340.0, 2080.0,
                      3220.0, 5000.0)),
    "slic": (slic, SlicParams, "n_segments", (400, 247, 153, 94, 58, 36, 22, 13, 8, 5, 3, 2)),
    "quickshift": (quickshift, QuickshiftParams, "max_dist",
                   (3.0, 4.39, 6.44, 9.43, 13.8, 20.2, 29.6, 43.4, 63.6, 93.2, 137.0, 200.0)),
    "watershed": (watershed, WatershedParams, "markers",
                  (800, 464, 269, 156, 90, 52, 30, 17, 10, 5, 3, 2)),
    "mean_shift": (mean_shift, MeanShiftParams, "color_radius",
                   (8.0, 9.66, 11.7, 14.1, 17.0, 20.6, 24.9, 30.0, 36.3, 43.9, 53.0, 64.0)),
}


def get_baseline(name: str, **params) -> Segmenter:
    """A baseline as a :class:`Segmenter`, with optional parameter overrides.

    Raises
    ------
    ValueError
        For an unknown method name (the message lists the valid ones) or parameter.
    """
    if name not in BASELINES:
        close = difflib.get_close_matches(name, BASELINES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}.{hint}")
    function, params_cls, sweep_param, sweep_values = BASELINES[name]
    kind = QuickshiftSegmenter if function is quickshift else Segmenter
    segmenter = kind(name, function, params_cls(), sweep_param, sweep_values)
    return segmenter.with_params(**params) if params else segmenter
