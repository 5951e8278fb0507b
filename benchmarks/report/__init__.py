"""Reports of a run: a self-contained HTML page (inline SVG plots and PNG images, no
network) and a Markdown summary, both rendered from the run's results store."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["write_report", "leaderboard_markdown"]

_COLUMNS = [
    ("method", "Method", "{}"),
    ("ods_value", "Param @ODS", "{}"),
    ("covering_ods", "Covering ODS", "{:.3f}"),
    ("covering_ois", "Covering OIS", "{:.3f}"),
    ("pri_ods", "PRI ODS", "{:.3f}"),
    ("voi_ods", "VoI ODS", "{:.3f}"),
    ("boundary_ods_f", "Boundary F ODS", "{:.3f}"),
    ("boundary_ois_f", "Boundary F OIS", "{:.3f}"),
    ("oracle_miou", "Oracle mIoU (upper bound)", "{:.3f}"),
    ("regions_at_ods", "Regions @ODS", "{:.0f}"),
    ("sec_per_image", "s / image", "{:.3f}"),
    ("peak_mb", "Peak MB", "{:.1f}"),
]


_TUNED_COLUMNS = [
    ("tuned_value", "Param tuned", "{}"),
    ("covering_tuned", "Covering tuned", "{:.3f}"),
]


def _columns(rows):
    columns = list(_COLUMNS)
    if any(r.get("covering_tuned") is not None for r in rows):
        at = next(i for i, c in enumerate(columns) if c[0] == "covering_ois")
        columns[at:at] = _TUNED_COLUMNS
    return [c for c in columns if any(r.get(c[0]) is not None for r in rows)]


def _cells(row, columns):
    out = []
    for key, _, fmt in columns:
        value = row.get(key)
        if key in ("ods_value", "tuned_value") and value is not None and row["sweep_param"]:
            value = f"{row['sweep_param']}={value}"
        out.append("–" if value is None else fmt.format(value))
    return out


def leaderboard_markdown(rows) -> str:
    """The leaderboard as a Markdown table."""
    columns = _columns(rows)
    lines = ["| " + " | ".join(c[1] for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cells(r, columns)) + " |" for r in rows]
    return "\n".join(lines)


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _figures(rows):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figures = []
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for r in rows:
        ax.scatter(r["sec_per_image"], r["covering_ods"], s=40)
        ax.annotate(r["method"], (r["sec_per_image"], r["covering_ods"]),
                    textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image (log)")
    ax.set_ylabel("covering (ODS)")
    ax.grid(alpha=0.3)
    figures.append({"svg": _svg(fig), "caption": "Quality against time: up and left is better."})

    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for r in rows:
        steps = np.arange(1, len(r["covering_curve"]) + 1)
        ax.plot(steps, r["covering_curve"], marker="o", ms=3, label=r["method"])
    ax.set_xlabel("sweep step (fine → coarse)")
    ax.set_ylabel("dataset covering")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figures.append({"svg": _svg(fig),
                    "caption": "Covering along each method's parameter sweep; ODS is the peak."})

    if any("oracle_miou_curve" in r for r in rows):
        fig, ax = plt.subplots(figsize=(5.2, 3.6))
        for r in rows:
            if "oracle_miou_curve" in r:
                steps = np.arange(1, len(r["oracle_miou_curve"]) + 1)
                ax.plot(steps, r["oracle_miou_curve"], marker="o", ms=3, label=r["method"])
        ax.set_xlabel("sweep step (fine → coarse)")
        ax.set_ylabel("oracle mIoU (upper bound)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        figures.append({"svg": _svg(fig), "caption": "Oracle mIoU along the sweep: what each "
                        "over-segmentation allows if every region took its majority class."})
    return figures


def _png(rgb: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _examples(rows, store, dataset, label: str, split: str):
    from benchmarks.visualize import boundary_overlay, class_overlay, side_by_side

    leader = rows[0]
    step = {r["method"]: r["sweep_values"].index(r["ods_value"]) for r in rows}
    units = {r["method"]: {u.image_id: u for u in store.units(
        r["method"], dataset=label, split=split, perturbation="none")} for r in rows}
    lead_units = units[leader["method"]]
    k = step[leader["method"]]
    scores = {i: float(u.arrays["region/cntR"][k] / max(u.arrays["region/sumR"][k], 1))
              for i, u in lead_units.items()}
    order = sorted(scores, key=scores.get, reverse=True)
    picks = [("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1])]
    by_id = {dataset.ids[u.meta["index"]]: u.meta["index"] for u in lead_units.values()}
    examples = []
    for tag, image_id in picks:
        sample = dataset[by_id[image_id]]
        if sample.mask is not None:
            colors = [c.color for c in dataset.classes] if dataset.classes else None
            truth = class_overlay(sample.image, sample.mask, colors, alpha=0.6)
        else:
            truth = boundary_overlay(sample.image, sample.regions[0])
        shown = [r for r in rows if image_id in units[r["method"]]]
        panels = [sample.image, truth]
        panels += [boundary_overlay(sample.image, units[r["method"]][image_id].arrays["labels"]
                                    [step[r["method"]]].astype(np.int64)) for r in shown]
        names = ", ".join(r["method"] for r in shown)
        examples.append({
            "png": _png(side_by_side(*panels)),
            "caption": f"{tag}: {image_id} (covering {scores[image_id]:.3f}). "
                       f"Panels: image, ground truth, {names}."})
    return examples


def _sections(all_rows, config, store):
    """One leaderboard per scored (dataset, split): its unperturbed rows, figures and
    example images. Perturbed rows and tune splits are in the store and in
    :func:`benchmarks.runner.summarize`, not in these tables."""
    infos = store.info("datasets")
    if infos is None:  # a store of segbench <= 0.1: one dataset
        info = store.info("dataset")
        infos = [{**info, "label": config.datasets[0].label, "role": "score"}]
    specs = {d.label: d for d in config.datasets}
    sections = []
    for info in infos:
        if info["role"] != "score":
            continue
        rows = [r for r in all_rows if r["dataset"] == info["label"]
                and r["split"] == info["split"] and r["perturbation"] == "none"]
        if not rows:
            continue
        dataset = specs[info["label"]].load(info["split"])
        columns = _columns(rows)
        sections.append({
            "info": info, "rows": rows, "columns": [{"title": c[1]} for c in columns],
            "table": [_cells(r, columns) for r in rows], "figures": _figures(rows),
            "examples": _examples(rows, store, dataset, info["label"], info["split"]),
            "leader": rows[0]["method"], "has_oracle": any("oracle_miou" in r for r in rows),
            "tuned": next((r["tune_split"] for r in rows if r.get("tune_split")), None),
            "markdown": leaderboard_markdown(rows)})
    return sections


def write_report(run_dir) -> tuple[Path, Path]:
    """Render ``report.html`` and ``report.md`` for a run folder; return their paths.

    One leaderboard per scored dataset and split (unperturbed images), with its plots
    and example images.

    Raises
    ------
    FileNotFoundError
        If `run_dir` holds no ``results.sqlite``.
    ValueError
        If the store holds no finished units of a scored split.
    """
    import jinja2

    from benchmarks.runner import RunConfig, summarize
    from benchmarks.store import ResultStore

    run_dir = Path(run_dir)
    if not (run_dir / "results.sqlite").is_file():
        raise FileNotFoundError(f"{run_dir} is not a segbench run folder (no results.sqlite).")
    rows = summarize(run_dir)
    with ResultStore(run_dir / "results.sqlite") as store:
        config = RunConfig.from_dict(store.info("config"), check_methods=False)
        env = store.info("environment", {})
        elapsed = store.info("elapsed_s", 0.0)
        sections = _sections(rows, config, store)
    if not sections:
        raise ValueError(f"{run_dir} holds no finished units yet.")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]))
    title = ", ".join(f"{s['info']['label']} / {s['info']['split']}" for s in sections)
    html = environment.get_template("report.html.j2").render(
        title=title, sections=sections, env=env, elapsed=elapsed,
        config_json=json.dumps(config.to_dict(), sort_keys=True),
        threads=os.environ.get("OMP_NUM_THREADS"))
    parts = [f"# segbench report: {title}\n"]
    for s in sections:
        info = s["info"]
        parts.append(
            f"## {info['label']} / {info['split']}\n\n"
            f"{info['n_images']} images. Region metrics: official BSDS500 definitions "
            "over each method's sweep (ODS/OIS)."
            + (f" \"Tuned\": the parameter that is ODS on the {s['tuned']} split, scored "
               f"on {info['split']} (ODS on {info['split']} itself is optimistic)."
               if s["tuned"] else "")
            + (" Oracle mIoU is an upper bound (majority class per region)."
               if s["has_oracle"] else "")
            + "\n\n" + s["markdown"] + "\n")
    markdown = "\n".join(parts)
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    for path, text in ((html_path, html), (md_path, markdown)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return html_path, md_path
