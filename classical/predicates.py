"""Region statistics and the homogeneity predicates that drive every classical method.

A segmentation of an image :math:`I` under a homogeneity predicate :math:`P` is a
partition of :math:`I` into regions :math:`R_1, \\dots, R_n` that cover the image, do not
overlap and are each connected, such that :math:`P(R_i)` holds for every region and
:math:`P(R_i \\cup R_j)` fails for every pair of adjacent regions [1]_. Region growing,
split-and-merge, k-means post-processing and ``check_partition`` all take one
:class:`Predicate` object and ask it exactly these two questions:

``predicate(stats)``
    :math:`P(R)` for one region, or for many regions at once (a bool array).
``predicate.mergeable(stats_a, stats_b)``
    :math:`P(R_a \\cup R_b)`, decided from the statistics of the two parts. For most
    predicates this is ``predicate(stats_a.merge(stats_b))``; *pairwise* predicates
    (:class:`MeanDistance`, :class:`SRM`, :class:`TextureDistance`) compare the two parts
    instead, which is how their papers define the merge test. The docstring of each
    predicate states both rules.

Both questions are answered from :class:`RegionStats`, the sufficient statistics of a
region (count, per-channel sums, sums of squares, minima and maxima, optional texture
sums and histograms, bounding box). Statistics of a union follow from those of its parts
in O(1), and the statistics of every label of a label image are computed at once with
``np.bincount`` and one sort.

Channels and scales
-------------------
Predicates read the *feature channels* of the statistics; the caller builds those from
the feature image it chooses. :func:`predicate_features` computes exactly what a given
predicate needs (colour in its space, Gabor energies, LBP codes), so a segmenter does
``RegionStats.from_labels(labels=labels, **predicate_features(predicate, image))``.
Colour predicates carry the ``space`` their threshold is expressed in, so that one
object says both *what* is compared and *on which scale*:

==============  ==========================================================
``"rgb"``       three channels in [0, 1]
``"lab"``       CIE L*a*b* (D65): L in [0, 100], a and b in about [-128, 127];
                Euclidean distances are CIE76 colour differences (Delta E)
``"hsv"``       three channels in [0, 1] (hue is *not* treated as circular)
``"grey"``      one luminance channel in [0, 1]
``"features"``  any channels, e.g. a standardised
                :func:`classical.features.feature_stack` (units: standard deviations)
==============  ==========================================================

A predicate tree may use only one colour space (the statistics hold one feature image);
:func:`required_space` tells a segmenter which one to build.

Text syntax
-----------
Every predicate has a readable ``repr`` that :func:`parse_predicate` reads back
(``parse_predicate(repr(p)) == p``), e.g. ``mean_lab(10) & texture_l2(0.3)``,
``range_rgb(0.1) | ~min_size(20)`` or ``srm_rgb(32)``; see :func:`parse_predicate`.

References
----------
.. [1] S. L. Horowitz and T. Pavlidis, "Picture segmentation by a tree traversal
   algorithm", J. ACM 23(2):368-388, 1976; R. C. Gonzalez and R. E. Woods, *Digital
   Image Processing*, 3rd ed., Section 10.4, 2008.
.. [2] R. Adams and L. Bischof, "Seeded region growing", IEEE TPAMI 16(6):641-647, 1994.
.. [3] R. Nock and F. Nielsen, "Statistical region merging", IEEE TPAMI
   26(11):1452-1458, 2004.
.. [4] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
   invariant texture classification with local binary patterns", IEEE TPAMI
   24(7):971-987, 2002.
"""

from __future__ import annotations

import math
import re
from dataclasses import KW_ONLY, dataclass

import numpy as np

from ._validate import check_int, check_labels, check_real
from .features import (
    _edge_strength,
    colour_features,
    edge_strength,
    gabor_energy,
    lbp_codes,
    standardise,
)

__all__ = [
    "SPACES",
    "And",
    "BorderStats",
    "Boundary",
    "MaxSize",
    "MaxStd",
    "MeanDistance",
    "MinSize",
    "Not",
    "Or",
    "Predicate",
    "Range",
    "RegionStats",
    "SRM",
    "TextureDistance",
    "Weighted",
    "border_sigma",
    "parse_predicate",
    "predicate_features",
    "required_space",
]

#: Colour spaces a colour predicate can be expressed in, with their channel counts
#: (``None``: any number of channels).
SPACES: dict[str, int | None] = {"rgb": 3, "lab": 3, "hsv": 3, "grey": 1, "features": None}

#: SRM's ``g`` (the range of values a channel can take) per colour space. For Lab these
#: are the extents of the sRGB gamut under skimage.color.rgb2lab (D65).
_SRM_G: dict[str, tuple[float, ...]] = {
    "rgb": (1.0,),
    "hsv": (1.0,),
    "grey": (1.0,),
    "lab": (100.0, 184.416, 202.335),
    "features": (1.0,),
}

_METRICS = ("l2", "chi2")
_BIG = np.iinfo(np.int64).max


# --------------------------------------------------------------------------------------
# Region statistics
# --------------------------------------------------------------------------------------


def _as_value_array(values, name: str, *, ndim: int) -> np.ndarray:
    """Check per-pixel values with `ndim` leading (pixel) axes and an optional channel axis.

    Returns float64 data of shape pixel_shape + (C,).
    """
    if not isinstance(values, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(values).__name__}.")
    if values.dtype == np.bool_ or not (
        np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)
    ):
        raise TypeError(f"{name} must hold real numbers; got dtype {values.dtype}.")
    if values.ndim == ndim:
        values = values[..., np.newaxis]
    elif values.ndim != ndim + 1:
        lead = "(H, W)" if ndim == 2 else "(N,)"
        raise ValueError(
            f"{name} must have shape {lead[:-1]}, C) or {lead}; got {values.shape}."
        )
    values = values.astype(np.float64, copy=False)
    finite = np.isfinite(values)
    if not finite.all():
        raise ValueError(
            f"{name} contains {int(values.size - finite.sum())} NaN or infinite values."
        )
    return values


def _check_codes_or_weights(histograms, name: str, *, ndim: int, n_bins):
    """Split `histograms` into integer codes (pixel_shape) or per-pixel weights (+ (B,))."""
    if not isinstance(histograms, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(histograms).__name__}.")
    if histograms.ndim == ndim and np.issubdtype(histograms.dtype, np.integer):
        codes = histograms
        lo = int(codes.min()) if codes.size else 0
        if lo < 0:
            raise ValueError(f"{name} holds histogram codes, which must be >= 0; got {lo}.")
        top = int(codes.max()) + 1 if codes.size else 1
        if n_bins is None:
            n_bins = top
        n_bins = check_int(n_bins, "n_bins", minimum=1)
        if top > n_bins:
            raise ValueError(
                f"{name} has code {top - 1}, outside 0..{n_bins - 1} (n_bins={n_bins})."
            )
        return codes.astype(np.int64, copy=False), None, n_bins
    if histograms.ndim == ndim + 1:
        weights = _as_value_array(histograms, name, ndim=ndim)
        if n_bins is not None and check_int(n_bins, "n_bins", minimum=1) != weights.shape[-1]:
            raise ValueError(
                f"n_bins={n_bins} does not match the {weights.shape[-1]} bins of {name}."
            )
        return None, weights, weights.shape[-1]
    raise ValueError(
        f"{name} must be integer codes with the pixels' shape or per-pixel histograms with "
        f"one more (bin) axis; got shape {histograms.shape} and dtype {histograms.dtype}."
    )


