"""Tables of a report: one structure, rendered as a sortable HTML table and as Markdown.

A table is a dict ``{"id", "columns": [{"title", "sub", "numeric"}], "rows": [{"cls",
"cells": [{"text", "sort", "title", "cls"}]}]}``: ``sort`` is the number the HTML table
sorts by (None sorts as text), ``title`` a tooltip, ``cls`` a CSS class.
"""

from __future__ import annotations

import math

from benchmarks.reporting._stats import BOOTSTRAP_MARK, WILCOXON_MARK, LeaderboardStats

DASH = "–"


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def format_ci(point, low=None, high=None) -> str:
    """``"0.634 [0.61, 0.66]"``: the point with 3 decimals, the bounds with 2 (3 when 2
    would print both bounds alike); the point alone when the interval is undefined."""
    if not _finite(point):
        return DASH
    interval = format_interval(low, high)
    return f"{point:.3f} {interval}" if interval else f"{point:.3f}"


def format_interval(low, high) -> str:
    """``"[0.61, 0.66]"``, or "" when a bound is undefined (a single image)."""
    if not (_finite(low) and _finite(high)):
        return ""
    digits = 2 if round(low, 2) != round(high, 2) else 3
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def cell(text: str, sort=None, title: str = "", cls: str = "", *, main: str | None = None,
         sub: str = "") -> dict:
    """A table cell: `text` for Markdown; HTML shows `main` (default `text`) with `sub`
    on a second, smaller line."""
    return {"text": text, "sort": sort if _finite(sort) else None, "title": title, "cls": cls,
            "main": text if main is None else main, "sub": sub}


# key, title, subtitle ("{tune}": the tune split), format
_LEADERBOARD = [
    ("method", "Method", "", "{}"),
    ("ods_value", "Param", "@ODS", "{}"),
    ("tuned_value", "Param", "tuned on {tune}", "{}"),
    ("covering_ods", "Covering", "ODS", "{:.3f}"),
    ("covering_tuned", "Covering", "tuned on {tune}", "{:.3f}"),
    ("covering_ois", "Covering", "OIS", "{:.3f}"),
    ("pri_ods", "PRI", "ODS", "{:.3f}"),
    ("pri_tuned", "PRI", "tuned on {tune}", "{:.3f}"),
    ("voi_ods", "VoI", "ODS, lower better", "{:.3f}"),
    ("voi_tuned", "VoI", "tuned on {tune}", "{:.3f}"),
    ("boundary_ods_f", "Boundary F", "ODS", "{:.3f}"),
    ("boundary_f_tuned", "Boundary F", "tuned on {tune}", "{:.3f}"),
    ("boundary_ois_f", "Boundary F", "OIS", "{:.3f}"),
    ("miou", "mIoU", "deep models, real", "{:.3f}"),
    ("pixel_accuracy", "Pixel acc.", "deep models, real", "{:.3f}"),
    ("oracle_miou", "Oracle mIoU", "upper bound", "{:.3f}"),
    ("oracle_miou_tuned", "Oracle mIoU", "upper bound, tuned", "{:.3f}"),
    ("regions_at_ods", "Regions", "@ODS", "{:.0f}"),
    ("sec_per_image", "s / image", "", "{:.3f}"),
    ("peak_mb", "Peak MB", "", "{:.1f}"),
]


