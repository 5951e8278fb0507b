"""Split-and-merge segmentation: a quadtree split on a predicate, then greedy merging.

Horowitz and Pavlidis [1]_ segment an image under a homogeneity predicate :math:`P` in
two passes over a quadtree:

Split
    Start from the whole image as one block. Every block on which :math:`P` fails is cut
    into four at its midpoints, down to `min_block` pixels. Any size works, not only
    powers of two: a block ``[r0, r1) x [c0, c1)`` is cut at ``(r0 + r1) // 2`` and
    ``(c0 + c1) // 2``, and an axis is cut only while it is longer than `min_block`
    pixels (so a block one row high is cut along its columns only). Because the cut
    depends only on a block's extent, every level of the tree is a grid, and the
    statistics of all its blocks come from one block pyramid: pixels are summed into the
    finest grid (with their squares, minima and maxima, in one compiled pass), and each
    coarser grid from the next finer one, adding in the order ``np.add.reduceat`` adds
    (and taking extrema as ``np.minimum`` / ``np.maximum.reduceat``), so the
    statistics are bit for bit those of the reduceat formulation. This is the job a
    summed-area table does for sums, but it is exact (no cancellation: a constant block
    has variance exactly 0) and it gives minima and maxima too, so :class:`Range` is
    supported like every other predicate. :math:`P` is then evaluated once per level,
    vectorised over all blocks of that level. The split may use its own predicate
    (``split=``): a stricter one, e.g. ``mean_lab(4)`` to merge with ``mean_lab(12)``,
    leaves fewer blocks straddling an edge, which the merge can never undo. On five
    BSDS500 train images this raises the segmentation covering from about 0.40 to 0.47
    (mean over annotators; 0.42 to 0.52 for the first annotator), so the segmenter's
    default splits at a third of the merge threshold.
Merge
    The leaves of the tree become the nodes of a region adjacency graph (4- or
    8-connected). Adjacent regions whose union satisfies the predicate,
    ``predicate.mergeable(a, b)``, are merged most similar first: a priority queue keyed
    by the predicate's distance, with lazy invalidation by version counters, and region
    statistics updated in O(1) per merge. The queue holds one record per region (its
    best neighbour) rather than one per pair; a record whose partner has changed is
    re-evaluated when popped, which gives the same order as one record per pair. A
    merge re-examines the merged region's neighbours, so the cost grows with region
    perimeters: with the default ``min_block=4`` a 481 x 321 BSDS image takes about
    0.1 s (about 0.6x scikit-image's ``felzenszwalb``), with ``min_block=1`` and a
    strict predicate up to about 1 s. Merging stops when no adjacent pair is
    mergeable; optionally regions under `min_size` pixels then join their most similar
    neighbour.

With ``min_block=1`` and ``min_size=0`` the result is a segmentation in the sense of
:mod:`classical.partition`: connected regions covering the image, no adjacent pair
mergeable, and :math:`P(R)` true for every region when ``mergeable`` is :math:`P` of the
union (range, std, size predicates). Pairwise predicates (mean, srm, texture) define
``mergeable`` by comparing the two parts, which a merged region's own :math:`P` need not
follow. A leaf of `min_block` pixels on which :math:`P` still fails stays a region of
its own (as in the paper, where the smallest blocks are single pixels), and `min_size`
absorption trades maximality for fewer tiny regions.

The merge loop is compiled with Numba: the predicate is translated into a small postfix
program over the regions' statistics that mirrors the Python predicates formula for
formula (:mod:`classical._program`, shared with region growing). It supports every
predicate of :mod:`classical.predicates`:

==========================================  ========================================
``range_SPACE``, ``std_SPACE``               union's per-channel span / std
``mean_SPACE``                               distance between the two means
``srm_SPACE``                                Nock-Nielsen bound
``texture_l2``, ``texture_chi2``             Gabor means / LBP histograms
``boundary``                                 mean edge strength along the border
``min_size``, ``max_size``                   on the union's size
``&``, ``|``, ``~``, ``weighted(...)``       of the above
==========================================  ========================================

Merge order and thresholds
--------------------------
Every pair gets a *height*: its distance divided by its threshold (1 at the threshold;
the normalised gap for :class:`SRM`), an ``&`` the largest height of its parts, an
``|`` the smallest, ``weighted`` the mixed height; size predicates and ``~`` contribute
0 when they hold and infinity when they fail. The pair is mergeable exactly when its
height is at most 1 (the kernel decides with the predicate's own comparisons, so
rounding in the division cannot change a decision). The queue pops the lowest height first (ties: the lowest
similarity-only priority, then first in, first out), so the merge history is a
dendrogram whose heights are recorded (``return_history``).

A *predicate family* varies one number: the threshold of the predicate's first
thresholded leaf (its ``q`` for :class:`SRM`), with every other threshold scaled in
proportion; ``mean_lab(8) & std_lab(12)`` at threshold 4 is ``mean_lab(4) &
std_lab(6)``. Raising the threshold divides every height by the same factor, so a run
at the coarsest threshold merges, in the same order, everything a run at a finer
threshold merges first: the finer result is the state of the coarse run just before
its first merge above the finer threshold. :func:`split_merge_sweep` therefore splits
once, merges once and cuts the history at every threshold. Its results equal
independent runs with the same split; by default that is the split at the finest
threshold, which coarser thresholds would not make on their own. This needs
predicates that accept more merges as the threshold grows, so a sweep refuses ``~``
over a thresholded part.

References
----------
.. [1] S. L. Horowitz and T. Pavlidis, "Picture segmentation by a tree traversal
   algorithm", J. ACM 23(2):368-388, 1976.
.. [2] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 3rd ed., Section
   10.4.2, 2008.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Real
from typing import Sequence

import numpy as np
from numba import njit

from classical import _program
from classical._program import StatsLayout, clear_row, evaluate, merge_row
from classical._regions import adjacent_pairs
from classical._validate import (check_connectivity, check_int, check_min_size,
                                 check_real, size_in_pixels)
from classical.partition import _as_predicate, _statistics_inputs
from classical.predicates import (
    SRM,
    And,
    BorderStats,
    Boundary,
    MaxStd,
    MeanDistance,
    Not,
    Or,
    Predicate,
    Range,
    RegionStats,
    TextureDistance,
    Weighted,
    _leaves,
)
from classical.segmenter import Segmenter

__all__ = [
    "HISTORY_DTYPE",
    "SplitMergeParams",
    "SplitMergeResult",
    "SplitMergeSegmenter",
    "split_and_merge",
    "split_merge_segmenter",
    "split_merge_sweep",
    "with_threshold",
]

#: Record type of a merge history: the two merged nodes, the merge's height (see the
#: module docstring) and the id of the new node.
HISTORY_DTYPE = np.dtype([("a", np.int64), ("b", np.int64), ("distance", np.float64),
                          ("new_id", np.int64)])

#: Default sweep: the default predicate's threshold times these factors, fine to coarse.
_SWEEP_FACTORS = tuple(float(2.0 ** e) for e in np.linspace(-1.5, 2.0, 12))

_LEAVES = (Range, MaxStd, MeanDistance, TextureDistance, SRM, Boundary)


# --------------------------------------------------------------------------------------
# Predicate families
# --------------------------------------------------------------------------------------


def _walk_leaves(predicate: Predicate):
    """The thresholded leaves of a predicate tree in text order."""
    return _leaves(predicate, _LEAVES)


def _primary(predicate: Predicate):
    """The leaf whose number a threshold replaces: the first thresholded leaf."""
    leaf = next(_walk_leaves(predicate), None)
    if leaf is None:
        raise ValueError(
            f"predicate {predicate!r} has no threshold to vary (no range, std, mean, srm, "
            "texture or boundary part); pass threshold=None, or add a thresholded part."
        )
    return leaf


def _scale(predicate: Predicate, value: float) -> float:
    """Factor by which `value` scales the family's thresholds (its heights divide by it)."""
    leaf = _primary(predicate)
    if isinstance(leaf, SRM):
        value = check_real(value, "threshold", minimum=0, strict_minimum=True)
        return math.sqrt(leaf.q / value)  # SRM's distance grows with sqrt(q)
    value = check_real(value, "threshold", minimum=0)
    if leaf.threshold == 0:
        raise ValueError(
            f"cannot vary the threshold of {predicate!r}: its first threshold is 0, so the "
            "others cannot be scaled in proportion; write it with a positive threshold."
        )
    return value / leaf.threshold


