"""Pixel correspondence between boundary maps, as the BSDS500 ``correspondPixels`` does.

The official benchmark matches machine boundary pixels to human boundary pixels with a
minimum-cost one-to-one assignment (David Martin's ``match.cc``, solved by Goldberg's
CSA): two pixels may be paired when their Euclidean distance is at most
``max_dist * hypot(H, W)``; a pair costs ``rint(100 * distance)`` and every pixel left
unpaired costs ``ceil(100 * outlier_cost * max_dist * hypot(H, W))`` (100 times the
largest pair cost), so the solution pairs as many pixels as possible and, among those
pairings, minimises the total distance. The official code connects the outlier
options sparsely and at random (6 per pixel), so it returns one of the near-optimal
pairings at random. This module solves the same problem exactly, with SciPy solvers:

- the graph of pixel pairs within the tolerance comes from a per-pixel neighbour table
  of the human map, built once (a machine pixel's pairs are one table lookup);
- :func:`correspond_pixels` returns a full pairing: it splits the graph into connected
  components, pairs 1-1 components directly and solves every other component, outlier
  options included, with :func:`scipy.optimize.linear_sum_assignment` (small ones) or
  :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`;
- :class:`BoundaryMatcher` computes only what the benchmark counts: how many human
  pixels are paired (per annotator) and *which* machine pixels are paired (over all
  annotators). The first is the size of a maximum matching, found as a unit-capacity
  maximum flow (:func:`scipy.sparse.csgraph.maximum_flow`, Dinic). For the second it
  uses the Dulmage-Mendelsohn structure of that matching: a machine pixel that no
  alternating path reaches from an unpaired machine pixel is paired in *every*
  maximum matching, so only the machine-surplus part (the pixels such paths reach and
  their human neighbours) needs a minimum-cost solve. There most components are
  settled by every human pixel taking its nearest machine pixel; the others are
  solved (every human pixel paired, at minimum total cost) with the solvers above,
  and skipped when all their machine pixels are already paired for another annotator,
  since precision counts each machine pixel once. Identical maps, annotators whose
  nearby machine pixels did not change, and components seen before are not solved
  again.

Pairing as many pixels as possible first is what the official costs imply unless an
improvement needs an alternating path of about 100 pairs, which does not happen on
boundary maps. Ties between equally cheap pairings are broken deterministically (the
official code breaks them at random, which moves its numbers by a few 1e-4 between
runs); the official matcher also misses a few pairs now and then, so its recall runs
slightly lower (by about 2e-4 on the official sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import (breadth_first_order, connected_components,
                                  maximum_flow, min_weight_full_bipartite_matching)

__all__ = [
    "MULTIPLIER",
    "OUTLIER_COST",
    "BoundaryMatcher",
    "correspond_pixels",
    "match_radius",
]

#: Distances are scaled by this and rounded to integers, as in the official ``match.cc``.
MULTIPLIER = 100
#: Official default cost of leaving a pixel unpaired, in units of the match radius.
OUTLIER_COST = 100.0
# Components with at most this many pixels (both sides) are solved densely.
_DENSE_MAX = 96
# Sparse rectangular problems need at least this many columns per row (see
# _solve_saturating).
_LOOSE = 1.1


def match_radius(shape, max_dist: float) -> float:
    """The matching tolerance in pixels: ``max_dist`` times the image diagonal.

    Parameters
    ----------
    shape : tuple of int
        (H, W) of the boundary maps.
    max_dist : float
        Tolerance as a fraction of the diagonal (official default 0.0075).

    Returns
    -------
    radius : float
        ``max_dist * sqrt(H**2 + W**2)``.
    """
    h, w = int(shape[0]), int(shape[1])
    return float(max_dist) * math.sqrt(h * h + w * w)


def _disk_offsets(radius: float):
    """Offsets (dy, dx) with dy**2 + dx**2 <= radius**2 and their integer costs."""
    r = int(math.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = (dy * dy + dx * dx).astype(np.float64)
    keep = ~(d2 > radius * radius)
    dy, dx, d2 = dy[keep], dx[keep], d2[keep]
    cost = np.rint(np.sqrt(d2) * MULTIPLIER).astype(np.int64)
    return dy.astype(np.int64), dx.astype(np.int64), cost


def _outlier_weight(radius: float, outlier_cost: float) -> int:
    return int(math.ceil(outlier_cost * radius * MULTIPLIER))


class _Neighbours:
    """For every pixel, the human boundary pixels within the radius and their costs.

    A CSR table over the H*W pixels (row-major): entries ``indptr[p]:indptr[p+1]`` of
    ``target`` / ``cost`` list the boundary pixels (numbered 0..n-1 in row-major order)
    that a machine pixel at ``p`` may pair with, cheapest first.
    """

    def __init__(self, boundary: np.ndarray, offsets) -> None:
        h, w = boundary.shape
        dy, dx, cost = offsets
        gy, gx = np.nonzero(boundary)
        self.n = gy.size
        # A machine pixel at (gy - dy, gx - dx) sees boundary pixel (gy, gx) at offset (dy, dx).
        py = gy[None, :] - dy[:, None]
        px = gx[None, :] - dx[:, None]
        ok = (py >= 0) & (py < h) & (px >= 0) & (px < w)
        pixel = (py * w + px)[ok]
        target = np.broadcast_to(np.arange(self.n)[None, :], ok.shape)[ok]
        costs = np.broadcast_to(cost[:, None], ok.shape)[ok]
        order = np.lexsort((target, costs, pixel))
        self.target = target[order].astype(np.int64)
        self.cost = costs[order].astype(np.int64)
        counts = np.bincount(pixel, minlength=h * w)
        self.indptr = np.zeros(h * w + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])

    def edges(self, pixels: np.ndarray):
        """Edges of machine pixels ``pixels`` (flat indices).

        Returns ``(lengths, target, cost)``: the number of edges of every machine pixel,
        and the edges grouped by machine pixel in the order of `pixels`.
        """
        start = self.indptr[pixels]
        lengths = self.indptr[pixels + 1] - start
        total = int(lengths.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return lengths, empty, empty
        ends = np.cumsum(lengths)
        pos = np.arange(total, dtype=np.int64) + np.repeat(start - (ends - lengths), lengths)
        return lengths, self.target[pos], self.cost[pos]


def _solve(rows, cols, cost, n_rows: int, n_cols: int, outlier: int):
    """Min-cost pairing of one component with the official cost structure.

    Real pairs cost `cost`; each row or column left unpaired costs `outlier` (the
    official square problem: rows + column outliers against columns + row outliers).

    Returns the indices (into `rows`/`cols`/`cost`) of the real pairs in the solution.
    """
    n = n_rows + n_cols
    if n <= _DENSE_MAX:
        matrix = np.full((n, n), np.inf)
        matrix[n_rows:, n_cols:] = outlier                  # outlier-outlier
        matrix[rows, cols] = cost
        matrix[np.arange(n_rows), n_cols + np.arange(n_rows)] = outlier
        matrix[n_rows + np.arange(n_cols), np.arange(n_cols)] = outlier
        r, c = linear_sum_assignment(matrix)
    else:
        m = rows.size
        rr = np.concatenate([rows, np.arange(n_rows), n_rows + np.arange(n_cols), n_rows + cols])
        cc = np.concatenate([cols, n_cols + np.arange(n_rows), np.arange(n_cols), n_cols + rows])
        # Every perfect matching has n edges, so adding 1 everywhere keeps the optimum
        # and avoids explicit zeros (which the sparse solver would drop).
        ww = np.concatenate([cost + 1.0, np.full(n + m, outlier + 1.0)])
        graph = csr_matrix((ww, (rr, cc)), shape=(n, n))
        r, c = min_weight_full_bipartite_matching(graph)
    real = (r < n_rows) & (c < n_cols)
    r, c = r[real], c[real]
    # Map (row, col) back to edge indices.
    key = rows.astype(np.int64) * n_cols + cols
    order = np.argsort(key, kind="stable")
    return order[np.searchsorted(key[order], r.astype(np.int64) * n_cols + c)]


def _solve_saturating(rows, cols, cost, n_rows: int, n_cols: int, outlier: int):
    """Min-cost pairing that pairs every row (``n_rows <= n_cols``, known feasible).

    Returns the indices (into `rows`/`cols`/`cost`) of the chosen pairs.
    """
    if n_rows * n_cols <= _DENSE_MAX * _DENSE_MAX:
        matrix = np.full((n_rows, n_cols), np.inf)
        matrix[rows, cols] = cost
        r, c = linear_sum_assignment(matrix)
    elif n_cols < _LOOSE * n_rows:
        # Nearly every column is needed: SciPy's sparse solver checks feasibility of a
        # rectangular problem with a Hopcroft-Karp search that can take very long
        # here, so solve the square problem with outlier options instead (same
        # optimum: every row can be paired, and unpaired rows cost far more).
        return _solve(rows, cols, cost, n_rows, n_cols, outlier)
    else:
        graph = csr_matrix((cost + 1.0, (rows, cols)), shape=(n_rows, n_cols))
        r, c = min_weight_full_bipartite_matching(graph)
    key = rows.astype(np.int64) * n_cols + cols
    order = np.argsort(key, kind="stable")
    return order[np.searchsorted(key[order], r.astype(np.int64) * n_cols + c)]


def _group_by(labels: np.ndarray, n_groups: int):
    """Stable order of items by label and the boundaries of every group."""
    order = np.argsort(labels, kind="stable")
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(labels, minlength=n_groups), out=bounds[1:])
    return order, bounds


def _components(row_of_edge, col_of_edge, n_rows: int, n_cols: int):
    """Connected components of a bipartite graph; labels of rows, of cols, count."""
    n = n_rows + n_cols
    graph = csr_matrix((np.ones(row_of_edge.size, dtype=np.int8),
                        (row_of_edge, n_rows + col_of_edge)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    return labels[:n_rows], labels[n_rows:], n_comp


def _pair_components(rows, cols, cost, n_rows: int, n_cols: int, outlier: int) -> np.ndarray:
    """Edge indices of an optimal pairing of the whole graph, solved per component."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    row_label, col_label, n_comp = _components(rows, cols, n_rows, n_cols)
    edge_label = row_label[rows]
    n_r = np.bincount(row_label, minlength=n_comp)
    n_c = np.bincount(col_label, minlength=n_comp)
    n_e = np.bincount(edge_label, minlength=n_comp)
    chosen = [np.flatnonzero((n_e[edge_label] == 1))]        # 1-1 components
    hard = np.flatnonzero(n_e > 1)
    if hard.size:
        order, bounds = _group_by(edge_label, n_comp)
        for comp in hard:
            edges = order[bounds[comp]:bounds[comp + 1]]
            _, r_local = np.unique(rows[edges], return_inverse=True)
            _, c_local = np.unique(cols[edges], return_inverse=True)
            picked = _solve(r_local, c_local, cost[edges], int(n_r[comp]), int(n_c[comp]),
                            outlier)
            chosen.append(edges[picked])
    return np.concatenate(chosen)


