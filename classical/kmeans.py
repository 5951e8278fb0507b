"""Colour and texture k-means: cluster per-pixel feature vectors, then make regions.

The method of Jain and Farrokhnia [1]_ with the post-processing every clustering
segmenter needs:

1. **Features.** :func:`classical.features.feature_stack` builds one vector per pixel
   (e.g. CIE Lab colour, Gabor energies, coordinates), each channel standardised to
   unit variance and scaled by its feature's weight.
2. **Clustering.** scikit-learn's :class:`~sklearn.cluster.KMeans` (k-means++ seeding,
   ``random_state=seed``) is fitted on a random sample of ``sample_size`` pixels and
   every pixel takes its nearest centre. With ``n_clusters="auto"``, k is the value in
   ``k_range`` with the best mean silhouette [2]_ on a sub-sample, or the lowest BIC of
   a :class:`~sklearn.mixture.GaussianMixture` [3]_ fitted on the sample.
3. **Regions.** Clusters are not regions: each is split into its connected components
   (:func:`classical._regions.relabel_connected`).
4. **Small regions.** Components under ``min_size`` pixels join the neighbour with the
   closest mean feature vector (:func:`classical._regions.merge_small_regions`).
5. **Predicate merge (optional).** Adjacent regions whose union satisfies a homogeneity
   predicate ``P`` -- the same objects that drive region growing and split-and-merge
   (:mod:`classical.predicates`) -- are merged until no adjacent pair satisfies it, so
   the result is maximal in the sense of :mod:`classical.partition`. Each round
   evaluates ``P.mergeable`` on every adjacency edge at once and merges the pairs that
   are each other's most similar mergeable neighbour (mutual best by
   ``P.distance``, or by the distance between mean colours when ``P`` defines none).
   Every region takes part in at most one merge per round, so each merge is decided on
   current statistics, and the globally most similar pair is always merged, so rounds
   make progress; the order of merges is most-similar-first within each round.

References
----------
.. [1] A. K. Jain and F. Farrokhnia, "Unsupervised texture segmentation using Gabor
   filters", Pattern Recognition 24(12):1167-1186, 1991.
.. [2] P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation and
   validation of cluster analysis", J. Comput. Appl. Math. 20:53-65, 1987.
.. [3] G. Schwarz, "Estimating the dimension of a model", Annals of Statistics
   6(2):461-464, 1978.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from classical._regions import adjacent_pairs, merge_small_regions, relabel_connected
from classical._validate import check_connectivity, check_image, check_int, check_real
from classical.features import (
    FEATURES,
    edge_strength,
    feature_stack,
    gabor_energy,
    lbp_codes,
    standardise,
)
from classical.predicates import (
    BorderStats,
    Predicate,
    RegionStats,
    border_sigma,
    parse_predicate,
    predicate_features,
    required_space,
)
from classical.segmenter import Segmenter

__all__ = ["CRITERIA", "KMeansParams", "choose_n_clusters", "kmeans_segment",
           "kmeans_segmenter"]

#: Criteria for choosing k when ``n_clusters="auto"``.
CRITERIA = ("silhouette", "bic")

#: Default sweep of :func:`kmeans_segmenter` over ``n_clusters``, fine to coarse.
_SWEEP = (32, 24, 20, 16, 12, 10, 8, 6, 5, 4, 3, 2)

#: Pixels scored by the silhouette (its cost grows with the square of this).
_SILHOUETTE_SAMPLE = 2000

#: Weight of each feature when ``KMeansParams.weights`` is ``()`` (others: 1). Texture
#: features have many channels, so a lower weight keeps colour in charge.
_DEFAULT_WEIGHTS = {"gabor": 0.5, "texture": 0.5, "xy": 0.3}

#: Pixels the Gaussian mixtures of the BIC criterion are fitted on.
_BIC_SAMPLE = 5000


@dataclass(frozen=True)
class KMeansParams:
    """Parameters of :func:`kmeans_segment`; checked when the object is built.

    Attributes
    ----------
    n_clusters : int or "auto"
        Number of k-means clusters (>= 1), or ``"auto"`` to choose it in `k_range` by
        `criterion`. k is capped at the number of distinct feature vectors in the
        sample (a 3-colour image yields at most 3 clusters).
    features : tuple of str
        Names from :data:`classical.features.FEATURES`, e.g. ``("lab",)`` for colour,
        ``("lab", "gabor")`` for colour and texture, ``("lab", "xy")`` for compact
        regions. The default, colour, texture and position with their default
        weights, raised the covering ODS on 50 BSDS500 training images from 0.50 (Lab
        alone) to 0.54 (with ``min_size=100``; ``benchmarks/perf/tune_bsds.py``).
    weights : tuple of float
        One weight per feature (after standardisation), e.g. ``features=("lab",
        "xy"), weights=(1.0, 0.5)``, or ``()`` for each feature's default weight:
        0.5 for the Gabor energies (``"gabor"``, ``"texture"``), 0.3 for ``"xy"`` and 1
        for the others. A feature with many channels
        (Gabor: ``n_orientations * len(wavelengths)``, 8 by default) weighs more in
        Euclidean distances than one with few (Lab: 3), hence the lower texture
        weight; the position weight keeps clusters compact without cutting large
        uniform regions.
    n_orientations, wavelengths : int, tuple of float
        The Gabor bank of ``"gabor"`` / ``"texture"``
        (:func:`classical.features.gabor_energy`). The default leaves out the
        16-pixel scale of the features module's default bank, which costs as much as
        the two finer scales together.
    window : int
        Odd window side of ``"lbp"``, ``"variance"`` and ``"laws"``.
    k_range : (int, int)
        Smallest and largest k tried by ``n_clusters="auto"``, 2 <= lo <= hi.
    criterion : {"silhouette", "bic"}
        How ``"auto"`` scores each k: mean silhouette of up to 2000 sampled pixels
        (higher is better), or the BIC of a full-covariance Gaussian mixture fitted on
        up to 5000 sampled pixels (lower is better). On natural images the BIC usually
        keeps falling up to the top of `k_range` (texture clusters are not Gaussian);
        the silhouette prefers few, well-separated clusters.
    sample_size : int or None
        Pixels sampled (uniformly, without replacement) to fit k-means and to choose
        k; None fits on every pixel.
    n_init : int
        k-means++ restarts; the run with the lowest inertia is kept.
    min_size : int
        Connected regions smaller than this many pixels join their most similar
        neighbour (closest mean feature vector); 0 or 1 keeps every region.
    predicate : str, Predicate or None
        Homogeneity predicate for the final merge (e.g. ``"mean_lab(8)"``), or None to
        skip it. Colour predicates use their own space; ``space="features"``
        predicates (e.g. ``"mean_features(1.5)"``) read the k-means feature stack;
        boundary parts read the borders between regions. On 50 BSDS500 training
        images ``"weighted(mean_lab(10), boundary(4), 0.4)"`` raised the covering ODS
        of the default features from 0.54 to 0.56, at about twice the time, so the
        default leaves the merge out.
    connectivity : {4, 8}
        Pixel adjacency for regions and merges.
    seed : int
        Seed of the pixel sample and of k-means (>= 0); equal seeds give equal labels.

    Raises
    ------
    TypeError, ValueError
        On a parameter of the wrong kind or out of range; the message names it.
    """

    n_clusters: int | str = 8
    features: tuple[str, ...] = ("lab", "gabor", "xy")
    weights: tuple[float, ...] = ()
    n_orientations: int = 4
    wavelengths: tuple[float, ...] = (4.0, 8.0)
    window: int = 15
    k_range: tuple[int, int] = (2, 12)
    criterion: str = "silhouette"
    sample_size: int | None = 10_000
    n_init: int = 3
    min_size: int = 100
    predicate: str | Predicate | None = None
    connectivity: int = 8
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.n_clusters, str):
            if self.n_clusters != "auto":
                raise ValueError(
                    f"n_clusters must be an integer >= 1 or 'auto'; got {self.n_clusters!r}."
                )
        else:
            check_int(self.n_clusters, "n_clusters", minimum=1)
        object.__setattr__(self, "features", _check_features(self.features))
        object.__setattr__(self, "weights", _check_weights(self.weights, self.features))
        check_int(self.n_orientations, "n_orientations", minimum=1)
        if isinstance(self.wavelengths, (str, bytes)) or not hasattr(self.wavelengths,
                                                                      "__len__"):
            raise TypeError(f"wavelengths must be a tuple of periods in pixels such as "
                            f"(4.0, 8.0); got {self.wavelengths!r}.")
        object.__setattr__(self, "wavelengths", tuple(self.wavelengths))
        if not self.wavelengths:
            raise ValueError("wavelengths is empty; give at least one period, e.g. (4.0, 8.0).")
        for w in self.wavelengths:
            check_real(w, "wavelengths", minimum=2.0)
        window = check_int(self.window, "window", minimum=1)
        if window % 2 == 0:
            raise ValueError(f"window must be odd so the window is centred; got {window}. "
                             f"Use {window + 1}.")
        object.__setattr__(self, "k_range", _check_k_range(self.k_range))
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(map(repr, CRITERIA))}; "
                             f"got {self.criterion!r}.")
        if self.sample_size is not None:
            check_int(self.sample_size, "sample_size", minimum=1)
        check_int(self.n_init, "n_init", minimum=1)
        check_int(self.min_size, "min_size", minimum=0)
        if self.predicate is not None and not isinstance(self.predicate, (str, Predicate)):
            raise TypeError(
                f"predicate must be None, a Predicate or its text (e.g. 'mean_lab(8)'); got "
                f"{type(self.predicate).__name__}."
            )
        if self.predicate is not None:
            # Syntax errors and mixed colour spaces surface here, not once per image.
            required_space(_as_predicate(self.predicate))
        check_connectivity(self.connectivity)
        check_int(self.seed, "seed", minimum=0, maximum=2**32 - 1)


def _as_predicate(predicate: str | Predicate) -> Predicate:
    return parse_predicate(predicate) if isinstance(predicate, str) else predicate


def _check_features(features) -> tuple[str, ...]:
    if isinstance(features, str):
        raise TypeError(f"features must be a tuple of names such as ({features!r},); got "
                        f"the string {features!r}.")
    if not hasattr(features, "__iter__"):
        raise TypeError(f"features must be a tuple of names such as ('lab', 'gabor'); got "
                        f"{features!r}.")
    names = tuple(features)
    if not names:
        raise ValueError(f"features is empty; choose from {', '.join(FEATURES)}.")
    for name in names:
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r}; valid names are "
                             f"{', '.join(FEATURES)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"features names a feature twice: {names!r}.")
    return names


def _check_weights(weights, names: tuple[str, ...]) -> tuple[float, ...]:
    if isinstance(weights, Mapping) or isinstance(weights, (str, bytes)) \
            or not hasattr(weights, "__len__"):
        raise TypeError(f"weights must be a tuple with one weight per feature (or () for "
                        f"the defaults), e.g. (1.0, 0.5) for features ('lab', 'xy'); got "
                        f"{weights!r}.")
    if len(weights) not in (0, len(names)):
        raise ValueError(f"weights must have one entry per feature ({len(names)} for "
                         f"{names!r}) or be () for the defaults; got {len(weights)}.")
    return tuple(check_real(w, f"weights[{i}]", minimum=0) for i, w in enumerate(weights))


def _check_k_range(k_range) -> tuple[int, int]:
    if isinstance(k_range, (str, bytes)) or not hasattr(k_range, "__len__") \
            or len(k_range) != 2:
        raise TypeError(f"k_range must be a pair (lo, hi) such as (2, 12); got {k_range!r}.")
    lo = check_int(k_range[0], "k_range[0]", minimum=2)
    hi = check_int(k_range[1], "k_range[1]", minimum=2)
    if lo > hi:
        raise ValueError(f"k_range must have lo <= hi; got {(lo, hi)}. Use {(hi, lo)}.")
    return lo, hi


# --------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------


def _n_distinct(sample: np.ndarray) -> int:
    """Number of distinct rows (k-means cannot find more clusters than this)."""
    rows = np.ascontiguousarray(sample) + 0.0  # -0.0 + 0.0 is 0.0: equal values, equal bytes
    return int(np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
                         .ravel()).size)


def _kmeans(sample: np.ndarray, n_clusters: int, n_init: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(sample)


def choose_n_clusters(sample: np.ndarray, k_range=(2, 12), *, criterion: str = "silhouette",
                      n_init: int = 1, seed: int = 0) -> tuple[int, dict[int, float]]:
    """Choose the number of k-means clusters for a sample of feature vectors.

    Parameters
    ----------
    sample : ndarray of float, shape (N, C)
        Feature vectors, e.g. a random sample of a :func:`~classical.features.feature_stack`.
    k_range : (int, int), optional
        Candidates ``lo..hi`` (inclusive), capped at the number of distinct vectors;
        with fewer than 2 distinct vectors the answer is 1.
    criterion : {"silhouette", "bic"}, optional
        ``"silhouette"``: k-means on the whole sample for each k, then the mean
        silhouette coefficient [2]_ of its first 2000 vectors (Euclidean), highest
        wins. ``"bic"``: a full-covariance Gaussian mixture per k fitted on the first
        5000 vectors, lowest Bayesian information criterion [3]_ wins. Ties go to the
        smaller k. The sample should be in random order.
    n_init : int, optional
        k-means++ restarts per k (silhouette only).
    seed : int, optional
        ``random_state`` of every fit.

    Returns
    -------
    n_clusters : int
    scores : dict of int to float
        The criterion for each k tried (empty when none could be scored).

    Raises
    ------
    ValueError
        If `sample` is not 2-D and non-empty, or an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    >>> sample = centres[rng.integers(0, 3, 300)] + 0.1 * rng.standard_normal((300, 2))
    >>> choose_n_clusters(sample, (2, 6))[0]
    3
    """
    sample = np.asarray(sample)
    if sample.ndim != 2 or sample.shape[0] == 0:
        raise ValueError(f"sample must have shape (N, C) with N >= 1; got {sample.shape}.")
    lo, hi = _check_k_range(k_range)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(map(repr, CRITERIA))}; got "
                         f"{criterion!r}.")
    n_init = check_int(n_init, "n_init", minimum=1)
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    distinct = _n_distinct(sample)
    if distinct < 2:
        return 1, {}
    hi = min(hi, distinct)
    lo = min(lo, hi)
    scores: dict[int, float] = {}
    if criterion == "silhouette":
        from sklearn.metrics import silhouette_score

        scored = sample[:_SILHOUETTE_SAMPLE]  # the sample is already in random order
        for k in range(lo, hi + 1):
            labels = _kmeans(sample, k, n_init, seed).predict(scored)
            n_labels = np.unique(labels).size
            if 2 <= n_labels <= scored.shape[0] - 1:  # where the silhouette is defined
                scores[k] = float(silhouette_score(scored, labels))
        best = max(scores, key=lambda k: (scores[k], -k)) if scores else lo
    else:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        data = sample[:_BIC_SAMPLE].astype(np.float64, copy=False)
        for k in range(lo, hi + 1):
            if k >= data.shape[0]:
                break
            mixture = GaussianMixture(n_components=k, covariance_type="full",
                                      random_state=seed)
            with warnings.catch_warnings():
                # EM stopped at max_iter still gives a usable (if slightly pessimistic)
                # BIC for comparing k; nothing else is silenced.
                warnings.simplefilter("ignore", ConvergenceWarning)
                mixture.fit(data)
            scores[k] = float(mixture.bic(data))
        best = min(scores, key=lambda k: (scores[k], k)) if scores else lo
    return best, scores


# --------------------------------------------------------------------------------------
# Predicate merge
# --------------------------------------------------------------------------------------


def _predicate_inputs(predicate: Predicate, image: np.ndarray, stack: np.ndarray) -> dict:
    """``RegionStats.from_labels`` inputs; ``space="features"`` reads the k-means stack."""
    if required_space(predicate) != "features":
        return predicate_features(predicate, image)
    # The same texture, histogram and edge inputs predicate_features would add.
    texture = None
    if predicate.uses_texture:
        texture = standardise(gabor_energy(image, pyramid=True))
    histograms = lbp_codes(image) if predicate.uses_histogram else None
    inputs = {"features": stack, "texture": texture, "histograms": histograms,
              "n_bins": 10 if histograms is not None else None}
    sigma = border_sigma(predicate)
    if sigma is not None:
        inputs["edges"] = edge_strength(image, sigma=sigma, relative=True)
    return inputs


def _pair_distance(predicate: Predicate, a: RegionStats, b: RegionStats,
                   border: BorderStats | None) -> np.ndarray:
    if type(predicate).distance is not Predicate.distance:
        return np.atleast_1d(np.asarray(predicate.distance(a, b, border), dtype=np.float64))
    # The predicate defines no distance (e.g. p & q, min_size): mean colour distance.
    diff = a.mean - b.mean
    return np.sqrt(np.sum(diff * diff, axis=-1))


def _replace_rows(stats: RegionStats, rows: np.ndarray, values: RegionStats) -> RegionStats:
    changes = {}
    for field in dataclasses.fields(stats):
        current = getattr(stats, field.name)
        if isinstance(current, np.ndarray):
            current = current.copy()
            current[rows] = getattr(values, field.name)
            changes[field.name] = current
    return dataclasses.replace(stats, **changes)


def _merge_by_predicate(labels: np.ndarray, predicate: Predicate, inputs: dict,
                        connectivity: int) -> np.ndarray:
    """Merge adjacent regions whose union satisfies `predicate`, mutual best first.

    Each round tests every adjacency edge, ranks the mergeable ones by distance (ties by
    edge order) and merges each edge that is the best mergeable edge of both its
    regions. Border statistics (for boundary predicates) add up over merged regions
    like the region statistics. Returns labels that may not be consecutive.
    """
    inputs = dict(inputs)
    edges = inputs.pop("edges", None)
    n = int(labels.max()) + 1
    stats = RegionStats.from_labels(labels=labels, n_labels=n, **inputs)
    if edges is None:
        pairs, _ = adjacent_pairs(labels, connectivity)
        border = None
    else:
        pairs, border = BorderStats.from_labels(labels, edges, connectivity=connectivity)
    root = np.arange(n)
    while pairs.shape[0]:
        first, second = stats[pairs[:, 0]], stats[pairs[:, 1]]
        ok = np.atleast_1d(np.asarray(predicate.mergeable(first, second, border), dtype=bool))
        if not ok.any():
            break
        candidates = pairs[ok]
        distance = _pair_distance(predicate, first[ok], second[ok],
                                  None if border is None else border[ok])
        rank = np.empty(len(candidates), dtype=np.int64)
        rank[np.argsort(distance, kind="stable")] = np.arange(len(candidates))
        best = np.full(n, len(candidates), dtype=np.int64)
        np.minimum.at(best, candidates[:, 0], rank)
        np.minimum.at(best, candidates[:, 1], rank)
        chosen = (best[candidates[:, 0]] == rank) & (best[candidates[:, 1]] == rank)
        keep, gone = candidates[chosen, 0], candidates[chosen, 1]
        stats = _replace_rows(stats, keep, stats[keep].merge(stats[gone]))
        step = np.arange(n)
        step[gone] = keep
        root = step[root]
        pairs = np.sort(step[pairs], axis=1)
        apart = pairs[:, 0] != pairs[:, 1]
        keys, inverse = np.unique(pairs[apart, 0] * n + pairs[apart, 1], return_inverse=True)
        if border is not None:  # the borders of a merged region with a neighbour add up
            border = BorderStats(
                np.bincount(inverse, weights=border.sum[apart], minlength=keys.size),
                np.bincount(inverse, weights=border.count[apart], minlength=keys.size))
        pairs = np.stack([keys // n, keys % n], axis=1)
    return root[labels]


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def kmeans_segment(image, params: KMeansParams = KMeansParams()) -> np.ndarray:
    """Segment an image by k-means clustering of per-pixel colour/texture features.

    See the module docstring for the five steps (features, clustering, connected
    regions, small-region absorption, optional predicate merge).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Grey or RGB, uint8 in 0..255 or float in [0, 1].
    params : KMeansParams, optional

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        Connected regions ``0..n-1``, numbered in raster order of their first pixel.

    Raises
    ------
    TypeError
        If `image` is not a uint8 or float ndarray, or `params` is not a
        :class:`KMeansParams`.
    ValueError
        On an invalid image (shape, range, NaN). Bad parameters are rejected earlier,
        when :class:`KMeansParams` is built.

    Notes
    -----
    k-means runs on a sample and is deterministic for a given ``seed``. Regions merged
    because they are small need not be similar, so with ``min_size > 1`` the predicate
    may fail inside a region; the predicate merge only guarantees that no two adjacent
    regions can be merged.

    References
    ----------
    .. [1] A. K. Jain and F. Farrokhnia, "Unsupervised texture segmentation using Gabor
       filters", Pattern Recognition 24(12):1167-1186, 1991.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((6, 8, 3), np.uint8)
    >>> image[:, 4:] = (200, 30, 30)
    >>> image[4:, :4] = (30, 30, 200)
    >>> kmeans_segment(image, KMeansParams(n_clusters=3, min_size=0))
    array([[0, 0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 0, 1, 1, 1, 1],
           [2, 2, 2, 2, 1, 1, 1, 1],
           [2, 2, 2, 2, 1, 1, 1, 1]], dtype=int32)
    """
    if not isinstance(params, KMeansParams):
        raise TypeError(f"params must be KMeansParams; got {type(params).__name__}. "
                        "Build it with KMeansParams(n_clusters=..., ...).")
    check_image(image)
    predicate = None if params.predicate is None else _as_predicate(params.predicate)
    height, width = image.shape[:2]
    weights = params.weights or tuple(_DEFAULT_WEIGHTS.get(f, 1.0) for f in params.features)
    stack = feature_stack(image, params.features, weights=weights,
                          n_orientations=params.n_orientations,
                          wavelengths=params.wavelengths, window=params.window)
    values = stack.reshape(height * width, -1)

    rng = np.random.default_rng(params.seed)
    n_pixels = height * width
    if params.sample_size is None or params.sample_size >= n_pixels:
        sample = values[rng.permutation(n_pixels)]
    else:
        sample = values[rng.choice(n_pixels, params.sample_size, replace=False)]
    if params.n_clusters == "auto":
        n_clusters, _ = choose_n_clusters(sample, params.k_range, criterion=params.criterion,
                                          n_init=params.n_init, seed=params.seed)
    else:
        # More clusters than distinct vectors would leave some empty (sklearn warns).
        n_clusters = min(params.n_clusters, _n_distinct(sample))
    if n_clusters == 1:
        clusters = np.zeros((height, width), np.int32)
    else:
        model = _kmeans(sample, n_clusters, params.n_init, params.seed)
        clusters = model.predict(values).reshape(height, width).astype(np.int32)

    labels = relabel_connected(clusters, params.connectivity)
    if params.min_size > 1 and labels.max() > 0:
        # Channel-major float64 copy: merge_small_regions sums one channel at a time,
        # and contiguous channels make those sums about twice as fast.
        channels = np.ascontiguousarray(np.moveaxis(stack, -1, 0), dtype=np.float64)
        labels = merge_small_regions(labels, params.min_size, connectivity=params.connectivity,
                                     features=np.moveaxis(channels, 0, -1))
    if predicate is not None and labels.max() > 0:
        inputs = _predicate_inputs(predicate, image, stack)
        labels = _merge_by_predicate(labels, predicate, inputs, params.connectivity)
        labels = relabel_connected(labels, params.connectivity)
    return labels


def kmeans_segmenter(**params) -> Segmenter:
    """k-means segmentation as a :class:`~classical.segmenter.Segmenter` named "kmeans".

    Parameters
    ----------
    **params
        Overrides of :class:`KMeansParams` fields.

    Returns
    -------
    Segmenter
        Its default sweep varies ``n_clusters`` over 32, 24, 20, 16, 12, 10, 8, 6, 5, 4,
        3, 2: fine (many regions) to coarse.

    Raises
    ------
    ValueError, TypeError
        For an unknown parameter name or a bad value.

    Examples
    --------
    >>> segmenter = kmeans_segmenter(features=("lab", "gabor"), n_clusters=6)
    >>> segmenter.name, segmenter.params.n_clusters, segmenter.sweep_values[:3]
    ('kmeans', 6, (32, 24, 20))
    """
    segmenter = Segmenter("kmeans", kmeans_segment, KMeansParams(), "n_clusters", _SWEEP)
    return segmenter.with_params(**params) if params else segmenter