@dataclass(frozen=True, eq=False)
class RegionStats:
    """Sufficient statistics of one region or of many regions at once.

    Struct of arrays: every field has the *batch shape* ``S`` of the regions it holds
    (``()`` for one region, ``(n,)`` for labels ``0..n-1``) followed by a channel axis.
    Statistics of a union follow from those of its parts in O(1) (:meth:`merge`), so a
    segmenter never revisits pixels. Build them with :meth:`from_labels` (every label of
    a label image, vectorised), :meth:`from_pixels` (one region from a pixel list) or
    :meth:`singletons` (every pixel its own region).

    Parameters
    ----------
    count : ndarray of int64, shape S
        Number of pixels; 0 for a label that does not occur.
    sum, sumsq : ndarray of float64, shape S + (C,)
        Per-channel sums and sums of squares of the feature values.
    min, max : ndarray of float64, shape S + (C,)
        Per-channel extrema (``+inf`` / ``-inf`` for empty regions).
    bbox : ndarray of int64, shape S + (4,), optional
        ``(min_row, min_col, max_row, max_col)`` with the maxima exclusive, as in
        ``skimage.measure.regionprops``; empty regions have ``min > max``.
    texture_sum, texture_sumsq : ndarray of float64, shape S + (T,), optional
        Sums and sums of squares of per-pixel texture descriptors (e.g. Gabor energies).
    histogram : ndarray of float64, shape S + (B,), optional
        Summed per-pixel histograms, e.g. counts of LBP codes.
    image_size : int, optional
        Number of pixels of the whole image; :class:`SRM` needs it.

    Notes
    -----
    Variances come from sums of squares, :math:`\\sigma^2 = \\overline{x^2} -
    \\bar{x}^2`, clipped to ``[0, (max - min)^2 / 4]``; a channel whose minimum equals its
    maximum has variance exactly 0.

    Examples
    --------
    >>> import numpy as np
    >>> features = np.array([[0.0, 0.0, 1.0], [0.0, 0.5, 1.0]])
    >>> labels = np.array([[0, 0, 1], [0, 0, 1]])
    >>> stats = RegionStats.from_labels(features, labels)
    >>> stats.count.tolist(), stats.mean[:, 0].tolist()
    ([4, 2], [0.125, 1.0])
    >>> float(stats[0].merge(stats[1]).mean[0])
    0.4166666666666667
    """

    count: np.ndarray
    sum: np.ndarray
    sumsq: np.ndarray
    min: np.ndarray
    max: np.ndarray
    bbox: np.ndarray | None = None
    texture_sum: np.ndarray | None = None
    texture_sumsq: np.ndarray | None = None
    histogram: np.ndarray | None = None
    image_size: int | None = None

    def __post_init__(self):
        count = np.asarray(self.count)
        if not np.issubdtype(count.dtype, np.integer):
            raise TypeError(f"RegionStats.count must hold integers; got dtype {count.dtype}.")
        object.__setattr__(self, "count", count)
        shape = count.shape
        for name in ("sum", "sumsq", "min", "max", "bbox", "texture_sum", "texture_sumsq",
                     "histogram"):
            value = getattr(self, name)
            if value is None:
                continue
            value = np.asarray(value, dtype=np.int64 if name == "bbox" else np.float64)
            object.__setattr__(self, name, value)
            if value.ndim != len(shape) + 1 or value.shape[:-1] != shape:
                raise ValueError(
                    f"RegionStats.{name} must have shape {shape} + (channels,) to match "
                    f"count; got {np.shape(value)}."
                )
        if (self.texture_sum is None) != (self.texture_sumsq is None):
            raise ValueError("RegionStats needs both texture_sum and texture_sumsq, or neither.")
        if self.image_size is not None:
            object.__setattr__(self, "image_size",
                               check_int(self.image_size, "image_size", minimum=1))

    @classmethod
    def _unchecked(cls, count, sum, sumsq, min, max, bbox, texture_sum, texture_sumsq,
                   histogram, image_size) -> RegionStats:
        """Build from arrays known to be consistent, skipping the checks (hot paths)."""
        self = object.__new__(cls)
        self.__dict__.update(count=count, sum=sum, sumsq=sumsq, min=min, max=max, bbox=bbox,
                             texture_sum=texture_sum, texture_sumsq=texture_sumsq,
                             histogram=histogram, image_size=image_size)
        return self

    # -- constructors ------------------------------------------------------------------

    @classmethod
    def from_labels(cls, features, labels, *, texture=None, histograms=None, n_bins=None,
                    n_labels=None) -> RegionStats:
        """Statistics of every label of a label image, computed at once.

        Parameters
        ----------
        features : ndarray, shape (H, W, C) or (H, W)
            Per-pixel feature values (e.g. Lab colour from
            :func:`classical.features.colour_features`).
        labels : ndarray of int, shape (H, W)
            Non-negative labels; they need not be contiguous or connected.
        texture : ndarray, shape (H, W, T) or (H, W), optional
            Per-pixel texture descriptors (e.g. Gabor energies); their sums and sums of
            squares are kept.
        histograms : ndarray, optional
            Either integer codes of shape (H, W) (e.g. LBP codes), counted per region, or
            per-pixel histograms of shape (H, W, B), summed per region.
        n_bins : int, optional
            Number of histogram bins for integer codes (default: largest code + 1). Fix it
            when statistics from several images must merge.
        n_labels : int, optional
            Length of the batch axis (default ``labels.max() + 1``).

        Returns
        -------
        stats : RegionStats
            Batch shape ``(n_labels,)``: ``stats[k]`` holds label ``k``. ``image_size`` is
            ``H * W``.

        Raises
        ------
        TypeError
            If an input is not a numeric ndarray.
        ValueError
            On mismatched shapes, negative labels, non-finite features, or a label
            ``>= n_labels``.
        """
        labels = check_labels(labels)
        features = _as_value_array(features, "features", ndim=2)
        height, width = labels.shape
        if features.shape[:2] != labels.shape:
            raise ValueError(
                f"features and labels must have the same height and width; got "
                f"{features.shape[:2]} and {labels.shape}."
            )
        flat = labels.ravel().astype(np.int64, copy=False)
        low, high = int(flat.min()), int(flat.max())
        if low < 0:
            raise ValueError(
                f"labels must be non-negative; got minimum {low}. Shift them, e.g. "
                "labels - labels.min(), or use skimage.segmentation.relabel_sequential."
            )
        if n_labels is None:
            n_labels = high + 1
        n_labels = check_int(n_labels, "n_labels", minimum=1)
        if high >= n_labels:
            raise ValueError(f"labels has label {high}, outside 0..{n_labels - 1} "
                             f"(n_labels={n_labels}); raise n_labels to {high + 1}.")
        values = features.reshape(-1, features.shape[-1])
        count = np.bincount(flat, minlength=n_labels)
        total, total_sq = _label_sums(flat, values, n_labels)

        # One stable sort groups the pixels of each label; extrema are segment reductions.
        order = np.argsort(flat, kind="stable")
        present = np.flatnonzero(count)
        starts = (np.cumsum(count) - count)[present]
        sorted_values = values[order]
        low_v = np.full((n_labels, values.shape[1]), np.inf)
        high_v = np.full((n_labels, values.shape[1]), -np.inf)
        low_v[present] = np.minimum.reduceat(sorted_values, starts, axis=0)
        high_v[present] = np.maximum.reduceat(sorted_values, starts, axis=0)
        rows, cols = np.divmod(order, width)  # rows are increasing within each label
        ends = starts + count[present] - 1
        bbox = np.empty((n_labels, 4), dtype=np.int64)
        bbox[:, :2] = _BIG
        bbox[:, 2:] = 0
        bbox[present, 0] = rows[starts]
        bbox[present, 2] = rows[ends] + 1
        bbox[present, 1] = np.minimum.reduceat(cols, starts)
        bbox[present, 3] = np.maximum.reduceat(cols, starts) + 1

        texture_sum = texture_sumsq = histogram = None
        if texture is not None:
            texture = _as_value_array(texture, "texture", ndim=2)
            if texture.shape[:2] != labels.shape:
                raise ValueError(
                    f"texture and labels must have the same height and width; got "
                    f"{texture.shape[:2]} and {labels.shape}."
                )
            texture_sum, texture_sumsq = _label_sums(
                flat, texture.reshape(-1, texture.shape[-1]), n_labels)
        if histograms is not None:
            codes, weights, n_bins = _check_codes_or_weights(
                histograms, "histograms", ndim=2, n_bins=n_bins)
            shape = codes.shape if codes is not None else weights.shape[:2]
            if shape != labels.shape:
                raise ValueError(
                    f"histograms and labels must have the same height and width; got "
                    f"{shape} and {labels.shape}."
                )
            if codes is not None:
                histogram = np.bincount(flat * n_bins + codes.ravel(),
                                        minlength=n_labels * n_bins)
                histogram = histogram.reshape(n_labels, n_bins).astype(np.float64)
            else:
                histogram = _label_sums(flat, weights.reshape(-1, n_bins), n_labels,
                                        squares=False)[0]
        return cls(count=count.astype(np.int64), sum=total, sumsq=total_sq, min=low_v,
                   max=high_v, bbox=bbox, texture_sum=texture_sum,
                   texture_sumsq=texture_sumsq, histogram=histogram,
                   image_size=height * width)

    @classmethod
    def from_pixels(cls, pixels, *, coords=None, texture=None, histograms=None, n_bins=None,
                    image_size=None) -> RegionStats:
        """Statistics of one region given as a list of pixels.

        Parameters
        ----------
        pixels : ndarray, shape (N, C) or (N,)
            Feature values of the region's pixels (N >= 1).
        coords : ndarray of int, shape (N, 2), optional
            ``(row, col)`` of each pixel, for the bounding box (otherwise ``bbox`` is None).
        texture : ndarray, shape (N, T) or (N,), optional
            Per-pixel texture descriptors.
        histograms : ndarray, optional
            Integer codes of shape (N,) or per-pixel histograms of shape (N, B).
        n_bins : int, optional
            Number of bins for integer codes (default: largest code + 1).
        image_size : int, optional
            Pixels in the whole image (needed by :class:`SRM`).

        Returns
        -------
        stats : RegionStats
            Batch shape ``()``.

        Raises
        ------
        TypeError, ValueError
            On non-numeric, empty, non-finite or mismatched inputs.
        """
        pixels = _as_value_array(pixels, "pixels", ndim=1)
        n = pixels.shape[0]
        if n == 0:
            raise ValueError("pixels is empty; a region needs at least one pixel.")
        bbox = texture_sum = texture_sumsq = histogram = None
        if coords is not None:
            coords = np.asarray(coords)
            if coords.shape != (n, 2) or not np.issubdtype(coords.dtype, np.integer):
                raise ValueError(
                    f"coords must be integer (row, col) pairs of shape ({n}, 2); got shape "
                    f"{coords.shape} and dtype {coords.dtype}."
                )
            bbox = np.concatenate([coords.min(axis=0), coords.max(axis=0) + 1]).astype(np.int64)
        if texture is not None:
            texture = _as_value_array(texture, "texture", ndim=1)
            if texture.shape[0] != n:
                raise ValueError(f"texture must have {n} rows like pixels; got {texture.shape[0]}.")
            texture_sum, texture_sumsq = texture.sum(axis=0), (texture * texture).sum(axis=0)
        if histograms is not None:
            codes, weights, n_bins = _check_codes_or_weights(
                histograms, "histograms", ndim=1, n_bins=n_bins)
            rows = codes.shape[0] if codes is not None else weights.shape[0]
            if rows != n:
                raise ValueError(f"histograms must have {n} rows like pixels; got {rows}.")
            if codes is not None:
                histogram = np.bincount(codes, minlength=n_bins).astype(np.float64)
            else:
                histogram = weights.sum(axis=0)
        return cls(count=np.asarray(n, dtype=np.int64), sum=pixels.sum(axis=0),
                   sumsq=(pixels * pixels).sum(axis=0), min=pixels.min(axis=0),
                   max=pixels.max(axis=0), bbox=bbox, texture_sum=texture_sum,
                   texture_sumsq=texture_sumsq, histogram=histogram, image_size=image_size)

    @classmethod
    def singletons(cls, features, *, texture=None, histograms=None, n_bins=None) -> RegionStats:
        """Every pixel of a feature image as its own region (batch shape (H, W)).

        The usual start of region merging (e.g. :class:`SRM`) and the per-pixel side of
        seeded region growing: ``predicate.mergeable(region, singletons[r, c])``.

        Parameters
        ----------
        features : ndarray, shape (H, W, C) or (H, W)
        texture : ndarray, shape (H, W, T) or (H, W), optional
        histograms : ndarray, optional
            Integer codes (H, W) or per-pixel histograms (H, W, B).
        n_bins : int, optional
            Number of bins for integer codes (default: largest code + 1).

        Returns
        -------
        stats : RegionStats
            Batch shape (H, W); ``image_size`` is ``H * W``.

        Raises
        ------
        TypeError, ValueError
            On non-numeric, non-finite or mismatched inputs.
        """
        features = _as_value_array(features, "features", ndim=2)
        height, width = features.shape[:2]
        if height * width == 0:
            raise ValueError(f"features is empty: shape {features.shape}.")
        rows, cols = np.indices((height, width))
        bbox = np.stack([rows, cols, rows + 1, cols + 1], axis=-1).astype(np.int64)
        texture_sum = texture_sumsq = histogram = None
        if texture is not None:
            texture = _as_value_array(texture, "texture", ndim=2)
            if texture.shape[:2] != (height, width):
                raise ValueError(
                    f"texture and features must have the same height and width; got "
                    f"{texture.shape[:2]} and {(height, width)}."
                )
            texture_sum, texture_sumsq = texture, texture * texture
        if histograms is not None:
            codes, weights, n_bins = _check_codes_or_weights(
                histograms, "histograms", ndim=2, n_bins=n_bins)
            shape = codes.shape if codes is not None else weights.shape[:2]
            if shape != (height, width):
                raise ValueError(
                    f"histograms and features must have the same height and width; got "
                    f"{shape} and {(height, width)}."
                )
            histogram = weights if codes is None else np.eye(n_bins)[codes]
        return cls(count=np.ones((height, width), dtype=np.int64), sum=features,
                   sumsq=features * features, min=features, max=features, bbox=bbox,
                   texture_sum=texture_sum, texture_sumsq=texture_sumsq,
                   histogram=histogram, image_size=height * width)

    # -- combining ---------------------------------------------------------------------

    def merge(self, other: RegionStats) -> RegionStats:
        """Statistics of the union of these regions with `other`'s, elementwise.

        Batch shapes broadcast, so ``stats[i].merge(stats[j])`` merges two regions and
        ``stats[edges[:, 0]].merge(stats[edges[:, 1]])`` merges every edge of an adjacency
        graph at once. The regions are assumed disjoint.

        Raises
        ------
        TypeError
            If `other` is not a :class:`RegionStats`.
        ValueError
            If the two carry different optional statistics or image sizes.
        """
        if not isinstance(other, RegionStats):
            raise TypeError(f"other must be RegionStats; got {type(other).__name__}.")
        image_size = self.image_size
        if image_size is None:
            image_size = other.image_size
        elif other.image_size is not None and other.image_size != image_size:
            raise ValueError(
                f"cannot merge statistics of images of {self.image_size} and "
                f"{other.image_size} pixels."
            )
        if (self.texture_sum is None) != (other.texture_sum is None) \
                or (self.histogram is None) != (other.histogram is None):
            name = ("texture_sum" if (self.texture_sum is None) != (other.texture_sum is None)
                    else "histogram")
            raise ValueError(
                f"cannot merge statistics with and without {name}; build both with the "
                "same texture=/histograms= arguments."
            )
        texture_sum = texture_sumsq = histogram = bbox = None
        if self.texture_sum is not None:
            texture_sum = self.texture_sum + other.texture_sum
            texture_sumsq = self.texture_sumsq + other.texture_sumsq
        if self.histogram is not None:
            histogram = self.histogram + other.histogram
        if self.bbox is not None and other.bbox is not None:
            bbox = np.concatenate([np.minimum(self.bbox[..., :2], other.bbox[..., :2]),
                                   np.maximum(self.bbox[..., 2:], other.bbox[..., 2:])],
                                  axis=-1)
        return RegionStats._unchecked(
            self.count + other.count, self.sum + other.sum, self.sumsq + other.sumsq,
            np.minimum(self.min, other.min), np.maximum(self.max, other.max), bbox,
            texture_sum, texture_sumsq, histogram, image_size)

    def union(self) -> RegionStats:
        """Statistics of the union of every region held (batch shape ``()``)."""
        axes = tuple(range(self.count.ndim))

        def total(x):
            return None if x is None else x.sum(axis=axes)

        bbox = None
        if self.bbox is not None:
            flat = self.bbox.reshape(-1, 4)
            bbox = np.concatenate([flat[:, :2].min(axis=0, initial=_BIG),
                                   flat[:, 2:].max(axis=0, initial=0)])
        return RegionStats(
            count=np.asarray(self.count.sum(), dtype=np.int64), sum=total(self.sum),
            sumsq=total(self.sumsq),
            min=self.min.reshape(-1, self.n_channels).min(axis=0, initial=np.inf),
            max=self.max.reshape(-1, self.n_channels).max(axis=0, initial=-np.inf),
            bbox=bbox, texture_sum=total(self.texture_sum),
            texture_sumsq=total(self.texture_sumsq), histogram=total(self.histogram),
            image_size=self.image_size)

    def __getitem__(self, index) -> RegionStats:
        """Select regions along the batch axes, e.g. ``stats[3]`` or ``stats[[1, 4]]``."""
        if self.count.ndim == 0:
            raise TypeError("these RegionStats hold a single region; there is nothing to index.")

        def take(x):
            return None if x is None else x[index]

        return RegionStats._unchecked(
            self.count[index], self.sum[index], self.sumsq[index], self.min[index],
            self.max[index], take(self.bbox), take(self.texture_sum),
            take(self.texture_sumsq), take(self.histogram), self.image_size)

    def __len__(self) -> int:
        if self.count.ndim == 0:
            raise TypeError("these RegionStats hold a single region and have no len().")
        return self.count.shape[0]

    def __repr__(self) -> str:
        extra = []
        if self.texture_sum is not None:
            extra.append(f"texture={self.texture_sum.shape[-1]}")
        if self.histogram is not None:
            extra.append(f"bins={self.histogram.shape[-1]}")
        if self.image_size is not None:
            extra.append(f"image_size={self.image_size}")
        return (f"RegionStats(shape={self.shape}, channels={self.n_channels}"
                + "".join(", " + e for e in extra) + ")")

    # -- derived quantities ------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Batch shape: ``()`` for one region, ``(n,)`` for labels ``0..n-1``."""
        return tuple(np.shape(self.count))

    @property
    def n_channels(self) -> int:
        """Number of feature channels C."""
        return int(np.shape(self.sum)[-1])

    @property
    def mean(self) -> np.ndarray:
        """Per-channel means, shape S + (C,) (0 for empty regions)."""
        return _safe_mean(self.sum, self.count)

    @property
    def var(self) -> np.ndarray:
        """Per-channel population variances, shape S + (C,)."""
        return _variance(self.sum, self.sumsq, self.count, self.min, self.max)

    @property
    def std(self) -> np.ndarray:
        """Per-channel population standard deviations, shape S + (C,)."""
        return np.sqrt(self.var)

    @property
    def range(self) -> np.ndarray:
        """Per-channel ``max - min``, shape S + (C,) (``-inf`` for empty regions)."""
        return self.max - self.min

    @property
    def texture_mean(self) -> np.ndarray:
        """Mean texture descriptor, shape S + (T,)."""
        _require(self.texture_sum, "texture", "texture_mean")
        return _safe_mean(self.texture_sum, self.count)

    @property
    def texture_var(self) -> np.ndarray:
        """Per-component variance of the texture descriptors, shape S + (T,)."""
        _require(self.texture_sum, "texture", "texture_var")
        return _variance(self.texture_sum, self.texture_sumsq, self.count)

    @property
    def histogram_density(self) -> np.ndarray:
        """Histograms normalised to sum 1 (all zeros for empty histograms), S + (B,)."""
        _require(self.histogram, "histograms", "histogram_density")
        total = self.histogram.sum(axis=-1, keepdims=True)
        return self.histogram / np.where(total > 0, total, 1.0)


