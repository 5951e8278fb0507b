"""Figures of a report: matplotlib, rendered to inline SVG (text kept as text).

Every builder takes summary rows (and the data it needs) and returns
``{"id", "svg", "caption"}``, or None when the rows hold nothing to plot.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

# The clean image of each perturbation kind sits at this severity on robustness plots
# (the identity column of the table in benchmarks.robustness; JPEG quality 100 is the
# nearest to no compression).
_IDENTITY = {"noise": 0.0, "blur": 0.0, "brightness": 0.0, "jpeg": 100.0, "contrast": 1.0,
             "gamma": 1.0, "downscale": 1.0}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    import matplotlib

    plt = _plt()
    buffer = io.StringIO()
    # Text as <text>, not glyph paths: several times smaller and selectable.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _figure(fig_id: str, fig, caption: str) -> dict:
    return {"id": fig_id, "svg": _svg(fig), "caption": caption}


def _label(row: dict) -> str:
    return row["method"] + (" (deep)" if row.get("kind") == "deep" else "")


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _colors(rows: list[dict]) -> dict[str, tuple]:
    """One colour per method, stable across the figures of a section."""
    import matplotlib

    methods = list(dict.fromkeys(r["method"] for r in rows))
    cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


def _plain_log_ticks(ax) -> None:
    """Log-axis tick labels as plain numbers (0.03, not 3×10⁻²): every minor tick
    labelled when the axis spans less than a decade, else only those at 2 and 5."""
    from matplotlib.ticker import FuncFormatter

    low, high = ax.get_xlim()
    wide = high >= 10 * low

    def minor(x, _):
        mantissa = round(x / 10 ** np.floor(np.log10(x)), 6)
        return f"{x:.2g}" if not wide or mantissa in (2.0, 5.0) else ""

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.2g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(minor))


def _annotate_apart(ax, points, fontsize: float = 8) -> None:
    """Label points, moving a label down while it would overlap one already placed
    (checked in display points, so it holds on log axes too)."""
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading the transform
    to_points = ax.transData + ax.figure.dpi_scale_trans.inverted()
    placed = []  # (x, y) of label anchors in display points
    for x, y, text in sorted(points, key=lambda p: -p[1]):
        px, py = to_points.transform((x, y)) * 72
        dy = 4.0
        width = 0.6 * fontsize * len(text)
        while any(abs(px - qx) < width and abs(py + dy - qy) < fontsize + 1
                  for qx, qy in placed):
            dy -= fontsize + 1
        placed.append((px, py + dy))
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(5, dy),
                    fontsize=fontsize)


def pareto_figure(rows: list[dict], fig_id: str = "pareto") -> dict | None:
    """Covering (ODS) against seconds per image, log time, with the Pareto front."""
    points = [r for r in rows if _finite(r.get("sec_per_image")) and r["sec_per_image"] > 0
              and _finite(r.get("covering_ods"))]
    if not points:
        return None
    plt, colors = _plt(), _colors(rows)
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    for r in points:
        ax.scatter(r["sec_per_image"], r["covering_ods"], s=46, color=colors[r["method"]],
                   marker="s" if r.get("kind") == "deep" else "o", zorder=3)
    ax.set_xscale("log")
    _annotate_apart(ax, [(r["sec_per_image"], r["covering_ods"], _label(r)) for r in points])
    # Pareto front: no other method is both faster and better.
    front, best = [], -np.inf
    for r in sorted(points, key=lambda r: (r["sec_per_image"], -r["covering_ods"])):
        if r["covering_ods"] > best:
            front.append(r)
            best = r["covering_ods"]
    ax.step([r["sec_per_image"] for r in front], [r["covering_ods"] for r in front],
            where="post", color="0.55", lw=1, ls="--", zorder=1, label="Pareto front")
    _plain_log_ticks(ax)
    ax.set_xlabel("seconds per image per parameter value (log)")
    ax.set_ylabel("covering (ODS)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _figure(fig_id, fig, "Quality against time: up and left is better; the dashed "
                   "line joins the methods no other method beats on both.")


def sweep_figure(rows: list[dict], key: str = "covering_curve", ylabel: str = "covering",
                 caption: str = "", fig_id: str = "sweep") -> dict | None:
    """A metric along each method's parameter sweep (fine to coarse), ODS marked."""
    curves = [r for r in rows if r.get(key) and len(r[key]) > 1]
    if not curves:
        return None
    plt, colors = _plt(), _colors(rows)
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    for r in curves:
        values = np.asarray(r[key], dtype=float)
        steps = np.linspace(0, 1, len(values))  # sweeps of different lengths side by side
        ax.plot(steps, values, marker="o", ms=3, color=colors[r["method"]], label=_label(r))
        if r.get("ods_value") in (r.get("sweep_values") or []):
            k = r["sweep_values"].index(r["ods_value"])
            ax.plot(steps[k], values[k], marker="*", ms=11, color=colors[r["method"]],
                    mec="k", mew=0.5)
    ax.set_xlabel("position in the sweep (fine → coarse)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return _figure(fig_id, fig, caption)


def _iso_f(ax) -> None:
    """Iso-F contours of the BSDS plots: precision = f r / (2 r - f) for r > f / 2."""
    for f in np.arange(0.1, 1.0, 0.1):
        r = np.linspace(f / (2 - f), 1.0, 200)
        p = f * r / (2 * r - f)
        ax.plot(r, p, color="#4caf50", lw=0.7, ls=":", zorder=0)
        ax.text(1.0, f / (2 - f), f"F={f:.1f}", fontsize=6.5, color="#2e7d32",
                ha="left", va="center")


def pr_figure(rows: list[dict], fig_id: str = "pr") -> dict | None:
    """Boundary precision-recall curves over each sweep with iso-F contours, as the
    BSDS benchmark plots them; the ODS point of each method is marked."""
    curves = [r for r in rows if r.get("boundary_pr") and len(r["boundary_pr"]) == 2
              and len(r["boundary_pr"][0])]
    if not curves:
        return None
    plt, colors = _plt(), _colors(rows)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    _iso_f(ax)
    for r in sorted(curves, key=lambda r: -(r.get("boundary_ods_f") or 0)):
        recall, precision = (np.asarray(v, dtype=float) for v in r["boundary_pr"])
        f = r.get("boundary_ods_f")
        label = _label(r) + (f" [F={f:.2f}]" if _finite(f) else "")
        ax.plot(recall, precision, marker="o", ms=2.5, lw=1.3, color=colors[r["method"]],
                label=label)
        if _finite(r.get("boundary_ods_recall")) and _finite(r.get("boundary_ods_precision")):
            ax.plot(r["boundary_ods_recall"], r["boundary_ods_precision"], marker="o", ms=7,
                    mfc="none", mew=1.4, color=colors[r["method"]])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.1, 0.5), frameon=False)
    return _figure(fig_id, fig, "Boundary precision against recall along each sweep, with "
                   "iso-F contours (dotted green) as in the BSDS benchmark plots; the ring "
                   "marks each method's ODS point, the legend its ODS F.")