def with_threshold(predicate: Predicate | str, value: float | None) -> Predicate:
    """The member of `predicate`'s family that a split-and-merge threshold selects.

    This is the predicate :func:`split_and_merge` applies for ``threshold=value``: the
    first thresholded leaf (range, std, mean, srm, texture or boundary) gets `value`
    exactly and every other threshold scales in proportion (SRM's ``q`` by the square).

    Parameters
    ----------
    predicate : Predicate or str
        The predicate or its text (see :func:`classical.predicates.parse_predicate`).
    value : float or None
        The threshold; None returns `predicate` unchanged.

    Returns
    -------
    Predicate

    Raises
    ------
    ValueError
        If `predicate` has no thresholded part, its first threshold is 0, or `value` is
        negative or not finite.

    Examples
    --------
    >>> with_threshold("mean_lab(12) & std_lab(18)", 6)
    mean_lab(6) & std_lab(9)
    """
    predicate = _as_predicate(predicate)
    if value is None:
        return predicate
    return _rescaled(predicate, _scale(predicate, value), value)


def _rescaled(predicate: Predicate, factor: float, value=None) -> Predicate:
    """Every threshold times `factor` (SRM: q over its square); the first thresholded
    leaf gets `value` exactly when given."""
    primary = _primary(predicate) if value is not None else None
    if factor < 0 or not math.isfinite(factor):
        raise ValueError(f"a threshold scale must be finite and >= 0; got {factor}.")

    def rebuild(p):
        if isinstance(p, (And, Or)):
            return type(p)(*(rebuild(q) for q in p.operands))
        if isinstance(p, Not):
            return Not(rebuild(p.operand))
        if isinstance(p, Weighted):
            return Weighted(rebuild(p.colour), rebuild(p.texture), p.weight)
        if isinstance(p, SRM):
            if p is primary:
                return dataclasses.replace(p, q=float(value))
            if factor == 0:
                raise ValueError(f"a threshold of 0 would give {p!r} an infinite q; use "
                                 "a positive threshold.")
            return dataclasses.replace(p, q=p.q / (factor * factor))
        if isinstance(p, _LEAVES):
            # Scaled thresholds keep 6 significant digits, so that reprs stay readable
            # (18 * 1.325 prints as 23.85, not 23.849999999999998).
            new = float(value) if p is primary else float(f"{p.threshold * factor:.6g}")
            return dataclasses.replace(p, threshold=new)
        return p

    return rebuild(predicate)


def _check_monotone(predicate: Predicate, root: Predicate) -> None:
    """A sweep needs merges to become easier as the threshold grows: no ``~`` over a
    thresholded part."""
    if isinstance(predicate, (And, Or)):
        for operand in predicate.operands:
            _check_monotone(operand, root)
    elif isinstance(predicate, Not) and next(_walk_leaves(predicate.operand), None) is not None:
        raise ValueError(
            f"split_merge_sweep cannot sweep {root!r}: {predicate!r} negates a thresholded "
            "part, so raising the threshold forbids some merges instead of allowing more. "
            "Negate only size parts (e.g. ~min_size(20)), or run split_and_merge per value."
        )


# --------------------------------------------------------------------------------------
# Compiled merge kernel
# --------------------------------------------------------------------------------------
#
# The predicate runs as a classical._program program over one float64 array `data`, a
# row per region, in the column layout of classical._program.StatsLayout (count, sums,
# sums of squares, histogram, colour extrema), passed as its `offsets` tuple. (Few
# array arguments matter: Numba reference-counts each one per call.)


def _check_supported(predicate: Predicate) -> None:
    _program.check_supported(predicate, "split_and_merge")


# The queue holds, for every region, its best merge candidate: the neighbour with the
# lowest (height, priority), the first in list order on ties. It is a binary min-heap of
# records with float keys (height, priority) and int fields (sequence number, region x,
# partner y, versions of x and y), compared by (height, priority, sequence): equal keys
# pop first in, first out, whatever the heap's layout.
#
# Lazy invalidation: a record is void when x has changed since (a newer one exists) and
# stale when only y has; then x's best candidate is recomputed and queued again. A
# stale record's key is at most the current height of every pair of x it covers (none
# was better when it was made), and every pair whose height changed is covered by the
# fresh record of the region that changed, so the first valid record popped is a best
# pair overall, as with one record per pair, at the cost of one record per change
# instead of one per neighbour.


@njit(cache=True, nogil=True, inline="always")
def _before(fkeys, ikeys, i, h, p, seq):
    """Whether heap slot i orders before the record (h, p, seq)."""
    if fkeys[i, 0] != h:
        return fkeys[i, 0] < h
    if fkeys[i, 1] != p:
        return fkeys[i, 1] < p
    return ikeys[i, 0] < seq


@njit(cache=True, nogil=True, inline="always")
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True, inline="always")
def _better(ok, h, p, min_size, found, best_h, best_p):  # pragma: no cover - compiled
    """Whether a pair evaluated to (ok, h, p) beats the best so far: mergeable (or any
    pair while absorbing small regions), then lowest height, ties by priority."""
    return (ok or min_size > 0) and (not found or h < best_h or (h == best_h and p < best_p))


@njit(cache=True, nogil=True)
def _best(x, min_size, program, numbers, data, layout, stack, links, parent, seen, stamp,
          border, edge_parent, kept, use_border):
    """Best candidate of region x: (found, height, priority, partner).

    Walks x's adjacency list, resolving merged neighbours and dropping self-loops and
    duplicates. Candidates are mergeable pairs, or with ``min_size > 0`` pairs with a
    region under `min_size` pixels (mergeable or not). `links` columns: head, tail
    (per region), next, other (per list entry).

    With `use_border` (a ``boundary`` predicate), the border (sum, count) of a
    duplicate edge (x and a neighbour joined by two edges since a merge) is added to
    the kept edge's, and the kept edge becomes the duplicate's root in `edge_parent`,
    so the neighbour's own walk finds both edges already one; pairs are evaluated in a
    second walk, once every border of x is complete."""
    n = data.shape[0]
    found = False
    best_h = np.inf
    best_p = np.inf
    best_y = -1
    seen[x] = stamp
    previous = -1
    entry = links[x, 0]
    while entry != -1:
        following = links[entry, 2]
        o = _find(parent, links[entry, 3])
        if seen[o] == stamp:  # unlink a self-loop or a duplicate
            if use_border and o != x:
                e1 = _find(edge_parent, (kept[o] - n) >> 1)
                e2 = _find(edge_parent, (entry - n) >> 1)
                if e1 != e2:
                    border[e1, 0] += border[e2, 0]
                    border[e1, 1] += border[e2, 1]
                    edge_parent[e2] = e1
            if previous == -1:
                links[x, 0] = following
            else:
                links[previous, 2] = following
        else:
            seen[o] = stamp
            if use_border:
                kept[o] = entry
            links[entry, 3] = o
            previous = entry
            if not use_border and (min_size == 0 or data[x, 0] < min_size
                                   or data[o, 0] < min_size):
                ok, h, p = evaluate(program, numbers, stack, data, x, data, o, False, layout,
                                    0.0, 0.0)
                if _better(ok, h, p, min_size, found, best_h, best_p):
                    found, best_h, best_p, best_y = True, h, p, o
        entry = following
    links[x, 1] = previous
    if previous == -1:
        links[x, 0] = -1
    else:
        links[previous, 2] = -1
    if use_border:
        entry = links[x, 0]
        while entry != -1:
            o = links[entry, 3]
            if min_size == 0 or data[x, 0] < min_size or data[o, 0] < min_size:
                e = _find(edge_parent, (entry - n) >> 1)
                ok, h, p = evaluate(program, numbers, stack, data, x, data, o, False, layout,
                                    border[e, 0], border[e, 1])
                if _better(ok, h, p, min_size, found, best_h, best_p):
                    found, best_h, best_p, best_y = True, h, p, o
            entry = links[entry, 2]
    return found, best_h, best_p, best_y