def _label_sums(flat: np.ndarray, values: np.ndarray, n_labels: int, *, squares=True):
    total = np.empty((n_labels, values.shape[1]))
    total_sq = np.empty((n_labels, values.shape[1])) if squares else None
    for c in range(values.shape[1]):
        column = values[:, c]
        total[:, c] = np.bincount(flat, weights=column, minlength=n_labels)
        if squares:
            total_sq[:, c] = np.bincount(flat, weights=column * column, minlength=n_labels)
    return total, total_sq


def _safe_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    # Sums of empty regions are 0, so dividing them by 1 gives the documented mean 0.
    return total / np.maximum(count, 1)[..., np.newaxis]


def _variance(total, total_sq, count, low=None, high=None) -> np.ndarray:
    mean = _safe_mean(total, count)
    var = _safe_mean(total_sq, count) - mean * mean
    np.maximum(var, 0.0, out=var)
    if low is not None:
        # Popoviciu: var <= spread^2 / 4; this also makes constant channels exactly 0.
        spread = np.maximum(high - low, 0.0)
        np.minimum(var, 0.25 * spread * spread, out=var)
    return var


def _require(value, argument: str, what: str) -> None:
    if value is None:
        raise ValueError(
            f"{what} needs statistics built with {argument}=...; these RegionStats have none."
        )


