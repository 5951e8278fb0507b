"""Reports of a run: a self-contained HTML page (inline SVG plots and PNG images, no
network) and a Markdown summary, both rendered from the run's results store; and an
HTML comparison of two runs.

Per scored dataset and split the report shows the leaderboard with 95% bootstrap
intervals and significance markers (computed from the stored per-image arrays, see
:mod:`benchmarks.stats`), quality against time, sweep curves, boundary PR curves with
iso-F contours, per-class IoU (semantic datasets), training curves of the deep models
trained in the run, robustness curves (runs with perturbations), the check_partition
summary of classical outputs, and best / median / worst example images. Sections whose
data a run lacks are left out.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.reporting import _figures, _stats, _tables

__all__ = ["write_report", "write_comparison", "leaderboard_markdown"]


def leaderboard_markdown(rows, *, n_resamples: int = 0, units=None) -> str:
    """The leaderboard of one dataset and split as a Markdown table.

    Parameters
    ----------
    rows : list of dict
        Summary rows (:func:`benchmarks.runner.summarize`) of one dataset, split and
        perturbation.
    n_resamples : int, optional
        With `units`, bootstrap resamples for the intervals and significance markers;
        0 (default) prints the points only.
    units : dict of str to list of Unit, optional
        Method -> its stored units, the per-image data of the intervals.

    Returns
    -------
    markdown : str
        The table, then a line that explains intervals and markers (when there are any).
    """
    stats = None
    if n_resamples and units:
        stats = _stats.leaderboard_stats(rows, units, n_resamples=n_resamples)
    text = _tables.to_markdown(_tables.leaderboard_table(rows, stats))
    legend = _tables.significance_legend(stats)
    return text + (f"\n\n{legend}" if legend else "")


def _encode(rgb: np.ndarray) -> tuple[str, str]:
    """``(mime type, base64)`` of an RGB panel: PNG, unless JPEG (quality 90) is less than
    a third of its size, as for photographs, where lossless PNG runs to hundreds of KB
    per panel and would make the page tens of MB."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    png, jpeg = io.BytesIO(), io.BytesIO()
    image.save(png, format="PNG", compress_level=6)
    image.save(jpeg, format="JPEG", quality=90)
    mime, data = ("image/jpeg", jpeg) if 3 * jpeg.tell() < png.tell() else ("image/png", png)
    return mime, base64.b64encode(data.getvalue()).decode("ascii")


def _overlay(sample, labels: np.ndarray, row: dict, colors):
    from benchmarks.visualize import boundary_overlay, class_overlay

    n_classes = len(colors) if colors else 0
    if row.get("kind") == "deep" and n_classes and labels.max(initial=0) < n_classes:
        return class_overlay(sample.image, labels, colors, alpha=0.6)
    return boundary_overlay(sample.image, labels)


