"""``segbench segment``: run one classical method or baseline on one image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

__all__ = ["segment", "parse_param"]


def parse_param(text: str, params) -> tuple[str, object]:
    """Parse ``k=v`` into a parameter name and a value of the field's type.

    Raises
    ------
    ValueError
        If `text` is not ``k=v``, names no parameter of `params`, or the value does
        not convert to the parameter's type.
    """
    if "=" not in text:
        raise ValueError(f"--param must look like name=value; got {text!r}.")
    key, raw = (s.strip() for s in text.split("=", 1))
    fields = {f.name: f for f in dataclasses.fields(params)}
    if key not in fields:
        raise ValueError(f"unknown parameter {key!r}; valid: {', '.join(fields)}.")
    current = getattr(params, key)
    kind = type(current)
    try:
        if isinstance(current, bool):
            value = {"true": True, "1": True, "false": False, "0": False}[raw.lower()]
        elif isinstance(current, tuple):
            value = tuple(_scalar(item.strip()) for item in raw.split(",") if item.strip())
        elif current is None or isinstance(current, str):
            value = _scalar(raw)
        elif isinstance(current, int) and not isinstance(_scalar(raw), (int, float)):
            value = raw  # e.g. n_clusters=auto; the method validates its own values
        else:
            value = kind(raw)
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"parameter {key} expects {kind.__name__} (like {current!r}); got {raw!r}."
        ) from exc
    return key, value


def _scalar(raw: str):
    """An int, a float or else the string itself ("none" gives None)."""
    if raw.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _methods():
    from classical.methods import METHODS

    return METHODS


@click.command()
@click.argument("method", required=False)
@click.argument("image", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--param", "params", multiple=True, metavar="K=V",
              help="Set a method parameter (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write labels as a 16-bit PNG.")
@click.option("--overlay", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the image with region boundaries drawn in red.")
@click.option("--list", "list_", is_flag=True, help="List methods and their parameters.")
def segment(method: str | None, image: Path | None, params: tuple[str, ...], out: Path | None,
            overlay: Path | None, list_: bool) -> None:
    """Segment one image with a classical method or baseline.

    \b
    Examples:
      segbench segment --list
      segbench segment felzenszwalb photo.jpg --param scale=200 --overlay fh.png
    """
    import numpy as np

    methods = _methods()
    if list_:
        for name, factory in methods.items():
            seg = factory()
            click.echo(f"{seg.describe()}\n    sweep {seg.sweep_param}: {list(seg.sweep_values)}")
        return
    if method is None or image is None:
        raise click.UsageError("give METHOD and IMAGE, or --list.")
    if method not in methods:
        from classical.methods import get_segmenter

        get_segmenter(method)  # raises with the valid names and a suggestion
    from benchmarks.datasets._base import read_image
    from benchmarks.visualize import boundary_overlay, write_png

    segmenter = methods[method]()
    changes = dict(parse_param(p, segmenter.params) for p in params)
    segmenter = segmenter.with_params(**changes) if changes else segmenter
    pixels = read_image(image)
    labels = segmenter(pixels)
    n = int(labels.max()) + 1
    click.echo(f"{segmenter.describe()}: {n} regions")
    if out is not None:
        if n > 65536:
            raise ValueError(f"{n} regions do not fit a 16-bit PNG.")
        write_png(out, labels.astype(np.uint16))
        click.echo(f"wrote {out}")
    if overlay is not None:
        write_png(overlay, boundary_overlay(pixels, labels))
        click.echo(f"wrote {overlay}")
