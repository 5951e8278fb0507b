"""BSDS500 region benchmark: segmentation covering, Probabilistic Rand Index, VoI.

A faithful reimplementation of the official MATLAB benchmark (Arbeláez et al. 2011,
``bench/benchmarks/evaluation_reg_image.m``, ``match_segmentations.m``,
``match_segmentations2.m`` and ``collect_eval_reg.m``), checked against the
benchmark's own outputs on its 5-image sample to every printed digit.

Definitions, as the official code computes them, for a machine segmentation ``S`` and
ground-truth partitions ``G_1 .. G_m`` (ground-truth label 0 = unlabelled):

* **Covering** of ``G`` by ``S``: ``sum_R |R| max_R' J(R, R') / sum_R |R|`` over the
  labelled regions ``R`` of ``G`` and all regions ``R'`` of ``S``, with the overlap
  ``J(R, R') = |R n R'| / (|R| + |R'| - |R n R'|)``. ``|R'|`` is the machine region's
  whole area (unlabelled ground-truth pixels included), exactly as the official code.
  The per-image recall counts ``cntR / sumR`` pool all annotators' regions; the
  "precision" counts ``cntP / sumP`` cover the machine regions by the best region of
  any annotator.
* **PRI**: the Rand index of ``S`` against each ``G_i`` over the pixels labelled in
  ``G_i``, averaged over annotators.
* **VoI**: ``H(S) + H(G) - 2 I(S, G)`` in bits (``log2``) over the same pixels,
  averaged over annotators.

Machine label images may hold any integers; **0 is an ordinary machine region** here.
(The official code silently drops machine label 0; on inputs labelled from 1, as every
official input is, both agree exactly.) From a ucm2, the segmentation at threshold
``t`` is the 8-connected components of ``ucm2 <= t`` (MATLAB's ``bwlabel``) sampled at
the pixel positions ``[1::2, 1::2]``; pixels of the image grid that lie on a contour
above ``t`` (which a valid ucm2 never has) stay unlabelled and are left out, as in the
official code.

Everything is computed from contingency tables (one counting pass per image). For a
ucm2 the components at all thresholds come from one union-find pass over the map
(components only merge as the threshold rises); the table at each threshold is the
previous one with the merged components' rows added together, and the PRI/VoI sums are
updated for the merged components only, so a 99-threshold sweep costs a small multiple
of one threshold (about 0.1 s for a 481x321 image with five annotators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from numba import njit

from classical._validate import check_int
from benchmarks.metrics._official import round10g, write_official_txt

__all__ = [
    "RegionImage",
    "RegionResult",
    "region_thresholds",
    "ucm_to_labels",
    "evaluate_regions_image",
    "collect_regions",
    "write_region_files",
    "segmentation_covering",
    "probabilistic_rand_index",
    "variation_of_information",
]

# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RegionImage:
    """Per-image region counts at every threshold (``evaluation_reg_image.m``).

    Attributes
    ----------
    thresholds : ndarray of float64, shape (T,)
        ucm thresholds, or ``1..K`` (the segmentation's index) for a sweep of
        segmentations.
    cntR, sumR : ndarray of float64, shape (T,)
        Covering of the ground truth by the segmentation: ``cntR / sumR``.
        ``sumR`` is the labelled ground-truth area summed over annotators.
    cntP, sumP : ndarray of float64, shape (T,)
        Covering of the segmentation by the ground truth: ``cntP / sumP``.
    cntR_best : float
        ``cntR`` with each ground-truth region taking its best overlap over all
        thresholds (the "Best" covering numerator).
    pri, voi : ndarray of float64, shape (T,)
        Probabilistic Rand Index and Variation of Information (bits), averaged over
        annotators.
    """

    thresholds: np.ndarray
    cntR: np.ndarray
    sumR: np.ndarray
    cntP: np.ndarray
    sumP: np.ndarray
    cntR_best: float
    pri: np.ndarray
    voi: np.ndarray

    @property
    def covering(self) -> np.ndarray:
        """(T,) covering of the ground truth by the segmentation at each threshold."""
        return self.cntR / np.where(self.sumR == 0, 1, self.sumR)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez``); :meth:`from_dict` restores the object."""
        return {
            "thresholds": self.thresholds, "cntR": self.cntR, "sumR": self.sumR,
            "cntP": self.cntP, "sumP": self.sumP,
            "cntR_best": np.asarray(self.cntR_best), "pri": self.pri, "voi": self.voi,
        }

    @classmethod
    def from_dict(cls, data) -> "RegionImage":
        """Inverse of :meth:`to_dict` (accepts an ``np.load`` result)."""
        return cls(
            thresholds=np.asarray(data["thresholds"], dtype=np.float64),
            cntR=np.asarray(data["cntR"], dtype=np.float64),
            sumR=np.asarray(data["sumR"], dtype=np.float64),
            cntP=np.asarray(data["cntP"], dtype=np.float64),
            sumP=np.asarray(data["sumP"], dtype=np.float64),
            cntR_best=float(np.asarray(data["cntR_best"])),
            pri=np.asarray(data["pri"], dtype=np.float64),
            voi=np.asarray(data["voi"], dtype=np.float64),
        )


@dataclass(frozen=True, eq=False)
class RegionResult:
    """Dataset-level region scores, as ``collect_eval_reg.m`` computes them.

    ODS ("optimal dataset scale") picks one threshold for the whole dataset; OIS
    ("optimal image scale") picks the best threshold per image; "Best" covering lets
    every ground-truth region pick its best threshold.

    Attributes
    ----------
    ids : tuple of str
        Image ids, in the order of the per-image table.
    thresholds : ndarray, shape (T,)
    covering : ndarray, shape (T,)
        Dataset covering at each threshold (``eval_cover_th.txt``).
    ods_covering, ods_covering_threshold, ois_covering, best_covering : float
        ``eval_cover.txt``.
    image_table : ndarray, shape (N, 4)
        ``eval_cover_img.txt``: 1-based index, best threshold, covering there and the
        reverse covering (segmentation by ground truth) at that threshold.
    pri, voi : ndarray, shape (T,)
        Mean PRI and VoI over images at each threshold (``eval_RI_VOI_thr.txt``).
    ods_pri, ods_pri_threshold, ois_pri : float
    ods_voi, ods_voi_threshold, ois_voi : float
        ``eval_RI_VOI.txt`` (VoI: lower is better, so ODS/OIS take minima).
    """

    ids: tuple[str, ...]
    thresholds: np.ndarray
    covering: np.ndarray
    ods_covering: float
    ods_covering_threshold: float
    ois_covering: float
    best_covering: float
    image_table: np.ndarray
    pri: np.ndarray
    voi: np.ndarray
    ods_pri: float
    ods_pri_threshold: float
    ois_pri: float
    ods_voi: float
    ods_voi_threshold: float
    ois_voi: float
    images: tuple[RegionImage, ...] = field(repr=False, default=())

    def summary(self) -> str:
        """The official benchmark's printed summary (``plot_eval.m`` wording)."""
        return (
            f"Region\n"
            f"GT covering: ODS = {self.ods_covering:.2f} [th = {self.ods_covering_threshold:.2f}]. "
            f"OIS = {self.ois_covering:.2f}. Best = {self.best_covering:.2f}\n"
            f"Rand Index: ODS = {self.ods_pri:.2f} [th = {self.ods_pri_threshold:.2f}]. "
            f"OIS = {self.ois_pri:.2f}.\n"
            f"Var. Info.: ODS = {self.ods_voi:.2f} [th = {self.ods_voi_threshold:.2f}]. "
            f"OIS = {self.ois_voi:.2f}."
        )

    def as_dict(self) -> dict[str, float]:
        """The summary numbers as a flat dict (for results tables)."""
        return {
            "covering_ods": self.ods_covering,
            "covering_ods_threshold": self.ods_covering_threshold,
            "covering_ois": self.ois_covering, "covering_best": self.best_covering,
            "pri_ods": self.ods_pri, "pri_ods_threshold": self.ods_pri_threshold,
            "pri_ois": self.ois_pri,
            "voi_ods": self.ods_voi, "voi_ods_threshold": self.ods_voi_threshold,
            "voi_ois": self.ois_voi,
        }


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _as_int_labels(labels, name: str, shape=None, shape_name: str = "ground truth") -> np.ndarray:
    if type(labels).__module__.startswith("torch"):
        labels = labels.detach().cpu().numpy()
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(labels).__name__}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        if np.issubdtype(labels.dtype, np.floating):
            if not np.isfinite(labels).all():
                raise ValueError(f"{name} contains NaN or infinite values; label images "
                                 "must hold whole numbers.")
            if np.array_equal(labels, np.round(labels)):
                return _as_int_labels(labels.astype(np.int64), name, shape, shape_name)
        raise TypeError(f"{name} must hold integer labels; got dtype {labels.dtype}. "
                        f"Convert with {name}.astype(np.int64) if the values are whole numbers.")
    if labels.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W); got {labels.shape}.")
    if labels.size == 0:
        raise ValueError(f"{name} is empty: shape {labels.shape}.")
    if shape is not None and labels.shape != tuple(shape):
        raise ValueError(f"{name} and {shape_name} must have the same height and width; "
                         f"got {labels.shape} and {tuple(shape)}.")
    return labels