def leaderboard_table(rows: list[dict], stats: LeaderboardStats | None = None,
                      table_id: str = "leaderboard") -> dict:
    """The leaderboard of one dataset and split as a table.

    Columns with no value in any row are left out. With a tune split, the ODS columns
    are labelled "same-split ODS (optimistic)" and the tuned ones "tuned on <split>".
    Metrics with intervals in `stats` read ``point [low, high]``, the best method's cell
    is bold and the others carry the significance markers of
    :func:`benchmarks.reporting._stats.leaderboard_stats`.
    """
    tune = next((r["tune_split"] for r in rows if r.get("tune_split")), None)
    columns = [c for c in _LEADERBOARD if any(r.get(c[0]) is not None for r in rows)]
    out_columns = []
    for key, title, sub, _ in columns:
        if tune and sub.startswith("ODS"):
            sub = "same-split ODS (optimistic)" + sub[3:]
        out_columns.append({"key": key, "title": title, "sub": sub.format(tune=tune),
                            "numeric": key != "method"})
    body = []
    for r in rows:
        cells = []
        for key, _, _, fmt in columns:
            value = r.get(key)
            if key == "method":
                deep = r.get("kind") == "deep"
                cells.append(cell(value + (" (deep)" if deep else ""), None,
                                  "a deep model: real semantic scores" if deep else "",
                                  main=value, sub="deep model" if deep else ""))
                continue
            if key in ("ods_value", "tuned_value"):
                # A deep model's one-value "sweep" is not a parameter choice.
                if r.get("kind") == "deep" and len(r.get("sweep_values") or ()) <= 1:
                    value = None
                if value is None:
                    cells.append(cell(DASH))
                    continue
                name = r.get("sweep_param")
                text = f"{name}={value}" if name else str(value)
                # HTML: the value over the parameter's name, in a cell that may wrap
                # (a predicate value is long); Markdown keeps name=value.
                cells.append(cell(text, cls="param", main=str(value), sub=name or ""))
                continue
            info = stats.cell(r["method"], key) if stats is not None else None
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(cell(DASH))
            elif info is not None and info.ci is not None:
                text = format_ci(value, info.ci.low, info.ci.high)
                interval = format_interval(info.ci.low, info.ci.high)
                cells.append(cell(text + info.marks, value, info.detail,
                                  "best" if info.best else "",
                                  main=f"{value:.3f}{info.marks}", sub=interval))
            else:
                cells.append(cell(fmt.format(value), value))
        body.append({"cls": "deep" if r.get("kind") == "deep" else "", "cells": cells})
    return {"id": table_id, "columns": out_columns, "rows": body}


def significance_legend(stats: LeaderboardStats | None) -> str:
    """One sentence that explains the intervals and markers, or "" without any."""
    if stats is None or not stats.cells:
        return ""
    text = (f"Intervals: 95% percentile bootstrap over images ({stats.n_resamples} "
            "resamples; ODS scores re-pick their sweep value in every resample).")
    if stats.compared:
        text += (f" Bold: the best method on that metric. {BOOTSTRAP_MARK}: differs from "
                 f"it by a paired bootstrap, {WILCOXON_MARK}: by a Wilcoxon signed-rank "
                 f"test on per-image scores; both Holm-adjusted over the column, "
                 f"p < {stats.alpha:g}.")
    elif stats.too_few is not None:
        text += (f" No significance tests: {stats.too_few} images are too few for the "
                 f"paired tests (at least {stats.min_images}).")
    if "boundary_ods_f" in stats.compared or any(
            "boundary_ods_f" in cells for cells in stats.cells.values()):
        text += (" Boundary F intervals and tests take the best measured sweep value; the "
                 "official ODS F shown also interpolates between neighbouring values.")
    return text


def _percent(x) -> str:
    return DASH if x is None else f"{100 * x:.0f}%"


def partition_table(rows: list[dict], table_id: str = "partition") -> dict | None:
    """check_partition summary (per method: % of outputs that cover the image, have
    connected regions, satisfy P per region, are maximal), or None if no row has one."""
    checked = [r for r in rows if isinstance(r.get("partition"), dict)
               and r.get("kind") != "deep"]
    if not checked:
        return None
    columns = [("Method", ""), ("Outputs", "images × values"), ("Covers", "image"),
               ("Connected", "every region"), ("P(R) holds", "every region, middle value"),
               ("Maximal", "no mergeable pair"), ("Predicate P", "at the middle value")]
    body = []
    for r in checked:
        p = r["partition"]
        cells = [cell(r["method"]), cell(str(p.get("checked", DASH)), p.get("checked"))]
        for key in ("covers", "connected", "holds", "maximal"):
            value = p.get(key)
            cls = "" if value is None else ("good" if value == 1 else "bad")
            cells.append(cell(_percent(value), value,
                              "not checkable without a predicate" if value is None else "",
                              cls))
        cells.append(cell(p.get("predicate") or DASH, None, p.get("note", "")))
        body.append({"cls": "", "cells": cells})
    return {"id": table_id, "columns": [{"title": t, "sub": s, "numeric": i in (1, 2, 3, 4, 5)}
                                        for i, (t, s) in enumerate(columns)],
            "rows": body}