def _per_class(value, classes: list[str]) -> list[float] | None:
    """A per-class IoU list or {class: IoU} dict as floats aligned with `classes`
    (NaN where absent or None)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value.get(c) for c in classes]
    out = [float(v) if _finite(v) else float("nan") for v in value]
    if len(out) != len(classes):
        return None
    return out


def class_iou_matrix(rows: list[dict], classes: list[str]):
    """Row labels and a (methods, classes) IoU array from deep rows' ``per_class_iou``
    and classical rows' ``oracle_per_class_iou`` (labelled upper bound); None if none."""
    if not classes:
        return None
    labels, values = [], []
    for r in rows:
        if r.get("kind") == "deep":
            line = _per_class(r.get("per_class_iou"), classes)
            label = f"{r['method']} (deep)"
        else:
            line = _per_class(r.get("oracle_per_class_iou"), classes)
            label = f"{r['method']} (oracle, upper bound)"
        if line is not None:
            labels.append(label)
            values.append(line)
    if not values:
        return None
    return labels, np.asarray(values, dtype=float)


def class_iou_figure(rows: list[dict], classes: list[str], fig_id: str = "classes"
                     ) -> dict | None:
    """Heatmap of per-class IoU, methods × classes; classes absent from the images in
    grey."""
    matrix = class_iou_matrix(rows, classes)
    if matrix is None:
        return None
    labels, values = matrix
    plt = _plt()
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    fig, ax = plt.subplots(figsize=(1.2 + 0.62 * len(classes), 0.9 + 0.36 * len(labels)))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "–" if not math.isfinite(v) else f"{v:.2f}", ha="center", va="center",
                fontsize=7, color="black" if not math.isfinite(v) or v > 0.6 else "white")
    ax.set_xticks(range(len(classes)), classes, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="IoU")
    return _figure(fig_id, fig, "Per-class IoU. Deep rows: the model's own class map (real "
                   "scores). Classical rows: each region takes its majority class (oracle), "
                   "an upper bound on what the segmentation allows, not a recognition score. "
                   "Grey: class absent from these images and predictions.")