class _GroundTruth:
    """The annotators' partitions flattened once: a global region index per pixel."""

    def __init__(self, partitions, name: str = "partitions"):
        if isinstance(partitions, np.ndarray) and partitions.ndim == 2:
            partitions = [partitions]
        if isinstance(partitions, (str, bytes)) or not hasattr(partitions, "__len__"):
            raise TypeError(f"{name} must be a list of (H, W) label images; "
                            f"got {type(partitions).__name__}.")
        if len(partitions) == 0:
            raise ValueError(f"{name} is empty; give at least one ground-truth partition.")
        first = _as_int_labels(partitions[0], f"{name}[0]")
        self.shape = first.shape
        labels, areas, owner = [], [], []
        offset = 0
        for s, part in enumerate(partitions):
            part = _as_int_labels(part, f"{name}[{s}]", self.shape, f"{name}[0]")
            lo = int(part.min())
            if lo < 0:
                raise ValueError(f"{name}[{s}] has negative label {lo}; ground-truth labels "
                                 "are 1.. with 0 for unlabelled pixels.")
            m = int(part.max())
            if m == 0:
                raise ValueError(f"{name}[{s}] has no labelled pixels (all 0); "
                                 "label 0 means 'no ground truth here'.")
            flat = part.ravel().astype(np.int64)
            areas.append(np.bincount(flat, minlength=m + 1)[1:])
            owner.append(np.full(m, s, dtype=np.int64))
            # regions of all annotators numbered 0..G-1 in turn; -1 = unlabelled
            labels.append(np.where(flat > 0, flat - 1 + offset, -1))
            offset += m
        self.n_annot = len(labels)
        self.labels = np.stack(labels)  # (m, H*W)
        self.g_area = np.concatenate(areas).astype(np.int64)
        self.g_annot = np.concatenate(owner)

    def scores(self, units: np.ndarray, n_comp, maps, map_off, unit_step, late_id):
        """Run the sweep kernel for fine units (flat, -1 = never labelled)."""
        unit_area, e_off, e_g, e_n = _unit_entries(units, unit_step.size, self.labels,
                                                   self.g_area.size)
        return _sweep_scores(n_comp, maps, map_off, unit_step, late_id, unit_area, e_off,
                             e_g, e_n, self.g_area, self.g_annot, self.n_annot)

    def score_labels(self, labels: np.ndarray):
        """One label image (any integers, 0 an ordinary region): one-threshold sweep."""
        units, n = _compact(labels)
        empty = np.zeros(0, np.int64)
        return self.scores(units.ravel(), np.array([n], np.int64), empty,
                           np.zeros(2, np.int64), np.zeros(n, np.int64),
                           np.arange(n, dtype=np.int64))


