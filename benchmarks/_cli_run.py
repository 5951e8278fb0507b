"""``segbench run`` and ``segbench report``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["run", "report"]


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: runs/<timestamp>).")
@click.option("--dataset", default=None, help="Dataset name (default: synthetic).")
@click.option("--split", default=None, help="Split to score (default: val).")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The dataset's own folder.")
@click.option("--method", "methods", multiple=True,
              help="Method to include (repeatable; default: every classical method and baseline).")
@click.option("--max-images", type=int, default=None, help="Score only the first N images.")
@click.option("--jobs", type=int, default=None, help="Worker processes (default: 2).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.pass_context
def run(ctx: click.Context, out: Path | None, dataset: str | None, split: str | None,
        root: str | None, methods: tuple[str, ...], max_images: int | None, jobs: int | None,
        resume: bool) -> None:
    """Run every method on the same images and write the comparison report.

    Without options this is the demo: the embedded synthetic dataset (medium preset,
    val split) and every classical method and baseline with its parameter sweep.

    \b
    Examples:
      segbench run
      segbench run --dataset bsds500 --root ../shared/datasets/BSDS500 --max-images 10
      segbench run --out runs/demo --resume
    """
    import dataclasses

    from benchmarks.runner import MethodConfig, default_config, run as run_benchmark, summarize
    from classical._validate import check_int

    config = default_config()
    changes = {}
    if dataset is not None:
        changes.update(dataset=dataset, dataset_options={})
    if split is not None:
        changes["split"] = split
    if root is not None:
        changes["root"] = root
    if methods:
        changes["methods"] = tuple(MethodConfig(name) for name in methods)
    if max_images is not None:
        changes["max_images"] = check_int(max_images, "max_images", minimum=1)
    if jobs is not None:
        changes["jobs"] = check_int(jobs, "jobs", minimum=1)
    config = dataclasses.replace(config, **changes)
    run_dir = run_benchmark(config, out, resume=resume)
    rows = summarize(run_dir)
    click.echo(f"\n{'method':<14}{'covering':>10}{'PRI':>8}{'VoI':>8}{'bdry F':>8}{'s/img':>8}")
    for r in rows:
        click.echo(f"{r['method']:<14}{r['covering_ods']:>10.3f}{r['pri_ods']:>8.3f}"
                   f"{r['voi_ods']:>8.3f}{r.get('boundary_ods_f', float('nan')):>8.3f}"
                   f"{r['sec_per_image']:>8.3f}")
    click.echo(f"\nreport: {run_dir / 'report.html'}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report(run_dir: Path) -> None:
    """Render (again) the HTML and Markdown report of a run folder.

    \b
    Example:
      segbench report runs/20261129-101500
    """
    from benchmarks.report import write_report

    html, md = write_report(run_dir)
    click.echo(f"report: {html}\nsummary: {md}")