def correspond_pixels(bmap1, bmap2, max_dist: float = 0.0075,
                      outlier_cost: float = OUTLIER_COST):
    """Minimum-cost one-to-one correspondence between two boundary maps.

    A reimplementation of the official BSDS ``correspondPixels`` (same costs, exact
    solver instead of the randomised CSA one).

    Parameters
    ----------
    bmap1, bmap2 : ndarray of bool, shape (H, W)
        Boundary maps (nonzero = boundary pixel), e.g. machine and human.
    max_dist : float, optional
        Largest distance of a pair, as a fraction of the image diagonal.
    outlier_cost : float, optional
        Cost of an unpaired pixel, as a multiple of the tolerance in pixels.

    Returns
    -------
    match1 : ndarray of int64, shape (H, W)
        For every pixel of `bmap1` paired with a pixel of `bmap2`, the row-major flat
        index of its partner; -1 elsewhere.
    match2 : ndarray of int64, shape (H, W)
        The same for `bmap2`.

    Raises
    ------
    ValueError
        If the maps are not 2-D with the same shape, or `max_dist` <= 0, or
        `outlier_cost` <= 1 (the official limits).

    References
    ----------
    .. [1] D. Martin, C. Fowlkes, J. Malik, "Learning to Detect Natural Image
       Boundaries Using Local Brightness, Color, and Texture Cues", IEEE TPAMI 26(5),
       2004 (the correspondence, Section 4.2).

    Examples
    --------
    >>> a = np.zeros((5, 5), bool); a[2, 1:4] = True
    >>> b = np.zeros((5, 5), bool); b[3, 1:4] = True
    >>> m1, m2 = correspond_pixels(a, b, max_dist=0.2)
    >>> bool((m1[a] >= 0).all() and (m2[b] >= 0).all())
    True
    """
    bmap1 = np.asarray(bmap1)
    bmap2 = np.asarray(bmap2)
    if bmap1.ndim != 2 or bmap1.shape != bmap2.shape:
        raise ValueError(f"bmap1 and bmap2 must be 2-D with the same shape; got {bmap1.shape} "
                         f"and {bmap2.shape}.")
    max_dist = float(max_dist)
    outlier_cost = float(outlier_cost)
    if not max_dist > 0:
        raise ValueError(f"max_dist must be > 0; got {max_dist}.")
    if not outlier_cost > 1:
        raise ValueError(f"outlier_cost must be > 1; got {outlier_cost}.")
    h, w = bmap1.shape
    radius = match_radius((h, w), max_dist)
    table = _Neighbours(bmap2 != 0, _disk_offsets(radius))
    pixels1 = np.flatnonzero(bmap1)
    pixels2 = np.flatnonzero(bmap2)
    lengths, cols, cost = table.edges(pixels1)
    rows = np.repeat(np.arange(pixels1.size), lengths)
    picked = _pair_components(rows, cols, cost, pixels1.size, pixels2.size,
                              _outlier_weight(radius, outlier_cost))
    match1 = np.full(h * w, -1, dtype=np.int64)
    match2 = np.full(h * w, -1, dtype=np.int64)
    p1 = pixels1[rows[picked]]
    p2 = pixels2[cols[picked]]
    match1[p1] = p2
    match2[p2] = p1
    return match1.reshape(h, w), match2.reshape(h, w)