# --------------------------------------------------------------------------------------
# Border statistics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BorderStats:
    """Edge strength accumulated along the borders between pairs of adjacent regions.

    The border between regions :math:`A` and :math:`B` is the set of neighbouring pixel
    pairs :math:`(p, q)`, :math:`p \\in A`, :math:`q \\in B` (4-neighbours, plus
    diagonal neighbours for 8-connectivity); each pair contributes the edge strength
    :math:`\\max(G(p), G(q))` of a per-pixel map :math:`G` (e.g.
    :func:`classical.features.edge_strength`). Sums and counts are additive: when
    :math:`B` and :math:`C` merge, the border of :math:`A` with the union is the sum of
    the two borders, so merging algorithms update it in O(1) like :class:`RegionStats`.

    Parameters
    ----------
    sum : ndarray of float64, shape S
        Summed edge strength over each border's pixel pairs.
    count : ndarray of float64, shape S
        Number of pixel pairs on each border (0 for regions that do not touch).

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([[0, 0, 1], [0, 0, 1]])
    >>> strength = np.array([[0.0, 2.0, 4.0], [0.0, 2.0, 0.0]])
    >>> pairs, border = BorderStats.from_labels(labels, strength, connectivity=4)
    >>> pairs.tolist(), border.mean.tolist()
    ([[0, 1]], [3.0])
    """

    sum: np.ndarray
    count: np.ndarray

    def __post_init__(self):
        total = np.asarray(self.sum, dtype=np.float64)
        count = np.asarray(self.count, dtype=np.float64)
        if total.shape != count.shape:
            raise ValueError(f"BorderStats.sum and count must have the same shape; got "
                             f"{total.shape} and {count.shape}.")
        object.__setattr__(self, "sum", total)
        object.__setattr__(self, "count", count)

    @classmethod
    def from_labels(cls, labels, strength, *, connectivity: int = 8,
                    pairs=None) -> tuple[np.ndarray, "BorderStats"]:
        """Border statistics of every pair of adjacent labels, computed at once.

        Parameters
        ----------
        labels : ndarray of int, shape (H, W)
            Non-negative labels.
        strength : ndarray of float, shape (H, W)
            Per-pixel edge strength, e.g. :func:`classical.features.edge_strength`.
        connectivity : {4, 8}, optional
            Which pixel pairs form a border (8 adds the diagonals).
        pairs : ndarray of int, shape (P, 2), optional
            Return the statistics of these label pairs (either order) instead of every
            adjacent pair; pairs that do not touch get count 0.

        Returns
        -------
        pairs : ndarray of int64, shape (P, 2)
            With `pairs` not given: every adjacent pair once, ``a < b``, sorted (as
            :func:`classical._regions.adjacent_pairs`); otherwise `pairs` itself.
        border : BorderStats
            Batch shape (P,).

        Raises
        ------
        TypeError, ValueError
            On non-numeric inputs, mismatched shapes, negative labels, non-finite
            strengths or a bad `connectivity`.
        """
        from ._regions import _neighbour_slices
        from ._validate import check_connectivity

        labels = check_labels(labels)
        connectivity = check_connectivity(connectivity)
        strength = _as_value_array(strength, "strength", ndim=2)
        if strength.shape[2] != 1 or strength.shape[:2] != labels.shape:
            got = strength.shape[:2] if strength.shape[2] == 1 else strength.shape
            raise ValueError(f"strength must have the labels' shape {labels.shape}; got {got}.")
        strength = strength[..., 0]
        if labels.size and int(labels.min()) < 0:
            raise ValueError(f"labels must be non-negative; got minimum {int(labels.min())}.")
        n = int(labels.max()) + 1 if labels.size else 1
        keys, values = [], []
        for a, b in _neighbour_slices(connectivity):
            la, lb = labels[a].ravel().astype(np.int64), labels[b].ravel().astype(np.int64)
            differ = la != lb
            keys.append(np.minimum(la, lb)[differ] * n + np.maximum(la, lb)[differ])
            values.append(np.maximum(strength[a].ravel()[differ], strength[b].ravel()[differ]))
        keys = np.concatenate(keys)
        values = np.concatenate(values)
        unique, inverse = np.unique(keys, return_inverse=True)
        total = np.bincount(inverse, weights=values, minlength=unique.size)
        count = np.bincount(inverse, minlength=unique.size).astype(np.float64)
        if pairs is None:
            return np.stack([unique // n, unique % n], axis=1), cls(total, count)
        pairs = np.asarray(pairs)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
            raise ValueError(f"pairs must be integer label pairs of shape (P, 2); got shape "
                             f"{pairs.shape} and dtype {pairs.dtype}.")
        pairs = pairs.astype(np.int64)
        wanted = np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1])
        at = np.minimum(np.searchsorted(unique, wanted), max(unique.size - 1, 0))
        found = unique.size > 0
        hit = (unique[at] == wanted) if found else np.zeros(wanted.shape, bool)
        out_sum = np.where(hit, total[at] if found else 0.0, 0.0)
        out_count = np.where(hit, count[at] if found else 0.0, 0.0)
        return pairs, cls(out_sum, out_count)

    @property
    def shape(self) -> tuple[int, ...]:
        """Batch shape."""
        return self.sum.shape

    @property
    def mean(self) -> np.ndarray:
        """Mean edge strength along each border (0 where the count is 0)."""
        return self.sum / np.maximum(self.count, 1.0) if self.count.ndim else \
            np.asarray(self.sum / max(float(self.count), 1.0))

    def merge(self, other: "BorderStats") -> "BorderStats":
        """The border with a union of two regions: sums and counts add."""
        if not isinstance(other, BorderStats):
            raise TypeError(f"other must be BorderStats; got {type(other).__name__}.")
        return BorderStats(self.sum + other.sum, self.count + other.count)

    def __getitem__(self, index) -> "BorderStats":
        if self.sum.ndim == 0:
            raise TypeError("these BorderStats hold a single border; there is nothing to index.")
        return BorderStats(self.sum[index], self.count[index])

    def __len__(self) -> int:
        if self.sum.ndim == 0:
            raise TypeError("these BorderStats hold a single border and have no len().")
        return self.sum.shape[0]


def _check_border(border) -> BorderStats | None:
    if border is not None and not isinstance(border, BorderStats):
        raise TypeError(f"border must be BorderStats or None; got {type(border).__name__}.")
    return border


# --------------------------------------------------------------------------------------
# Predicates
# --------------------------------------------------------------------------------------


def _result(value):
    """Python bool for one region, bool ndarray for many."""
    value = np.asarray(value, dtype=bool)
    return bool(value) if value.ndim == 0 else value


def _fmt(value) -> str:
    """Shortest text that reads back as the same number."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _check_stats(stats, name: str = "stats") -> RegionStats:
    if not isinstance(stats, RegionStats):
        raise TypeError(f"{name} must be RegionStats; got {type(stats).__name__}.")
    return stats


def _check_space(space) -> str:
    if space not in SPACES:
        raise ValueError(f"space must be one of {', '.join(map(repr, SPACES))}; got {space!r}.")
    return space


class Predicate:
    """A homogeneity predicate :math:`P` over regions, read from :class:`RegionStats`.

    Subclasses are small frozen dataclasses. Combine them with ``&``, ``|`` and ``~``;
    ``repr`` gives text that :func:`parse_predicate` reads back.

    Methods
    -------
    __call__(stats)
        :math:`P(R)` for the region(s) in `stats`: ``bool`` for one region, a bool array
        of the batch shape for many.
    mergeable(stats_a, stats_b, border=None)
        :math:`P(R_a \\cup R_b)`, decided from the two parts (batch shapes broadcast)
        and, for predicates that read it (:class:`Boundary`), the :class:`BorderStats`
        of the border between them.
    distance(stats_a, stats_b, border=None)
        A dissimilarity for ordering merges, where the predicate defines one.
    """

    __slots__ = ()

    def __call__(self, stats: RegionStats):
        return _result(self._holds(_check_stats(stats)))

    def mergeable(self, stats_a: RegionStats, stats_b: RegionStats,
                  border: BorderStats | None = None):
        """:math:`P(R_a \\cup R_b)`: may the two regions be merged into one?

        `border` holds the statistics of the border between each pair; only predicates
        with :attr:`uses_border` read it (and require it).
        """
        return _result(self._mergeable(_check_stats(stats_a, "stats_a"),
                                       _check_stats(stats_b, "stats_b"),
                                       _check_border(border)))

    def distance(self, stats_a: RegionStats, stats_b: RegionStats,
                 border: BorderStats | None = None):
        """Dissimilarity of two regions; see each predicate's docstring."""
        raise TypeError(
            f"{self!r} defines no distance; distances exist for range, std, mean, srm, "
            "texture, boundary and weighted predicates."
        )

    def _holds(self, stats: RegionStats) -> np.ndarray:
        raise NotImplementedError

    def _mergeable(self, a: RegionStats, b: RegionStats, border=None) -> np.ndarray:
        return self._holds(a.merge(b))

    @property
    def spaces(self) -> frozenset[str]:
        """Colour spaces the predicate's colour thresholds are expressed in."""
        return frozenset()

    @property
    def uses_texture(self) -> bool:
        """Whether the statistics must carry texture sums (``texture=``)."""
        return False

    @property
    def uses_histogram(self) -> bool:
        """Whether the statistics must carry histograms (``histograms=``)."""
        return False

    @property
    def uses_border(self) -> bool:
        """Whether ``mergeable`` needs the :class:`BorderStats` of each pair."""
        return False

    def __and__(self, other):
        if not isinstance(other, Predicate):
            return NotImplemented
        return And(self, other)

    def __or__(self, other):
        if not isinstance(other, Predicate):
            return NotImplemented
        return Or(self, other)

    def __invert__(self):
        return Not(self)