def _compact(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel any integer image to 0..n-1 (order of first label value)."""
    flat = labels.ravel()
    lo, hi = int(flat.min()), int(flat.max())
    if hi - lo < max(4 * flat.size, 1 << 16):
        shifted = flat.astype(np.int64) - lo
        present = np.bincount(shifted, minlength=hi - lo + 1) > 0
        lut = np.cumsum(present) - 1
        return lut[shifted].reshape(labels.shape), int(present.sum())
    uniq, inverse = np.unique(flat, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64), int(uniq.size)


# --------------------------------------------------------------------------------------
# Kernels
#
# Units are the regions at the first threshold (plus, for a malformed ucm2, single image
# pixels that lie above it: "late" units that join at their own threshold). Components
# at threshold k are unions of components at k-1, so the sweep carries the coalesced
# (component, ground-truth region, count) table from one threshold to the next: the
# work per threshold is proportional to the regions and table entries still present.
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _ucm_hierarchy(ucm2, thresholds):  # pragma: no cover - compiled
    """8-connected components of ``ucm2 <= t`` for every threshold, in one pass.

    Returns
    -------
    units : (h*w,) unit of each image pixel (-1 if above every threshold)
    n_comp : (T,) number of components (holding image pixels) per threshold
    maps, map_off : component k-1 -> component k is ``maps[map_off[k] + c]`` (k >= 1)
    unit_step : (n_units,) first threshold index at which the unit is labelled
    late_id : (n_units,) its component id at that threshold
    """
    H2, W2 = ucm2.shape
    T = thresholds.size
    N = H2 * W2
    step = np.empty(N, np.int64)
    counts = np.zeros(T + 1, np.int64)
    for i in range(H2):
        for j in range(W2):
            v = ucm2[i, j]
            lo, hi = 0, T  # first k with v <= thresholds[k]; T if none
            while lo < hi:
                mid = (lo + hi) // 2
                if thresholds[mid] >= v:
                    hi = mid
                else:
                    lo = mid + 1
            step[i * W2 + j] = lo
            counts[lo] += 1
    start = np.zeros(T + 2, np.int64)
    for k in range(T + 1):
        start[k + 1] = start[k] + counts[k]
    order = np.empty(N, np.int64)
    fill = start.copy()
    for p in range(N):
        order[fill[step[p]]] = p
        fill[step[p]] += 1

    parent = np.arange(N)
    h, w = (H2 - 1) // 2, (W2 - 1) // 2
    units = -np.ones(h * w, np.int64)
    stamp = -np.ones(N, np.int64)
    cid = np.zeros(N, np.int64)
    unit_rep = np.empty(h * w, np.int64)
    unit_step = np.empty(h * w, np.int64)
    late_id = np.empty(h * w, np.int64)
    rep = np.empty(h * w, np.int64)       # a pixel of each component, current threshold
    new_rep = np.empty(h * w, np.int64)
    n_comp = np.zeros(T, np.int64)
    maps = np.empty(max(16, h * w), np.int64)
    map_off = np.zeros(T + 1, np.int64)
    n_units = 0
    late_start = np.zeros(T + 1, np.int64)
    late_order = np.empty(0, np.int64)
    for k in range(T):
        for idx in range(start[k], start[k + 1]):
            p = order[idx]
            i = p // W2
            j = p - i * W2
            for di in range(-1, 2):
                ii = i + di
                if ii < 0 or ii >= H2:
                    continue
                for dj in range(-1, 2):
                    jj = j + dj
                    if jj < 0 or jj >= W2 or (di == 0 and dj == 0):
                        continue
                    q = ii * W2 + jj
                    sq = step[q]
                    # a pair labelled at the same threshold is joined once, from its later pixel
                    if sq < k or (sq == k and q < p):
                        ra = _find(parent, p)
                        rb = _find(parent, q)
                        if ra != rb:
                            if ra < rb:
                                parent[rb] = ra
                            else:
                                parent[ra] = rb
        if k == 0:
            for y in range(h):
                for x in range(w):
                    p = (2 * y + 1) * W2 + (2 * x + 1)
                    if step[p] == 0:
                        r = _find(parent, p)
                        if stamp[r] < 0:
                            stamp[r] = 0
                            cid[r] = n_units
                            unit_rep[n_units] = p
                            rep[n_units] = p
                            unit_step[n_units] = 0
                            late_id[n_units] = n_units
                            n_units += 1
                        units[y * w + x] = cid[r]
            n_comp[0] = n_units
            n_late = np.zeros(T + 1, np.int64)
            for y in range(h):
                for x in range(w):
                    p = (2 * y + 1) * W2 + (2 * x + 1)
                    if 0 < step[p] < T:
                        units[y * w + x] = n_units
                        unit_rep[n_units] = p
                        unit_step[n_units] = step[p]
                        n_late[step[p] + 1] += 1
                        n_units += 1
            for s in range(T):
                late_start[s + 1] = late_start[s] + n_late[s + 1]
            late_order = np.empty(late_start[T], np.int64)
            lfill = late_start.copy()
            for u in range(n_comp[0], n_units):
                s = unit_step[u]
                late_order[lfill[s]] = u
                lfill[s] += 1
            continue
        prev = n_comp[k - 1]
        off = map_off[k]
        if off + prev > maps.size:
            grown = np.empty(max(2 * maps.size, off + prev), np.int64)
            grown[:off] = maps[:off]
            maps = grown
        nxt = 0
        for c in range(prev):
            r = _find(parent, rep[c])
            if stamp[r] != k:
                stamp[r] = k
                cid[r] = nxt
                new_rep[nxt] = rep[c]
                nxt += 1
            maps[off + c] = cid[r]
        for idx in range(late_start[k], late_start[k + 1]):
            u = late_order[idx]
            r = _find(parent, unit_rep[u])
            if stamp[r] != k:
                stamp[r] = k
                cid[r] = nxt
                new_rep[nxt] = unit_rep[u]
                nxt += 1
            late_id[u] = cid[r]
        map_off[k + 1] = off + prev
        n_comp[k] = nxt
        rep, new_rep = new_rep, rep
    if T == 1:
        map_off[1] = 0
    return units, n_comp, maps[:map_off[T]].copy(), map_off, unit_step[:n_units].copy(), \
        late_id[:n_units].copy()


@njit(cache=True, nogil=True)
def _unit_entries(units, n_units, gt_labels, G):  # pragma: no cover - compiled
    """Per unit: its area and its sparse overlaps with every ground-truth region."""
    m, N = gt_labels.shape
    unit_area = np.zeros(n_units, np.int64)
    total = 0
    for p in range(N):
        u = units[p]
        if u >= 0:
            unit_area[u] += 1
            for s in range(m):
                if gt_labels[s, p] >= 0:
                    total += 1
    start = np.zeros(n_units + 1, np.int64)
    for u in range(n_units):
        start[u + 1] = start[u] + unit_area[u]
    order = np.empty(start[n_units], np.int64)
    fill = start[:-1].copy()
    for p in range(N):
        u = units[p]
        if u >= 0:
            order[fill[u]] = p
            fill[u] += 1
    scratch = np.zeros(G, np.int64)
    touched = np.empty(G, np.int64)
    e_off = np.zeros(n_units + 1, np.int64)
    e_g = np.empty(total, np.int64)
    e_n = np.empty(total, np.int64)
    ne = 0
    for u in range(n_units):
        nt = 0
        for idx in range(start[u], start[u + 1]):
            p = order[idx]
            for s in range(m):
                g = gt_labels[s, p]
                if g >= 0:
                    if scratch[g] == 0:
                        touched[nt] = g
                        nt += 1
                    scratch[g] += 1
        for t in range(nt):
            g = touched[t]
            e_g[ne] = g
            e_n[ne] = scratch[g]
            scratch[g] = 0
            ne += 1
        e_off[u + 1] = ne
    return unit_area, e_off, e_g[:ne], e_n[:ne]


@njit(cache=True, nogil=True)
def _sweep_scores(n_comp, maps, map_off, unit_step, late_id, unit_area, e_off, e_g, e_n,
                  g_area, g_annot, n_annot):  # pragma: no cover - compiled
    """Covering counts, PRI and VoI at every threshold, carrying the table forward.

    Each component's coalesced (ground-truth region, count) list is a segment of one
    buffer. Going up a threshold, components that did not merge keep their segment;
    merged ones get a new segment, and the pair-count and entropy sums of PRI/VoI are
    updated by removing the parts' terms and adding the merged component's. Only the
    overlap maxima of the covering take a pass over all entries per threshold.
    """
    T = n_comp.size
    G = g_area.size
    n0 = n_comp[0]
    n_units = unit_step.size
    cntR = np.zeros(T)
    sumR = np.zeros(T)
    cntP = np.zeros(T)
    sumP = np.zeros(T)
    ri = np.zeros(T)
    voi = np.zeros(T)
    best_gt = np.zeros(G)
    match_gt = np.zeros(G)
    scratch = np.zeros(G, np.int64)
    touched = np.empty(G, np.int64)
    col = np.zeros(G, np.int64)
    row = np.zeros(n_annot, np.int64)
    sn2 = np.zeros(n_annot)   # sum of n_ij^2         (exact in float64 below 2**53)
    snl = np.zeros(n_annot)   # sum of n_ij log2 n_ij
    sr2 = np.zeros(n_annot)   # rows (components), per annotator
    srl = np.zeros(n_annot)
    sc2 = np.zeros(n_annot)   # columns (ground-truth regions)
    scl = np.zeros(n_annot)
    nn = np.zeros(n_annot)
    total_gt_area = 0.0
    for g in range(G):
        total_gt_area += g_area[g]
    # late units grouped by the threshold at which they appear
    late_count = np.zeros(T + 1, np.int64)
    for u in range(n0, n_units):
        late_count[unit_step[u] + 1] += 1
    for k in range(T):
        late_count[k + 1] += late_count[k]
    late_order = np.empty(n_units - n0, np.int64)
    lfill = late_count[:-1].copy()
    for u in range(n0, n_units):
        late_order[lfill[unit_step[u]]] = u
        lfill[unit_step[u]] += 1

    # first threshold: the units' own (already coalesced) entries
    cap = max(2 * e_off[n0], 64)
    bg = np.empty(cap, np.int64)
    bn = np.empty(cap, np.int64)
    top = e_off[n0]
    bg[:top] = e_g[:top]
    bn[:top] = e_n[:top]
    seg_start = e_off[:n0].copy()
    seg_len = e_off[1:n0 + 1] - e_off[:n0]
    area = unit_area[:n0].copy()
    for c in range(n0):
        for e in range(seg_start[c], seg_start[c] + seg_len[c]):
            g = bg[e]
            n = float(bn[e])
            s = g_annot[g]
            sn2[s] += n * n
            snl[s] += n * np.log2(n)
            row[s] += bn[e]
            col[g] += bn[e]
        for s in range(n_annot):
            if row[s] > 0:
                r = float(row[s])
                sr2[s] += r * r
                srl[s] += r * np.log2(r)
                row[s] = 0
    col_changed = True

    for k in range(T):
        nk = n_comp[k]
        if k > 0:
            prev = n_comp[k - 1]
            off = map_off[k]
            # members of each new component (prev components, then late units)
            mcount = np.zeros(nk + 1, np.int64)
            for c in range(prev):
                mcount[maps[off + c] + 1] += 1
            lcount = np.zeros(nk, np.int64)
            for idx in range(late_count[k], late_count[k + 1]):
                lcount[late_id[late_order[idx]]] += 1
            for c in range(nk):
                mcount[c + 1] += mcount[c]
            members = np.empty(prev, np.int64)
            mfill = mcount[:-1].copy()
            for c in range(prev):
                C = maps[off + c]
                members[mfill[C]] = c
                mfill[C] += 1
            # room for the new segments: compact the buffer if needed
            needed = 0
            for C in range(nk):
                if mcount[C + 1] - mcount[C] > 1 or lcount[C] > 0:
                    for idx in range(mcount[C], mcount[C + 1]):
                        needed += seg_len[members[idx]]
            for idx in range(late_count[k], late_count[k + 1]):
                u = late_order[idx]
                needed += e_off[u + 1] - e_off[u]
            if top + needed > cap:
                live = 0
                for c in range(prev):
                    live += seg_len[c]
                cap = max(2 * (live + needed), 64)
                nbg = np.empty(cap, np.int64)
                nbn = np.empty(cap, np.int64)
                top = 0
                for c in range(prev):
                    s0 = seg_start[c]
                    for e in range(seg_len[c]):
                        nbg[top + e] = bg[s0 + e]
                        nbn[top + e] = bn[s0 + e]
                    seg_start[c] = top
                    top += seg_len[c]
                bg = nbg
                bn = nbn
            new_start = np.empty(nk, np.int64)
            new_len = np.empty(nk, np.int64)
            new_area = np.zeros(nk, np.int64)
            for C in range(nk):
                first = mcount[C]
                n_members = mcount[C + 1] - first
                if n_members == 1 and lcount[C] == 0:
                    c = members[first]
                    new_start[C] = seg_start[c]
                    new_len[C] = seg_len[c]
                    new_area[C] = area[c]
                    continue
                # a merge: remove the parts' terms, coalesce, add the merged terms
                nt = 0
                for idx in range(first, first + n_members):
                    c = members[idx]
                    new_area[C] += area[c]
                    for e in range(seg_start[c], seg_start[c] + seg_len[c]):
                        g = bg[e]
                        n = float(bn[e])
                        s = g_annot[g]
                        sn2[s] -= n * n
                        snl[s] -= n * np.log2(n)
                        row[s] += bn[e]
                        if scratch[g] == 0:
                            touched[nt] = g
                            nt += 1
                        scratch[g] += bn[e]
                    for s in range(n_annot):
                        if row[s] > 0:
                            r = float(row[s])
                            sr2[s] -= r * r
                            srl[s] -= r * np.log2(r)
                            row[s] = 0
                if lcount[C] > 0:
                    for idx in range(late_count[k], late_count[k + 1]):
                        u = late_order[idx]
                        if late_id[u] != C:
                            continue
                        new_area[C] += unit_area[u]
                        for e in range(e_off[u], e_off[u + 1]):
                            g = e_g[e]
                            if scratch[g] == 0:
                                touched[nt] = g
                                nt += 1
                            scratch[g] += e_n[e]
                            col[g] += e_n[e]
                            col_changed = True
                new_start[C] = top
                new_len[C] = nt
                for t in range(nt):
                    g = touched[t]
                    cnt = scratch[g]
                    scratch[g] = 0
                    bg[top] = g
                    bn[top] = cnt
                    top += 1
                    n = float(cnt)
                    s = g_annot[g]
                    sn2[s] += n * n
                    snl[s] += n * np.log2(n)
                    row[s] += cnt
                for s in range(n_annot):
                    if row[s] > 0:
                        r = float(row[s])
                        sr2[s] += r * r
                        srl[s] += r * np.log2(r)
                        row[s] = 0
            seg_start = new_start
            seg_len = new_len
            area = new_area
        if col_changed:
            for s in range(n_annot):
                sc2[s] = 0.0
                scl[s] = 0.0
                nn[s] = 0.0
            for g in range(G):
                if col[g] > 0:
                    s = g_annot[g]
                    fc = float(col[g])
                    sc2[s] += fc * fc
                    scl[s] += fc * np.log2(fc)
                    nn[s] += fc
            col_changed = False
        # covering: best overlaps, one pass over the entries
        for g in range(G):
            match_gt[g] = 0.0
        cp = 0.0
        sp = 0.0
        for c in range(nk):
            a = area[c]
            sp += a
            best = 0.0
            for e in range(seg_start[c], seg_start[c] + seg_len[c]):
                g = bg[e]
                n = bn[e]
                jac = n / (a + g_area[g] - n)
                if jac > best:
                    best = jac
                if jac > match_gt[g]:
                    match_gt[g] = jac
            cp += a * best
        cr = 0.0
        for g in range(G):
            cr += g_area[g] * match_gt[g]
            if match_gt[g] > best_gt[g]:
                best_gt[g] = match_gt[g]
        sri = 0.0
        svoi = 0.0
        for s in range(n_annot):
            N = nn[s]
            if N >= 2:
                sri += 1.0 - (sr2[s] / 2 + sc2[s] / 2 - sn2[s]) / (N * (N - 1) / 2)
            else:
                sri += 1.0  # fewer than two pixels: no pair disagrees
            if N > 0:
                v = (srl[s] + scl[s] - 2.0 * snl[s]) / N
                svoi += v if v > 0.0 else 0.0
        cntR[k] = cr
        sumR[k] = total_gt_area
        cntP[k] = cp
        sumP[k] = sp
        ri[k] = sri / n_annot
        voi[k] = svoi / n_annot
    return cntR, sumR, cntP, sumP, ri, voi, best_gt


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def region_thresholds(nthresh: int = 99) -> np.ndarray:
    """The official ucm thresholds: ``linspace(1/(n+1), 1 - 1/(n+1), n)``.

    Computed as MATLAB's ``linspace`` does (``d1 + (k * (d2 - d1)) / (n - 1)`` with the
    last value set to ``d2``), so values equal the official ones to the last bit.

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
    >>> region_thresholds(5).round(6).tolist()
    [0.166667, 0.333333, 0.5, 0.666667, 0.833333]
    """
    n = check_int(nthresh, "nthresh", minimum=1)
    d1 = 1.0 / (n + 1)
    d2 = 1.0 - 1.0 / (n + 1)
    if n == 1:
        return np.array([d2])
    k = np.arange(n, dtype=np.float64)
    values = d1 + (k * (d2 - d1)) / (n - 1)
    values[-1] = d2
    return values


def _check_ucm2(ucm2, shape, name: str = "ucm2") -> np.ndarray:
    if type(ucm2).__module__.startswith("torch"):
        ucm2 = ucm2.detach().cpu().numpy()
    if not isinstance(ucm2, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(ucm2).__name__}.")
    if not (np.issubdtype(ucm2.dtype, np.floating) or np.issubdtype(ucm2.dtype, np.integer)):
        raise TypeError(f"{name} must be a real-valued map; got dtype {ucm2.dtype}.")
    if ucm2.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (2H+1, 2W+1); got {ucm2.shape}.")
    if shape is not None:
        want = (2 * shape[0] + 1, 2 * shape[1] + 1)
        if ucm2.shape != want:
            hint = ""
            if ucm2.shape == tuple(shape):
                hint = (" It has the image's own size; the benchmark needs the double-"
                        "resolution 'ucm2' (contours between pixels).")
            raise ValueError(f"{name} must have shape (2H+1, 2W+1) = {want} for ground truth "
                             f"of shape {tuple(shape)}; got {ucm2.shape}.{hint}")
    elif ucm2.shape[0] % 2 == 0 or ucm2.shape[1] % 2 == 0 or min(ucm2.shape) < 3:
        raise ValueError(f"{name} must have odd shape (2H+1, 2W+1); got {ucm2.shape}.")
    ucm2 = np.ascontiguousarray(ucm2, dtype=np.float64)
    finite = np.isfinite(ucm2)
    if not finite.all():
        raise ValueError(f"{name} contains {int(ucm2.size - finite.sum())} NaN or infinite "
                         "values; a ucm2 holds contour strengths in [0, 1].")
    return ucm2


def ucm_to_labels(ucm2, threshold: float) -> np.ndarray:
    """The segmentation a ucm2 gives at one threshold, as the official benchmark makes it.

    ``bwlabel(ucm2 <= threshold)`` (8-connected components of the pixels at or below
    the threshold, numbered from 1) sampled at ``[1::2, 1::2]``.

    Parameters
    ----------
    ucm2 : ndarray of float, shape (2H+1, 2W+1)
        Ultrametric contour map at double resolution.
    threshold : float
        Contour strength threshold.

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        Regions 1..n (0 only where an image pixel itself lies above the threshold).

    Raises
    ------
    ValueError
        If `ucm2` does not have an odd (2H+1, 2W+1) shape or holds NaN.
    """
    from scipy import ndimage

    ucm2 = _check_ucm2(ucm2, None)
    labels, _ = ndimage.label(ucm2 <= float(threshold), structure=np.ones((3, 3), bool))
    return labels[1::2, 1::2].astype(np.int32)


def evaluate_regions_image(machine, partitions, *, kind: str, nthresh: int = 99) -> RegionImage:
    """Region benchmark of one image: covering counts, PRI and VoI at every threshold.

    Parameters
    ----------
    machine : ndarray or sequence of ndarray
        ``kind="ucm"``: a ucm2, float (2H+1, 2W+1). ``kind="segs"``: a sequence of K
        integer label images (H, W) (or an array (K, H, W)); threshold k is the k-th.
    partitions : sequence of ndarray of int, shape (H, W)
        One ground-truth partition per annotator; label 0 = unlabelled.
    kind : {"ucm", "segs"}
        What `machine` is.
    nthresh : int, optional
        Number of ucm thresholds (:func:`region_thresholds`). Ignored for ``"segs"``,
        where the number of thresholds is K (as the official code does).

    Returns
    -------
    RegionImage

    Raises
    ------
    ValueError
        On an unknown `kind`, an empty `partitions` or `machine` list, mismatched shapes,
        a ucm2 of the wrong size, NaN in a ucm2, or negative / all-zero ground truth.
    TypeError
        If label images are not integer arrays.

    References
    ----------
    .. [1] P. Arbeláez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 2011.

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2]] * 2)
    >>> image = evaluate_regions_image([gt, np.ones_like(gt)], [gt], kind="segs")
    >>> image.covering.tolist(), image.pri.round(4).tolist()
    ([1.0, 0.5], [1.0, 0.4286])
    """
    if kind not in ("ucm", "segs"):
        hint = " The region benchmark needs regions; use the boundary benchmark for 'pb'." \
            if kind == "pb" else ""
        raise ValueError(f"kind must be 'ucm' or 'segs'; got {kind!r}.{hint}")
    gt = _GroundTruth(partitions)
    if kind == "ucm":
        thresholds = region_thresholds(nthresh)
        ucm2 = _check_ucm2(machine, gt.shape)
        units, n_comp, maps, map_off, unit_step, late_id = _ucm_hierarchy(ucm2, thresholds)
        cntR, sumR, cntP, sumP, pri, voi, best = gt.scores(units, n_comp, maps, map_off,
                                                           unit_step, late_id)
        cntR_best = float(np.dot(gt.g_area.astype(np.float64), best))
        return RegionImage(thresholds, cntR, sumR, cntP, sumP, cntR_best, pri, voi)

    segs = machine
    if isinstance(segs, np.ndarray) and segs.ndim == 2:
        raise ValueError("machine must be a sequence of (H, W) label images for kind='segs'; "
                         f"got one array of shape {segs.shape}. Wrap it in a list: [labels].")
    if isinstance(segs, (str, bytes)) or not hasattr(segs, "__len__"):
        raise TypeError(f"machine must be a sequence of label images for kind='segs'; "
                        f"got {type(segs).__name__}.")
    if len(segs) == 0:
        raise ValueError("machine is an empty list of segmentations; give at least one.")
    rows = []
    best = np.zeros(gt.g_area.size)
    for k, seg in enumerate(segs):
        seg = _as_int_labels(seg, f"machine[{k}]", gt.shape, "partitions[0]")
        out = gt.score_labels(seg)
        rows.append([float(a[0]) for a in out[:6]])
        best = np.maximum(best, out[6])
    table = np.asarray(rows)
    cntR_best = float(np.dot(gt.g_area.astype(np.float64), best))
    thresholds = np.arange(1, len(segs) + 1, dtype=np.float64)
    return RegionImage(thresholds, table[:, 0], table[:, 1], table[:, 2], table[:, 3],
                       cntR_best, table[:, 4], table[:, 5])


def collect_regions(images: Sequence[RegionImage], ids: Sequence[str], *,
                    official_rounding: bool = True) -> RegionResult:
    """Dataset-level region scores from per-image results (``collect_eval_reg.m``).

    Parameters
    ----------
    images : sequence of RegionImage
        Per-image results, all with the same thresholds.
    ids : sequence of str
        Their image ids (same length). The official code orders images by file name;
        :func:`benchmarks.metrics.bsds.evaluate_bsds` does the same.
    official_rounding : bool, optional
        Round every per-image number to 6 significant digits before aggregating, as
        the official code does by writing its per-image files with ``%10g`` and reading
        them back. Keep True to reproduce the official numbers to the last digit.

    Returns
    -------
    RegionResult

    Raises
    ------
    ValueError
        If `images` is empty, lengths differ or the thresholds disagree.
    """
    images = list(images)
    ids = tuple(str(i) for i in ids)
    if not images:
        raise ValueError("images is empty; evaluate at least one image.")
    if len(ids) != len(images):
        raise ValueError(f"ids and images must have the same length; got {len(ids)} and "
                         f"{len(images)}.")
    thr0 = images[0].thresholds
    for i, im in enumerate(images):
        if not isinstance(im, RegionImage):
            raise TypeError(f"images[{i}] must be a RegionImage; got {type(im).__name__}.")
        if im.thresholds.shape != thr0.shape or not np.allclose(im.thresholds, thr0):
            raise ValueError(f"images[{i}] ({ids[i]}) has {im.thresholds.size} thresholds, "
                             f"images[0] has {thr0.size}; evaluate all images with the same "
                             "nthresh (for segs: the same number of segmentations).")
    rnd = round10g if official_rounding else (lambda a: np.asarray(a, dtype=np.float64))
    thresh = rnd(thr0)
    n = len(images)
    T = thresh.size
    cntR_t = np.zeros(T)
    sumR_t = np.zeros(T)
    cntP_t = np.zeros(T)
    sumP_t = np.zeros(T)
    cntR_b = sumR_b = 0.0
    cntR_best_total = 0.0
    ri_g = np.zeros(T)
    voi_g = np.zeros(T)
    ri_best = voi_best = 0.0
    scores = np.zeros((n, 4))
    for i, im in enumerate(images):
        cntR, sumR, cntP, sumP = (rnd(a) for a in (im.cntR, im.sumR, im.cntP, im.sumP))
        R = cntR / (sumR + (sumR == 0))
        P = cntP / (sumP + (sumP == 0))
        ind = int(np.argmax(R))
        scores[i] = (i + 1, thresh[ind], R[ind], P[ind])
        cntR_t += cntR
        sumR_t += sumR
        cntP_t += cntP
        sumP_t += sumP
        last = int(np.flatnonzero(R == R.max())[-1])
        cntR_b += cntR[last]
        sumR_b += sumR[last]
        cntR_best_total += float(rnd(im.cntR_best))
        ri, voi = rnd(im.pri), rnd(im.voi)
        ri_g += ri
        voi_g += voi
        ri_best += ri[np.flatnonzero(ri == ri.max())[-1]]
        voi_best += voi[np.flatnonzero(voi == voi.min())[-1]]
    R = cntR_t / (sumR_t + (sumR_t == 0))
    ind = int(np.argmax(R))
    ri_g /= n
    voi_g /= n
    i_ri = int(np.argmax(ri_g))
    i_voi = int(np.argmin(voi_g))
    return RegionResult(
        ids=ids, thresholds=thresh, covering=R,
        ods_covering=float(R[ind]), ods_covering_threshold=float(thresh[ind]),
        ois_covering=float(cntR_b / (sumR_b + (sumR_b == 0))),
        best_covering=float(cntR_best_total / sumR_t[0]) if sumR_t[0] else 0.0,
        image_table=scores, pri=ri_g, voi=voi_g,
        ods_pri=float(ri_g[i_ri]), ods_pri_threshold=float(thresh[i_ri]), ois_pri=ri_best / n,
        ods_voi=float(voi_g[i_voi]), ods_voi_threshold=float(thresh[i_voi]), ois_voi=voi_best / n,
        images=tuple(images),
    )


def write_region_files(result: RegionResult, out_dir) -> list[Path]:
    """Write the official region files into `out_dir` (created if needed).

    Files: ``eval_cover.txt`` (thr, ODS, OIS, Best covering), ``eval_cover_img.txt``
    (index, thr, covering, reverse covering per image), ``eval_cover_th.txt`` (thr,
    covering), ``eval_RI_VOI.txt`` (thr, ODS PRI, OIS PRI, thr, ODS VoI, OIS VoI) and
    ``eval_RI_VOI_thr.txt`` (thr, PRI, VoI), all in ``%10g`` as the official code.

    Parameters
    ----------
    result : RegionResult
    out_dir : str or os.PathLike

    Returns
    -------
    paths : list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = result
    files = {
        "eval_cover.txt": [r.ods_covering_threshold, r.ods_covering, r.ois_covering,
                           r.best_covering],
        "eval_cover_img.txt": r.image_table,
        "eval_cover_th.txt": np.column_stack([r.thresholds, r.covering]),
        "eval_RI_VOI.txt": [r.ods_pri_threshold, r.ods_pri, r.ois_pri,
                            r.ods_voi_threshold, r.ods_voi, r.ois_voi],
        "eval_RI_VOI_thr.txt": np.column_stack([r.thresholds, r.pri, r.voi]),
    }
    return [write_official_txt(out / name, rows) for name, rows in files.items()]