class BoundaryMatcher:
    """Match machine boundary maps against fixed human boundary maps, counting as BSDS.

    Built once per image (the human side is precomputed) and called once per
    threshold. Results are reused exactly: a machine map seen before is not solved
    again, an annotator whose nearby machine pixels did not change since an earlier
    call is not solved again, and neither is a component of the weighted problem that
    was solved before.

    Parameters
    ----------
    boundaries : sequence of ndarray of bool, shape (H, W)
        One human boundary map per annotator.
    max_dist : float, optional
        Tolerance as a fraction of the image diagonal.
    outlier_cost : float, optional
        Cost of an unpaired pixel, as a multiple of the tolerance in pixels.

    Raises
    ------
    ValueError
        If `boundaries` is empty or its maps are not 2-D of one shape.

    Notes
    -----
    The counts follow ``evaluation_bdry_image.m``: machine pixels paired with any
    annotator count once for precision; paired human pixels count per annotator for
    recall.
    """

    def __init__(self, boundaries, max_dist: float = 0.0075,
                 outlier_cost: float = OUTLIER_COST) -> None:
        boundaries = [np.asarray(b) != 0 for b in boundaries]
        if not boundaries or any(b.ndim != 2 or b.shape != boundaries[0].shape
                                 for b in boundaries):
            raise ValueError("boundaries must be a non-empty list of (H, W) maps of one shape; "
                             f"got shapes {[b.shape for b in boundaries]}.")
        self.shape = boundaries[0].shape
        self.radius = match_radius(self.shape, max_dist)
        self.outlier = _outlier_weight(self.radius, outlier_cost)
        offsets = _disk_offsets(self.radius)
        self._tables = [_Neighbours(b, offsets) for b in boundaries]
        self.sum_recall = int(sum(int(b.sum()) for b in boundaries))
        self._maps: dict[bytes, tuple[int, int]] = {}
        self._annotators: list[dict[bytes, tuple]] = [{} for _ in boundaries]
        self._components: dict[bytes, np.ndarray] = {}

    def counts(self, bmap: np.ndarray) -> tuple[int, int, int, int]:
        """``(cntR, sumR, cntP, sumP)`` of one machine boundary map.

        Parameters
        ----------
        bmap : ndarray of bool, shape (H, W)

        Returns
        -------
        cntR : int
            Human boundary pixels paired with a machine pixel, summed over annotators.
        sumR : int
            Human boundary pixels, summed over annotators.
        cntP : int
            Machine pixels paired with at least one annotator's pixel.
        sumP : int
            Machine boundary pixels.
        """
        pixels = np.flatnonzero(bmap)
        key = pixels.tobytes()
        cached = self._maps.get(key)
        if cached is None:
            cnt_r, used = self._match(pixels)
            cached = (cnt_r, int(used.sum()))
            self._maps[key] = cached
        return cached[0], self.sum_recall, cached[1], int(pixels.size)

    def matched_machine(self, bmap: np.ndarray) -> tuple[int, np.ndarray]:
        """Paired human pixels (summed over annotators) and the paired machine pixels.

        Parameters
        ----------
        bmap : ndarray of bool, shape (H, W)

        Returns
        -------
        cntR : int
        matched : ndarray of bool, shape (H, W)
            Machine pixels paired with at least one annotator's pixel (``accP``).
        """
        pixels = np.flatnonzero(bmap)
        cnt_r, used = self._match(pixels)
        out = np.zeros(self.shape[0] * self.shape[1], dtype=bool)
        out[pixels[used]] = True
        return cnt_r, out.reshape(self.shape)

    def _match(self, pixels: np.ndarray) -> tuple[int, np.ndarray]:
        """Paired human pixels (summed) and a mask over `pixels` of the paired ones."""
        paired = np.zeros(self.shape[0] * self.shape[1], dtype=bool)
        cnt_r = 0
        problems = []
        for table, memo in zip(self._tables, self._annotators):
            lengths, target, cost = table.edges(pixels)
            if target.size == 0:
                continue
            local = np.flatnonzero(lengths)          # machine pixels with a neighbour
            key = pixels[local].tobytes()
            hit = memo.get(key)
            if hit is None:
                hit = _machine_side(lengths[local], target, cost, table.n, pixels[local])
                memo[key] = hit
            cnt_r += hit[0]
            paired[hit[1]] = True
            problems.extend(hit[2])
        # Precision needs only the union over annotators: a component whose machine
        # pixels are all paired for some annotator already cannot change it.
        for problem in problems:
            if paired[problem.pixels].all():
                continue
            chosen = self._components.get(problem.key)
            if chosen is None:
                chosen = problem.solve(self.outlier)
                self._components[problem.key] = chosen
            paired[problem.pixels[chosen]] = True
        return cnt_r, paired[pixels]