class _Thresholded(Predicate):
    """A leaf comparing a per-region score and a pairwise distance against a limit.

    ``P(R) = score(R) <= limit`` and ``P(Ra u Rb) = distance(Ra, Rb) <= limit``;
    :class:`Weighted` combines leaves through ``score / limit`` and ``distance / limit``.
    """

    __slots__ = ()

    def _score(self, stats: RegionStats) -> np.ndarray:
        raise NotImplementedError

    def _distance(self, a: RegionStats, b: RegionStats, border=None) -> np.ndarray:
        raise NotImplementedError

    @property
    def _limit(self) -> float:
        return self.threshold

    def _holds(self, stats):
        return self._score(stats) <= self._limit

    def _mergeable(self, a, b, border=None):
        return self._distance(a, b, border) <= self._limit

    def distance(self, stats_a, stats_b, border=None):
        value = self._distance(_check_stats(stats_a, "stats_a"), _check_stats(stats_b, "stats_b"),
                               _check_border(border))
        return float(value) if np.ndim(value) == 0 else value

    def _score_ratio(self, stats):
        return _ratio(self._score(stats), self._limit)

    def _distance_ratio(self, a, b, border=None):
        return _ratio(self._distance(a, b, border), self._limit)


def _ratio(value, limit: float) -> np.ndarray:
    value = np.maximum(np.asarray(value, dtype=np.float64), 0.0)
    if limit == 0:
        return np.where(value > 0, np.inf, 0.0)
    return value / limit


class _Colour(_Thresholded):
    __slots__ = ()

    @property
    def spaces(self):
        return frozenset({self.space})

    def _channels(self, stats: RegionStats) -> RegionStats:
        expected = SPACES[self.space]
        if expected is not None and stats.n_channels != expected:
            raise ValueError(
                f"{self!r} works on {self.space} statistics with {expected} channel(s); got "
                f"statistics with {stats.n_channels}. Build them from "
                f"classical.features.colour_features(image, {self.space!r}), or use "
                f"space='features' for other feature stacks."
            )
        return stats


@dataclass(frozen=True, repr=False)
class Range(_Colour):
    """Range predicate: ``max - min <= threshold`` on every channel.

    :math:`P(R)` holds when, on every channel, the values of `R` span at most
    `threshold`; for a union the extrema merge exactly, so ``mergeable(a, b)`` is
    ``P(a u b)``. ``distance(a, b)`` is the largest per-channel span of the union.

    Parameters
    ----------
    threshold : float
        Largest allowed span, in the units of `space` (e.g. 0.1 on [0, 1] RGB).
    space : {"rgb", "lab", "hsv", "grey", "features"}, optional
        Colour space the statistics are in (see the module docstring for scales).

    Raises
    ------
    ValueError
        If `threshold` is negative or not finite, or `space` is unknown.

    References
    ----------
    S. L. Horowitz and T. Pavlidis, J. ACM 23(2), 1976 (split-and-merge with a range
    criterion).
    """

    threshold: float
    _: KW_ONLY
    space: str = "rgb"

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real(self.threshold, "threshold", minimum=0))
        _check_space(self.space)

    def _score(self, stats):
        return np.max(self._channels(stats).range, axis=-1)

    def _distance(self, a, b, border=None):
        self._channels(a)
        self._channels(b)
        return np.max(np.maximum(a.max, b.max) - np.minimum(a.min, b.min), axis=-1)

    def __repr__(self):
        return f"range_{self.space}({_fmt(self.threshold)})"


@dataclass(frozen=True, repr=False)
class MaxStd(_Colour):
    """Standard-deviation predicate: ``std <= threshold`` on every channel.

    :math:`P(R)` holds when every channel's population standard deviation over `R` is at
    most `threshold`; ``mergeable(a, b)`` is ``P(a u b)`` (exact, from the merged sums).
    ``distance(a, b)`` is the largest per-channel standard deviation of the union.

    Parameters
    ----------
    threshold : float
        Largest allowed standard deviation, in the units of `space`.
    space : {"rgb", "lab", "hsv", "grey", "features"}, optional
        Colour space the statistics are in.

    Raises
    ------
    ValueError
        If `threshold` is negative or not finite, or `space` is unknown.

    References
    ----------
    R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 3rd ed., Section 10.4.2
    (split and merge with a standard-deviation predicate).
    """

    threshold: float
    _: KW_ONLY
    space: str = "rgb"

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real(self.threshold, "threshold", minimum=0))
        _check_space(self.space)

    def _score(self, stats):
        return np.max(self._channels(stats).std, axis=-1)

    def _distance(self, a, b, border=None):
        return self._score(a.merge(b))

    def __repr__(self):
        return f"std_{self.space}({_fmt(self.threshold)})"


@dataclass(frozen=True, repr=False)
class MeanDistance(_Colour):
    """Mean-distance predicate of seeded region growing: ``|mean_a - mean_b| <= threshold``.

    This is a *pairwise* similarity predicate, so its two questions differ:

    - ``mergeable(a, b)``: the Euclidean distance between the two regions' mean colours
      is at most `threshold`. With ``b`` a single pixel this is the classic seeded
      region growing test :math:`|I(p) - \\mu_R| \\le t` [2]_; ``distance(a, b)`` is that
      Euclidean distance (CIE76 :math:`\\Delta E` in Lab).
    - ``P(R)`` for one region: the root-mean-square distance of its pixels to its mean,
      :math:`\\sqrt{\\sum_c \\sigma_c^2}`, is at most `threshold`, i.e. a typical pixel
      passes the growing test against its own region's mean. It is exact from the sums
      and lets split-and-merge split on the same threshold. A region grown pixel by
      pixel with this test usually, but not always, satisfies it, since its mean drifts.

    Parameters
    ----------
    threshold : float
        Largest allowed colour distance, in the units of `space` (Lab: Delta E, where
        about 2.3 is a just-noticeable difference; RGB: on [0, 1], up to sqrt(3)).
    space : {"lab", "rgb", "hsv", "grey", "features"}, optional
        Colour space the statistics are in; Lab by default since its distances follow
        perceived colour differences.

    Raises
    ------
    ValueError
        If `threshold` is negative or not finite, or `space` is unknown.

    References
    ----------
    .. [2] R. Adams and L. Bischof, "Seeded region growing", IEEE TPAMI 16(6):641-647,
       1994.
    """

    threshold: float
    _: KW_ONLY
    space: str = "lab"

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real(self.threshold, "threshold", minimum=0))
        _check_space(self.space)

    def _score(self, stats):
        return np.sqrt(np.sum(self._channels(stats).var, axis=-1))

    def _distance(self, a, b, border=None):
        diff = self._channels(a).mean - self._channels(b).mean
        return np.sqrt(np.sum(diff * diff, axis=-1))

    def __repr__(self):
        return f"mean_{self.space}({_fmt(self.threshold)})"


@dataclass(frozen=True, repr=False)
class SRM(_Colour):
    """Statistical region merging predicate of Nock and Nielsen [3]_.

    Merge two regions when, on every channel :math:`c`,

    .. math:: |\\bar R_c - \\bar R'_c| \\le \\sqrt{b_c(R)^2 + b_c(R')^2},\\qquad
              b_c(R) = g_c \\sqrt{\\frac{\\ln(2/\\delta)}{2Q|R|}},\\qquad
              \\delta = \\frac{1}{6|I|^2},

    where :math:`|I|` is the number of pixels of the image (``stats.image_size``) and
    :math:`g_c` the range of values channel :math:`c` can take. This is the simple
    bound of the paper's Theorem 1 (without the region-count refinement of its
    Section 2.3). The test adapts to region size: small regions merge readily, large
    ones only when their means agree closely.

    ``P(R)`` holds for every single region (SRM tests pairs only; combine it with, e.g.,
    :class:`MaxStd` when a method must also split). ``distance(a, b)`` is the
    normalised gap :math:`\\max_c |\\bar R_c - \\bar R'_c| / \\sqrt{b_c(R)^2 +
    b_c(R')^2}`; ``mergeable`` is ``distance <= 1``.

    Parameters
    ----------
    q : float, optional
        Nock and Nielsen's :math:`Q`, the statistical complexity: larger values give
        more, smaller regions. The paper uses 32 for most images.
    space : {"rgb", "lab", "hsv", "grey", "features"}, optional
        Colour space the statistics are in.
    g : float, optional
        Range of channel values. By default 1 for RGB, HSV, grey and feature stacks
        (channels in [0, 1]) and the sRGB gamut extents (100, 184.4, 202.3) for Lab.
        Use ``g=256`` for statistics of 8-bit values as in the paper.

    Raises
    ------
    ValueError
        If `q` or `g` is not positive, or `space` is unknown; when evaluated, if the
        statistics carry no ``image_size``.

    References
    ----------
    .. [3] R. Nock and F. Nielsen, "Statistical region merging", IEEE TPAMI
       26(11):1452-1458, 2004.
    """

    q: float = 32.0
    _: KW_ONLY
    space: str = "rgb"
    g: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "q", check_real(self.q, "q", minimum=0, strict_minimum=True))
        _check_space(self.space)
        if self.g is not None:
            object.__setattr__(self, "g", check_real(self.g, "g", minimum=0,
                                                     strict_minimum=True))

    @property
    def _limit(self):
        return 1.0

    def _bound_sq(self, stats: RegionStats, image_size: int) -> np.ndarray:
        """b(R)^2 per channel; infinite for empty regions, which carry no evidence."""
        g = _SRM_G[self.space] if self.g is None else (self.g,)
        log_term = math.log(12.0 * float(image_size) ** 2)  # ln(2 / delta)
        scale = np.square(g) * (log_term / (2.0 * self.q))
        count = stats.count[..., np.newaxis]
        return np.where(count > 0, scale / np.maximum(count, 1), np.inf)

    def _score(self, stats):
        self._channels(stats)
        return np.zeros(stats.shape)

    def _distance(self, a, b, border=None):
        self._channels(a)
        self._channels(b)
        image_size = a.image_size if a.image_size is not None else b.image_size
        if image_size is None:
            raise ValueError(
                "SRM needs the image size for delta = 1 / (6 |I|^2); build the statistics "
                "with RegionStats.from_labels / singletons, or pass image_size= to "
                "RegionStats.from_pixels."
            )
        bound = np.sqrt(self._bound_sq(a, image_size) + self._bound_sq(b, image_size))
        return np.max(np.abs(a.mean - b.mean) / bound, axis=-1)  # x / inf = 0

    def __repr__(self):
        g = "" if self.g is None else f", g={_fmt(self.g)}"
        return f"srm_{self.space}({_fmt(self.q)}{g})"