# --------------------------------------------------------------------------------------
# Single-pair metrics
# --------------------------------------------------------------------------------------


def segmentation_covering(labels, partition) -> float:
    """Covering of a ground-truth partition by a segmentation (BSDS "GT covering").

    ``C = sum_R |R| max_R' J(R, R') / sum_R |R|`` over the labelled regions ``R`` of
    `partition` and the regions ``R'`` of `labels`, ``J`` the intersection over union.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation; any integers, 0 is an ordinary region.
    partition : ndarray of int, shape (H, W)
        Ground truth; label 0 = unlabelled (left out of the regions ``R``; a machine
        region's area still counts those pixels, as the official benchmark).

    Returns
    -------
    covering : float
        In [0, 1]; 1 when `labels` equals `partition` up to relabelling.

    Raises
    ------
    ValueError
        On mismatched shapes, negative or all-zero `partition`.
    TypeError
        If either input is not an integer array.

    References
    ----------
    .. [1] P. Arbeláez et al., "Contour Detection and Hierarchical Image Segmentation",
       IEEE TPAMI 33(5), 2011, Sec. 3.2.

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2]])
    >>> segmentation_covering(np.array([[0, 0, 0, 1]]), gt)
    0.5833333333333333
    """
    gt = _GroundTruth([partition], "partition")
    labels = _as_int_labels(labels, "labels", gt.shape, "partition")
    cntR, sumR = gt.score_labels(labels)[:2]
    return float(cntR[0] / sumR[0])