@njit(cache=True, nogil=True)
def _merge_regions(program, numbers, data, layout, edges, border, use_border, min_size):
    """Greedy merging on a region adjacency graph; `data` rows are updated in place.

    With ``min_size == 0``, merge mergeable pairs (lowest height first) until none is
    left. With ``min_size > 0``, merge pairs with a region under `min_size` pixels
    instead (same order, mergeable or not) until no region is small. `border` (E, 2)
    holds each edge's border (sum, count) for ``boundary`` predicates (`use_border`);
    it is updated in place as edges between merged regions combine.

    Returns the history as arrays (a, b, height): merge ``m`` joins nodes ``a[m] <
    b[m]`` into node ``n + m`` (region i is node i).
    """
    n = data.shape[0]
    n_edges = edges.shape[0]
    parent = np.arange(n)
    alive = np.ones(n, np.bool_)
    version = np.zeros(n, np.int64)
    node = np.arange(n)
    seen = np.full(n, -1, np.int64)
    kept = np.zeros(n if use_border else 0, np.int64)
    edge_parent = np.arange(n_edges if use_border else 0)
    # Adjacency lists: rows 0..n-1 of `links` hold each region's (head, tail); entry
    # 2e (2e + 1) of edge e, in the list of edges[e, 0] (edges[e, 1]), is row n + 2e
    # (n + 2e + 1) with (next, other); `other` may be stale, _find resolves it.
    links = np.full((n + 2 * n_edges, 4), -1, np.int64)
    for e in range(n_edges):
        for side in range(2):
            r = edges[e, side]
            entry = n + 2 * e + side
            links[entry, 3] = edges[e, 1 - side]
            if links[r, 0] == -1:
                links[r, 0] = entry
            else:
                links[links[r, 1], 2] = entry
            links[r, 1] = entry
    stack = np.empty((program.shape[0] + 1, 4))
    fkeys = np.empty((n + 16, 2), np.float64)
    ikeys = np.empty((n + 16, 5), np.int64)
    size = 0
    seq = 0
    stamp = 0
    out_a = np.empty(max(n - 1, 0), np.int64)
    out_b = np.empty(max(n - 1, 0), np.int64)
    out_h = np.empty(max(n - 1, 0), np.float64)
    n_merges = 0
    # First every region's best candidate (with min_size, the small regions'), then
    # pop records until the queue is empty.
    todo = np.arange(n) if min_size == 0 else np.flatnonzero(data[:, 0] < min_size)
    done = 0
    while True:
        if done < todo.shape[0]:
            x = todo[done]
            done += 1
        else:
            if size == 0:
                break
            # Pop the smallest record.
            x = ikeys[0, 1]
            y = ikeys[0, 2]
            vx = ikeys[0, 3]
            vy = ikeys[0, 4]
            height = fkeys[0, 0]
            size -= 1
            if size > 0:
                h = fkeys[size, 0]
                p = fkeys[size, 1]
                s = ikeys[size, 0]
                i = 0
                while True:
                    child = 2 * i + 1
                    if child >= size:
                        break
                    if child + 1 < size and _before(fkeys, ikeys, child + 1, fkeys[child, 0],
                                                    fkeys[child, 1], ikeys[child, 0]):
                        child += 1
                    if not _before(fkeys, ikeys, child, h, p, s):
                        break
                    fkeys[i] = fkeys[child]
                    ikeys[i] = ikeys[child]
                    i = child
                fkeys[i] = fkeys[size]
                ikeys[i] = ikeys[size]
            if not alive[x] or version[x] != vx:
                continue  # void: x has changed and was queued again
            if alive[y] and version[y] == vy:
                # A valid pair: merge, the larger region absorbing the smaller.
                a, b = x, y
                if data[a, 0] < data[b, 0] or (data[a, 0] == data[b, 0] and b < a):
                    a, b = b, a
                merge_row(data, a, data, b, layout)
                out_a[n_merges] = min(node[a], node[b])
                out_b[n_merges] = max(node[a], node[b])
                out_h[n_merges] = height
                node[a] = n + n_merges
                n_merges += 1
                alive[b] = False
                parent[b] = a
                version[a] += 1
                if links[b, 0] != -1:  # append b's list to a's
                    if links[a, 0] == -1:
                        links[a, 0] = links[b, 0]
                    else:
                        links[links[a, 1], 2] = links[b, 0]
                    links[a, 1] = links[b, 1]
                x = a
        # Queue x's best candidate (x is new, merged, or its record was stale).
        stamp += 1
        found, h, p, y = _best(x, min_size, program, numbers, data, layout, stack, links,
                               parent, seen, stamp, border, edge_parent, kept, use_border)
        if not found:
            continue
        if size == fkeys.shape[0]:
            grown_f = np.empty((2 * size, 2), np.float64)
            grown_i = np.empty((2 * size, 5), np.int64)
            grown_f[:size] = fkeys
            grown_i[:size] = ikeys
            fkeys = grown_f
            ikeys = grown_i
        i = size
        size += 1
        while i > 0:
            up = (i - 1) >> 1
            if _before(fkeys, ikeys, up, h, p, seq):
                break
            fkeys[i] = fkeys[up]
            ikeys[i] = ikeys[up]
            i = up
        fkeys[i, 0] = h
        fkeys[i, 1] = p
        ikeys[i, 0] = seq
        ikeys[i, 1] = x
        ikeys[i, 2] = y
        ikeys[i, 3] = version[x]
        ikeys[i, 4] = version[y]
        seq += 1
    return out_a[:n_merges], out_b[:n_merges], out_h[:n_merges]


@njit(cache=True, nogil=True)
def _cut(n, out_a, out_b, k):
    """Region of each of the `n` leaves after the first `k` merges, numbered 0..m-1 in
    order of each region's first leaf; returns (region_of_leaf, m, top node per region)."""
    total = n + k
    up = np.full(total, -1, np.int64)
    for j in range(k):
        up[out_a[j]] = n + j
        up[out_b[j]] = n + j
    top = np.empty(total, np.int64)
    for x in range(total - 1, -1, -1):  # a parent's id is larger than its children's
        top[x] = x if up[x] == -1 else top[up[x]]
    ids = np.full(total, -1, np.int64)
    region = np.empty(n, np.int64)
    roots = np.empty(n, np.int64)
    m = 0
    for leaf in range(n):
        r = top[leaf]
        if ids[r] == -1:
            ids[r] = m
            roots[m] = r
            m += 1
        region[leaf] = ids[r]
    return region, m, roots[:m]