@dataclass(frozen=True, repr=False)
class TextureDistance(_Thresholded):
    """Texture similarity: distance between regions' texture descriptors ``<= threshold``.

    ``metric="l2"``
        Euclidean distance between mean texture descriptors (``stats.texture_mean``,
        e.g. mean Gabor energies). ``P(R)``: the RMS distance of the region's pixel
        descriptors to their mean, :math:`\\sqrt{\\sum_k \\sigma_k^2}`, is at most
        `threshold` (the same construction as :class:`MeanDistance`).
    ``metric="chi2"``
        Chi-square distance between normalised histograms (e.g. of LBP codes [4]_),
        :math:`\\chi^2(h, k) = \\tfrac12 \\sum_i (h_i - k_i)^2 / (h_i + k_i)`, in [0, 1].
        A pooled histogram says nothing about homogeneity inside one region, so ``P(R)``
        holds for every single region.

    ``mergeable(a, b)`` and ``distance(a, b)`` compare the two parts.

    Parameters
    ----------
    threshold : float
        Largest allowed distance: in descriptor units for ``"l2"`` (standard deviations
        for the standardised Gabor energies that :func:`predicate_features` supplies),
        in [0, 1] for ``"chi2"`` (on uniform LBP code histograms).
    metric : {"l2", "chi2"}, optional
        Which descriptor and distance to use.

    Raises
    ------
    ValueError
        If `threshold` is negative or not finite or `metric` is unknown; when
        evaluated, if the statistics lack texture sums (``"l2"``) or histograms
        (``"chi2"``).

    References
    ----------
    .. [4] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and
       rotation invariant texture classification with local binary patterns", IEEE
       TPAMI 24(7):971-987, 2002.
    """

    threshold: float
    _: KW_ONLY
    metric: str = "l2"

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real(self.threshold, "threshold", minimum=0))
        if self.metric not in _METRICS:
            raise ValueError(
                f"metric must be one of {', '.join(map(repr, _METRICS))}; got {self.metric!r}."
            )

    @property
    def uses_texture(self):
        return self.metric == "l2"

    @property
    def uses_histogram(self):
        return self.metric == "chi2"

    def _score(self, stats):
        if self.metric == "chi2":
            _require(stats.histogram, "histograms", repr(self))
            return np.zeros(stats.shape)
        _require(stats.texture_sum, "texture", repr(self))
        return np.sqrt(np.sum(stats.texture_var, axis=-1))

    def _distance(self, a, b, border=None):
        if self.metric == "chi2":
            _require(a.histogram, "histograms", repr(self))
            _require(b.histogram, "histograms", repr(self))
            h, k = a.histogram_density, b.histogram_density
            total = h + k
            terms = np.zeros(np.broadcast_shapes(h.shape, k.shape))
            np.divide((h - k) ** 2, total, out=terms, where=total > 0)
            return 0.5 * np.sum(terms, axis=-1)
        _require(a.texture_sum, "texture", repr(self))
        _require(b.texture_sum, "texture", repr(self))
        diff = a.texture_mean - b.texture_mean
        return np.sqrt(np.sum(diff * diff, axis=-1))

    def __repr__(self):
        return f"texture_{self.metric}({_fmt(self.threshold)})"


@dataclass(frozen=True, repr=False)
class Boundary(_Thresholded):
    """Boundary-strength predicate: the border between two regions is weak.

    Two regions may merge when the mean edge strength along their shared border is at
    most `threshold`: ``mergeable(a, b, border)`` is ``border.mean <= threshold`` and
    ``distance(a, b, border)`` is ``border.mean``, where `border` is the pair's
    :class:`BorderStats`. This is the region-merging form of a contour cue: colour and
    texture means compare whole regions, while a boundary term asks whether an edge
    actually separates them where they meet, so two regions of similar mean colour
    split by a thin dark line stay apart, and a gradual shading with no edge merges.
    Combine it with them through :class:`Weighted`.

    The edge strength is :func:`classical.features.edge_strength` with
    ``relative=True``: the gradient magnitude of the Gaussian-smoothed CIE Lab image,
    whatever colour space the other parts of a predicate use, divided by its mean over
    the image. Thresholds are therefore multiples of the image's typical edge strength,
    which makes one threshold fit low- and high-contrast images alike (on 50 BSDS500
    training images the relative map raised the covering of split-and-merge where the
    raw map, in Delta E per pixel, lowered it). ``P(R)`` holds for every single region
    (a region has no border with itself).

    Parameters
    ----------
    threshold : float
        Largest mean edge strength along the border, in multiples of the image's mean
        edge strength (2: twice as strong as the average pixel).
    sigma : float, optional
        Standard deviation in pixels of the Gaussian smoothing before differentiation.

    Raises
    ------
    ValueError
        If `threshold` or `sigma` is negative or not finite; when evaluated, if no
        :class:`BorderStats` are given.

    References
    ----------
    K. Haris, S. N. Efstratiadis, N. Maglaveras and A. K. Katsaggelos, "Hybrid image
    segmentation using watersheds and fast region merging", IEEE TIP 7(12):1684-1699,
    1998; P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, "Contour detection and
    hierarchical image segmentation", IEEE TPAMI 33(5):898-916, 2011 (regions merged
    by the mean contour strength on their common boundary).
    """

    threshold: float
    _: KW_ONLY
    sigma: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_real(self.threshold, "threshold", minimum=0))
        object.__setattr__(self, "sigma", check_real(self.sigma, "sigma", minimum=0))

    @property
    def uses_border(self):
        return True

    def _score(self, stats):
        return np.zeros(stats.shape)

    def _distance(self, a, b, border=None):
        if border is None:
            raise ValueError(
                f"{self!r} compares the border between two regions, which region statistics "
                "do not hold; pass border=BorderStats.from_labels(labels, edge_strength("
                "image, relative=True), pairs=pairs)[1] for the pairs evaluated."
            )
        return border.mean

    def __repr__(self):
        sigma = "" if self.sigma == 1.0 else f", sigma={_fmt(self.sigma)}"
        return f"boundary({_fmt(self.threshold)}{sigma})"


@dataclass(frozen=True, repr=False)
class MinSize(Predicate):
    """Size predicate: the region has at least `size` pixels.

    ``P(R)`` is ``|R| >= size``; ``mergeable(a, b)`` is ``|a| + |b| >= size``. Its
    negation ``~MinSize(n)`` ("the region is small") lets small regions merge
    regardless of colour: ``range_rgb(0.1) | ~min_size(20)``.

    Parameters
    ----------
    size : int
        Smallest allowed number of pixels (>= 0).

    Raises
    ------
    TypeError
        If `size` is not an integer.
    ValueError
        If `size` is negative.
    """

    size: int

    def __post_init__(self):
        object.__setattr__(self, "size", check_int(self.size, "size", minimum=0))

    def _holds(self, stats):
        return np.asarray(stats.count) >= self.size

    def __repr__(self):
        return f"min_size({self.size})"


@dataclass(frozen=True, repr=False)
class MaxSize(Predicate):
    """Size predicate: the region has at most `size` pixels.

    ``P(R)`` is ``|R| <= size``; ``mergeable(a, b)`` is ``|a| + |b| <= size``.

    Parameters
    ----------
    size : int
        Largest allowed number of pixels (>= 1).

    Raises
    ------
    TypeError
        If `size` is not an integer.
    ValueError
        If `size` is less than 1.
    """

    size: int

    def __post_init__(self):
        object.__setattr__(self, "size", check_int(self.size, "size", minimum=1))

    def _holds(self, stats):
        return np.asarray(stats.count) <= self.size

    def __repr__(self):
        return f"max_size({self.size})"