def _examples(rows, units, dataset):
    """Best, median and worst images of the leading method (by its per-image covering at
    its ODS value), each with its ground truth and every method at its own ODS value."""
    from benchmarks.visualize import boundary_overlay, class_overlay

    leader = rows[0]
    step = {r["method"]: r["sweep_values"].index(r["ods_value"]) for r in rows}
    by_id = {r["method"]: {u.image_id: u for u in units.get(r["method"], ())} for r in rows}
    lead_units = by_id[leader["method"]]
    if not lead_units:
        return []
    k = step[leader["method"]]
    scores = {i: float(u.arrays["region/cntR"][k] / max(u.arrays["region/sumR"][k], 1))
              for i, u in lead_units.items()}
    order = sorted(scores, key=scores.get, reverse=True)
    picks = [("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1])]
    colors = [c.color for c in dataset.classes] if getattr(dataset, "classes", None) else None
    examples, seen = [], set()
    for tag, image_id in picks:
        if image_id in seen:  # fewer than three images
            continue
        seen.add(image_id)
        sample = dataset[lead_units[image_id].meta["index"]]
        if sample.mask is not None:
            truth = class_overlay(sample.image, sample.mask, colors, alpha=0.6)
        else:
            truth = boundary_overlay(sample.image, sample.regions[0])
        panels = [("image", sample.image), ("ground truth", truth)]
        for r in rows:
            unit = by_id[r["method"]].get(image_id)
            if unit is not None:
                labels = unit.arrays["labels"][step[r["method"]]].astype(np.int64)
                panels.append((_figures._label(r), _overlay(sample, labels, r, colors)))
        height, width = sample.image.shape[:2]
        # Small images (synthetic: 128 px) are shown enlarged, pixelated, up to 3x.
        zoom = max(1, min(3, round(256 / max(height, 1))))
        examples.append({
            "caption": f"{tag}: {image_id} (covering {scores[image_id]:.3f} for "
                       f"{leader['method']})",
            "panels": [dict(zip(("mime", "data"), _encode(panel)), label=label,
                            width=min(width * zoom, 360)) for label, panel in panels]})
    return examples


def _training(rows, run_dir: Path, suffix: str):
    """Training curves of the deep rows that trained in this run (``train_dir``)."""
    deep = [r for r in rows if r.get("kind") == "deep" and r.get("train_dir")]
    if not deep:
        return None
    logs, notes = {}, []
    for r in deep:
        path = run_dir / r["train_dir"] / "metrics.jsonl"
        if path.is_file():
            logs[r["method"]] = _figures.read_training_log(path)
        else:
            notes.append(f"{r['method']}: no training log at {path}.")
    return {"figure": _figures.training_figure(logs, fig_id=f"training{suffix}"),
            "notes": notes, "table": _tables.training_table(logs, f"training-table{suffix}")}


def _section(index: int, info: dict, all_rows: list[dict], config, store, run_dir: Path,
             n_resamples: int, seed: int) -> dict | None:
    label, split = info["label"], info["split"]
    group = [r for r in all_rows if r["dataset"] == label and r["split"] == split]
    rows = [r for r in group if r["perturbation"] == "none"]
    if not rows:
        return None
    perturbed = [r for r in group if r["perturbation"] != "none"]
    units = {r["method"]: list(store.units(r["method"], dataset=label, split=split,
                                           perturbation="none")) for r in rows}
    stats = _stats.leaderboard_stats(rows, units, n_resamples=n_resamples, seed=seed) \
        if n_resamples else None
    suffix = "" if index == 1 else f"-{index}"
    leaderboard = _tables.leaderboard_table(rows, stats, "leaderboard" + suffix)
    figures = [
        _figures.pareto_figure(rows, f"pareto{suffix}"),
        _figures.sweep_figure(rows, "covering_curve", "dataset covering",
                              "Covering along each method's parameter sweep; the star is "
                              "ODS.", f"sweep{suffix}"),
        _figures.pr_figure(rows, f"pr{suffix}"),
        _figures.sweep_figure(rows, "oracle_miou_curve", "oracle mIoU (upper bound)",
                              "Oracle mIoU along the sweep: what each over-segmentation "
                              "allows if every region took its majority class (an upper "
                              "bound).", f"oracle{suffix}"),
    ]
    classes = list(info.get("classes") or [])
    robustness = None
    if perturbed:
        robustness = {"table": _tables.robustness_table(rows, perturbed,
                                                        table_id="robustness" + suffix),
                      "figure": _figures.robustness_figure(rows, perturbed,
                                                           f"robustness{suffix}")}
    partition = _tables.partition_table(rows, "partition" + suffix)
    class_table = _tables.class_iou_table(rows, classes, "classes" + suffix)
    dataset = next(d for d in config.datasets if d.label == label).load(split)
    plural = "s" if len(rows) != 1 else ""
    parts = [f"## {label} / {split}\n\n", f"{info['n_images']} images, {len(rows)} method{plural}."
             " Region metrics: official BSDS500 definitions over each method's sweep "
             "(ODS/OIS)."]
    tuned = next((r["tune_split"] for r in rows if r.get("tune_split")), None)
    if tuned:
        parts.append(f" \"Tuned on {tuned}\": the parameter that is ODS on the {tuned} split, "
                     f"scored on {split}; same-split ODS (chosen on {split} itself) is "
                     "optimistic.")
    if any(r.get("oracle_miou") is not None for r in rows):
        parts.append(" Oracle mIoU is an upper bound (majority class per region).")
    if any(r.get("kind") == "deep" for r in rows):
        parts.append(" Rows marked (deep) are trained models; their mIoU is real.")
    parts.append("\n\n" + _tables.to_markdown(leaderboard) + "\n")
    legend = _tables.significance_legend(stats)
    if legend:
        parts.append(f"\n{legend}\n")
    training = _training(rows, run_dir, suffix)
    for title, table in (("Per-class IoU (deep: real; classical: oracle upper bound)",
                          class_table),
                         ("Deep models trained in this run", training and training["table"]),
                         ("Robustness: covering (ODS), change from clean",
                          robustness and robustness["table"]),
                         ("check_partition: share of outputs that are segmentations",
                          partition)):
        if table:
            parts.append(f"\n### {title}\n\n{_tables.to_markdown(table)}\n")
    return {
        "info": info, "rows": rows, "leaderboard": leaderboard, "legend": legend,
        "figures": [f for f in figures if f is not None],
        "classes": _figures.class_iou_figure(rows, classes, f"classes{suffix}"),
        "training": training,
        "robustness": robustness, "partition": partition,
        "examples": _examples(rows, units, dataset),
        "leader": rows[0]["method"], "tuned": tuned,
        "has_oracle": any(r.get("oracle_miou") is not None for r in rows),
        "n_deep": sum(r.get("kind") == "deep" for r in rows),
        "markdown": "".join(parts)}


def _dataset_infos(store, config) -> list[dict]:
    infos = store.info("datasets")
    if infos is None:  # a store of segbench <= 0.1: one dataset
        info = store.info("dataset") or {}
        infos = [{**info, "label": config.datasets[0].label,
                  "split": info.get("split", config.datasets[0].split), "role": "score"}]
    return [i for i in infos if i.get("role", "score") == "score"]


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]))