@njit(cache=True, nogil=True)
def _gather(region, m, data, layout):
    """Statistics rows of the m regions made of the leaves (``region[leaf]``)."""
    out = np.empty((m, data.shape[1]))
    for r in range(m):
        clear_row(out, r, layout)
    for leaf in range(region.shape[0]):
        merge_row(out, region[leaf], data, leaf, layout)
    return out


# --------------------------------------------------------------------------------------
# Split
# --------------------------------------------------------------------------------------


def _axis_levels(length: int, min_block: int):
    """Cuts of one axis per tree level: halve every interval longer than `min_block`."""
    levels = [np.array([0, length], dtype=np.int64)]
    while True:
        cuts = levels[-1]
        split = np.diff(cuts) > min_block
        if not split.any():
            break
        mids = (cuts[:-1] + cuts[1:]) // 2
        levels.append(np.sort(np.concatenate([cuts, mids[split]])))
    return levels


# The block pyramid is built by compiled loops that do what ``kind.reduceat`` along
# axis 0, then along axis 1, does, in NumPy's order of operations, so the statistics are
# bit for bit NumPy's: a block's sum is its first value plus the pairwise sum (NumPy's
# float64 add-reduce loop, started from -0.0) of the others. Minima and maxima do not
# depend on the order (but for the sign of a zero where -0.0 and 0.0 tie, which no
# predicate can tell apart).

_ADD, _MIN, _MAX = 0, 1, 2