@dataclass(frozen=True, repr=False)
class Weighted(_Thresholded):
    """Weighted combination of a colour and a texture predicate.

    Each part's score and distance are divided by its own threshold (so both become
    unitless, 1 at the threshold), then mixed:

    .. math:: d(a, b) = (1 - w)\\,\\frac{d_\\text{colour}(a, b)}{t_\\text{colour}}
              + w\\,\\frac{d_\\text{texture}(a, b)}{t_\\text{texture}} \\le 1,

    and likewise ``P(R)`` from the parts' per-region scores. ``weight=0`` gives the
    colour predicate alone, ``weight=1`` the texture predicate alone; in between, a small
    colour difference can make up for a larger texture difference. ``distance(a, b)``
    is :math:`d(a, b)`. (For :class:`SRM` the "threshold" is its bound, so its part is
    the normalised gap.)

    Parameters
    ----------
    colour : Predicate
        A thresholded leaf: :class:`Range`, :class:`MaxStd`, :class:`MeanDistance`,
        :class:`SRM`, :class:`TextureDistance` or :class:`Boundary`, or another
        :class:`Weighted` (whose height is already unitless), so that three cues mix as
        ``weighted(weighted(mean_lab(12), texture_l2(1.5), 0.3), boundary(4), 0.3)``.
    texture : Predicate
        Another such part, normally a :class:`TextureDistance`.
    weight : float, optional
        Weight :math:`w` of the second part, in [0, 1].

    Raises
    ------
    TypeError
        If `colour` or `texture` is not a thresholded leaf or weighted predicate.
    ValueError
        If `weight` is outside [0, 1].
    """

    colour: Predicate
    texture: Predicate
    weight: float = 0.5

    def __post_init__(self):
        for name in ("colour", "texture"):
            part = getattr(self, name)
            if not isinstance(part, _Thresholded):
                raise TypeError(
                    f"{name} must be a range, std, mean, srm, texture, boundary or weighted "
                    f"predicate; got {part!r} ({type(part).__name__})."
                )
        object.__setattr__(self, "weight",
                           check_real(self.weight, "weight", minimum=0, maximum=1))

    @property
    def threshold(self) -> float:
        return 1.0

    @property
    def spaces(self):
        return self.colour.spaces | self.texture.spaces

    @property
    def uses_texture(self):
        return self.colour.uses_texture or self.texture.uses_texture

    @property
    def uses_histogram(self):
        return self.colour.uses_histogram or self.texture.uses_histogram

    @property
    def uses_border(self):
        return self.colour.uses_border or self.texture.uses_border

    def _mix(self, colour, texture):
        w = self.weight
        # 0 * inf would be NaN: a part with zero weight must not count at all.
        colour = 0.0 if w == 1 else (1 - w) * colour
        texture = 0.0 if w == 0 else w * texture
        return colour + texture

    def _score(self, stats):
        return self._mix(self.colour._score_ratio(stats), self.texture._score_ratio(stats))

    def _distance(self, a, b, border=None):
        return self._mix(self.colour._distance_ratio(a, b, border),
                         self.texture._distance_ratio(a, b, border))

    def __repr__(self):
        return f"weighted({self.colour!r}, {self.texture!r}, {_fmt(self.weight)})"


def _flatten(kind, operands):
    flat = []
    for operand in operands:
        if not isinstance(operand, Predicate):
            raise TypeError(
                f"{kind.__name__} operands must be predicates; got {operand!r} "
                f"({type(operand).__name__})."
            )
        flat.extend(operand.operands if type(operand) is kind else (operand,))
    if len(flat) < 2:
        raise ValueError(f"{kind.__name__} needs at least two operands; got {len(flat)}.")
    return tuple(flat)


class _Junction(Predicate):
    __slots__ = ()

    @property
    def spaces(self):
        return frozenset().union(*(p.spaces for p in self.operands))

    @property
    def uses_texture(self):
        return any(p.uses_texture for p in self.operands)

    @property
    def uses_histogram(self):
        return any(p.uses_histogram for p in self.operands)

    @property
    def uses_border(self):
        return any(p.uses_border for p in self.operands)


@dataclass(frozen=True, init=False, repr=False)
class And(_Junction):
    """Conjunction ``p & q & ...``: both questions are and-ed over the operands.

    Nested conjunctions are flattened, so ``(p & q) & r == p & (q & r)``.

    Parameters
    ----------
    *operands : Predicate
        At least two predicates.

    Raises
    ------
    TypeError
        If an operand is not a :class:`Predicate`.
    ValueError
        If fewer than two operands are given.
    """

    operands: tuple[Predicate, ...]

    def __init__(self, *operands: Predicate):
        object.__setattr__(self, "operands", _flatten(And, operands))

    def _holds(self, stats):
        return np.logical_and.reduce([p._holds(stats) for p in self.operands])

    def _mergeable(self, a, b, border=None):
        return np.logical_and.reduce([p._mergeable(a, b, border) for p in self.operands])

    def __repr__(self):
        return " & ".join(f"({p!r})" if isinstance(p, Or) else repr(p) for p in self.operands)


@dataclass(frozen=True, init=False, repr=False)
class Or(_Junction):
    """Disjunction ``p | q | ...``: both questions are or-ed over the operands.

    Nested disjunctions are flattened, so ``(p | q) | r == p | (q | r)``.

    Parameters
    ----------
    *operands : Predicate
        At least two predicates.

    Raises
    ------
    TypeError
        If an operand is not a :class:`Predicate`.
    ValueError
        If fewer than two operands are given.
    """

    operands: tuple[Predicate, ...]

    def __init__(self, *operands: Predicate):
        object.__setattr__(self, "operands", _flatten(Or, operands))

    def _holds(self, stats):
        return np.logical_or.reduce([p._holds(stats) for p in self.operands])

    def _mergeable(self, a, b, border=None):
        return np.logical_or.reduce([p._mergeable(a, b, border) for p in self.operands])

    def __repr__(self):
        return " | ".join(repr(p) for p in self.operands)


@dataclass(frozen=True, repr=False)
class Not(Predicate):
    """Negation ``~p``: both questions are negated.

    Parameters
    ----------
    operand : Predicate

    Raises
    ------
    TypeError
        If `operand` is not a :class:`Predicate`.
    """

    operand: Predicate

    def __post_init__(self):
        if not isinstance(self.operand, Predicate):
            raise TypeError(
                f"operand must be a predicate; got {self.operand!r} "
                f"({type(self.operand).__name__})."
            )

    @property
    def spaces(self):
        return self.operand.spaces

    @property
    def uses_texture(self):
        return self.operand.uses_texture

    @property
    def uses_histogram(self):
        return self.operand.uses_histogram

    @property
    def uses_border(self):
        return self.operand.uses_border

    def _holds(self, stats):
        return np.logical_not(self.operand._holds(stats))

    def _mergeable(self, a, b, border=None):
        return np.logical_not(self.operand._mergeable(a, b, border))

    def __repr__(self):
        inner = repr(self.operand)
        return f"~({inner})" if isinstance(self.operand, (And, Or)) else f"~{inner}"


def required_space(predicate: Predicate) -> str | None:
    """The one colour space a predicate's statistics must be built in.

    Parameters
    ----------
    predicate : Predicate

    Returns
    -------
    space : str or None
        ``"rgb"``, ``"lab"``, ``"hsv"``, ``"grey"`` or ``"features"``; None when the
        predicate has no colour part (e.g. ``min_size(20)``).

    Raises
    ------
    TypeError
        If `predicate` is not a :class:`Predicate`.
    ValueError
        If the predicate mixes colour spaces, which one set of statistics cannot serve.

    Examples
    --------
    >>> required_space(MeanDistance(10) & TextureDistance(0.3))
    'lab'
    """
    if not isinstance(predicate, Predicate):
        raise TypeError(f"predicate must be a Predicate; got {type(predicate).__name__}.")
    spaces = sorted(predicate.spaces)
    if len(spaces) > 1:
        raise ValueError(
            f"predicate {predicate!r} mixes colour spaces {', '.join(spaces)}; the region "
            f"statistics hold one feature image, so express every colour threshold in one "
            f"space, e.g. range_{spaces[0]}(...) instead of range_{spaces[1]}(...)."
        )
    return spaces[0] if spaces else None


def predicate_features(predicate: Predicate, image) -> dict:
    """The per-pixel inputs a predicate's statistics need, computed from an image.

    One place where every segmenter turns (predicate, image) into statistics::

        inputs = predicate_features(predicate, image)
        stats = RegionStats.from_labels(labels=labels, **inputs)   # or .singletons(**inputs)

    Parameters
    ----------
    predicate : Predicate
    image : ndarray, shape (H, W) or (H, W, 3)
        Grey or RGB, uint8 or float in [0, 1].

    Returns
    -------
    inputs : dict
        ``features``: :func:`classical.features.colour_features` in the predicate's
        :func:`required_space` (grey when it has no colour part); ``texture``: the
        standardised Gabor energies (4 orientations x 3 wavelengths, computed on a
        Gaussian pyramid with the median-filtered structure removed, so that edges
        between flat regions are not texture:
        ``gabor_energy(image, pyramid=True, remove_structure=True)``) when a ``texture_l2``
        leaf needs them, else None; ``histograms`` and ``n_bins``:
        uniform LBP codes (P = 8, R = 1) and 10 bins when a ``texture_chi2`` leaf needs
        them, else None. Only for predicates with a :class:`Boundary` part, ``edges``:
        the (H, W) relative :func:`classical.features.edge_strength` map that
        :meth:`BorderStats.from_labels` accumulates (not an input of
        ``RegionStats.from_labels``: take it out first).

    Raises
    ------
    TypeError
        If `predicate` is not a :class:`Predicate` or `image` is not an ndarray.
    ValueError
        If the predicate mixes colour spaces or boundary smoothings, uses
        ``space="features"`` (build those statistics from your own
        :func:`classical.features.feature_stack`), or `image` is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 5, 3))
    >>> inputs = predicate_features(parse_predicate("mean_lab(10) & texture(0.5)"), image)
    >>> inputs["features"].shape, inputs["texture"].shape, inputs["histograms"]
    ((4, 5, 3), (4, 5, 12), None)
    """
    space = required_space(predicate)
    if space == "features":
        raise ValueError(
            f"predicate {predicate!r} works on a custom feature stack (space='features'); "
            "build its statistics with RegionStats.from_labels(feature_stack(image, ...), "
            "labels) instead."
        )
    sigma = border_sigma(predicate)
    features = colour_features(image, space or "grey")
    texture = None
    if predicate.uses_texture:
        texture = standardise(gabor_energy(image, pyramid=True, remove_structure=True))
    histograms = lbp_codes(image) if predicate.uses_histogram else None
    inputs = {"features": features, "texture": texture, "histograms": histograms,
              "n_bins": 10 if histograms is not None else None}
    if sigma is not None:
        # Reuse the Lab conversion when the colour statistics are in Lab.
        inputs["edges"] = (_edge_strength(features, sigma, True) if space == "lab"
                           else edge_strength(image, sigma=sigma, relative=True))
    return inputs