def robustness_table(clean: list[dict], perturbed: list[dict], key: str = "covering_ods",
                     table_id: str = "robustness") -> dict | None:
    """Methods × perturbations: `key` on the clean images and under each perturbation
    (with the change from clean), or None without perturbed rows."""
    from benchmarks.robustness import parse_perturbation

    if not perturbed:
        return None

    def order(name):
        p = parse_perturbation(name)
        return p.kind, p.severity

    names = sorted({r["perturbation"] for r in perturbed}, key=order)
    by = {(r["method"], r.get("perturbation", "none")): r for r in clean + perturbed}
    methods = list(dict.fromkeys(r["method"] for r in clean + perturbed))
    body = []
    for m in methods:
        base = by.get((m, "none"), {}).get(key)
        cells = [cell(m), cell(DASH if base is None else f"{base:.3f}", base)]
        for name in names:
            value = by.get((m, name), {}).get(key)
            if value is None:
                cells.append(cell(DASH))
                continue
            change = cls = ""
            if base is not None:
                # Changes that round to zero are no change (and not "-0.000").
                delta = round(value - base, 3) + 0.0
                change = f" ({delta:+.3f})"
                cls = "" if delta == 0 else ("good" if delta > 0 else "bad")
            cells.append(cell(f"{value:.3f}{change}", value, "", cls))
        body.append({"cls": "", "cells": cells})
    columns = [{"title": "Method", "sub": "", "numeric": False},
               {"title": "none", "sub": "clean", "numeric": True}]
    columns += [{"title": n, "sub": "", "numeric": True} for n in names]
    return {"id": table_id, "columns": columns, "rows": body}


def class_iou_table(rows: list[dict], classes: list[str], table_id: str = "classes"
                    ) -> dict | None:
    """Methods × classes IoU (deep: real; classical: oracle, an upper bound)."""
    from benchmarks.reporting._figures import class_iou_matrix

    matrix = class_iou_matrix(rows, classes)
    if matrix is None:
        return None
    labels, values = matrix
    body = [{"cls": "", "cells": [cell(label)] + [
        cell(DASH if not math.isfinite(v) else f"{v:.2f}", v) for v in line]}
        for label, line in zip(labels, values)]
    columns = [{"title": "Method", "sub": "", "numeric": False}]
    columns += [{"title": c, "sub": "", "numeric": True} for c in classes]
    return {"id": table_id, "columns": columns, "rows": body}


def training_table(logs: dict[str, list[dict]], table_id: str = "training") -> dict | None:
    """Per deep model trained in the run: epochs, minutes, last train loss and the best
    and last validation mIoU (from its ``metrics.jsonl`` records)."""
    body = []
    for name, records in logs.items():
        if not records:
            continue
        last = records[-1]
        validated = [r["val_miou"] for r in records if _finite(r.get("val_miou"))]
        minutes = last.get("elapsed", float("nan")) / 60
        loss = last.get("train_loss")
        cells = [cell(name), cell(str(last.get("epoch", len(records))), last.get("epoch")),
                 cell(f"{minutes:.1f}" if _finite(minutes) else DASH, minutes),
                 cell(f"{loss:.3f}" if _finite(loss) else DASH, loss)]
        for value in ((max(validated) if validated else None),
                      (validated[-1] if validated else None)):
            cells.append(cell(DASH if value is None else f"{value:.3f}", value))
        body.append({"cls": "", "cells": cells})
    if not body:
        return None
    columns = [("Model", ""), ("Epochs", ""), ("Minutes", "wall"), ("Train loss", "last"),
               ("Val mIoU", "best"), ("Val mIoU", "last")]
    return {"id": table_id, "rows": body,
            "columns": [{"title": t, "sub": sub, "numeric": i > 0}
                        for i, (t, sub) in enumerate(columns)]}


