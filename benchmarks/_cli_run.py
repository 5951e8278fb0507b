"""``segbench run`` and ``segbench report``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["run", "report"]


def _leaderboard_text(rows) -> str:
    """The summary rows as a plain-text table, grouped by dataset, split and perturbation.

    mIoU is a deep model's real score, or (marked ``*``) a classical method's oracle
    upper bound.
    """
    lines = []
    group = None
    tuned = any(r.get("covering_tuned") is not None for r in rows)
    semantic = any(r.get("miou") is not None or r.get("oracle_miou") is not None
                   for r in rows)
    width = max([16] + [len(r["method"]) + 2 for r in rows])
    for r in rows:
        if (r["dataset"], r["split"], r["perturbation"]) != group:
            group = (r["dataset"], r["split"], r["perturbation"])
            role = " (tuning only)" if r.get("role") == "tune" else ""
            lines += ["", f"{r['dataset']} / {r['split']} / {r['perturbation']}{role}",
                      f"{'method':<{width}}{'covering':>10}" + (f"{'tuned':>8}" if tuned else "")
                      + f"{'PRI':>8}{'VoI':>8}{'bdry F':>8}"
                      + (f"{'mIoU':>9}" if semantic else "") + f"{'s/img':>8}"]
        cells = f"{r['method']:<{width}}{r['covering_ods']:>10.3f}"
        if tuned:
            value = r.get("covering_tuned")
            cells += f"{value:>8.3f}" if value is not None else f"{'–':>8}"
        cells += (f"{r['pri_ods']:>8.3f}{r['voi_ods']:>8.3f}"
                  f"{r.get('boundary_ods_f', float('nan')):>8.3f}")
        if semantic:
            if r.get("miou") is not None:
                cells += f"{r['miou']:>8.3f} "
            elif r.get("oracle_miou") is not None:
                cells += f"{r['oracle_miou']:>8.3f}*"
            else:
                cells += f"{'–':>8} "
        cells += f"{r['sec_per_image']:>8.3f}"
        lines.append(cells)
    if semantic:
        lines += ["", "mIoU: a deep model's class maps; * oracle labelling of a classical "
                  "method's regions (an upper bound, not a semantic score)."]
    return "\n".join(lines)


def _checkpoint_methods(paths, taken) -> tuple:
    """Deep checkpoint methods for ``--checkpoint`` paths, labelled by their model name
    (with ``-2``, ``-3``, ... when that label is taken)."""
    from benchmarks.config import MethodConfig
    from benchmarks.deep_methods import checkpoint_info

    taken, methods = set(taken), []
    for path in paths:
        name = checkpoint_info(path)["model_name"]
        label, n = name, 2
        while label in taken:
            label, n = f"{name}-{n}", n + 1
        taken.add(label)
        methods.append(MethodConfig(name, checkpoint=str(path), label=label))
    return tuple(methods)


@click.command()
@click.argument("config_file", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: the config's `out`, else runs/<timestamp>).")
@click.option("--dataset", default=None,
              help="Score only this dataset (replaces the config's datasets).")
@click.option("--split", default=None, help="Split to score, for every dataset.")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The dataset's own folder, for every dataset.")
@click.option("--method", "methods", multiple=True,
              help="Method to include (repeatable; replaces the config's methods; one the "
                   "config lists, by name or label, keeps its sweep and parameters).")
@click.option("--checkpoint", "checkpoints", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Add a trained model (a `segbench train` checkpoint) as a deep method, "
                   "labelled by its model name (repeatable).")
@click.option("--max-images", type=int, default=None,
              help="Score only the first N images of each split.")
@click.option("--jobs", type=int, default=None, help="Worker processes (joblib).")
@click.option("--seed", type=int, default=None,
              help="Run seed (perturbations, methods with a seed parameter).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run the units on this dask scheduler (e.g. tcp://host:8786).")
@click.option("--dask-local", type=int, default=None, metavar="N",
              help="Run the units on a local dask cluster of N single-threaded workers.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run in --out (its stored config by default).")
@click.pass_context
def run(ctx: click.Context, config_file: Path | None, out: Path | None, dataset: str | None,
        split: str | None, root: str | None, methods: tuple[str, ...],
        checkpoints: tuple[Path, ...], max_images: int | None,
        jobs: int | None, seed: int | None, dask_address: str | None, dask_local: int | None,
        resume: bool) -> None:
    """Run every method on the same images and write the comparison report.

    CONFIG_FILE is a TOML (or YAML) run config, e.g. benchmarks/configs/bsds_val.toml;
    its schema is described in the example configs. Options override it. Without a
    config this is the demo (benchmarks/configs/demo.toml): the embedded synthetic
    dataset (medium preset, val split), every classical method and baseline with its
    parameter sweep, and a small FCN trained in the run. `--resume` without a config
    continues with the run's stored one.

    \b
    Examples:
      segbench run
      segbench run benchmarks/configs/bsds_val.toml --max-images 10
      segbench run benchmarks/configs/camvid_val.toml --checkpoint runs/camvid/best.pt
      segbench run benchmarks/configs/robustness.toml --dask-local 2
      segbench run --dataset bsds500 --root ../shared/datasets/BSDS500 --max-images 10
      segbench run --out runs/demo --resume
    """
    import dataclasses

    from benchmarks.config import DatasetConfig, MethodConfig, load_config
    from benchmarks.runner import default_config, run as run_benchmark, summarize
    from classical._validate import check_int

    overrides = (dataset, split, root, methods or None, checkpoints or None, max_images,
                 jobs, seed)
    config = None
    if config_file is not None:
        config = load_config(config_file)
    elif not (resume and out is not None and (out / "config.json").is_file()):
        config = default_config()
    elif any(v is not None for v in overrides):
        config = load_config(out / "config.json")
    if config is not None:
        changes = {}
        datasets = config.datasets
        if dataset is not None:
            datasets = (DatasetConfig(dataset),)
        if split is not None or root is not None or max_images is not None:
            if max_images is not None:
                max_images = check_int(max_images, "max_images", minimum=1)
            datasets = tuple(dataclasses.replace(
                d, split=split or d.split, root=root or d.root,
                max_images=max_images or d.max_images,
                tune_split=None if d.tune_split == (split or d.split) else d.tune_split)
                for d in datasets)
        changes["datasets"] = datasets
        if methods:
            # A method the config lists keeps its entry (sweep, options); others get
            # their defaults.
            listed = {m.name: m for m in reversed(config.methods)} | {
                m.label: m for m in config.methods}
            changes["methods"] = tuple(listed.get(name) or MethodConfig(name)
                                       for name in methods)
        if checkpoints:
            kept = changes.get("methods", config.methods)
            changes["methods"] = kept + _checkpoint_methods(checkpoints,
                                                            (m.label for m in kept))
        if jobs is not None:
            changes["jobs"] = check_int(jobs, "jobs", minimum=1)
        if seed is not None:
            changes["seed"] = check_int(seed, "seed", minimum=0)
        # Round trip through the validator: CLI overrides get the config file's checks.
        config = type(config).from_dict(dataclasses.replace(config, **changes).to_dict(),
                                        source="command line")
    run_dir = run_benchmark(config, out, resume=resume, dask=dask_address,
                            dask_local=dask_local)
    click.echo(_leaderboard_text(summarize(run_dir)))
    click.echo(f"\nreport: {run_dir / 'report.html'}")


def _comparison_text(rows) -> str:
    def number(x):
        return "–" if x is None else f"{x:.4g}"

    lines = [f"{'dataset':<18}{'perturbation':<16}{'method':<16}{'metric':<16}"
             f"{'A':>10}{'B':>10}{'B-A':>10}"]
    for r in rows:
        difference = "–" if r["difference"] is None else format(r["difference"], "+.4g")
        lines.append(f"{r['dataset'] + ':' + r['split']:<18}{r['perturbation']:<16}"
                     f"{r['method']:<16}{r['metric']:<16}{number(r['a']):>10}"
                     f"{number(r['b']):>10}{difference:>10}")
    return "\n".join(lines)


@click.command()
@click.argument("run_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--compare", nargs=2, type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="RUN_A RUN_B",
              help="Compare two runs metric by metric instead of rendering one report.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Markdown file of the comparison (default: compare.md); the HTML page "
                   "goes next to it (compare.html).")
def report(run_dir: Path | None, compare: tuple[Path, Path] | None, out: Path | None) -> None:
    """Render (again) the HTML and Markdown report of a run folder, or compare two runs.

    \b
    Examples:
      segbench report runs/20261129-101500
      segbench report --compare runs/before runs/after --out before_after.md

    A comparison is written as Markdown (`--out`) and as an HTML page of the same
    name with the suffix .html.
    """
    if (run_dir is None) == (compare is None):
        raise ValueError("give exactly one of RUN_DIR (render its report) and "
                         "--compare RUN_A RUN_B.")
    if compare is not None:
        from benchmarks.reporting import write_comparison
        from benchmarks.runner import compare_runs, comparison_markdown

        run_a, run_b = compare
        rows = compare_runs(run_a, run_b)
        out = out or Path("compare.md")
        out.write_text(comparison_markdown(rows, str(run_a), str(run_b)), encoding="utf-8")
        html = write_comparison(run_a, run_b, out.with_suffix(".html"), rows=rows)
        click.echo(_comparison_text(rows))
        click.echo(f"\ncomparison: {out}\npage: {html}")
        return
    if out is not None:
        raise ValueError("--out is for --compare; a run's report goes into its folder.")
    from benchmarks.reporting import write_report

    html, md = write_report(run_dir)
    click.echo(f"report: {html}\nsummary: {md}")