def _leaves(predicate: Predicate, types):
    """The parts of a predicate tree that are instances of `types`, in text order."""
    if isinstance(predicate, (And, Or)):
        for operand in predicate.operands:
            yield from _leaves(operand, types)
    elif isinstance(predicate, Not):
        yield from _leaves(predicate.operand, types)
    elif isinstance(predicate, Weighted):
        yield from _leaves(predicate.colour, types)
        yield from _leaves(predicate.texture, types)
    elif isinstance(predicate, types):
        yield predicate


def border_sigma(predicate: Predicate) -> float | None:
    """The smoothing of the edge map a predicate's :class:`Boundary` parts read.

    Parameters
    ----------
    predicate : Predicate

    Returns
    -------
    sigma : float or None
        None when the predicate has no boundary part.

    Raises
    ------
    TypeError
        If `predicate` is not a :class:`Predicate`.
    ValueError
        If boundary parts use different smoothings (one edge map serves them all).

    Examples
    --------
    >>> border_sigma(parse_predicate("weighted(mean_lab(10), boundary(4), 0.5)"))
    1.0
    """
    if not isinstance(predicate, Predicate):
        raise TypeError(f"predicate must be a Predicate; got {type(predicate).__name__}.")
    sigmas = sorted({p.sigma for p in _leaves(predicate, Boundary)})
    if len(sigmas) > 1:
        raise ValueError(
            f"predicate {predicate!r} mixes boundary smoothings sigma = "
            f"{', '.join(map(_fmt, sigmas))}; one edge map serves every boundary part, so "
            "give them the same sigma."
        )
    return sigmas[0] if sigmas else None


# --------------------------------------------------------------------------------------
# Text syntax
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[()&|~,=])"
)


@dataclass(frozen=True)
class _Entry:
    cls: type
    positional: tuple[str, ...]
    required: int
    keywords: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...] = ()

    def usage(self, name: str) -> str:
        params = [p if i < self.required else f"{p}=..." for i, p in enumerate(self.positional)]
        params += [f"{k}=..." for k in self.keywords]
        return f"{name}({', '.join(params)})"


def _registry() -> dict[str, _Entry]:
    entries = {}
    for kind, cls, first, required in (("range", Range, "threshold", 1),
                                       ("std", MaxStd, "threshold", 1),
                                       ("mean", MeanDistance, "threshold", 1),
                                       ("srm", SRM, "q", 0)):
        extra = ("g",) if cls is SRM else ()
        entries[kind] = _Entry(cls, (first,), required, ("space",) + extra)
        for space in SPACES:
            entries[f"{kind}_{space}"] = _Entry(cls, (first,), required, extra,
                                                (("space", space),))
    entries["texture"] = _Entry(TextureDistance, ("threshold",), 1, ("metric",))
    for metric in _METRICS:
        entries[f"texture_{metric}"] = _Entry(TextureDistance, ("threshold",), 1, (),
                                              (("metric", metric),))
    entries["boundary"] = _Entry(Boundary, ("threshold",), 1, ("sigma",))
    entries["min_size"] = _Entry(MinSize, ("size",), 1, ())
    entries["max_size"] = _Entry(MaxSize, ("size",), 1, ())
    entries["weighted"] = _Entry(Weighted, ("colour", "texture", "weight"), 2, ())
    return entries


_REGISTRY = _registry()


class _Parser:
    """Recursive descent over ``expr := term ('|' term)*``, ``term := factor ('&'
    factor)*``, ``factor := '~' factor | '(' expr ')' | call``."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = []  # (kind, value, position)
        pos = 0
        while pos < len(text):
            if text[pos].isspace():
                pos += 1
                continue
            match = _TOKEN.match(text, pos)
            if match is None:
                self.fail(f"unexpected character {text[pos]!r}", pos)
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind), pos))
            pos = match.end()
        self.tokens.append(("end", "", len(text)))
        self.index = 0

    def fail(self, message: str, pos: int):
        raise ValueError(
            f"cannot parse predicate {self.text!r} at position {pos}: {message}\n"
            f"    {self.text}\n    {' ' * pos}^"
        )

    def peek(self, ahead: int = 0):
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, value: str):
        kind, text, pos = self.take()
        if text != value or kind != "op":
            found = "end of text" if kind == "end" else repr(text)
            self.fail(f"expected {value!r}, found {found}", pos)

    def parse(self) -> Predicate:
        result = self.expr()
        kind, text, pos = self.peek()
        if kind != "end":
            self.fail(f"unexpected {text!r} after a complete predicate (missing '&' or '|'?)",
                      pos)
        return result

    def expr(self) -> Predicate:
        operands = [self.term()]
        while self.peek()[1] == "|" and self.peek()[0] == "op":
            self.take()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Or(*operands)

    def term(self) -> Predicate:
        operands = [self.factor()]
        while self.peek()[1] == "&" and self.peek()[0] == "op":
            self.take()
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else And(*operands)

    def factor(self) -> Predicate:
        kind, text, pos = self.peek()
        if kind == "op" and text == "~":
            self.take()
            return Not(self.factor())
        if kind == "op" and text == "(":
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "name":
            return self.call()
        found = "end of text" if kind == "end" else repr(text)
        self.fail(f"expected a predicate such as mean_lab(10), '~' or '(', found {found}", pos)

    def call(self) -> Predicate:
        _, name, pos = self.take()
        entry = _REGISTRY.get(name)
        if entry is None:
            self.fail(f"unknown predicate {name!r}; valid names are "
                      f"{', '.join(sorted(_REGISTRY))}", pos)
        self.expect("(")
        args, kwargs = [], {}
        if not (self.peek()[0] == "op" and self.peek()[1] == ")"):
            while True:
                kind, text, arg_pos = self.peek()
                if kind == "name" and self.peek(1)[1] == "=":
                    self.take()
                    self.take()
                    if text in kwargs:
                        self.fail(f"{name} got {text}= twice", arg_pos)
                    kwargs[text] = (self.value(), arg_pos)
                else:
                    if kwargs:
                        self.fail(f"{name}: positional argument after keyword argument",
                                  arg_pos)
                    args.append((self.value(), arg_pos))
                if self.peek()[1] == "," and self.peek()[0] == "op":
                    self.take()
                    continue
                break
        self.expect(")")
        return self.build(name, entry, args, kwargs, pos)

    def value(self):
        kind, text, _ = self.peek()
        if kind == "number":
            self.take()
            return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        if kind == "name" and not (self.peek(1)[0] == "op" and self.peek(1)[1] == "("):
            self.take()
            return text
        return self.expr()

    def build(self, name, entry, args, kwargs, pos):
        usage = entry.usage(name)
        if len(args) > len(entry.positional):
            self.fail(f"{name} takes at most {len(entry.positional)} positional "
                      f"argument(s): {usage}", args[len(entry.positional)][1])
        params = {p: value for p, (value, _) in zip(entry.positional, args)}
        allowed = entry.positional + entry.keywords
        for key, (value, key_pos) in kwargs.items():
            if key not in allowed:
                fixed = dict(entry.fixed)
                hint = (f"; {name} already fixes {key}={fixed[key]}" if key in fixed
                        else f"; use {usage}")
                self.fail(f"{name} has no argument {key!r}{hint}", key_pos)
            if key in params:
                self.fail(f"{name} got {key} both by position and by keyword", key_pos)
            params[key] = value
        missing = [p for p in entry.positional[:entry.required] if p not in params]
        if missing:
            self.fail(f"{name} needs {', '.join(missing)}: {usage}", pos)
        params.update(dict(entry.fixed))
        try:
            return entry.cls(**params)
        except (TypeError, ValueError) as exc:
            self.fail(f"in {name}(...): {exc}", pos)


def parse_predicate(text: str) -> Predicate:
    """Read a predicate from text, the inverse of ``repr(predicate)``.

    Grammar (``~`` binds tighter than ``&``, which binds tighter than ``|``)::

        expr   := term ("|" term)*
        term   := factor ("&" factor)*
        factor := "~" factor | "(" expr ")" | NAME "(" [arg ("," arg)*] ")"
        arg    := [NAME "="] (NUMBER | WORD | expr)

    Names (``SPACE`` is one of rgb, lab, hsv, grey, features; without a suffix a
    predicate takes its default space or a ``space=`` keyword):

    ==================================  ===============================================
    ``range_SPACE(t)``, ``range(t)``     :class:`Range` (default space rgb)
    ``std_SPACE(t)``, ``std(t)``         :class:`MaxStd` (default space rgb)
    ``mean_SPACE(t)``, ``mean(t)``       :class:`MeanDistance` (default space lab)
    ``srm_SPACE(q, g=...)``, ``srm(q)``  :class:`SRM` (default space rgb, q=32)
    ``texture_l2(t)``, ``texture_chi2(t)``, ``texture(t, metric=...)``
                                         :class:`TextureDistance`
    ``boundary(t, sigma=...)``           :class:`Boundary`
    ``min_size(n)``, ``max_size(n)``     :class:`MinSize`, :class:`MaxSize`
    ``weighted(p, q, w)``                :class:`Weighted`
    ==================================  ===============================================

    Parameters
    ----------
    text : str
        E.g. ``"mean_lab(10) & texture(0.3)"``, ``"range(0.1) | ~min_size(20)"``,
        ``"srm(32)"``.

    Returns
    -------
    predicate : Predicate

    Raises
    ------
    TypeError
        If `text` is not a string.
    ValueError
        On a syntax error, an unknown name (the message lists the valid ones), or bad
        arguments; the message points at the position.

    Examples
    --------
    >>> p = parse_predicate("mean_lab(10) & texture(0.3) | ~min_size(20)")
    >>> p
    mean_lab(10) & texture_l2(0.3) | ~min_size(20)
    >>> parse_predicate(repr(p)) == p
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}.")
    if not text.strip():
        raise ValueError("cannot parse predicate '': the text is empty; try e.g. 'mean_lab(10)'.")
    return _Parser(text).parse()

