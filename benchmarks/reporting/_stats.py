"""Confidence intervals and significance markers of a leaderboard.

Everything is computed from the per-image count arrays in the run's store with
:mod:`benchmarks.stats`: a 95% bootstrap interval per method and metric
(:func:`benchmarks.stats.bootstrap_ci`), and per metric a paired comparison of the best
method with every other one (:func:`benchmarks.stats.compare_methods` with
``pairs="best"``: paired bootstrap and Wilcoxon signed-rank test, both Holm-adjusted).

ODS metrics re-pick the best sweep value inside every resample. Metrics read at one
fixed sweep value (the tuned parameter, oracle mIoU at the covering-ODS value) slice
that one column, so the same pooled ODS statistic over a single column is the score
at that value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks import stats

#: Significance markers of a cell: paired bootstrap, Wilcoxon signed-rank.
BOOTSTRAP_MARK, WILCOXON_MARK = "†", "‡"


@dataclass(frozen=True)
class Metric:
    """A leaderboard metric with an interval: how to read its per-image data.

    ``source`` names the unit arrays, ``statistic`` is the pooled statistic, ``at`` which
    sweep columns it reads: "sweep" (all; the statistic picks ODS), "ods" (the row's
    covering-ODS value) or "tuned" (the row's tuned value).
    """

    key: str
    source: str
    statistic: Callable[..., float]
    at: str = "sweep"


METRICS = (
    Metric("covering_ods", "region_covering", stats.covering_ods),
    Metric("covering_tuned", "region_covering", stats.covering_ods, "tuned"),
    Metric("pri_ods", "region_pri", stats.pri_ods),
    Metric("pri_tuned", "region_pri", stats.pri_ods, "tuned"),
    Metric("voi_ods", "region_voi", stats.voi_ods),
    Metric("voi_tuned", "region_voi", stats.voi_ods, "tuned"),
    Metric("boundary_ods_f", "boundary", stats.boundary_f_ods),
    Metric("boundary_f_tuned", "boundary", stats.boundary_f_ods, "tuned"),
    Metric("miou", "semantic", stats.miou),
    Metric("oracle_miou", "oracle", stats.miou, "ods"),
    Metric("oracle_miou_tuned", "oracle", stats.miou, "tuned"),
)

#: Unit array names holding a deep method's own per-image confusion matrices, in the
#: order they are looked for: (T, C, C) per sweep value or one (C, C) table.
SEMANTIC_ARRAYS = ("confusion", "semantic_confusion")


@dataclass
class Cell:
    """A metric's interval and significance for one method."""

    ci: stats.CI | None = None
    best: bool = False
    marks: str = ""
    detail: str = ""


@dataclass
class LeaderboardStats:
    """Intervals and markers of one leaderboard, by method and metric key."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    n_resamples: int = 0
    alpha: float = 0.05
    compared: set[str] = field(default_factory=set)  # metric keys with a comparison
    too_few: int | None = None  # common images, when too few for the tests
    min_images: int = 10

    def cell(self, method: str, key: str) -> Cell | None:
        return self.cells.get(method, {}).get(key)


def _stack(units, name: str) -> np.ndarray | None:
    if not all(name in u.arrays for u in units):
        return None
    return np.stack([np.asarray(u.arrays[name], dtype=np.float64) for u in units])


def _semantic(units) -> np.ndarray | None:
    for name in SEMANTIC_ARRAYS:
        data = _stack(units, name)
        if data is not None:
            return data
    return None


def _column(row: dict, at: str) -> int | None:
    """The sweep index a fixed-column metric reads, or None if the row lacks it."""
    value = row.get("ods_value" if at == "ods" else "tuned_value")
    if value is None and at == "tuned":
        return None
    try:
        return row["sweep_values"].index(value)
    except (KeyError, ValueError):
        return None


def method_data(row: dict, units: list) -> dict[str, dict[str, np.ndarray]]:
    """Per-image arrays of one method for every metric of :data:`METRICS` it has.

    Parameters
    ----------
    row : dict
        The method's summary row (:func:`benchmarks.runner.summarize`).
    units : list of benchmarks.store.Unit
        Its units, one per image, in a fixed image order.

    Returns
    -------
    data : dict of str to dict of str to ndarray
        Metric key -> the statistic's arguments, first axis over `units`.
    """
    sources = {}
    cover = [_stack(units, f"region/{k}") for k in ("cntR", "sumR")]
    if all(a is not None for a in cover):
        sources["region_covering"] = {"cntR": cover[0], "sumR": cover[1]}
    for name in ("pri", "voi"):
        values = _stack(units, f"region/{name}")
        if values is not None:
            sources[f"region_{name}"] = {name: values}
    boundary = {k: _stack(units, f"boundary/{k}") for k in ("cntR", "sumR", "cntP", "sumP")}
    if all(a is not None for a in boundary.values()):
        sources["boundary"] = boundary
    oracle = _stack(units, "oracle_confusion")
    if oracle is not None:
        sources["oracle"] = {"confusions": oracle}
    semantic = _semantic(units)
    if semantic is not None and row.get("kind") == "deep":
        if semantic.ndim == 4:  # (n, T, C, C): a deep method has one sweep value
            semantic = semantic[:, 0]
        sources["semantic"] = {"confusions": semantic}
    out = {}
    for metric in METRICS:
        if row.get(metric.key) is None or metric.source not in sources:
            continue
        data = sources[metric.source]
        if metric.source == "semantic":
            out[metric.key] = data
        elif metric.source == "oracle":
            k = _column(row, metric.at)
            if k is not None and k < data["confusions"].shape[1]:
                out[metric.key] = {"confusions": data["confusions"][:, k]}
        elif metric.at == "sweep":
            out[metric.key] = data
        else:
            k = _column(row, metric.at)
            if k is not None:
                out[metric.key] = {name: a[:, k:k + 1] for name, a in data.items()}
    return out


def _detail(comparison: stats.Comparison) -> str:
    return (f"vs {comparison.method_a}: difference {-comparison.difference:+.4f} "
            f"[{-comparison.high:+.4f}, {-comparison.low:+.4f}]; paired bootstrap p = "
            f"{comparison.p_holm:.3g}, Wilcoxon p = {comparison.p_wilcoxon_holm:.3g} "
            "(Holm-adjusted)")


def leaderboard_stats(rows: list[dict], units: dict[str, list], *, n_resamples: int = 1000,
                      seed: int = 0, alpha: float = 0.05, min_images: int = 10
                      ) -> LeaderboardStats:
    """Bootstrap intervals and significance markers for every row and metric.

    Parameters
    ----------
    rows : list of dict
        Summary rows of one dataset, split and perturbation, one per method.
    units : dict of str to list of Unit
        Method -> its units (any image order; matched by image id).
    n_resamples : int, optional
        Bootstrap resamples per interval and per comparison.
    seed : int, optional
        Seed of the resampling (the same for every method and pair).
    alpha : float, optional
        Family-wise error rate of the Holm-adjusted tests behind the markers.
    min_images : int, optional
        Fewest common images to run the tests on. Below it no metric is compared (and
        ``too_few`` says how many there were): a bootstrap over a handful of images has
        only a few distinct resamples, and a two-sided Wilcoxon test on fewer than 6
        cannot reach p < 0.05 at all.

    Returns
    -------
    LeaderboardStats
        For each metric, the best method (highest, lowest for VoI) is marked ``best``;
        another method's cell carries :data:`BOOTSTRAP_MARK` when the paired bootstrap
        and :data:`WILCOXON_MARK` when the Wilcoxon test says it differs from the best
        (Holm-adjusted p < `alpha`, over that metric's comparisons). Comparisons use the
        images every compared method has.
    """
    result = LeaderboardStats(n_resamples=n_resamples, alpha=alpha, min_images=min_images)
    per_method, ids = {}, {}
    for row in rows:
        method = row["method"]
        ordered = sorted(units.get(method, ()), key=lambda u: u.image_id)
        if not ordered:
            continue
        ids[method] = [u.image_id for u in ordered]
        per_method[method] = method_data(row, ordered)
        cells = result.cells.setdefault(method, {})
        for key, data in per_method[method].items():
            statistic = next(m.statistic for m in METRICS if m.key == key)
            cells[key] = Cell(ci=stats.bootstrap_ci(statistic, data, n_resamples=n_resamples,
                                                    seed=seed))
    for metric in METRICS:
        having = [m for m in per_method if metric.key in per_method[m]]
        if len(having) < 2:
            continue
        common = sorted(set.intersection(*(set(ids[m]) for m in having)))
        if len(common) < min_images:
            result.too_few = len(common)
            continue
        subsets = {}
        for m in having:
            keep = np.searchsorted(ids[m], common)
            subsets[m] = {k: a[keep] for k, a in per_method[m][metric.key].items()}
        table = stats.compare_methods(subsets, metric.statistic, image_ids=common,
                                      pairs="best", alpha=alpha, n_resamples=n_resamples,
                                      seed=seed)
        result.compared.add(metric.key)
        result.cells[table[0].method_a][metric.key].best = True
        for comparison in table:
            cell = result.cells[comparison.method_b][metric.key]
            cell.marks = ((BOOTSTRAP_MARK if comparison.significant else "")
                          + (WILCOXON_MARK if comparison.p_wilcoxon_holm < alpha else ""))
            cell.detail = _detail(comparison)
    return result