def _html_table(table: dict) -> str:
    """One table (:mod:`benchmarks.reporting._tables` structure) as sortable HTML."""
    return _environment().from_string(
        '{% from "_macros.html.j2" import sortable %}{{ sortable(t) }}').render(t=table)


def write_report(run_dir, *, n_resamples: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """Render ``report.html`` and ``report.md`` for a run folder; return their paths.

    One section per scored dataset and split (unperturbed images): the leaderboard with
    intervals and significance markers, its plots, and example images; robustness
    curves from the perturbed rows of the same split.

    Parameters
    ----------
    run_dir : path-like
        A run folder (with ``results.sqlite``).
    n_resamples : int, optional
        Bootstrap resamples per interval and per paired comparison; 0 leaves intervals
        and markers out.
    seed : int, optional
        Seed of the bootstrap resampling (the report is reproducible given it).

    Returns
    -------
    html, markdown : Path

    Raises
    ------
    FileNotFoundError
        If `run_dir` holds no ``results.sqlite``.
    ValueError
        If the store holds no finished units of a scored split, or `n_resamples` or
        `seed` is negative.
    """
    from benchmarks.runner import RunConfig, summarize
    from benchmarks.store import ResultStore
    from classical._validate import check_int

    started = time.perf_counter()
    n_resamples = check_int(n_resamples, "n_resamples", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    run_dir = Path(run_dir)
    if not (run_dir / "results.sqlite").is_file():
        raise FileNotFoundError(f"{run_dir} is not a segbench run folder (no results.sqlite).")
    rows = summarize(run_dir)
    with ResultStore(run_dir / "results.sqlite") as store:
        config = RunConfig.from_dict(store.info("config"), check_methods=False)
        env = store.info("environment", {})
        elapsed = store.info("elapsed_s", 0.0)
        seeds = store.info("seeds", {"run": store.info("seed")})
        notes = store.info("notes") or []
        sections = []
        for info in _dataset_infos(store, config):
            section = _section(len(sections) + 1, info, rows, config, store, run_dir,
                               n_resamples, seed)
            if section is not None:
                sections.append(section)
    if not sections:
        raise ValueError(f"{run_dir} holds no finished units yet.")
    title = ", ".join(f"{s['info']['label']} / {s['info']['split']}" for s in sections)
    markdown = "\n".join([f"# segbench report: {title}\n"] + [s["markdown"] for s in sections])
    html = _environment().get_template("report.html.j2").render(
        title=title, sections=sections, env=env, elapsed=elapsed or 0.0, notes=notes,
        config_json=json.dumps(config.to_dict(), sort_keys=True),
        seeds_json=json.dumps(seeds, sort_keys=True),
        threads=os.environ.get("OMP_NUM_THREADS"),
        report_seconds=time.perf_counter() - started)
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    _write(html_path, html)
    _write(md_path, markdown)
    return html_path, md_path


def write_comparison(run_a, run_b, out_html, *, name_a: str | None = None,
                     name_b: str | None = None, rows: list[dict] | None = None) -> Path:
    """Render the metric-by-metric comparison of two runs as one self-contained HTML page.

    Parameters
    ----------
    run_a, run_b : path-like
        Run folders (each with a ``results.sqlite``); differences are B − A.
    out_html : path-like
        The page to write (its folder is created).
    name_a, name_b : str, optional
        Names shown for the runs; default the folder paths.
    rows : list of dict, optional
        ``compare_runs(run_a, run_b)`` when the caller already has it (the Markdown
        comparison needs the same rows); computed here otherwise.

    Returns
    -------
    path : Path
        `out_html`.

    Raises
    ------
    FileNotFoundError
        If a run folder holds no ``results.sqlite``.
    """
    from benchmarks.runner import compare_runs

    if rows is None:
        rows = compare_runs(run_a, run_b)
    name_a = str(run_a) if name_a is None else name_a
    name_b = str(run_b) if name_b is None else name_b
    html = _environment().get_template("compare.html.j2").render(
        name_a=name_a, name_b=name_b,
        tables=_tables.comparison_tables(rows, name_a, name_b))
    path = Path(out_html)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, html)
    return path