def read_training_log(path) -> list[dict]:
    """Epoch records of a ``metrics.jsonl`` (one JSON object per line); blank or torn
    last lines (a training still writing) are skipped."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def training_figure(logs: dict[str, list[dict]], fig_id: str = "training") -> dict | None:
    """Train loss and validation mIoU against elapsed minutes, one line per model (the
    mIoU panel only when some epoch was validated)."""
    logs = {name: records for name, records in logs.items() if records}
    if not logs:
        return None
    plt = _plt()

    def series(records, key):
        return np.array([r[key] if _finite(r.get(key)) else np.nan for r in records])

    validated = any(np.isfinite(series(r, "val_miou")).any() for r in logs.values())
    fig, axes = plt.subplots(1, 2 if validated else 1, squeeze=False,
                             figsize=(9.0 if validated else 4.8, 3.4))
    loss_ax = axes[0, 0]
    for name, records in logs.items():
        minutes = series(records, "elapsed") / 60
        line, = loss_ax.plot(minutes, series(records, "train_loss"), marker="o", ms=3,
                             label=name)
        if validated:
            miou = series(records, "val_miou")
            seen = np.isfinite(miou)
            axes[0, 1].plot(minutes[seen], miou[seen], marker="o", ms=3,
                            color=line.get_color(), label=name)
    loss_ax.set_ylabel("train loss")
    if validated:
        axes[0, 1].set_ylabel("validation mIoU")
    for ax in axes.flat:
        ax.set_xlabel("elapsed minutes")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    caption = "Training of the deep models in this run: loss per epoch"
    caption += (" and mIoU on the training run's validation split, against wall time."
                if validated else " against wall time (no validation was logged).")
    return _figure(fig_id, fig, caption)


def robustness_points(clean: list[dict], perturbed: list[dict], key: str):
    """``{kind: {method: ([severity...], [value...])}}``, the clean row at the kind's
    identity severity, points sorted by severity."""
    from benchmarks.robustness import parse_perturbation

    kinds: dict[str, dict[str, list]] = {}
    for r in perturbed:
        p = parse_perturbation(r["perturbation"])
        if _finite(r.get(key)):
            kinds.setdefault(p.kind, {}).setdefault(r["method"], []).append(
                (p.severity, r[key]))
    clean_by = {r["method"]: r.get(key) for r in clean}
    out = {}
    for kind, methods in kinds.items():
        out[kind] = {}
        for method, points in methods.items():
            if _finite(clean_by.get(method)):
                points = points + [(_IDENTITY.get(kind, 0.0), clean_by[method])]
            points.sort()
            out[kind][method] = ([s for s, _ in points], [v for _, v in points])
    return out


def robustness_figure(clean: list[dict], perturbed: list[dict], fig_id: str = "robustness"
                      ) -> dict | None:
    """Covering ODS and boundary F ODS against severity, one panel per perturbation
    kind, worse to the right."""
    from benchmarks.robustness import PERTURBATIONS

    metrics = [("covering_ods", "covering (ODS)"), ("boundary_ods_f", "boundary F (ODS)")]
    points = {key: robustness_points(clean, perturbed, key) for key, _ in metrics}
    kinds = sorted(points["covering_ods"])
    if not kinds:
        return None
    plt, colors = _plt(), _colors(clean + perturbed)
    fig, axes = plt.subplots(len(metrics), len(kinds), squeeze=False,
                             figsize=(0.6 + 3.0 * len(kinds), 5.4), sharey="row")
    for col, kind in enumerate(kinds):
        for row_index, (key, ylabel) in enumerate(metrics):
            ax = axes[row_index, col]
            for method, (x, y) in points[key].get(kind, {}).items():
                ax.plot(x, y, marker="o", ms=3.5, color=colors.get(method), label=method)
            severities = PERTURBATIONS[kind].severities if kind in PERTURBATIONS else ()
            if len(severities) > 1 and severities[0] > severities[-1]:
                ax.invert_xaxis()  # e.g. JPEG quality: lower is worse
            ax.grid(alpha=0.3)
            if row_index == 0:
                ax.set_title(kind, fontsize=10)
            if row_index == len(metrics) - 1:
                ax.set_xlabel("severity")
            if col == 0:
                ax.set_ylabel(ylabel)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for ax in axes.flat:  # the union of methods over panels
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, fontsize=8, loc="upper center", ncol=min(len(labels), 6),
               bbox_to_anchor=(0.5, 1.04), frameon=False)
    fig.tight_layout()
    return _figure(fig_id, fig, "Robustness: each method's ODS score on perturbed copies "
                   "of the images (scored against the original ground truth; the parameter "
                   "is re-chosen per perturbation). The first point of each line is the "
                   "clean images; worse perturbations to the right.")