@dataclass(frozen=True, eq=False)
class _Problem:
    """One component of the machine-surplus part: pair every row (human pixel) with a
    column (machine pixel, ids `pixels`) at minimum cost."""

    key: bytes
    rows: np.ndarray
    cols: np.ndarray
    cost: np.ndarray
    n_rows: int
    pixels: np.ndarray

    def solve(self, outlier: int) -> np.ndarray:
        """Indices (into `pixels`) of the machine pixels an optimal pairing uses."""
        picked = _solve_saturating(self.rows, self.cols, self.cost, self.n_rows,
                                   self.pixels.size, outlier)
        return np.unique(self.cols[picked])


def _maximum_matching(lengths, human, n_h: int):
    """A maximum matching, as a unit-capacity maximum flow (Dinic's algorithm).

    Machine node i has ``lengths[i]`` edges, grouped in `human`. Returns the partner
    of every machine node and of every human node (-1: unpaired). SciPy's
    Hopcroft-Karp (``maximum_bipartite_matching``) is not used: it can take seconds on
    these geometric graphs, as its depth-first search does not remember dead ends.
    """
    n_m = lengths.size
    n = n_m + n_h + 2
    sink = n - 1
    # Nodes: 0 source, 1..n_m machine, n_m+1..n_m+n_h human, sink; rows in order.
    counts = np.concatenate([[n_m], lengths, np.ones(n_h, dtype=np.int64), [0]])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate([1 + np.arange(n_m), 1 + n_m + human, np.full(n_h, sink)])
    network = csr_matrix((np.ones(indices.size, dtype=np.int32), indices.astype(np.int32),
                          indptr.astype(np.int32)), shape=(n, n))
    flow = maximum_flow(network, 0, sink, method="dinic").flow.tocoo()
    pair = ((flow.data > 0) & (flow.row >= 1) & (flow.row <= n_m)
            & (flow.col > n_m) & (flow.col < sink))
    mate_m = np.full(n_m, -1, dtype=np.int64)
    mate_h = np.full(n_h, -1, dtype=np.int64)
    mate_m[flow.row[pair] - 1] = flow.col[pair] - 1 - n_m
    mate_h[flow.col[pair] - 1 - n_m] = flow.row[pair] - 1
    return mate_m, mate_h