def probabilistic_rand_index(labels, partitions) -> float:
    """Probabilistic Rand Index of a segmentation against one or more partitions.

    The Rand index (fraction of pixel pairs on which two partitions agree) against
    each partition, over the pixels that partition labels, averaged over partitions.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation; any integers, 0 is an ordinary region.
    partitions : ndarray of int, shape (H, W), or sequence of them
        Ground truth; label 0 = unlabelled (those pixels are left out).

    Returns
    -------
    pri : float
        In [0, 1].

    Raises
    ------
    ValueError
        On an empty `partitions`, mismatched shapes, negative or all-zero partitions.
    TypeError
        If an input is not an integer array.

    References
    ----------
    .. [1] R. Unnikrishnan, C. Pantofaru, M. Hebert, "Toward Objective Evaluation of
       Image Segmentation Algorithms", IEEE TPAMI 29(6), 2007.

    Examples
    --------
    >>> round(probabilistic_rand_index(np.array([[0, 0, 1]]), [np.array([[1, 2, 2]])]), 6)
    0.333333
    """
    gt = _GroundTruth(partitions, "partitions")
    labels = _as_int_labels(labels, "labels", gt.shape, "partitions[0]")
    return float(gt.score_labels(labels)[4][0])


def variation_of_information(labels, partition) -> float:
    """Variation of information between a segmentation and a partition, in bits.

    ``VI = H(S) + H(G) - 2 I(S; G) = H(S | G) + H(G | S)`` over the pixels labelled in
    `partition` (``log2``, as the official BSDS benchmark). Equals the sum of the two
    conditional entropies ``skimage.metrics.variation_of_information(partition, labels,
    ignore_labels=[0])`` returns.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Segmentation; any integers, 0 is an ordinary region.
    partition : ndarray of int, shape (H, W)
        Ground truth; label 0 = unlabelled (those pixels are left out).

    Returns
    -------
    voi : float
        >= 0; 0 when the two agree up to relabelling.

    Raises
    ------
    ValueError
        On mismatched shapes, negative or all-zero `partition`.
    TypeError
        If an input is not an integer array.

    References
    ----------
    .. [1] M. Meilă, "Comparing clusterings—an information based distance", Journal of
       Multivariate Analysis 98(5), 2007.

    Examples
    --------
    >>> variation_of_information(np.array([[0, 0, 1, 1]]), np.array([[1, 1, 1, 1]]))
    1.0
    """
    gt = _GroundTruth([partition], "partition")
    labels = _as_int_labels(labels, "labels", gt.shape, "partition")
    return float(gt.score_labels(labels)[5][0])
