"""``segbench datasets``: list, show, verify and link datasets."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["datasets"]

_ROOT_HELP = ("The dataset's own folder (e.g. ../shared/datasets/BSDS500). Default: "
              "$SEGBENCH_DATA or ./data, holding one sub-folder per dataset.")


@click.group()
def datasets() -> None:
    """Find, inspect and check datasets.

    \b
    Examples:
      segbench datasets list
      segbench datasets show camvid --split val --index 3 --out camvid3.png
      segbench datasets verify bsds500 --root ../shared/datasets/BSDS500
      segbench datasets link camvid ../shared/datasets/CamVid
    """


@datasets.command("list")
def list_() -> None:
    """List known datasets, where each was found and its image count per split.

    \b
    Example:
      SEGBENCH_DATA=../shared/datasets segbench datasets list
    """
    from benchmarks.datasets import find_datasets

    for loc in find_datasets():
        where = str(loc.root) if loc.root is not None else "not found"
        click.echo(f"{loc.name:<10} {where}")
        if loc.splits:
            click.echo(f"{'':<10} " + ", ".join(f"{s} {n}" for s, n in loc.splits.items()))
        if loc.note:
            click.echo(f"{'':<10} {loc.note}")
    click.echo(f"{'synthetic':<10} generated on the fly (no files)\n{'':<10} "
               "presets easy, medium, hard; splits train, val, test")
    click.echo(f"{'folder':<10} your own images/ + masks/ folders: pass --root DIR")


@datasets.command()
@click.argument("name")
@click.option("--split", default=None, help="Split (default: the dataset's own, usually val).")
@click.option("--index", default=0, show_default=True, help="Sample index in the split.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=_ROOT_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: <name>-<split>-<id>.png).")
def show(name: str, split: str | None, index: int, root: Path | None, out: Path | None) -> None:
    """Write an image | ground-truth overlay PNG for one sample.

    Semantic datasets show class colours; region datasets (BSDS500) show the first
    annotator's region boundaries.

    \b
    Example:
      segbench datasets show synthetic --split train --index 0 --out synth0.png
    """
    from benchmarks.datasets import load_dataset
    from benchmarks.visualize import boundary_overlay, class_overlay, side_by_side, write_png

    dataset = load_dataset(name, split=split, root=root)
    sample = dataset[index]
    if sample.mask is not None:
        colors = [c.color for c in dataset.classes] if dataset.classes else None
        right = class_overlay(sample.image, sample.mask, colors)
    else:
        right = boundary_overlay(sample.image, sample.regions[0])
    out = out or Path(f"{name}-{dataset.split or 'all'}-{sample.id}.png")
    write_png(out, side_by_side(sample.image, right))
    click.echo(f"wrote {out} ({sample.id}, {sample.image.shape[1]}x{sample.image.shape[0]})")


@datasets.command()
@click.argument("name")
@click.option("--split", "splits", multiple=True,
              help="Split(s) to check (repeatable). Default: every split found.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=_ROOT_HELP)
def verify(name: str, splits: tuple[str, ...], root: Path | None) -> None:
    """Read every file of a dataset and check sizes and label ranges.

    Exits with status 1 and lists each problem (file and reason) if any is found.

    \b
    Example:
      segbench datasets verify camvid --root ../shared/datasets/CamVid --split val
    """
    from tqdm import tqdm

    from benchmarks.datasets import available_splits, load_dataset

    splits = splits or tuple(available_splits(name, root=root))
    total, problems = 0, []
    for split in splits:
        dataset = load_dataset(name, split=split, root=root)
        total += len(dataset)
        problems += dataset.verify(
            progress=lambda it, s=split: tqdm(it, desc=f"{name}/{s}", unit="img", leave=False))
    for problem in problems:
        click.echo(f"problem: {problem}")
    bad = len({(p.sample_id, p.path) for p in problems})
    click.echo(f"{name}: checked {total} samples in {', '.join(splits)}: "
               f"{'OK' if not problems else f'{len(problems)} problems in {bad} files'}")
    if problems:
        raise click.exceptions.Exit(1)


@datasets.command()
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("data"), show_default=True, help="Dataset root to link into.")
def link(name: str, path: Path, data_dir: Path) -> None:
    """Record an existing copy of a dataset as a symlink under the data folder.

    \b
    Example:
      segbench datasets link bsds500 ../shared/datasets/BSDS500
    """
    from benchmarks.datasets import link_dataset

    import os

    target = link_dataset(name, path, data_dir=data_dir)
    click.echo(f"linked {target} -> {os.readlink(target)}")