def _renumber(ids: np.ndarray, n: int):
    """Compact ids in 0..n-1 to 0..m-1 (order kept): the kept ids and the new numbers."""
    seen = np.zeros(n, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[ids]


def _machine_side(lengths, target, cost, n_human: int, machine_ids):
    """What one annotator contributes: pairs, surely paired machine pixels, problems.

    Machine nodes ``0..len(lengths)-1`` (pixel ids `machine_ids`) have ``lengths[i] > 0``
    edges each, grouped in `target` (human node ids < `n_human`) and `cost`. Returns
    ``(k, sure, problems)``: the number of pairs of an optimal pairing, the pixel ids of
    machine pixels it pairs for certain, and the components (:class:`_Problem`) whose
    paired machine pixels still need a minimum-cost solve.
    """
    n_m = lengths.size
    machine = np.repeat(np.arange(n_m), lengths)
    human_ids, human = _renumber(target, n_human)   # the human nodes with an edge
    n_h = human_ids.size
    mate_m, mate_h = _maximum_matching(lengths, human, n_h)
    matched = mate_m >= 0
    k = int(matched.sum())
    free = np.flatnonzero(~matched)
    if free.size == 0:
        return k, machine_ids[matched], []

    # Machine nodes reachable from a free machine node by an alternating path: exactly
    # those some maximum matching leaves unpaired. The others are paired in all.
    indptr = np.zeros(n_m + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    step = mate_h[human]
    step = np.where(step >= 0, step, machine)    # unmatched human: self loop (unused)
    walk = csr_matrix((np.ones(step.size + free.size, dtype=np.int8),
                       np.concatenate([step, free]),
                       np.concatenate([indptr, [indptr[-1] + free.size]])),
                      shape=(n_m + 1, n_m + 1))
    reached = breadth_first_order(walk, n_m, directed=True, return_predecessors=False)
    even = np.zeros(n_m + 1, dtype=bool)
    even[reached] = True
    even = even[:n_m]
    sure = matched & ~even

    # The machine-surplus part: every human node there is paired, in any maximum
    # matching, with a machine node of that part. Find its cheapest such pairing.
    sel = even[machine]
    d_machine, d_human, d_cost = machine[sel], human[sel], cost[sel]
    m_ids, d_m = _renumber(d_machine, n_m)
    h_ids, d_h = _renumber(d_human, n_h)
    n_dm, n_dh = m_ids.size, h_ids.size
    h_label, m_label, n_comp = _components(d_h, d_m, n_dh, n_dm)
    # Each human node's cheapest machine node (ties: lowest pixel index). Components
    # where these are all different are solved by them.
    order = np.lexsort((d_m, d_cost, d_h))
    first = np.ones(order.size, dtype=bool)
    first[1:] = d_h[order[1:]] != d_h[order[:-1]]
    best = d_m[order[first]]                     # per human node 0..n_dh-1
    taken = np.bincount(best, minlength=n_dm)
    clash = np.zeros(n_comp, dtype=bool)
    clash[h_label[taken[best] > 1]] = True
    easy = ~clash[h_label]
    sure[m_ids[best[easy]]] = True
    problems = []
    hard = np.flatnonzero(clash)
    if hard.size:
        grouped, bounds = _group_by(h_label[d_h], n_comp)
        for comp in hard:
            edges = grouped[bounds[comp]:bounds[comp + 1]]
            rows_u, r_local = np.unique(d_h[edges], return_inverse=True)
            cols_u, c_local = np.unique(d_m[edges], return_inverse=True)
            pixels = machine_ids[m_ids[cols_u]]
            key = pixels.tobytes() + b"|" + human_ids[h_ids[rows_u]].tobytes()
            problems.append(_Problem(key, r_local, c_local, d_cost[edges], rows_u.size,
                                     pixels))
    return k, machine_ids[sure], problems