_METRIC_TITLES = {"covering_ods": "Covering ODS", "covering_ois": "Covering OIS",
                  "covering_tuned": "Covering tuned", "pri_ods": "PRI ODS", "voi_ods": "VoI ODS",
                  "boundary_ods_f": "Boundary F ODS", "boundary_ois_f": "Boundary F OIS",
                  "oracle_miou": "Oracle mIoU", "miou": "mIoU", "pixel_accuracy": "Pixel acc.",
                  "sec_per_image": "s / image"}


def comparison_tables(rows: list[dict], name_a: str, name_b: str) -> list[dict]:
    """:func:`benchmarks.runner.compare_runs` rows as one methods × metrics table per
    (dataset, split, perturbation): cells ``A → B (B − A)`` classed by which run is
    better, and the methods only one run has."""
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["split"], r["perturbation"]), []).append(r)
    tables = []
    for i, ((dataset, split, perturbation), group) in enumerate(sorted(groups.items())):
        both = [r for r in group if r["present"] == "both"]
        metrics = list(dict.fromkeys(r["metric"] for r in both))
        methods = list(dict.fromkeys(r["method"] for r in both))
        by = {(r["method"], r["metric"]): r for r in both}
        body = []
        for m in methods:
            cells = [cell(m)]
            for metric in metrics:
                r = by.get((m, metric))
                if r is None or r["a"] is None or r["b"] is None:
                    a = None if r is None else r["a"]
                    b = None if r is None else r["b"]
                    text = f"{_num(a)} → {_num(b)}"
                    cells.append(cell(text))
                    continue
                cls = {"b": "good", "a": "bad"}.get(r["better"], "")
                cells.append(cell(f"{_num(r['a'])} → {_num(r['b'])} "
                                  f"({r['difference']:+.3g})", r["difference"],
                                  f"{name_a}: {r['a']:.6g}; {name_b}: {r['b']:.6g}", cls))
            body.append({"cls": "", "cells": cells})
        only = {side: sorted({r["method"] for r in group if r["present"] == side})
                for side in ("a", "b")}
        columns = [{"title": "Method", "sub": "", "numeric": False}]
        lower = {r["metric"] for r in both if not r["higher_is_better"]}
        columns += [{"title": _METRIC_TITLES.get(metric, metric),
                     "sub": "lower better" if metric in lower else (
                         "upper bound" if metric == "oracle_miou" else ""),
                     "numeric": True} for metric in metrics]
        tables.append({"id": f"compare-{i + 1}", "dataset": dataset, "split": split,
                       "perturbation": perturbation, "columns": columns, "rows": body,
                       "only_a": only["a"], "only_b": only["b"]})
    return tables


def _num(x) -> str:
    return DASH if x is None else f"{x:.4g}"


def to_markdown(table: dict) -> str:
    """A table as GitHub Markdown (each title followed by its subtitle)."""
    def escape(text: str) -> str:
        return str(text).replace("|", "\\|")

    heads = [c["title"] + ("" if not c["sub"] else f" {c['sub']}" if c["sub"].startswith("@")
                           else f", {c['sub']}") for c in table["columns"]]
    lines = ["| " + " | ".join(escape(h) for h in heads) + " |",
             "|" + "|".join("---:" if c["numeric"] else "---" for c in table["columns"]) + "|"]
    for row in table["rows"]:
        texts = [f"**{escape(c['text'])}**" if c["cls"] == "best" else escape(c["text"])
                 for c in row["cells"]]
        lines.append("| " + " | ".join(texts) + " |")
    return "\n".join(lines)
