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


def _columns(rows):
    return [c for c in _COLUMNS if any(r.get(c[0]) is not None for r in rows)]


def _cells(row, columns):
    out = []
    for key, _, fmt in columns:
        value = row.get(key)
        if key == "ods_value":
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


def _examples(run_dir: Path, rows, store, dataset):
    from benchmarks.visualize import boundary_overlay, class_overlay, side_by_side

    leader = rows[0]
    step = {r["method"]: r["sweep_values"].index(r["ods_value"]) for r in rows}
    units = {r["method"]: {u.image_id: u for u in store.units(r["method"])} for r in rows}
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
        panels = [sample.image, truth]
        panels += [boundary_overlay(sample.image, units[r["method"]][image_id].arrays["labels"]
                                    [step[r["method"]]].astype(np.int64)) for r in rows]
        names = ", ".join(r["method"] for r in rows)
        examples.append({
            "png": _png(side_by_side(*panels)),
            "caption": f"{tag}: {image_id} (covering {scores[image_id]:.3f}). "
                       f"Panels: image, ground truth, {names}."})
    return examples


def write_report(run_dir) -> tuple[Path, Path]:
    """Render ``report.html`` and ``report.md`` for a run folder; return their paths.

    Raises
    ------
    FileNotFoundError
        If `run_dir` holds no ``results.sqlite``.
    ValueError
        If the store holds no finished units.
    """
    import jinja2

    from benchmarks.datasets import load_dataset
    from benchmarks.runner import RunConfig, summarize
    from benchmarks.store import ResultStore

    run_dir = Path(run_dir)
    if not (run_dir / "results.sqlite").is_file():
        raise FileNotFoundError(f"{run_dir} is not a segbench run folder (no results.sqlite).")
    rows = summarize(run_dir)
    if not rows:
        raise ValueError(f"{run_dir} holds no finished units yet.")
    with ResultStore(run_dir / "results.sqlite") as store:
        config = RunConfig.from_dict(store.info("config"))
        dataset_info = store.info("dataset")
        env = store.info("environment", {})
        elapsed = store.info("elapsed_s", 0.0)
        dataset = load_dataset(config.dataset, split=config.split, root=config.root,
                               **config.dataset_options)
        examples = _examples(run_dir, rows, store, dataset)
    columns = _columns(rows)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]))
    html = environment.get_template("report.html.j2").render(
        dataset=dataset_info, rows=rows, columns=[{"title": c[1]} for c in columns],
        table=[_cells(r, columns) for r in rows], figures=_figures(rows), examples=examples,
        leader=rows[0]["method"], has_oracle=any("oracle_miou" in r for r in rows),
        env=env, elapsed=elapsed, config_json=json.dumps(config.to_dict(), sort_keys=True),
        threads=os.environ.get("OMP_NUM_THREADS"))
    markdown = (
        f"# segbench report: {dataset_info['name']} / {dataset_info['split']}\n\n"
        f"{dataset_info['n_images']} images. Region metrics: official BSDS500 definitions "
        "over each method's sweep (ODS/OIS)."
        + (" Oracle mIoU is an upper bound (majority class per region).\n\n"
           if any("oracle_miou" in r for r in rows) else "\n\n")
        + leaderboard_markdown(rows) + "\n")
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    for path, text in ((html_path, html), (md_path, markdown)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return html_path, md_path
