"""Is this label image a segmentation under a predicate?

A segmentation of an image :math:`I` under a homogeneity predicate :math:`P` is a
partition into regions :math:`R_1, \\dots, R_n` that

1. cover :math:`I` (every pixel has a label),
2. do not overlap,
3. are each connected,
4. satisfy :math:`P(R_i)` for every region, and
5. fail :math:`P(R_i \\cup R_j)` for every pair of adjacent regions (maximality) [1]_.

:func:`check_partition` checks all five at once, vectorised: one
:meth:`RegionStats.from_labels <classical.predicates.RegionStats.from_labels>` for the
statistics of every region, one :func:`classical._regions.adjacent_pairs` for the
adjacency graph, and one call of ``predicate.mergeable`` over all its edges. It returns
a :class:`PartitionReport` that says which conditions hold and lists the violations.

References
----------
.. [1] S. L. Horowitz and T. Pavlidis, "Picture segmentation by a tree traversal
   algorithm", J. ACM 23(2):368-388, 1976; R. C. Gonzalez and R. E. Woods, *Digital
   Image Processing*, 3rd ed., Section 10.4, 2008.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classical._regions import adjacent_pairs, relabel_connected
from classical._validate import check_connectivity, check_image, check_int, check_labels
from classical.predicates import Predicate, RegionStats, parse_predicate, predicate_features

__all__ = ["PartitionReport", "check_partition"]


@dataclass(frozen=True)
class PartitionReport:
    """Which conditions of a segmentation hold for a label image, and where they fail.

    Label ids in the lists are the ids of the checked label image. Lists hold at most
    ``max_listed`` entries (the first in sorted order); the ``n_*`` counts are complete.
    A condition that could not be checked (because the labels do not match the image)
    is None.

    Attributes
    ----------
    ok : bool
        True when every condition holds: the labels are a segmentation under the
        predicate.
    covers : bool
        The labels have the image's height and width and every pixel has a label
        (>= 0; negative values mark unlabelled pixels).
    disjoint : bool
        No pixel belongs to two regions. Always true for a label image, which assigns
        one label per pixel; reported so the report names every condition.
    connected : bool or None
        Every label is one connected region.
    holds : bool or None
        :math:`P(R_i)` holds for every region.
    maximal : bool or None
        :math:`P(R_i \\cup R_j)` fails for every pair of adjacent regions.
    predicate : str
        ``repr`` of the predicate, readable by :func:`classical.predicates.parse_predicate`.
    connectivity : int
        4 or 8: the adjacency used for connectedness and for neighbouring regions.
    shape : tuple of int
        (H, W) of the labels.
    expected_shape : tuple of int
        (H, W) of the image (or feature image).
    n_regions : int
        Number of distinct labels >= 0.
    n_unlabelled : int
        Pixels with a negative label.
    disconnected : tuple of int
        Labels made of several connected components.
    n_disconnected : int
    failing : tuple of int
        Labels whose region fails :math:`P`.
    n_failing : int
    mergeable : tuple of (int, int)
        Adjacent label pairs ``(a, b)``, ``a < b``, whose union satisfies :math:`P`.
    n_mergeable : int
    """

    ok: bool
    covers: bool
    disjoint: bool
    connected: bool | None
    holds: bool | None
    maximal: bool | None
    predicate: str
    connectivity: int
    shape: tuple[int, ...]
    expected_shape: tuple[int, ...]
    n_regions: int = 0
    n_unlabelled: int = 0
    disconnected: tuple[int, ...] = ()
    n_disconnected: int = 0
    failing: tuple[int, ...] = ()
    n_failing: int = 0
    mergeable: tuple[tuple[int, int], ...] = ()
    n_mergeable: int = 0

    def summary(self) -> str:
        """A few lines for reports: the verdict and one line per condition."""
        verdict = "a segmentation" if self.ok else "NOT a segmentation"
        lines = [f"partition under {self.predicate} (connectivity {self.connectivity}): "
                 f"{verdict}"]

        def line(name: str, good, detail: str) -> None:
            state = "not checked" if good is None else ("yes" if good else "no")
            lines.append(f"  {name:<11s}{state}" + (f": {detail}" if detail else ""))

        if self.shape != self.expected_shape:
            cover = f"labels have shape {self.shape}, the image {self.expected_shape}"
        elif self.n_unlabelled:
            pixels = "pixel has" if self.n_unlabelled == 1 else "pixels have"
            cover = f"{self.n_unlabelled} {pixels} no label (negative values)"
        else:
            cover = f"{self.n_regions} regions over {self.shape[0]} x {self.shape[1]} pixels"
        line("covers", self.covers, cover)
        line("disjoint", self.disjoint, "one label per pixel")
        line("connected", self.connected,
             _listing(self.n_disconnected, self.disconnected, "label has", "labels have",
                      "several components"))
        line("P(Ri)", self.holds,
             _listing(self.n_failing, self.failing, "region fails", "regions fail", "P"))
        line("maximal", self.maximal,
             _listing(self.n_mergeable, self.mergeable, "adjacent pair satisfies",
                      "adjacent pairs satisfy", "P(Ri u Rj)"))
        return "\n".join(lines)


def _listing(count: int, items, singular: str, plural: str, what: str) -> str:
    if count == 0:
        return ""
    shown = ", ".join(str(item) for item in items[:10])
    more = f", ... ({count - min(len(items), 10)} more)" if count > min(len(items), 10) else ""
    return f"{count} {singular if count == 1 else plural} {what}: {shown}{more}"


def _as_predicate(predicate) -> Predicate:
    if isinstance(predicate, str):
        return parse_predicate(predicate)
    if not isinstance(predicate, Predicate):
        raise TypeError(
            f"predicate must be a Predicate or its text (e.g. 'mean_lab(10)'); got "
            f"{type(predicate).__name__}."
        )
    return predicate


def _statistics_inputs(predicate: Predicate, image, features) -> tuple[dict, tuple[int, int]]:
    """The keyword arguments of ``RegionStats.from_labels`` and the (H, W) they cover.

    `features` overrides :func:`predicate_features`: an (H, W[, C]) array is the feature
    image; a dict is taken as ``predicate_features`` output (keys ``features``,
    ``texture``, ``histograms``, ``n_bins``, and ``edges`` for border predicates).
    """
    if features is None:
        if image is None:
            raise ValueError("pass an image, or its feature image as features=.")
        check_image(image)
        return predicate_features(predicate, image), tuple(image.shape[:2])
    if isinstance(features, dict):
        unknown = sorted(set(features) - {"features", "texture", "histograms", "n_bins",
                                          "edges"})
        if unknown or "features" not in features:
            raise ValueError(
                "features as a dict must look like predicate_features(...) output, with a "
                "'features' entry and optionally 'texture', 'histograms', 'n_bins', 'edges'; "
                f"got keys {sorted(features)}."
            )
        inputs = dict(features)
    else:
        inputs = {"features": features}
    values = inputs["features"]
    if not isinstance(values, np.ndarray) or values.ndim not in (2, 3):
        raise ValueError(
            "features must be an (H, W) or (H, W, C) array; got "
            + (f"shape {values.shape}." if isinstance(values, np.ndarray)
               else f"{type(values).__name__}.")
        )
    shape = tuple(values.shape[:2])
    if image is not None:
        check_image(image)
        if tuple(image.shape[:2]) != shape:
            raise ValueError(
                f"features and image must have the same height and width; got {shape} and "
                f"{tuple(image.shape[:2])}."
            )
    return inputs, shape


def _border_args(predicate: Predicate, labels: np.ndarray, pairs: np.ndarray, edges, image,
                 connectivity: int) -> tuple:
    """``(border,)``, the BorderStats of `pairs`, for predicates that read the border
    between two regions (e.g. ``boundary``); ``()`` for every other predicate."""
    if not getattr(predicate, "uses_border", False):
        return ()
    from classical.predicates import BorderStats, border_sigma

    if edges is None:
        if image is None:
            raise ValueError(
                f"{predicate!r} reads the edge strength along region borders; pass the image, "
                "or features as a dict with an 'edges' map (as predicate_features returns)."
            )
        from classical.features import edge_strength

        edges = edge_strength(image, sigma=border_sigma(predicate))
    _, border = BorderStats.from_labels(labels, edges, connectivity=connectivity, pairs=pairs)
    return (border,)


def check_partition(labels, image, predicate, *, connectivity: int = 8, features=None,
                    max_listed: int = 100) -> PartitionReport:
    """Check whether `labels` is a segmentation of `image` under `predicate`.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Any integer labels (they need not be contiguous); negative values mark
        unlabelled pixels.
    image : ndarray, shape (H, W) or (H, W, 3), or None
        Grey or RGB, uint8 or float in [0, 1]. May be None when `features` is given.
    predicate : Predicate or str
        The homogeneity predicate, e.g. ``MeanDistance(10)`` or ``"range_rgb(0.1)"``.
    connectivity : {4, 8}, optional
        Pixel adjacency for connectedness and for which regions are neighbours.
    features : ndarray or dict, optional
        The statistics' inputs instead of ``predicate_features(predicate, image)``: a
        feature image of shape (H, W) or (H, W, C) in the predicate's space (required
        for ``space="features"`` predicates), or a dict like ``predicate_features``
        returns. Predicates that read the border between regions (``boundary``) take
        its ``edges`` map, or compute it from `image`.
    max_listed : int, optional
        Longest list of violations kept per condition.

    Returns
    -------
    report : PartitionReport

    Raises
    ------
    TypeError
        If `labels` is not an integer array or `predicate` is not a predicate.
    ValueError
        If `labels` is not 2-D, `connectivity` is not 4 or 8, or the image or features
        are invalid.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    >>> check_partition(np.array([[0, 0, 1], [0, 0, 1]]), image, "mean_grey(0.1)").ok
    True
    >>> report = check_partition(np.array([[0, 1, 2], [0, 1, 2]]), image, "mean_grey(0.1)")
    >>> report.maximal, report.mergeable
    (False, ((0, 1),))
    """
    predicate = _as_predicate(predicate)
    connectivity = check_connectivity(connectivity)
    max_listed = check_int(max_listed, "max_listed", minimum=0)
    labels = check_labels(labels)
    inputs, expected = _statistics_inputs(predicate, image, features)
    inputs = dict(inputs)
    edges = inputs.pop("edges", None)  # border predicates' input, not a RegionStats one
    shape = tuple(labels.shape)
    base = dict(disjoint=True, predicate=repr(predicate), connectivity=connectivity,
                shape=shape, expected_shape=expected)
    if shape != expected:
        return PartitionReport(ok=False, covers=False, connected=None, holds=None,
                               maximal=None, **base)

    # Compact ids 0..n-1 for the labelled pixels; unlabelled pixels get id n.
    labels = labels.astype(np.int64, copy=False)
    defined = labels >= 0
    ids, compact = np.unique(np.where(defined, labels, -1), return_inverse=True)
    compact = compact.reshape(shape)
    has_hole = bool(ids.size and ids[0] < 0)
    if has_hole:  # id 0 is the hole: move it to the end
        ids = ids[1:]
        compact = np.where(defined, compact - 1, ids.size)
    n = int(ids.size)
    n_unlabelled = int(shape[0] * shape[1] - np.count_nonzero(defined))

    # Connectedness: components per label.
    components = relabel_connected(compact, connectivity)
    owner = np.zeros(int(components.max()) + 1, dtype=np.int64)
    owner[components.ravel()] = compact.ravel()
    pieces = np.bincount(owner, minlength=n + 1)[:n]
    disconnected = np.flatnonzero(pieces > 1)

    if n == 0:
        failing = np.empty(0, np.int64)
        pairs = np.empty((0, 2), np.int64)
    else:
        stats = RegionStats.from_labels(labels=compact, n_labels=n + has_hole, **inputs)
        holds = np.atleast_1d(np.asarray(predicate(stats), dtype=bool))[:n]
        failing = np.flatnonzero(~holds)
        pairs, _ = adjacent_pairs(compact, connectivity)
        pairs = pairs[pairs[:, 1] < n]  # drop contacts with unlabelled pixels
        if pairs.size:
            border = _border_args(predicate, compact, pairs, edges, image, connectivity)
            merge = np.atleast_1d(np.asarray(
                predicate.mergeable(stats[pairs[:, 0]], stats[pairs[:, 1]], *border),
                dtype=bool))
            pairs = pairs[merge]

    def listed(values) -> tuple:
        return tuple(int(v) for v in ids[values[:max_listed]])

    mergeable = tuple((int(ids[a]), int(ids[b])) for a, b in pairs[:max_listed])
    covers = n_unlabelled == 0
    connected = disconnected.size == 0
    holds_all = failing.size == 0
    maximal = pairs.shape[0] == 0
    return PartitionReport(
        ok=covers and connected and holds_all and maximal, covers=covers,
        connected=connected, holds=holds_all, maximal=maximal, n_regions=n,
        n_unlabelled=n_unlabelled, disconnected=listed(disconnected),
        n_disconnected=int(disconnected.size), failing=listed(failing),
        n_failing=int(failing.size), mergeable=mergeable, n_mergeable=int(pairs.shape[0]),
        **base)