@njit(cache=True, nogil=True)
def _pairwise_block(buf, start, n):  # pragma: no cover - compiled
    """NumPy's pairwise sum of ``buf[start:start + n]`` for n <= 128 (one block)."""
    if n < 8:
        res = -0.0
        for i in range(start, start + n):
            res += buf[i]
        return res
    r0, r1, r2, r3 = buf[start], buf[start + 1], buf[start + 2], buf[start + 3]
    r4, r5, r6, r7 = buf[start + 4], buf[start + 5], buf[start + 6], buf[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += buf[j]
        r1 += buf[j + 1]
        r2 += buf[j + 2]
        r3 += buf[j + 3]
        r4 += buf[j + 4]
        r5 += buf[j + 5]
        r6 += buf[j + 6]
        r7 += buf[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += buf[start + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def _pairwise(buf, start, n):  # pragma: no cover - compiled
    """NumPy's pairwise sum of ``buf[start:start + n]`` (its float64 add-reduce loop):
    blocks of up to 128 values summed by `_pairwise_block`, longer runs halved (at a
    multiple of 8) and the halves added. The recursion runs on an explicit stack."""
    if n <= 128:
        return _pairwise_block(buf, start, n)
    starts = np.empty(128, np.int64)
    lengths = np.empty(128, np.int64)
    phase = np.empty(128, np.int64)
    values = np.empty(128)
    top, n_values = 0, 0
    starts[0], lengths[0], phase[0] = start, n, 0
    while top >= 0:
        s, m = starts[top], lengths[top]
        if m <= 128:
            values[n_values] = _pairwise_block(buf, s, m)
            n_values += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if phase[top] == 0:
            phase[top] = 1
            top += 1
            starts[top], lengths[top], phase[top] = s, half, 0
        elif phase[top] == 1:
            phase[top] = 2
            top += 1
            starts[top], lengths[top], phase[top] = s + half, m - half, 0
        else:
            values[n_values - 2] = values[n_values - 2] + values[n_values - 1]
            n_values -= 1
            top -= 1
    return values[0]


@njit(cache=True, nogil=True, inline="always")
def _combine(acc, x, op):  # pragma: no cover - compiled
    """One step of a min/max reduction as NumPy's scalar loop takes it (ties: x)."""
    if op == 1:
        return acc if acc < x else x
    return acc if acc > x else x


@njit(cache=True, nogil=True)
def _fold(buf, n, op):  # pragma: no cover - compiled
    """``kind.reduceat`` of one block ``buf[:n]``: the first value, then the rest."""
    if op == 0:
        return buf[0] + _pairwise(buf, 1, n - 1)
    acc = buf[0]
    for i in range(1, n):
        acc = _combine(acc, buf[i], op)
    return acc


@njit(cache=True, nogil=True)
def _reduce_rows(array, r0, r1, op, out, buf):  # pragma: no cover - compiled
    """out[k] = kind.reduceat of array[r0:r1, k] (array is 2-D, rows reduced)."""
    n = r1 - r0
    m = array.shape[1]
    if n <= 8:  # the rest is under 8 values: NumPy adds it in order from -0.0
        if op == 0:
            for k in range(m):
                out[k] = -0.0
            for r in range(r0 + 1, r1):
                for k in range(m):
                    out[k] += array[r, k]
            for k in range(m):
                out[k] = array[r0, k] + out[k]
        else:
            for k in range(m):
                out[k] = array[r0, k]
            for r in range(r0 + 1, r1):
                for k in range(m):
                    out[k] = _combine(out[k], array[r, k], op)
        return
    for k in range(m):
        for r in range(n):
            buf[r] = array[r0 + r, k]
        out[k] = _fold(buf, n, op)


@njit(cache=True, nogil=True)
def _block_reduce(array, row_cuts, col_cuts, op):  # pragma: no cover - compiled
    """``kind.reduceat`` of an (H, W, C) array along axis 0 at ``row_cuts[:-1]``, then
    along axis 1 at ``col_cuts[:-1]``, kind add (op 0), minimum (1) or maximum (2), with
    NumPy's order of operations (the first value of a block plus the pairwise sum of the
    others), so the result is bit for bit that of NumPy."""
    height, width, n_channels = array.shape
    n_r, n_c = row_cuts.shape[0] - 1, col_cuts.shape[0] - 1
    flat = array.reshape(height, width * n_channels)
    out = np.empty((n_r, n_c, n_channels))
    rows = np.empty((width, n_channels))
    row_flat = rows.reshape(width * n_channels)
    buf = np.empty(max(height, width))
    for i in range(n_r):
        _reduce_rows(flat, row_cuts[i], row_cuts[i + 1], op, row_flat, buf)
        for j in range(n_c):
            c0, c1 = col_cuts[j], col_cuts[j + 1]
            for ch in range(n_channels):
                for w in range(c0, c1):
                    buf[w - c0] = rows[w, ch]
                out[i, j, ch] = _fold(buf, c1 - c0, op)
    return out


@njit(cache=True, nogil=True)
def _block_moments(array, row_cuts, col_cuts, extrema):  # pragma: no cover - compiled
    """Sum, sum of squares and (with `extrema`) minimum and maximum of an (H, W, C)
    array over the blocks ``row_cuts x col_cuts`` in one pass: bit for bit
    ``_block_reduce`` of ``array``, ``array * array`` (add) and ``array`` (min, max)."""
    height, width, n_channels = array.shape
    n_r, n_c = row_cuts.shape[0] - 1, col_cuts.shape[0] - 1
    m = width * n_channels
    flat = array.reshape(height, m)
    total = np.empty((n_r, n_c, n_channels))
    squares = np.empty((n_r, n_c, n_channels))
    n_e = n_r if extrema else 0
    low = np.empty((n_e, n_c, n_channels))
    high = np.empty((n_e, n_c, n_channels))
    s = np.empty((width, n_channels))
    q = np.empty((width, n_channels))
    lo = np.empty((width, n_channels))
    hi = np.empty((width, n_channels))
    s_f, q_f = s.reshape(m), q.reshape(m)
    lo_f, hi_f = lo.reshape(m), hi.reshape(m)
    buf = np.empty(max(height, width))
    for i in range(n_r):
        r0, r1 = row_cuts[i], row_cuts[i + 1]
        if r1 - r0 <= 8:
            for k in range(m):
                s_f[k] = -0.0
                q_f[k] = -0.0
            for r in range(r0 + 1, r1):
                for k in range(m):
                    x = flat[r, k]
                    s_f[k] += x
                    q_f[k] += x * x
            for k in range(m):
                x = flat[r0, k]
                s_f[k] = x + s_f[k]
                q_f[k] = x * x + q_f[k]
        else:
            _reduce_rows(flat, r0, r1, 0, s_f, buf)
            for k in range(m):
                for r in range(r1 - r0):
                    x = flat[r0 + r, k]
                    buf[r] = x * x
                q_f[k] = _fold(buf, r1 - r0, 0)
        if extrema:
            _reduce_rows(flat, r0, r1, 1, lo_f, buf)
            _reduce_rows(flat, r0, r1, 2, hi_f, buf)
        for j in range(n_c):
            c0, c1 = col_cuts[j], col_cuts[j + 1]
            n = c1 - c0
            for ch in range(n_channels):
                if n <= 8:
                    a = -0.0
                    b = -0.0
                    for w in range(c0 + 1, c1):
                        a += s[w, ch]
                        b += q[w, ch]
                    total[i, j, ch] = s[c0, ch] + a
                    squares[i, j, ch] = q[c0, ch] + b
                else:
                    for w in range(n):
                        buf[w] = s[c0 + w, ch]
                    total[i, j, ch] = _fold(buf, n, 0)
                    for w in range(n):
                        buf[w] = q[c0 + w, ch]
                    squares[i, j, ch] = _fold(buf, n, 0)
                if extrema:
                    a = lo[c0, ch]
                    b = hi[c0, ch]
                    for w in range(c0 + 1, c1):
                        a = _combine(a, lo[w, ch], 1)
                        b = _combine(b, hi[w, ch], 2)
                    low[i, j, ch] = a
                    high[i, j, ch] = b
    return total, squares, low, high


@dataclass(frozen=True)
class _Leaves:
    """The split's output: leaf blocks, their statistics and their label image."""

    bounds: np.ndarray      # (L, 4) min_row, min_col, max_row, max_col; raster order
    labels: np.ndarray      # (H, W) int32 leaf index of every pixel
    grid: np.ndarray        # leaf index on the finest block grid (for adjacency)
    data: np.ndarray        # (L, layout.width) statistics rows
    layout: StatsLayout
    image_size: int

    @property
    def n(self) -> int:
        return self.data.shape[0]


def _split(inputs: dict, predicate: Predicate, min_block: int) -> _Leaves:
    """Quadtree split of the feature image(s) in `inputs` until P holds or blocks are small."""
    values = np.asarray(inputs["features"], dtype=np.float64)
    if values.ndim == 2:
        values = values[..., np.newaxis]
    height, width, n_colour = values.shape
    texture = inputs.get("texture")
    if texture is not None:
        texture = np.asarray(texture, dtype=np.float64)
        if texture.ndim == 2:
            texture = texture[..., np.newaxis]
        if texture.shape[:2] != (height, width):
            raise ValueError(f"texture must have the image's height and width {(height, width)}; "
                             f"got {texture.shape[:2]}.")
    codes = inputs.get("histograms")
    n_bins = 0
    if codes is not None:
        codes = np.asarray(codes)
        if codes.shape[:2] != (height, width):
            raise ValueError(f"histograms must have the image's height and width "
                             f"{(height, width)}; got {codes.shape[:2]}.")
        if codes.ndim == 2:
            n_bins = int(inputs.get("n_bins") or int(codes.max()) + 1)
        else:
            n_bins = codes.shape[2]
    for name, array in (("features", values), ("texture", texture)):
        if array is not None and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values.")

    rows = _axis_levels(height, min_block)
    cols = _axis_levels(width, min_block)
    depth = max(len(rows), len(cols))
    rows += [rows[-1]] * (depth - len(rows))
    cols += [cols[-1]] * (depth - len(cols))

    # Block pyramid, finest level from the pixels, coarser levels from finer ones.
    fine_r, fine_c = rows[-1][:-1], cols[-1][:-1]
    total, squares, low, high = _block_moments(np.ascontiguousarray(values), rows[-1],
                                               cols[-1], True)
    level = {"sum": total, "sumsq": squares, "min": low, "max": high}
    if texture is not None:
        level["texture_sum"], level["texture_sumsq"], _, _ = _block_moments(
            np.ascontiguousarray(texture), rows[-1], cols[-1], False)
    if codes is not None:
        if codes.ndim == 2:
            cell = (np.repeat(np.arange(fine_r.size), np.diff(rows[-1]))[:, None]
                    * fine_c.size + np.repeat(np.arange(fine_c.size), np.diff(cols[-1])))
            counts = np.bincount((cell * n_bins + codes).ravel(),
                                 minlength=fine_r.size * fine_c.size * n_bins)
            level["histogram"] = counts.reshape(fine_r.size, fine_c.size, n_bins).astype(
                np.float64)
        else:
            level["histogram"] = _block_reduce(
                np.ascontiguousarray(codes, dtype=np.float64), rows[-1], cols[-1], _ADD)
    ops = {"sum": _ADD, "sumsq": _ADD, "min": _MIN, "max": _MAX, "texture_sum": _ADD,
           "texture_sumsq": _ADD, "histogram": _ADD}
    pyramid = [None] * depth
    pyramid[-1] = level
    for k in range(depth - 2, -1, -1):
        r_cut = np.searchsorted(rows[k + 1], rows[k])
        c_cut = np.searchsorted(cols[k + 1], cols[k])
        pyramid[k] = {key: _block_reduce(array, r_cut, c_cut, ops[key])
                      for key, array in pyramid[k + 1].items()}

    # Top-down: evaluate P on the active blocks of each level, split where it fails.
    image_size = height * width
    found = []  # (level, block rows, block cols)
    active_r = np.zeros(1, np.int64)
    active_c = np.zeros(1, np.int64)
    for k in range(depth):
        if active_r.size == 0:
            break
        level = pyramid[k]
        r_size = np.diff(rows[k])
        c_size = np.diff(cols[k])
        count = r_size[active_r] * c_size[active_c]
        stats = RegionStats(
            count=count, sum=level["sum"][active_r, active_c],
            sumsq=level["sumsq"][active_r, active_c], min=level["min"][active_r, active_c],
            max=level["max"][active_r, active_c],
            texture_sum=(level["texture_sum"][active_r, active_c]
                         if "texture_sum" in level else None),
            texture_sumsq=(level["texture_sumsq"][active_r, active_c]
                           if "texture_sumsq" in level else None),
            histogram=level["histogram"][active_r, active_c] if "histogram" in level else None,
            image_size=image_size)
        holds = np.atleast_1d(np.asarray(predicate(stats), dtype=bool))
        # An axis interval is halved while longer than min_block (as _axis_levels does).
        can_r, can_c = r_size > min_block, c_size > min_block
        leaf = holds | ~(can_r[active_r] | can_c[active_c])
        found.append((k, active_r[leaf], active_c[leaf]))
        parent_r, parent_c = active_r[~leaf], active_c[~leaf]
        if parent_r.size == 0:
            break
        # Children on the next level's grid: the first child starts where the parent does.
        first_r = np.searchsorted(rows[k + 1], rows[k][parent_r])
        first_c = np.searchsorted(cols[k + 1], cols[k][parent_c])
        n_r = np.where(can_r[parent_r], 2, 1)
        n_c = np.where(can_c[parent_c], 2, 1)
        new_r, new_c = [], []
        for dr in (0, 1):
            for dc in (0, 1):
                keep = (dr < n_r) & (dc < n_c)
                new_r.append(first_r[keep] + dr)
                new_c.append(first_c[keep] + dc)
        active_r = np.concatenate(new_r)
        active_c = np.concatenate(new_c)

    # Leaves in raster order of their top-left pixel.
    lv = np.concatenate([np.full(r.size, k) for k, r, _ in found])
    lr = np.concatenate([r for _, r, _ in found])
    lc = np.concatenate([c for _, _, c in found])
    r0 = np.concatenate([rows[k][r] for k, r, _ in found])
    c0 = np.concatenate([cols[k][c] for k, _, c in found])
    order = np.lexsort((c0, r0))
    lv, lr, lc = lv[order], lr[order], lc[order]
    n_leaves = lv.size
    n_texture = 0 if texture is None else texture.shape[2]
    layout = StatsLayout(n_colour, n_texture, n_bins)
    data = np.empty((n_leaves, layout.width))
    bounds = np.empty((n_leaves, 4), np.int64)
    finest = np.full((fine_r.size, fine_c.size), -1, np.int64)
    colour = slice(layout.sum, layout.sum + n_colour)
    colour_sq = slice(layout.sq, layout.sq + n_colour)
    for k in range(depth):
        pick = np.flatnonzero(lv == k)
        if pick.size == 0:
            continue
        r, c = lr[pick], lc[pick]
        bounds[pick] = np.stack([rows[k][r], cols[k][c], rows[k][r + 1], cols[k][c + 1]], 1)
        level = pyramid[k]
        data[pick, 0] = np.diff(rows[k])[r] * np.diff(cols[k])[c]
        data[pick, colour] = level["sum"][r, c]
        data[pick, colour_sq] = level["sumsq"][r, c]
        if texture is not None:
            data[pick, colour.stop:layout.sq] = level["texture_sum"][r, c]
            data[pick, colour_sq.stop:layout.hist] = level["texture_sumsq"][r, c]
        if n_bins:
            data[pick, layout.hist:layout.lo] = level["histogram"][r, c]
        data[pick, layout.lo:layout.hi] = level["min"][r, c]
        data[pick, layout.hi:] = level["max"][r, c]
        ids = np.full((rows[k].size - 1, cols[k].size - 1), -1, np.int64)
        ids[r, c] = pick
        map_r = np.searchsorted(rows[k], fine_r, side="right") - 1
        map_c = np.searchsorted(cols[k], fine_c, side="right") - 1
        np.maximum(finest, ids[np.ix_(map_r, map_c)], out=finest)
    pixel_r = np.repeat(np.arange(fine_r.size), np.diff(rows[-1]))
    pixel_c = np.repeat(np.arange(fine_c.size), np.diff(cols[-1]))
    labels = finest[np.ix_(pixel_r, pixel_c)].astype(np.int32)
    return _Leaves(bounds=bounds, labels=labels, grid=finest, data=data, layout=layout,
                   image_size=image_size)


@dataclass(frozen=True)
class _Edges:
    """The leaves' adjacency graph and, for boundary predicates, each edge's border."""

    pairs: np.ndarray       # (E, 2) int64 leaf pairs, a < b
    border: np.ndarray      # (E, 2) float64 border (sum, count) of the edge strength
    use_border: bool


def _leaf_edges(leaves: _Leaves, connectivity: int, strength=None) -> _Edges:
    """Adjacent leaves; with an edge-strength map, the border statistics of each pair."""
    if leaves.n < 2:
        pairs = np.empty((0, 2), np.int64)
    else:
        pairs, _ = adjacent_pairs(leaves.grid, connectivity)
        pairs = np.ascontiguousarray(pairs, dtype=np.int64)
    if strength is None:
        return _Edges(pairs, np.zeros((pairs.shape[0], 2)), False)
    _, border = BorderStats.from_labels(leaves.labels, strength, connectivity=connectivity,
                                        pairs=pairs)
    return _Edges(pairs, np.stack([border.sum, border.count], axis=1), True)


# --------------------------------------------------------------------------------------
# Pipeline
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitMergeResult:
    """Output of :func:`split_and_merge` with ``return_tree`` or ``return_history``.

    Attributes
    ----------
    labels : ndarray of int32, shape (H, W)
        The segmentation: connected regions numbered 0..n-1 in raster order of their
        first pixel.
    leaves : ndarray of int64, shape (L, 4), or None
        The quadtree's leaf blocks ``(min_row, min_col, max_row, max_col)`` (maxima
        exclusive, as ``RegionStats.bbox``), in raster order of their top-left pixel;
        they tile the image. Leaf ``i`` is dendrogram node ``i``. None unless
        ``return_tree``.
    history : ndarray of HISTORY_DTYPE, shape (M,), or None
        The merges in order: nodes ``a < b`` joined at height ``distance`` (the pair's
        distance over its threshold, see the module docstring) into node ``new_id =
        L + m``. Merges made by `min_size` absorption come last; their heights may
        exceed 1. Applying every merge to the leaves gives `labels`. None unless
        ``return_history``.
    """

    labels: np.ndarray
    leaves: np.ndarray | None = None
    history: np.ndarray | None = None


def _history(out_a, out_b, out_h, first_id: int) -> np.ndarray:
    history = np.empty(out_a.size, dtype=HISTORY_DTYPE)
    history["a"] = out_a
    history["b"] = out_b
    history["distance"] = out_h
    history["new_id"] = first_id + np.arange(out_a.size)
    return history


def _regions(leaves: _Leaves, graph: _Edges, program, merged, k: int, min_size: int):
    """Leaf -> region after the first `k` merges of `merged`, then small-region absorption.

    Returns (region_of_leaf, absorption history in dendrogram node ids)."""
    edges = graph.pairs
    n = leaves.n
    region, m, roots = _cut(n, merged[0], merged[1], k)
    empty = np.empty(0, np.int64)
    absorbed = (empty, empty, np.empty(0))
    if min_size > 1 and m > 1:
        layout = leaves.layout
        r_data = _gather(region, m, leaves.data, layout.offsets)
        ra, rb = region[edges[:, 0]], region[edges[:, 1]]
        differ = ra != rb
        low, high = np.minimum(ra, rb)[differ], np.maximum(ra, rb)[differ]
        keys, inverse = np.unique(low * m + high, return_inverse=True)
        r_edges = np.stack([keys // m, keys % m], axis=1)
        # The border between two regions is the sum of their leaves' borders.
        r_border = np.stack([np.bincount(inverse, weights=graph.border[differ, c],
                                         minlength=keys.size) for c in range(2)], axis=1)
        out_a, out_b, out_h = _merge_regions(*program, r_data, layout.offsets, r_edges,
                                             r_border, graph.use_border, min_size)
        if out_a.size:
            sub, _, _ = _cut(m, out_a, out_b, out_a.size)
            region = sub[region]
            # Region nodes 0..m-1 are dendrogram nodes `roots`; new ones follow the k merges.
            node = np.concatenate([roots, n + k + np.arange(out_a.size)])
            a, b = node[out_a], node[out_b]
            absorbed = (np.minimum(a, b), np.maximum(a, b), out_h)
    return region, absorbed


def _prepare(image, predicate, split, features, min_block, connectivity, min_size):
    """Check the arguments; return (predicate, split predicate or None, inputs, ...)."""
    predicate = _as_predicate(predicate)
    _check_supported(predicate)  # fail before any work
    if split is not None:
        split = _as_predicate(split)
    min_block = check_int(min_block, "min_block", minimum=1)
    connectivity = check_connectivity(connectivity)
    min_size = check_min_size(min_size)
    # One set of statistics serves both predicates (required_space rejects a mix).
    both = predicate if split is None else And(predicate, split)
    inputs, (height, width) = _statistics_inputs(both, image, features)
    min_size = size_in_pixels(min_size, height * width)
    if predicate.uses_border and inputs.get("edges") is None:
        raise ValueError(
            f"predicate {predicate!r} compares region borders, so its inputs need the edge "
            "map: pass an image, or features= as a dict with an 'edges' entry (the relative "
            "classical.features.edge_strength, as predicate_features returns)."
        )
    return predicate, split, inputs, min_block, connectivity, min_size


def _merge_all(leaves: _Leaves, graph: _Edges, program):
    return _merge_regions(*program, leaves.data.copy(), leaves.layout.offsets, graph.pairs,
                          graph.border.copy(), graph.use_border, 0)


def split_and_merge(image, predicate, *, min_block: int = 4, connectivity: int = 8,
                    min_size: int = 0, return_tree: bool = False,
                    return_history: bool = False, features=None, split=None):
    """Split-and-merge segmentation of Horowitz and Pavlidis under a predicate.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3), or None
        Grey or RGB, uint8 or float in [0, 1]. May be None when `features` is given.
    predicate : Predicate or str
        The homogeneity predicate, e.g. ``MaxStd(0.05)`` or ``"mean_lab(10)"`` (see
        :func:`classical.predicates.parse_predicate`).
    min_block : int, optional
        Blocks are halved along an axis only while longer than this many pixels, so
        leaves are at least about ``min_block / 2`` wide. 1 splits down to single
        pixels, as the paper does.
    connectivity : {4, 8}, optional
        Which blocks and regions are adjacent (8: corners touching count).
    min_size : int or float, optional
        After merging, regions under this many pixels join their most similar
        neighbour (lowest height), the lowest heights first; 0 or 1 keeps them. A float
        in (0, 1) is a fraction of the image's pixels (rounded up), so that one setting
        means the same at every resolution.
    return_tree, return_history : bool, optional
        Return a :class:`SplitMergeResult` with the quadtree leaves and/or the merge
        history instead of the labels alone.
    features : ndarray or dict, optional
        The statistics' inputs instead of ``predicate_features(predicate, image)``: a
        feature image (H, W[, C]) in the predicate's space (required for
        ``space="features"``), or a dict like ``predicate_features`` returns.
    split : Predicate or str, optional
        Split on this predicate instead of `predicate` (any predicate over the same
        statistics). A stricter one (e.g. ``mean_lab(4)`` to merge with
        ``mean_lab(12)``) gives leaves that seldom straddle an edge, at the cost of
        more leaves to merge; on BSDS500 this raises the covering markedly.

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        Connected regions 0..n-1, numbered in raster order of their first pixel; or a
        :class:`SplitMergeResult` when `return_tree` or `return_history`.

    Raises
    ------
    TypeError
        If `image` or a predicate is of the wrong kind, or an integer parameter is not
        an integer.
    ValueError
        On an invalid image, ``min_block < 1``, ``min_size < 0``, connectivity other
        than 4 or 8, predicates whose statistics the inputs cannot supply (or which mix
        colour spaces), or a predicate class without a compiled form.

    References
    ----------
    .. [1] S. L. Horowitz and T. Pavlidis, "Picture segmentation by a tree traversal
       algorithm", J. ACM 23(2):368-388, 1976.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((6, 7))
    >>> image[:, 3:] = 0.8
    >>> split_and_merge(image, "range_grey(0.1)", min_block=1)
    array([[0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 1]], dtype=int32)
    >>> result = split_and_merge(image, "range_grey(0.1)", min_block=1, return_tree=True)
    >>> result.leaves.tolist()  # (min_row, min_col, max_row, max_col)
    [[0, 0, 3, 3], [0, 3, 3, 7], [3, 0, 6, 3], [3, 3, 6, 7]]
    """
    predicate, split, inputs, min_block, connectivity, min_size = _prepare(
        image, predicate, split, features, min_block, connectivity, min_size)
    leaves = _split(inputs, predicate if split is None else split, min_block)
    graph = _leaf_edges(leaves, connectivity,
                        inputs.get("edges") if predicate.uses_border else None)
    program = _program.compile_predicate(predicate, leaves.layout.n_colour,
                                         leaves.layout.n_texture, leaves.image_size)
    merged = _merge_all(leaves, graph, program)
    region, absorbed = _regions(leaves, graph, program, merged, merged[0].size, min_size)
    labels = region.astype(np.int32)[leaves.labels]
    if not (return_tree or return_history):
        return labels
    history = None
    if return_history:
        n = leaves.n
        history = np.concatenate([_history(*merged, n),
                                  _history(*absorbed, n + merged[0].size)])
    return SplitMergeResult(labels=labels, leaves=leaves.bounds if return_tree else None,
                            history=history)


def split_merge_sweep(image, predicate, thresholds: Sequence[float], *, min_block: int = 4,
                      connectivity: int = 8, min_size: int = 0, features=None,
                      split=None) -> list[np.ndarray]:
    """Split-and-merge at many thresholds of one predicate family, in one pass.

    The image is split once and merged once with the coarsest threshold's predicate;
    the result at each threshold is the merge history cut before the first merge
    higher than that threshold (then `min_size` absorption, per threshold). That cut
    is exactly what :func:`split_and_merge` gives at that threshold *with the same
    split* (up to the rounding of heights that tie). With a fixed `split` the results
    are therefore those of independent runs with ``split=split``; without one, the
    image is split at the finest threshold, and coarser thresholds, which on their own
    would split less, differ from independent runs.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3), or None
        Grey or RGB, uint8 or float in [0, 1]. May be None when `features` is given.
    predicate : Predicate or str
        The family's reference member, e.g. ``"mean_lab(10)"``. A threshold replaces the
        threshold of its first thresholded leaf (``q`` for ``srm``, where larger is
        finer) and scales every other threshold in proportion.
    thresholds : sequence of float
        The values, in any order; results come back in the same order.
    min_block, connectivity, min_size, features
        As for :func:`split_and_merge`.
    split : Predicate or str, optional
        The predicate to split on; by default the finest threshold's member.

    Returns
    -------
    list of ndarray of int32, shape (H, W)
        One label image per threshold.

    Raises
    ------
    TypeError
        If `thresholds` is not a sequence of numbers, or as :func:`split_and_merge`.
    ValueError
        If `thresholds` is empty or has negative values (non-positive for ``srm``), the
        predicate has no threshold or negates a thresholded part (``~``; then a larger
        threshold is not coarser), or as :func:`split_and_merge`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.repeat([[0.0, 0.0, 0.3, 0.3, 0.9]], 4, axis=0)
    >>> [int(l.max()) + 1 for l in split_merge_sweep(image, "range_grey(0.1)",
    ...                                              [0.1, 0.5, 1.0], min_block=1)]
    [3, 2, 1]
    """
    predicate, split, inputs, min_block, connectivity, min_size = _prepare(
        image, predicate, split, features, min_block, connectivity, min_size)
    if isinstance(thresholds, (str, bytes)) or not hasattr(thresholds, "__len__"):
        raise TypeError(f"thresholds must be a sequence of numbers; got "
                        f"{type(thresholds).__name__}.")
    values = list(thresholds)
    if not values:
        raise ValueError("thresholds is empty; pass at least one value, e.g. [5, 10, 20].")
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
            raise TypeError(f"thresholds must hold real numbers; got {value!r} "
                            f"({type(value).__name__}).")
    _check_monotone(predicate, predicate)
    scales = np.array([_scale(predicate, v) for v in values])
    fine, coarse = int(np.argmin(scales)), int(np.argmax(scales))
    if split is None:
        split = with_threshold(predicate, values[fine])
    leaves = _split(inputs, split, min_block)
    graph = _leaf_edges(leaves, connectivity,
                        inputs.get("edges") if predicate.uses_border else None)
    program = _program.compile_predicate(with_threshold(predicate, values[coarse]),
                                         leaves.layout.n_colour, leaves.layout.n_texture,
                                         leaves.image_size)
    merged = _merge_all(leaves, graph, program)
    # Heights are relative to the coarsest member; member v accepts heights <= s_v / s_max.
    levels = scales / scales[coarse] if scales[coarse] > 0 else np.ones_like(scales)
    levels[coarse] = 1.0
    running = np.maximum.accumulate(merged[2]) if merged[2].size else merged[2]
    out = []
    for level in levels:
        k = int(np.searchsorted(running, level, side="right"))
        region, _ = _regions(leaves, graph, program, merged, k, min_size)
        out.append(region.astype(np.int32)[leaves.labels])
    return out


# --------------------------------------------------------------------------------------
# Segmenter
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitMergeParams:
    """Parameters of :func:`split_merge_segmenter`.

    Attributes
    ----------
    predicate : str or Predicate
        The homogeneity predicate, as text. The default mixes three cues of the
        border between two regions (:class:`~classical.predicates.Weighted`): the Lab
        distance of their mean colours (CIE76 Delta E, threshold 12), the distance of
        their mean standardised Gabor energies (texture, 1.5 standard deviations,
        weight 0.4 in the colour-texture mix; computed with the image's structure
        removed, so that an edge between flat regions is not texture) and the mean edge
        strength along their border relative to the image's mean (:class:`~classical.predicates.Boundary`,
        2, weight 0.3), and keeps the union's colour spread in bounds (``std_lab(18)``).
        Tuned on BSDS500 train (``benchmarks/perf/tune_bsds.py``): on 50 training
        images the covering ODS rose from 0.52 for the former default
        ``"mean_lab(12) & std_lab(18)"`` (with ``min_size=100``) to 0.56 with texture,
        0.58 with the boundary term and ``min_size=500``.
    threshold : float or None
        Replaces the predicate's first threshold (``q`` for ``srm``) and scales the others
        in proportion; None keeps the predicate as written. The default, 12.8, is the
        covering ODS of the default sweep on the 200 BSDS500 training images.
    split_scale : float or None
        Split on `predicate` as written with every threshold multiplied by this
        (``srm``: q divided by its square), whatever `threshold` is; None splits on
        the merge predicate itself, as Horowitz and Pavlidis do. A stricter split
        leaves fewer blocks across edges (on BSDS500 train images the covering rises
        from about 0.39 to 0.52), and a split that does not follow `threshold` makes
        the one-pass threshold sweep equal to independent runs.
    min_block : int
        Blocks are halved along an axis only while longer than this.
    connectivity : {4, 8}
        Adjacency of blocks and regions; 4 scored slightly higher on BSDS500 train
        (0.574 against 0.568 covering ODS on all 200 images) and is faster.
    min_size : int or float
        Regions under this many pixels join their most similar neighbour; a float in
        (0, 1) is a fraction of the image's pixels. The default, 0.0162 (2502 pixels of
        a 481 x 321 BSDS500 image), was chosen on BSDS500 train: covering ODS on the 200
        training images rose from 0.569 with 500 pixels to 0.585 (0.581 to 0.585 from
        1500 to 3000 pixels); no predicate change tried moved it by more than 0.007.
        Segmentations are coarse (about 8 regions per BSDS image at the default
        threshold); pass a smaller value for finer ones.
    """

    predicate: str | Predicate = ("weighted(weighted(mean_lab(12), texture_l2(1.5), 0.4), "
                                  "boundary(2), 0.3) & std_lab(18)")
    threshold: float | None = 12.8
    split_scale: float | None = 0.33
    min_block: int = 4
    connectivity: int = 4
    min_size: int | float = 0.0162


def _split_predicate(predicate: Predicate, split_scale) -> Predicate | None:
    if split_scale is None:
        return None
    return _rescaled(predicate, check_real(split_scale, "split_scale", minimum=0))


def _segment(image: np.ndarray, params: SplitMergeParams) -> np.ndarray:
    predicate = _as_predicate(params.predicate)
    split = _split_predicate(predicate, params.split_scale)
    return split_and_merge(image, with_threshold(predicate, params.threshold),
                           min_block=params.min_block, connectivity=params.connectivity,
                           min_size=params.min_size, split=split)


def _default_sweep(predicate) -> tuple[float, ...]:
    """12 thresholds around the predicate's own, fine (many regions) to coarse."""
    try:
        leaf = _primary(_as_predicate(predicate))
    except ValueError:
        return ()
    if isinstance(leaf, SRM):  # larger q is finer
        return tuple(float(f"{leaf.q / f ** 2:.3g}") for f in _SWEEP_FACTORS)
    return tuple(float(f"{leaf.threshold * f:.3g}") for f in _SWEEP_FACTORS)


@dataclass(frozen=True)
class SplitMergeSegmenter(Segmenter):
    """A :class:`~classical.segmenter.Segmenter` whose threshold sweep is one pass.

    ``sweep(image)`` over ``threshold`` reads every value off one merge history
    (:func:`split_merge_sweep`); sweeps over other parameters run independently.
    Changing ``predicate`` with :meth:`with_params` also moves the default sweep values
    to the new predicate's scale (unless they were set by hand).
    """

    def with_params(self, **changes) -> "SplitMergeSegmenter":
        updated = super().with_params(**changes)
        if "predicate" in changes and self.sweep_values == _default_sweep(self.params.predicate):
            updated = dataclasses.replace(updated,
                                          sweep_values=_default_sweep(updated.params.predicate))
        return updated

    def sweep(self, image: np.ndarray, values: Sequence | None = None,
              param: str | None = None) -> list[np.ndarray]:
        """Segment `image` once per value of one parameter (see the class docstring)."""
        param = param or self.sweep_param
        if param != "threshold":
            return super().sweep(image, values, param)
        values = self.sweep_values if values is None else tuple(values)
        if not values:
            raise ValueError(f"{self.name} has no default sweep for predicate "
                             f"{self.params.predicate!r}; pass values=.")
        p = self.params
        predicate = _as_predicate(p.predicate)
        split = _split_predicate(predicate, p.split_scale)
        return split_merge_sweep(image, predicate, values, min_block=p.min_block,
                                 connectivity=p.connectivity, min_size=p.min_size,
                                 split=split)


def split_merge_segmenter(**params) -> SplitMergeSegmenter:
    """Split-and-merge as a segmenter named "split_merge".

    Parameters
    ----------
    **params
        Overrides of :class:`SplitMergeParams` fields.

    Returns
    -------
    SplitMergeSegmenter
        Its default sweep varies ``threshold`` over 12 values from 0.35x to 4x the
        predicate's own threshold (for ``srm``, q from 8x down to 1/16x), fine to
        coarse, in one pass over the merge history.

    Raises
    ------
    ValueError
        For an unknown parameter name.

    Examples
    --------
    >>> segmenter = split_merge_segmenter(predicate="range_rgb(0.2)", min_size=20)
    >>> segmenter.name, segmenter.params.min_size, segmenter.sweep_values[:3]
    ('split_merge', 20, (0.0707, 0.0882, 0.11))
    """
    defaults = SplitMergeParams()
    segmenter = SplitMergeSegmenter("split_merge", _segment, defaults, "threshold",
                                    _default_sweep(defaults.predicate))
    return segmenter.with_params(**params) if params else segmenter
